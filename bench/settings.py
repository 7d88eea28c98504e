"""Settings for benchmark runs: the project's, plus the bench endpoints and counters.

``bench`` joins the installed apps so the Celery worker finds ``bench.tasks``; the
counting middleware (``bench.counting``) goes outermost, idle unless a request asks.
"""

from tradingsite.settings import *  # noqa: F403
from tradingsite.settings import INSTALLED_APPS, MIDDLEWARE

ROOT_URLCONF = "bench.urls"
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]
MIDDLEWARE = ["bench.counting.CountingMiddleware", *MIDDLEWARE]
