"""The Celery app: Redis is the broker; tasks take ids and call services."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unlearn_site.settings")

app = Celery("unlearn")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["remediation"])
