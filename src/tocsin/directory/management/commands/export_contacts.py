"""`tocsin export-contacts`: the emergency list, encrypted with a passphrase, for when Tocsin is down."""

import getpass
import os
import sys
import tempfile
from pathlib import Path

from django.core.management.base import CommandError

from tocsin.core import audit
from tocsin.core.management.base import TocsinCommand
from tocsin.core.models import Team
from tocsin.directory import offline, offline_age
from tocsin.directory.models import Site

PASSPHRASE_ENV = "TOCSIN_EXPORT_PASSPHRASE"


class Command(TocsinCommand):
    cli_name = "export-contacts"
    help = (
        "Write the emergency contact list (roles, holders resolved now, people's methods) to a file "
        "encrypted with a passphrase in the age format; decrypt it with `age -d`, no Tocsin needed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--encrypted", action="store_true",
                            help="Required: the list holds personal data, so only an encrypted copy is written.")
        parser.add_argument("--out", required=True, metavar="FILE", help="Where to write (for example contacts.tar.age).")
        parser.add_argument("--passphrase", help=f"The passphrase (12+ characters). Prefer the {PASSPHRASE_ENV} "
                                                 "environment variable: command lines are visible to other users.")
        parser.add_argument("--site", metavar="SLUG", help="Only this site (and the whole call tree).")
        parser.add_argument("--team", metavar="SLUG", help="Only this team and its roles.")
        parser.add_argument("--format", choices=offline.FORMATS, default="json", help="Payload format (default json).")
        parser.add_argument("--force", action="store_true", help="Replace FILE if it exists.")

    def handle(self, *args, **options):
        if not options["encrypted"]:
            raise CommandError(
                "Refusing to write a plaintext copy of personal data: pass --encrypted "
                "(with --passphrase or TOCSIN_EXPORT_PASSPHRASE)."
            )
        out = Path(options["out"])
        if out.exists() and not options["force"]:
            raise CommandError(f"{out} exists; pass --force to replace it.")
        if not out.parent.is_dir():
            raise CommandError(f"Directory {out.parent} does not exist.")
        try:
            scope = offline.Scope.lookup(site=options["site"] or "", team=options["team"] or "")
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        except Site.DoesNotExist:
            raise CommandError(f"No site '{options['site']}'.") from None
        except Team.DoesNotExist:
            raise CommandError(f"No team '{options['team']}'.") from None

        passphrase = self._passphrase(options["passphrase"])
        try:
            ciphertext, manifest = offline_age.export(scope, passphrase, options["format"])
        except offline_age.PassphraseError as exc:
            raise CommandError(str(exc)) from None
        del passphrase

        # Audit first: an export that was recorded but failed to land beats one that landed unrecorded.
        offline.record_export(
            audit.Actor.system("cli"), scope, what="encrypted", channel="cli", fmt=options["format"],
            counts_=manifest["counts"], sha256=manifest["payload"]["sha256"],
        )
        self._write(out, ciphertext)
        counts = manifest["counts"]
        self.stdout.write(
            f"Wrote the encrypted contact list for {scope.label} ({counts['people']} people, "
            f"{counts['method_entries']} contact entries) to {out}.\n"
            f"Payload sha256 {manifest['payload']['sha256']}.\n"
            f"Decrypt with: age -d -o contacts.tar {out} && tar -xf contacts.tar"
        )

    def _passphrase(self, given):
        passphrase = given if given is not None else os.environ.get(PASSPHRASE_ENV)
        if passphrase is None and sys.stdin.isatty():
            passphrase = getpass.getpass("Passphrase for the export: ")
            if getpass.getpass("Again: ") != passphrase:
                raise CommandError("The passphrases differ.")
        if passphrase is None:
            raise CommandError(f"A passphrase is required: --passphrase or {PASSPHRASE_ENV}.")
        try:
            offline_age.check_passphrase(passphrase)
        except offline_age.PassphraseError as exc:
            raise CommandError(str(exc)) from None
        return passphrase

    @staticmethod
    def _write(out, data):
        # Write beside the target and rename, so a crash never leaves half a file where the last good copy was.
        handle, temp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temp, 0o600)
            os.replace(temp, out)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
