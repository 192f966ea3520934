from collections import defaultdict

from django.conf import settings

from tocsin.core import audit
from tocsin.core.management.base import TocsinCommand
from tocsin.directory.compliance import overdue_validations
from tocsin.directory.services.stewardship import confirmation_token


class Command(TocsinCommand):
    help = (
        "List overdue contact validations per steward, each with a 'confirm my details' link to send "
        "on. (Once notifications exist, Tocsin sends these itself.)"
    )

    def handle(self, *args, **options):
        by_steward = defaultdict(list)
        for item in overdue_validations():
            by_steward[item.steward.username if item.steward else "(no steward)"].append(item)
        for steward, items in sorted(by_steward.items()):
            self.stdout.write(f"{steward}: {len(items)} overdue")
            for item in items:
                due = item.due_since.date().isoformat() if item.due_since else "never validated"
                link = f"{settings.BASE_URL}/directory/confirm/{confirmation_token(item.person)}/"
                self.stdout.write(f"  {item.person.name} ({item.team.name}, due {due}): {link}")
        total = sum(len(items) for items in by_steward.values())
        audit.record(audit.Actor.system("remind"), "stewardship.reminders_prepared",
                     summary={"overdue": total, "stewards": len(by_steward)})
        if not total:
            self.stdout.write("No validation is overdue.")
