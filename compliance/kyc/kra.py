"""The KYC Registration Agency (KRA) through a small interface, and a fake one.

``kra_adapter()`` returns the adapter named by the ``KYC_KRA_ADAPTER`` setting (a dotted
path). An adapter has ``lookup(pan) -> KraRecord | None`` and ``upload(application) ->
KraRecord``. They do network I/O: call them outside any transaction (``orders.locks``).

:class:`FakeKra` behaves as a KRA does, deterministically, for the demo and the tests:

- a PAN it has never seen: ``lookup`` returns None;
- ``upload`` registers it as "Under Process";
- each later ``lookup`` is one step of the KRA's processing: after ``KYC_FAKE_KRA_STEPS``
  lookups (default 1) the record is "KYC Validated";
- a PAN whose digits are 0001 goes "On Hold" instead, 9999 "Rejected" (to show those).

Its records live in the default cache, so the web process and a worker share them where the
cache is shared (Redis).
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.module_loading import import_string

from compliance.kyc.choices import KraStatus


@dataclass(frozen=True)
class KraRecord:
    status: str  # a KraStatus value
    reference: str = ""
    checked_at: datetime = field(default_factory=timezone.now)
    remarks: str = ""


class KraAdapter(ABC):
    """The seam for a real KRA (CVL, NDML, CAMS, Karvy, DotEx): subclass and name it in
    ``KYC_KRA_ADAPTER``. Only the fake KRA below exists today."""

    @abstractmethod
    def lookup(self, pan: str) -> KraRecord | None:
        """The KRA's record of ``pan``, or None if it has none."""

    @abstractmethod
    def upload(self, application) -> KraRecord:
        """Send an approved application's KYC record; the KRA's answer."""


class FakeKra(KraAdapter):
    """A KRA in the cache that validates uploaded records after a few lookups."""

    PREFIX = "fake-kra:"

    def _key(self, pan: str) -> str:
        return self.PREFIX + pan.strip().upper()

    def lookup(self, pan: str) -> KraRecord | None:
        stored = cache.get(self._key(pan))
        if stored is None:
            return None
        if stored["status"] == KraStatus.UNDER_PROCESS:
            stored["steps"] += 1
            if stored["steps"] >= getattr(settings, "KYC_FAKE_KRA_STEPS", 1):
                digits = pan.strip().upper()[5:9]
                stored["status"] = {"0001": KraStatus.ON_HOLD, "9999": KraStatus.REJECTED}.get(
                    digits, KraStatus.VALIDATED
                )
            cache.set(self._key(pan), stored, None)
        return KraRecord(status=str(stored["status"]), reference=stored["reference"])

    def upload(self, application) -> KraRecord:
        reference = f"FAKEKRA{application.pk:08d}"
        cache.set(
            self._key(application.pan),
            {"status": str(KraStatus.UNDER_PROCESS), "steps": 0, "reference": reference},
            None,
        )
        return KraRecord(status=str(KraStatus.UNDER_PROCESS), reference=reference)

    def forget(self, pan: str) -> None:
        cache.delete(self._key(pan))


def kra_adapter() -> KraAdapter:
    return import_string(settings.KYC_KRA_ADAPTER)()
