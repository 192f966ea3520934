import tocsin.core.fields
from django.db import migrations


def seal(apps, schema_editor):
    """Identity-provider identifiers stored in clear before this migration become digest + ciphertext."""
    from tocsin.directory.services.provisioning import lookup_key

    ExternalId = apps.get_model("directory", "ExternalId")
    for row in ExternalId.objects.filter(source__startswith="scim:").exclude(value__startswith="h:"):
        row.sealed, row.value = row.value, lookup_key(row.source, row.value)
        row.save(update_fields=["sealed", "value"])


class Migration(migrations.Migration):
    dependencies = [("directory", "0003_breach_retention")]

    operations = [
        migrations.AddField(
            model_name="externalid",
            name="sealed",
            field=tocsin.core.fields.EncryptedTextField(blank=True, default=""),
        ),
        migrations.RunPython(seal, migrations.RunPython.noop),
    ]
