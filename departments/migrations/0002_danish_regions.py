from django.db import migrations

# The five Danish regions with their official region codes (Danmarks Statistik).
REGIONS = [
    ("1081", "Region Nordjylland"),
    ("1082", "Region Midtjylland"),
    ("1083", "Region Syddanmark"),
    ("1084", "Region Hovedstaden"),
    ("1085", "Region Sjælland"),
]


def add_regions(apps, schema_editor):
    Region = apps.get_model("departments", "Region")
    for code, name in REGIONS:
        Region.objects.update_or_create(code=code, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("departments", "0001_initial")]
    operations = [migrations.RunPython(add_regions, migrations.RunPython.noop)]
