import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qualityportal.settings")

app = Celery("qualityportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
if app.conf.task_always_eager and not app.conf.broker_url:
    # Without a broker tasks run in-process; Celery still builds a producer for their
    # serializer, and with no broker named it would reach for amqp://localhost (and warn).
    app.conf.broker_url = "memory://localhost/"
app.autodiscover_tasks()
