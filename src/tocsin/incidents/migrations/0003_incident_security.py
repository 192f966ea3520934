"""Security incidents (E7): the flag, its category, and the extra review it calls for; and the
service index ordered by creation, for "the newest open incidents of this service"."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("incidents", "0002_priorities"),
    ]

    operations = [
        migrations.AddField(
            model_name="incident",
            name="security",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="incident",
            name="security_category",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="incident",
            name="needs_review",
            field=models.BooleanField(default=False),
        ),
        migrations.RemoveIndex(model_name="incident", name="incident_service_status"),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(fields=["service", "status", "-created_at"], name="incident_service_status"),
        ),
    ]
