"""The Celery application: configuration comes from Django settings (``CELERY_*``).

Queues: ``execution`` (orders), ``marketdata`` (feeds, cache warming), ``reports`` (report
exports) and ``maintenance`` (everything else). Schedules live in django-celery-beat's tables.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradingsite.settings")

app = Celery("tradingsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
