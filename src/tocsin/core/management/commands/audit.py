import sys

from tocsin.core import audit
from tocsin.core.management.base import TocsinCommand


class Command(TocsinCommand):
    help = "Verify, anchor or export the tamper-evident audit log."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="Walk the chain; exit 1 and name the first bad entry if it was altered.")
        verify.add_argument("--anchors", help="Anchor file (default: TOCSIN_AUDIT_ANCHOR_FILE).")
        anchor = sub.add_parser("anchor", help="Append the current chain head to the anchor file and the log.")
        anchor.add_argument("--anchors", help="Anchor file (default: TOCSIN_AUDIT_ANCHOR_FILE).")
        export = sub.add_parser("export", help="Write the log as CSV or JSON to stdout.")
        export.add_argument("--format", choices=["csv", "json"], default="json")

    def handle(self, *args, action, **options):
        if action == "verify":
            anchors = audit.read_anchors(options["anchors"]) if options["anchors"] else None
            verdict = audit.verify(anchors)
            if not verdict.ok:
                self.stderr.write(f"audit chain BROKEN at entry #{verdict.bad_seq}: {verdict.problem}")
                sys.exit(1)
            self.stdout.write(f"audit chain intact: {verdict.checked} entries, head #{verdict.head_seq} {verdict.head_hash}")
        elif action == "anchor":
            record = audit.anchor(options["anchors"])
            self.stdout.write(f"anchored #{record['seq']} {record['hash']}" if record else "audit log is empty")
        else:
            from tocsin.core import audit_export

            response = audit_export.response(
                audit_export.AuditFilter(), options["format"], actor=audit.Actor.system("cli")
            )
            for chunk in response.streaming_content:
                self.stdout.write(chunk.decode() if isinstance(chunk, bytes) else chunk, ending="")
            self.stdout.write("")
