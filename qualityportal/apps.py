from django.apps import AppConfig


class QualityPortalConfig(AppConfig):
    """The project package as an app, for its project-wide management commands."""

    name = "qualityportal"
    verbose_name = "Kvalitetsportal"
