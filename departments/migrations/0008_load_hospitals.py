from django.db import migrations


def load_hospitals(apps, schema_editor):
    # The same loader post_migrate runs; it only adds hospitals that are not there yet.
    from departments.hospitals import load_hospitals

    load_hospitals(apps=apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("departments", "0002_danish_regions"),
        ("departments", "0007_hospital_code_length"),
    ]
    # Reversing leaves the hospitals: departments may stand on them, and admins may have edited them.
    operations = [migrations.RunPython(load_hospitals, migrations.RunPython.noop)]
