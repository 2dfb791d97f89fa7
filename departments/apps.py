from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DepartmentsConfig(AppConfig):
    name = "departments"
    verbose_name = _("Afdelinger")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from departments import signals  # noqa: F401 (connects the login audit)
