import asyncio
import os
import sys

from django.conf import settings
from django.db import connections

from tocsin import supervisor
from tocsin.core.config_checks import production_refusals
from tocsin.core.management.base import TocsinCommand
from tocsin.core.migrating import migrate_serialised


class Command(TocsinCommand):
    help = "Apply pending migrations, then serve HTTP and run the supervised background parts."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1, help="HTTP worker processes (default 1).")
        parser.add_argument(
            "--server", choices=["granian", "uvicorn"], default="granian",
            help="ASGI server; granian is the default because it measured faster (see bench/api_me.py).",
        )
        parser.add_argument("--no-migrate", action="store_true", help="Do not apply migrations first.")
        parser.add_argument("--no-engine", action="store_true",
                            help="Do not run the engine here (run `tocsin worker` elsewhere).")
        parser.add_argument("--smtp-port", type=int, default=int(os.environ.get("TOCSIN_SMTP_PORT") or 2525),
                            help="Port of the inbound e-mail listener (default 2525, or TOCSIN_SMTP_PORT).")
        parser.add_argument("--smtp-host", default=None, help="Address the e-mail listener binds (default: --host).")
        parser.add_argument("--no-smtp", action="store_true", help="Do not run the inbound e-mail listener.")
        parser.add_argument("--tls-cert", default=os.environ.get("TOCSIN_TLS_CERT") or None,
                            help="Serve HTTPS with this certificate (PEM; or TOCSIN_TLS_CERT).")
        parser.add_argument("--tls-key", default=os.environ.get("TOCSIN_TLS_KEY") or None,
                            help="The certificate's private key (PEM, PKCS#8; or TOCSIN_TLS_KEY).")

    def handle(self, *args, host, port, workers, server, no_migrate, no_engine, smtp_port, smtp_host, no_smtp,
               tls_cert, tls_key, **options):
        if bool(tls_cert) != bool(tls_key):
            self.stderr.write("Give both --tls-cert and --tls-key to serve HTTPS, or neither.")
            sys.exit(2)
        for path in filter(None, (tls_cert, tls_key)):
            if not os.path.isfile(path):
                self.stderr.write(f"No such file: {path}")
                sys.exit(2)
        if settings.PRODUCTION:
            refusals = production_refusals()
            if refusals:
                for problem in refusals:
                    self.stderr.write(f"refusing to start in production: {problem}")
                sys.exit(2)
        if not no_migrate:
            migrate_serialised()
        connections.close_all()
        scheme = "https" if tls_cert else "http"
        self.stdout.write(f"Tocsin is serving on {scheme}://{host}:{port}/ ({server}, {workers} worker(s))")
        smtp_host = smtp_host or host
        if not no_smtp:
            self.stdout.write(f"Inbound e-mail on smtp://{smtp_host}:{smtp_port}/")
        self.stdout.flush()
        excluded = {name for name, off in (("engine", no_engine), ("smtp", no_smtp)) if off}
        runner = supervisor.Supervisor(
            supervisor.http_command(server, host, port, workers, tls=(tls_cert, tls_key) if tls_cert else None),
            supervisor.load_parts(exclude=excluded, options={"smtp": {"host": smtp_host, "port": smtp_port}}),
            env=supervisor.child_environment(workers),
        )
        sys.exit(asyncio.run(runner.run()))
