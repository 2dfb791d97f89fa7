from django.conf import settings


def portal(request) -> dict:
    """What every page's header needs."""
    return {"background_inline": settings.CELERY_TASK_ALWAYS_EAGER}
