from django.conf import settings
from django.core.management.base import CommandError

from tocsin.core.management.base import TocsinCommand
from tocsin.directory.hr_sync import sync_once


class Command(TocsinCommand):
    help = "Run one HR sync of TOCSIN_HR_SYNC_FILE now, as the scheduled sync would (only if the file changed)."
    cli_name = "sync-hr"

    def handle(self, *args, **options):
        if not settings.TOCSIN_HR_SYNC_FILE:
            raise CommandError("No HR file is configured; set TOCSIN_HR_SYNC_FILE.")
        run = sync_once()
        if run is None:
            self.stdout.write("HR file unchanged since the last run (or unreadable; see the log); nothing to do.")
            return
        if run.status != run.OK:
            raise CommandError(f"HR sync {run.get_status_display().lower()}:\n{run.problem}")
        self.stdout.write("HR sync applied: " + ", ".join(f"{k} {v}" for k, v in run.counts.items()))
