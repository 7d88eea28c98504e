"""Bench-only endpoints: the baselines each benchmark measures beside the real path.

Every write baseline writes two ``AccessSample`` rows in one transaction, the floor of any
write endpoint; they differ only in what surrounds that write.
"""

from django.db import transaction
from django.utils import timezone
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from marketdata.models import AccessSample


def _two_rows(key: str) -> None:
    with transaction.atomic():
        now = timezone.now()
        AccessSample.objects.create(at=now, keys=[key], client="bench")
        AccessSample.objects.create(at=now, keys=[], client="bench")


class SignedBaseline(APIView):
    """The API's own stack (middleware, signed-request authentication with its nonce, the
    rate-limit buckets of the key and its account), then two rows: placement minus placing."""

    def post(self, request):
        _two_rows(str(request.data.get("key", "")))
        return Response({"ok": True}, status=201)


class BareBaseline(APIView):
    """The same middleware and DRF (JSON parsing, rendering), no authentication, no rate limit."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()

    def post(self, request):
        _two_rows(str(request.data.get("key", "")))
        return Response({"ok": True}, status=201)


class Enqueue(APIView):
    """Signed like an order; writes one row and, on commit, queues a no-op task on the
    ``execution`` queue that writes its own row (the accept-to-fill benchmark's baseline)."""

    def post(self, request):
        from bench.tasks import touch

        token = str(request.data.get("token", ""))
        with transaction.atomic():
            AccessSample.objects.create(at=timezone.now(), keys=[token], client="bench")
            transaction.on_commit(lambda: touch.apply_async(args=[token], queue="execution"))
        return Response({"ok": True}, status=201)
