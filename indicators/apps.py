from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IndicatorsConfig(AppConfig):
    name = "indicators"
    verbose_name = _("Indikatorer")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from indicators import signals  # noqa: F401  (connects the receivers)
