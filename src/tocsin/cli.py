"""The `tocsin` command: a thin front to Tocsin's management commands."""

import os
import sys

COMMANDS = {
    "serve": "serve",
    "worker": "worker",
    "escalation": "escalation",
    "integration": "integration",
    "createadmin": "createadmin",
    "token": "token",
    "audit": "audit",
    "rotate-keys": "rotate_keys",
    "export-contacts": "export_contacts",
    "check": "config_check",
    "demo": "demo",
    "keygen": "keygen",
    "migrate": "migrate",
    "import-people": "import_people",
    "sync-hr": "sync_hr",
    "remind": "remind",
    "purge": "purge",
    "manage": None,
}

USAGE = """usage: tocsin <command> [options]

commands:
  serve         migrate if needed, then serve HTTP and run the engine (--no-engine: HTTP only)
  worker        run the engine alone (timers, escalations, periodic jobs)
  escalation    check every escalation target (audit) and show policies
  integration   add an alert integration to a service and print its key
  createadmin   create an administrator account
  token         create, list or revoke API tokens
  audit         verify, anchor or export the audit log
  rotate-keys   re-encrypt personal data under the current encryption key
  export-contacts
                write the emergency contact list, encrypted (age), for use when Tocsin is down
  check         check the configuration
  demo          load the demo organisation and print where to sign in
  keygen        print a new encryption key
  migrate       apply database migrations
  import-people preview or apply an HR/IdP CSV export of people
  sync-hr       run the scheduled HR file sync once, now
  remind        list overdue contact validations per steward, with confirmation links
  purge         purge or anonymise records past their retention period
  manage        run any Django management command

Run `tocsin <command> --help` for a command's options.
"""


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(USAGE)
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"tocsin: unknown command '{name}'.\n\n{USAGE}", file=sys.stderr)
        return 2
    from django.core.management import execute_from_command_line

    command = COMMANDS[name]
    execute_from_command_line(["tocsin", *rest] if command is None else [f"tocsin {name}", command, *rest])
    return 0


if __name__ == "__main__":
    sys.exit(main())
