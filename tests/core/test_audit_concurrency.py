"""A4: concurrent writers from several processes keep one unbroken chain (PostgreSQL)."""

import os
import subprocess
import sys
import textwrap

import pytest
from django.db import connection

from tocsin.core import audit
from tocsin.core.models import AuditEntry

WRITERS, EACH = 4, 40

SCRIPT = textwrap.dedent(
    """
    import os, sys
    import django
    os.environ["DJANGO_SETTINGS_MODULE"] = "tocsin.settings"
    django.setup()
    from django.conf import settings
    from django.db import connection
    settings.DATABASES["default"]["NAME"] = sys.argv[1]
    connection.settings_dict["NAME"] = sys.argv[1]
    from tocsin.core import audit
    for i in range(int(sys.argv[2])):
        audit.record(audit.Actor.system(f"writer-{os.getpid()}"), "test.concurrent", summary={"i": i})
    """
)


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_the_chain(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("several writer processes on one chain: the PostgreSQL run covers this")
    script = tmp_path / "writer.py"
    script.write_text(SCRIPT)
    name = connection.settings_dict["NAME"]
    env = {**os.environ}
    procs = [
        subprocess.Popen([sys.executable, str(script), name, str(EACH)], env=env, stderr=subprocess.PIPE)
        for _ in range(WRITERS)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()[-2000:]
    assert AuditEntry.objects.count() == WRITERS * EACH
    assert len({label for label in AuditEntry.objects.values_list("actor_label", flat=True)}) == WRITERS
    verdict = audit.verify(anchors=[])
    assert verdict.ok, verdict.problem
    assert verdict.head_seq == WRITERS * EACH
