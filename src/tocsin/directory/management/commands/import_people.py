from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from tocsin.core import audit
from tocsin.core.management.base import TocsinCommand
from tocsin.directory import hr_csv, hr_plan
from tocsin.directory.hr_csv import HrCsvError
from tocsin.directory.services import hr_import


class Command(TocsinCommand):
    help = (
        "Import people from an HR/IdP CSV export. Shows what would change (--preview, the default); "
        "--apply writes it, all or nothing. Conflicts with local edits are queued for a steward. "
        "Columns: external_id, name, email, mobile, phone, team, site, time_zone, active (see tocsin.directory.hr_csv)."
    )
    cli_name = "import-people"

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file, UTF-8, with a header row")
        parser.add_argument("--source", default="hr", help="Name of the source system (default: hr)")
        parser.add_argument("--preview", action="store_true", help="Show the plan and write nothing (default)")
        parser.add_argument("--apply", action="store_true", help="Apply the import")
        parser.add_argument(
            "--allow-mass-deactivation", action="store_true",
            help="Apply even if many people would be deactivated (a truncated export looks like that)",
        )
        parser.add_argument("--limit", type=int, default=50, help="Entries listed per section (default 50)")

    def handle(self, *args, file, source, preview, apply, allow_mass_deactivation, limit, **options):
        if preview and apply:
            raise CommandError("Choose either --preview or --apply.")
        try:
            if not apply:
                plan = hr_plan.build(hr_csv.parse(hr_csv.read(file)), source)
                self.stdout.write(plan.report(limit))
                self.stdout.write("Preview only: nothing written. Run again with --apply to import.")
                return
            run, plan = hr_import.import_file(
                file, actor=audit.Actor.system("cli"), source=source, via="csv",
                allow_mass_deactivation=allow_mass_deactivation,
            )
        except HrCsvError as exc:
            raise CommandError(f"{file} cannot be imported; nothing was written:\n{exc.report()}") from None
        except hr_import.ImportRefused as exc:
            raise CommandError(f"Refused, nothing was written: {exc}.") from None
        except ValidationError as exc:
            raise CommandError(f"Import failed, nothing was written: {'; '.join(exc.messages)}") from None
        self.stdout.write(plan.report(limit))
        self.stdout.write(f"Import #{run.pk} applied: " + ", ".join(f"{k} {v}" for k, v in run.counts.items()))
        if plan.conflicts:
            self.stdout.write(f"{len(plan.conflicts)} conflict(s) wait for a steward.")
