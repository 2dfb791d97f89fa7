from django.apps import AppConfig


class QualityPortalConfig(AppConfig):
    """The project package as an app, for its project-wide management commands."""

    name = "qualityportal"
    verbose_name = "Kvalitetsportal"

    def ready(self) -> None:
        from qualityportal import uploads

        # Leftovers of a process that died mid-upload go as the portal starts.
        uploads.sweep()
