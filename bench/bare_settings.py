"""The project's settings with no middleware and one view, ``GET /bare``: the floor of a
Django view under gunicorn. This module is its own URLconf (the view needs no app, so it
can live where settings are read)."""

from django.http import JsonResponse
from django.urls import path

from tradingsite.settings import *  # noqa: F403

MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.bare_settings"


def bare(request):
    return JsonResponse({"status": "ok"})


urlpatterns = [path("bare", bare)]
