from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class DepartmentsConfig(AppConfig):
    name = "departments"
    verbose_name = _("Afdelinger")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from departments import signals  # noqa: F401 (connects the login audit)

        post_migrate.connect(add_missing_hospitals, sender=self, dispatch_uid="add_hospitals")


def add_missing_hospitals(
    sender, apps=None, using="default", verbosity=1, stdout=None, **kwargs
) -> None:
    """After every migrate: the hospitals in data/hospitals.csv the database lacks are added."""
    from departments.hospitals import load_hospitals

    if apps is None:  # flush sends post_migrate without the migration state
        from django.apps import apps
    try:
        Region = apps.get_model("departments", "Region")
        apps.get_model("departments", "Hospital")
    except LookupError:  # migrated back to before the app's tables
        return
    # A flush (after a transactional test) sends post_migrate too, having emptied the regions
    # migration 0002 wrote: there is nothing to place a hospital in, and the file would be
    # refused. A test that needs both writes them again (tests/factories.py).
    if not Region.objects.using(using).exists():
        return
    added = load_hospitals(apps=apps, using=using)
    if added and verbosity >= 2 and stdout is not None:
        stdout.write(f"  {added} hospital(s) added from departments/data/hospitals.csv\n")
