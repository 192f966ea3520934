import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from tocsin.core import audit, services
from tocsin.core.management.base import TocsinCommand
from tocsin.core.permissions import ADMIN


class Command(TocsinCommand):
    help = "Create an administrator account."

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--password", help="Prompted for when omitted (or read from TOCSIN_ADMIN_PASSWORD).")

    def handle(self, *args, username, email, password, **options):
        import os

        password = password or os.environ.get("TOCSIN_ADMIN_PASSWORD")
        if not password:
            password = getpass.getpass("Password: ")
        try:
            user = services.create_user(
                actor=audit.Actor.system("createadmin"), username=username, email=email, password=password, roles=[ADMIN]
            )
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        self.stdout.write(f"Administrator {user.username} created.")
