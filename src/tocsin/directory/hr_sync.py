"""The scheduled HR sync: import the HR export file (TOCSIN_HR_SYNC_FILE) whenever it changed."""

import logging

from django.conf import settings

from tocsin.core import audit

log = logging.getLogger("tocsin.directory.sync")
SOURCE = "hr"


def sync_once(path=None):
    """One sync of the configured file; None when there is nothing (new) to import."""
    from .services import hr_import

    path = path or settings.TOCSIN_HR_SYNC_FILE
    if not path:
        return None
    return hr_import.sync_file(path, actor=audit.Actor.system("hr-sync"), source=SOURCE)
