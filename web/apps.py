"""The trader's web app: server-rendered pages over the services, selectors and API."""

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "web"
    verbose_name = "Trader web app"
    default_auto_field = "django.db.models.BigAutoField"
