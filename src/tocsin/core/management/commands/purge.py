from tocsin.core import audit, retention
from tocsin.core.management.base import TocsinCommand


class Command(TocsinCommand):
    help = "Purge or anonymise records past their retention period (see the retention rules)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be purged; change nothing.")

    def handle(self, *args, dry_run=False, **options):
        results = retention.run(actor=audit.Actor.system("purge"), dry_run=dry_run)
        for key, count in results.items():
            days, _ = retention.period(retention.record_types()[key])
            verb = "would be purged" if dry_run else "purged"
            self.stdout.write(f"{key} (kept {days} days): {count} {verb}")
