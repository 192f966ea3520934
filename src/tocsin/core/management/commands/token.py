from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from tocsin.core import audit, services
from tocsin.core.management.base import TocsinCommand
from tocsin.core.models import ApiToken, User


class Command(TocsinCommand):
    help = "Create, list or revoke API tokens."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token and print it once, as the last word on stdout.")
        create.add_argument("--user", required=True)
        create.add_argument("--name", required=True)
        create.add_argument("--expires", type=int, metavar="DAYS")
        create.add_argument("--scope", action="append", default=[], help="Limit the token to this permission (repeatable).")
        listing = sub.add_parser("list", help="List a user's tokens.")
        listing.add_argument("--user", required=True)
        revoke = sub.add_parser("revoke", help="Revoke a token by its prefix.")
        revoke.add_argument("prefix")

    def handle(self, *args, action, **options):
        actor = audit.Actor.system("cli")
        if action == "create":
            user = self._user(options["user"])
            try:
                token, secret = services.issue_token(
                    user, actor=actor, name=options["name"], expires_days=options["expires"], scopes=options["scope"]
                )
            except ValidationError as exc:
                raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
            expiry = token.expires_at.isoformat() if token.expires_at else "never"
            self.stdout.write(f"Token '{token.name}' for {user.username} (expires {expiry}): {secret}")
        elif action == "list":
            for token in ApiToken.objects.filter(user=self._user(options["user"])):
                self.stdout.write(f"tcs_{token.prefix}…  {token.name:30}  {token.status:8}  last used {token.last_used_at or '-'}")
        else:
            prefix = options["prefix"].removeprefix("tcs_").split("_")[0].rstrip("…")
            token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
            if token is None:
                raise CommandError(f"No token with prefix '{prefix}'.")
            services.revoke_token(token, actor=actor)
            self.stdout.write(f"Token '{token.name}' revoked.")

    @staticmethod
    def _user(username):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user '{username}'.")
        return user
