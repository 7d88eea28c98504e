"""The project's URLs plus the benchmark baseline: a bare DRF endpoint writing two rows."""

from django.db import transaction
from django.urls import include, path
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.views import APIView

from marketdata.models import AccessSample
from tradingsite.urls import handler400, handler403, handler404, handler500  # noqa: F401


class Baseline(APIView):
    """Authenticate, parse JSON, write two rows in one transaction, answer 201: the floor
    that any write endpoint of this stack pays."""

    def post(self, request):
        with transaction.atomic():
            now = timezone.now()
            AccessSample.objects.create(at=now, keys=[request.data.get("key", "")], client="bench")
            AccessSample.objects.create(at=now, keys=[], client="bench")
        return Response({"ok": True}, status=201)


urlpatterns = [path("bench/baseline", Baseline.as_view()), path("", include("tradingsite.urls"))]
