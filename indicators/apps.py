from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IndicatorsConfig(AppConfig):
    name = "indicators"
    verbose_name = _("Indikatorer")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from indicators import signals  # noqa: F401  (connects the receivers)

        post_migrate.connect(install_shipped_registries, sender=self)


def install_shipped_registries(sender, using="default", plan=None, **kwargs) -> None:
    """``migrate`` installs every profile in ``registries/`` (a newer file upgrades; the same
    file changes nothing). A shipped file that does not hold stops ``migrate`` with its problems."""
    from indicators.services.registries import install_directory

    if plan and any(backwards for _migration, backwards in plan):
        return  # migrated back: the tables the profiles need may be gone
    if using == "default":
        install_directory(via="migrate")
