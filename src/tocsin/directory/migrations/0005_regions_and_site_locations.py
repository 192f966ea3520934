import django.core.validators
import django.db.models.deletion
from django.db import migrations, models
from django.utils.text import slugify


def regions_from_names(apps, schema_editor):
    """Each distinct region name a site carried becomes a Region that the site points at."""
    Region = apps.get_model("directory", "Region")
    Site = apps.get_model("directory", "Site")
    regions, slugs = {}, set(Region.objects.values_list("slug", flat=True))
    for site in Site.objects.exclude(region_name="").order_by("pk"):
        name = site.region_name.strip()[:120]
        if not name:
            continue
        if name not in regions:
            base = slugify(name)[:100] or "region"
            slug, n = base, 1
            while slug in slugs:
                n += 1
                slug = f"{base}-{n}"
            slugs.add(slug)
            regions[name] = Region.objects.create(name=name, slug=slug)
        site.region = regions[name]
        site.save(update_fields=["region"])
    if schema_editor.connection.vendor == "postgresql":
        # The foreign key is deferred: check it now, or the ALTER TABLE that follows in this
        # transaction fails with "pending trigger events".
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def names_from_regions(apps, schema_editor):
    Site = apps.get_model("directory", "Site")
    for site in Site.objects.exclude(region=None).select_related("region"):
        site.region_name = site.region.name
        site.save(update_fields=["region_name"])
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [("directory", "0004_seal_idp_identifiers")]

    operations = [
        migrations.CreateModel(
            name="Region",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=120, unique=True)),
                ("slug", models.SlugField(max_length=120, unique=True)),
                ("description", models.TextField(blank=True, default="")),
            ],
            options={"ordering": ["name"]},
        ),
        migrations.RenameField(model_name="site", old_name="region", new_name="region_name"),
        migrations.AddField(
            model_name="site",
            name="region",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="sites",
                to="directory.region",
            ),
        ),
        migrations.AddField(
            model_name="site",
            name="kind",
            field=models.CharField(
                choices=[("office", "Office"), ("data-centre", "Data centre"), ("cloud-region", "Cloud region")],
                default="office", max_length=16,
            ),
        ),
        migrations.AddField(model_name="site", name="address", field=models.TextField(blank=True, default="")),
        migrations.AddField(
            model_name="site",
            name="latitude",
            field=models.DecimalField(
                blank=True, decimal_places=5, max_digits=8, null=True,
                validators=[django.core.validators.MinValueValidator(-90), django.core.validators.MaxValueValidator(90)],
            ),
        ),
        migrations.AddField(
            model_name="site",
            name="longitude",
            field=models.DecimalField(
                blank=True, decimal_places=5, max_digits=8, null=True,
                validators=[django.core.validators.MinValueValidator(-180), django.core.validators.MaxValueValidator(180)],
            ),
        ),
        migrations.RunPython(regions_from_names, names_from_regions),
        migrations.RemoveField(model_name="site", name="region_name"),
        migrations.AddConstraint(
            model_name="site",
            constraint=models.CheckConstraint(
                condition=models.Q(("latitude__isnull", True), models.Q(("latitude__gte", -90), ("latitude__lte", 90)), _connector="OR"),
                name="site_latitude_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="site",
            constraint=models.CheckConstraint(
                condition=models.Q(("longitude__isnull", True), models.Q(("longitude__gte", -180), ("longitude__lte", 180)), _connector="OR"),
                name="site_longitude_range",
            ),
        ),
    ]
