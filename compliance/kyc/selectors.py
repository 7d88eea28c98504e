"""Reads of KYC shared by the admin, the tasks and the demo: the queue and what is pending."""

from collections.abc import Iterable
from datetime import date

from django.db.models import Count, OuterRef, QuerySet, Subquery

from compliance.kyc.choices import OPEN_STATES, ApplicationStatus, KraStatus
from compliance.kyc.models import KycApplication


def kyc_queue() -> QuerySet[KycApplication]:
    """Applications an officer still has to act on, oldest submitted first."""
    return (
        KycApplication.objects.filter(status__in=OPEN_STATES)
        .select_related("client", "verified_by")
        .order_by("submitted_at", "id")
    )


def kyc_queue_counts() -> dict[str, int]:
    """How many applications are in each state (every state, zeros included)."""
    found = dict(KycApplication.objects.values_list("status").annotate(n=Count("id")).order_by())
    return {status: found.get(status, 0) for status in ApplicationStatus.values}


def kyc_awaiting_kra() -> QuerySet[KycApplication]:
    """Approved applications the KRA has not (yet) validated: the KRA poll's work."""
    return KycApplication.objects.filter(status=ApplicationStatus.APPROVED).exclude(
        kra_status__in=[KraStatus.VALIDATED, KraStatus.REJECTED]
    )


def _applications_latest_first(client_id: int | OuterRef) -> QuerySet[KycApplication]:
    """The one rule for a client's current application: its latest, by id (whatever its
    status). The contract note and the stamp duty summary both read the client through it."""
    return KycApplication.objects.filter(client_id=client_id).order_by("-id")


def kyc_application_current(*, client_id: int) -> KycApplication | None:
    """The client's latest application."""
    return _applications_latest_first(client_id).first()


def kyc_state_current(*, client_field: str) -> Subquery:
    """The state (GST state code) on the current application of the client named by the
    outer query's ``client_field``, as an expression to annotate a streamed read with: ``""``
    for an application with no state, ``None`` for a client with no application."""
    return Subquery(_applications_latest_first(OuterRef(client_field)).values("state")[:1])


def age_days(since, today: date) -> int | None:
    return None if since is None else (today - since.date()).days


def kyc_declared_incomes(*, client_ids: Iterable[int]) -> dict[int, str]:
    """Per client, the income range it declared (``IncomeRange``): on its latest approved
    application, else on its latest application of any state. Clients with none are left
    out."""
    declared: dict[int, str] = {}
    approved: dict[int, str] = {}
    rows = (
        KycApplication.objects.filter(client_id__in=sorted(set(client_ids)))
        .order_by("id")
        .values_list("client_id", "status", "income_range")
    )
    for client_id, status, income_range in rows:  # in id order: the latest overwrites
        declared[client_id] = income_range
        if status == ApplicationStatus.APPROVED:
            approved[client_id] = income_range
    return {**declared, **approved}
