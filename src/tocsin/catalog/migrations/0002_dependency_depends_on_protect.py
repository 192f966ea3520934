"""Deleting a service that others depend on is refused by the database layer too."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="dependency",
            name="depends_on",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="dependent_edges", to="catalog.service",
            ),
        ),
    ]
