"""The project's URLs plus the bench-only endpoints, under /api/ so the API's middleware
(the IP allowlist among it) applies to them as it does to the real endpoints."""

from django.urls import include, path

from bench import views
from tradingsite.urls import handler400, handler403, handler404, handler500  # noqa: F401

urlpatterns = [
    path("api/bench/signed-baseline", views.SignedBaseline.as_view()),
    path("api/bench/baseline", views.BareBaseline.as_view()),
    path("api/bench/enqueue", views.Enqueue.as_view()),
    path("", include("tradingsite.urls")),
]
