"""`tocsin integration create`: add an integration to a service and print its new key alone, so a
script can capture it (`KEY=$(tocsin integration create --service payments --kind events-v2)`)."""

import sys

from django.core.exceptions import ValidationError

from tocsin.alerts import services
from tocsin.alerts.models import Integration
from tocsin.catalog.models import Service
from tocsin.core import audit
from tocsin.core.management.base import TocsinCommand

USAGE_ERROR = 2


class Command(TocsinCommand):
    help = "Manage alert integrations: `create` prints the new key on stdout, and nothing else."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Add an integration to a service and print its key.")
        create.add_argument("--service", required=True, help="The service's name, id or slug.")
        create.add_argument("--kind", required=True,
                            help=f"One of {', '.join(kind for kind, _ in Integration.KINDS)}.")
        create.add_argument("--name", default="", help="Defaults to the kind's name.")

    def handle(self, *args, action, **options):
        if action == "create":
            self._create(options["service"], options["kind"], options["name"])

    def _fail(self, message):
        self.stderr.write(f"tocsin integration: {message}")
        sys.exit(USAGE_ERROR)

    def _create(self, wanted, kind, name):
        service = find_service(wanted)
        if service is None:
            self._fail(f"no service is named, numbered or slugged '{wanted}'.")
        try:
            _, key = services.create_integration(service, kind, actor=audit.Actor.system("cli"), name=name)
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
            self._fail(problems)
        self.stdout.write(key)


def find_service(wanted):
    """A service by exact name, then id, then slug (a name made of digits is still a name)."""
    wanted = (wanted or "").strip()
    service = Service.objects.filter(name=wanted).first()
    if service is None and wanted.isdigit() and len(wanted) < 19:
        service = Service.objects.filter(pk=int(wanted)).first()
    if service is None:
        service = Service.objects.filter(slug=wanted).first()
    return service
