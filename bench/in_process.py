"""Starting Tocsin inside a bench's own process, migrated, on the database the bench chose."""

import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_django(url, workdir):
    # Settings read the environment once, so it is set before Django starts.
    os.environ["TOCSIN_DATABASE_URL"] = url
    os.environ["TOCSIN_AUDIT_ANCHOR_FILE"] = str(Path(workdir) / "audit.anchors")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    logging.getLogger("tocsin.access").setLevel(logging.WARNING)  # one line per request would drown the figures
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
