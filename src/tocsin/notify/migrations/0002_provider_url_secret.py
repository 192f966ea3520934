"""The target URL of a Slack, Teams, signed webhook or Apprise provider carries the receiver's token:
it moves from the plain settings into the encrypted secrets (and back, when unapplied)."""

import json

from django.db import migrations

URL_KINDS = ("slack", "teams", "webhook", "apprise")


def _secrets(row):
    """The row's secrets as a dict, or None when they are not a JSON object (left alone)."""
    try:
        value = json.loads(row.secrets) if row.secrets else {}
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def url_into_secrets(apps, schema_editor):
    # The historical model's secrets field is the EncryptedTextField: what it saves is encrypted.
    Provider = apps.get_model("notify", "Provider")
    for row in Provider.objects.filter(kind__in=URL_KINDS):
        if not isinstance(row.settings, dict) or "url" not in row.settings:
            continue
        secrets = _secrets(row)
        if secrets is None:
            continue  # unreadable secrets are not overwritten; the provider still reads settings.url
        settings = dict(row.settings)
        url = settings.pop("url")
        if url and not secrets.get("url"):
            secrets["url"] = url
        row.settings, row.secrets = settings, json.dumps(secrets)
        row.save(update_fields=["settings", "secrets"])


def url_into_settings(apps, schema_editor):
    Provider = apps.get_model("notify", "Provider")
    for row in Provider.objects.filter(kind__in=URL_KINDS):
        secrets = _secrets(row)
        if not secrets or "url" not in secrets or not isinstance(row.settings, dict):
            continue
        url = secrets.pop("url")
        row.settings = {**row.settings, "url": url} if url else row.settings
        row.secrets = json.dumps(secrets) if secrets else ""
        row.save(update_fields=["settings", "secrets"])


class Migration(migrations.Migration):
    dependencies = [("notify", "0001_initial")]

    operations = [migrations.RunPython(url_into_secrets, url_into_settings)]
