import sys

from tocsin.core.config_checks import run_all
from tocsin.core.management.base import TocsinCommand

MARKS = {"ok": "ok   ", "info": "info ", "warning": "WARN ", "error": "FAIL "}


class Command(TocsinCommand):
    help = "Check Tocsin's configuration; exits 1 if anything would make it unsafe or unable to run."
    cli_name = "check"
    requires_system_checks = []

    def handle(self, *args, **options):
        findings = run_all()
        for finding in findings:
            self.stdout.write(f"{MARKS[finding.level]} {finding.message}")
        if any(f.level == "error" for f in findings):
            sys.exit(1)
