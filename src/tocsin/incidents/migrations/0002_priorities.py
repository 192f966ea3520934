from django.db import migrations

PRIORITIES = [
    ("P1", 1, "Critical: a business service is down"),
    ("P2", 2, "High: severe degradation"),
    ("P3", 3, "Moderate"),
    ("P4", 4, "Low"),
    ("P5", 5, "Informational"),
]


def add(apps, schema_editor):
    Priority = apps.get_model("incidents", "Priority")
    for name, rank, description in PRIORITIES:
        Priority.objects.get_or_create(name=name, defaults={"rank": rank, "description": description})


def remove(apps, schema_editor):
    apps.get_model("incidents", "Priority").objects.filter(name__in=[p[0] for p in PRIORITIES]).delete()


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]
    operations = [migrations.RunPython(add, remove)]
