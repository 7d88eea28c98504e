"""Bench-only settings and URLs for bench/request_path.py: the project's settings with no
middleware at all, serving one bare Django view at ``/bare`` (the floor of the stack)."""

from django.http import JsonResponse
from django.urls import path

from tradingsite.settings import *  # noqa: F403

MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.reqpath_bare"


def bare(request):
    return JsonResponse({"status": "ok"})


urlpatterns = [path("bare", bare)]
