"""The Celery app.

With REDIS_URL set, tasks go through Redis to a worker process; with nothing
set, settings turn on ``task_always_eager`` so that the demo and the tests run
tasks in-process with no services. The apps register their periodic tasks
(``registry.periodic_task`` in their ready()); when the app is finalized (by
``celery beat`` after Django is set up) they join beat's schedule.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oversight.settings")

app = Celery("oversight")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _registered_schedule(sender, **kwargs) -> None:
    from . import registry

    sender.conf.beat_schedule = {**registry.beat_schedule(), **sender.conf.beat_schedule}
