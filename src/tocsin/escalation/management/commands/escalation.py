"""`tocsin escalation`: the role-validation audit of every target, and a list of the policies."""

import json
import sys

from django.conf import settings
from django.utils import timezone

from tocsin.core import audit
from tocsin.core.management.base import TocsinCommand
from tocsin.escalation import target_audit
from tocsin.escalation.models import EscalationPolicy

HEADINGS = {target_audit.ERROR: "Errors", target_audit.WARNING: "Warnings", target_audit.INFO: "Information"}


class Command(TocsinCommand):
    help = "Audit every escalation target (exit 1 when a target is broken), or list the policies."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser("audit", help=(
            "Check every policy and schedule target: exists, active, holds its role, reachable. "
            "Stores the report unless --no-store; exits 1 when there are errors."))
        check.add_argument("--json", action="store_true", help="Print the report as JSON.")
        check.add_argument("--no-store", action="store_true", help="Only print; keep no report.")
        sub.add_parser("policies", help="List the policies with their current version and linked services.")

    def handle(self, *args, action, **options):
        if action == "policies":
            self._policies()
            return
        report = target_audit.run(timezone.now())
        if not options["no_store"]:
            target_audit.store(report, actor=audit.Actor.system("cli"), ran_by="cli")
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
        else:
            self._print(report)
        if report.has_errors:
            sys.exit(1)

    def _print(self, report):
        counts, checked = report.counts, report.checked
        self.stdout.write(
            f"Role-validation audit at {report.ran_at:%Y-%m-%d %H:%M} UTC: {checked} target{'s' if checked != 1 else ''} "
            "checked, "
            f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info.")
        for level in target_audit.LEVELS:
            found = [f for f in report.findings if f.level == level]
            if not found:
                continue
            self.stdout.write(f"\n{HEADINGS[level]} ({len(found)}):")
            for finding in found:
                self.stdout.write(f"  {level.upper()} {finding.subject}: {finding.message}")
                self.stdout.write(f"    fix: {settings.BASE_URL}{finding.fix_url}")

    def _policies(self):
        policies = (EscalationPolicy.objects.select_related("current", "team").order_by("name")
                    .prefetch_related("services__service"))
        for policy in policies:
            version = f"v{policy.current.number}" if policy.current else "no version"
            tiers = len(policy.current.spec.get("tiers", [])) if policy.current else 0
            services = ", ".join(sorted(link.service.name for link in policy.services.all())) or "no service"
            team = policy.team.name if policy.team else "no team"
            self.stdout.write(f"{policy.name} ({version}, {tiers} tier{'s' if tiers != 1 else ''}, {team}): {services}")
        if not policies:
            self.stdout.write("No escalation policy yet.")
