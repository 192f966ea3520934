import os
import secrets

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from tocsin.core import audit, services
from tocsin.core.management.base import TocsinCommand
from tocsin.core.migrating import migrate_serialised
from tocsin.core.models import Team, User
from tocsin.core.permissions import ADMIN, AUDITOR, COMMS_LEAD, CONTACT_STEWARD, RESPONDER, SECURITY_OFFICER, VIEWER

TEAMS = [
    ("Network", "Routers, firewalls, WAN links and DNS"),
    ("Platform", "Kubernetes, databases and storage"),
    ("Service Desk", "First line: the 24/7 help desk"),
]

PEOPLE = [
    # username, first, last, roles (role, team slug or None), teams
    ("ana.silva", "Ana", "Silva", [(RESPONDER, None)], ["network"]),
    ("ben.okafor", "Ben", "Okafor", [(RESPONDER, None)], ["network"]),
    ("chen.wei", "Chen", "Wei", [(RESPONDER, None)], ["platform"]),
    ("dora.novak", "Dora", "Novák", [(CONTACT_STEWARD, None)], ["service-desk"]),
    ("emil.larsen", "Emil", "Larsen", [(COMMS_LEAD, None)], []),
    ("farah.haddad", "Farah", "Haddad", [(SECURITY_OFFICER, None)], []),
    ("gustav.berg", "Gustav", "Berg", [(AUDITOR, None)], []),
    ("hiro.tanaka", "Hiro", "Tanaka", [(VIEWER, None)], ["platform"]),
]


class Command(TocsinCommand):
    help = "Load the demo organisation (idempotent) and print where to sign in."

    def add_arguments(self, parser):
        parser.add_argument("--password", help="Password for every demo account (default: random, printed).")

    def handle(self, *args, password=None, **options):
        migrate_serialised()
        password = password or os.environ.get("TOCSIN_DEMO_PASSWORD") or f"demo-{secrets.token_urlsafe(9)}"
        actor = audit.Actor.system("demo")
        with transaction.atomic():
            for name, description in TEAMS:
                if not Team.objects.filter(name=name).exists():
                    services.create_team(actor=actor, name=name, description=description)
            self._person(actor, password, "admin", "Ada", "Admin", [(ADMIN, None)], [])
            for username, first, last, roles, teams in PEOPLE:
                self._person(actor, password, username, first, last, roles, teams)
            summaries = [import_string(loader)(actor) for loader in settings.TOCSIN_DEMO_LOADERS]
        base = os.environ.get("TOCSIN_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
        self.stdout.write(f"Demo organisation ready: {User.objects.count()} users in {Team.objects.count()} teams.")
        for summary in filter(None, summaries):
            self.stdout.write(summary)
        self.stdout.write(f"Sign in at {base}/login/ as admin with password {password}")
        self.stdout.write("(every demo user, such as ana.silva or gustav.berg, has the same password)")

    @staticmethod
    def _person(actor, password, username, first, last, roles, teams):
        user = User.objects.filter(username=username).first()
        if user is None:
            user = services.create_user(
                actor=actor, username=username, first_name=first, last_name=last,
                email=f"{username}@example.org", password=password,
            )
            for role, team in roles:
                services.assign_role(user, role, actor=actor, team=Team.objects.get(slug=team) if team else None)
            for slug in teams:
                services.add_member(Team.objects.get(slug=slug), user, actor=actor)
        else:
            services.set_password(user, password, actor=actor)
        return user
