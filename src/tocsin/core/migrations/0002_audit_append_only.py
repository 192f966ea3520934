from django.db import migrations

from tocsin.core import audit_guard


def install(apps, schema_editor):
    audit_guard.install(schema_editor)


def remove(apps, schema_editor):
    audit_guard.remove(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(install, remove)]
