"""The Celery app.

With REDIS_URL set, tasks go through Redis to a worker process; with nothing
set, settings turn on ``task_always_eager`` so that the demo and the tests run
tasks in-process with no services. Schedules live in settings.CELERY_BEAT_SCHEDULE.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oversight.settings")

app = Celery("oversight")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
