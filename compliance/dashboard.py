"""The compliance desk's day in numbers: what came in today and what waits, per queue (KYC,
screening hits, monitoring and surveillance alerts, cases, STRs, re-KYC), each number
linked to its filtered queue in the admin."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from compliance.alerts.models import Alert, AlertRule
from compliance.cases.models import CLOSED_STATES, Case, StrReport, StrStatus
from compliance.cases.selectors import STR_REMIND_DAYS
from compliance.kyc.choices import OPEN_STATES, ApplicationStatus, ReKycStatus
from compliance.kyc.models import KycApplication, ReKycDue
from compliance.screening.models import HitStatus, ScreeningHit
from marketdata.calendar import IST


@dataclass(frozen=True)
class Figure:
    label: str
    value: int
    url: str
    warn: bool = False  # shown in red when not zero: overdue, past SLA


def _queue(model: str, **filters: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    return reverse(f"admin:compliance_{model}_changelist") + (f"?{query}" if query else "")


def _alert_figures(kind: str, alerts: dict) -> list[Figure]:
    counts, queue = alerts[kind], {"rule__kind__exact": kind}
    return [
        Figure("raised today", counts["raised"], _queue("alert", **queue)),
        Figure("open", counts["open"], _queue("alert", **queue, status__exact="open")),
        Figure("open, high priority", counts["high"],
               _queue("alert", **queue, status__exact="open", priority__exact="3")),
    ]  # fmt: skip


def desk_numbers(today: date | None = None) -> dict[str, list[Figure]]:
    """The day's numbers by queue, for the dashboard (``today`` in IST)."""
    now = timezone.now()
    today = today or timezone.localdate(now, IST)
    start = datetime.combine(today, time(0), IST)
    day = Q(raised_at__gte=start, raised_at__lt=start + timedelta(days=1))
    kyc = KycApplication.objects.aggregate(
        waiting=Count("id", filter=Q(status__in=OPEN_STATES)),
        to_approve=Count("id", filter=Q(status=ApplicationStatus.VERIFIED)),
        decided=Count("id", filter=Q(decided_at__gte=start)),
    )
    hits = ScreeningHit.objects.aggregate(
        raised=Count("id", filter=day),
        open=Count("id", filter=Q(status=HitStatus.OPEN)),
        true=Count("id", filter=Q(status=HitStatus.TRUE_MATCH, disposed_at__gte=start)),
    )
    alerts = {
        kind: Alert.objects.filter(rule__kind=kind).aggregate(
            raised=Count("id", filter=day),
            open=Count("id", filter=Q(status=Alert.Status.OPEN)),
            high=Count("id", filter=Q(status=Alert.Status.OPEN, priority=Alert.Priority.HIGH)),
        )
        for kind in AlertRule.Kind.values
    }
    open_cases = ~Q(status__in=CLOSED_STATES)
    cases = Case.objects.aggregate(
        opened=Count("id", filter=Q(opened_at__gte=start)),
        open=Count("id", filter=open_cases),
        awaiting=Count("id", filter=open_cases & ~Q(closure_outcome="")),
        past_sla=Count("id", filter=open_cases & Q(sla_due_at__lt=now)),
        closed=Count("id", filter=Q(closed_at__gte=start)),
    )
    strs = StrReport.objects.aggregate(
        drafts=Count("id", filter=Q(status=StrStatus.DRAFT)),
        due=Count("id", filter=Q(status=StrStatus.DRAFT, due_on__gte=today,
                                 due_on__lte=today + timedelta(days=STR_REMIND_DAYS))),
        overdue=Count("id", filter=Q(status=StrStatus.DRAFT, due_on__lt=today)),
        filed=Count("id", filter=Q(filed_at__gte=start)),
    )  # fmt: skip
    rekyc = ReKycDue.objects.filter(status=ReKycStatus.DUE).aggregate(
        due=Count("id"), overdue=Count("id", filter=Q(due_on__lt=today))
    )
    return {
        "KYC applications": [
            Figure("waiting on an officer", kyc["waiting"], _queue("kycapplication")),
            Figure("verified, to approve (checker)", kyc["to_approve"],
                   _queue("kycapplication", status__exact=ApplicationStatus.VERIFIED)),
            Figure("decided today", kyc["decided"], _queue("kycapplication")),
        ],
        "AML screening hits": [
            Figure("raised today", hits["raised"], _queue("screeninghit")),
            Figure("open", hits["open"], _queue("screeninghit", status__exact=HitStatus.OPEN)),
            Figure("true matches today", hits["true"],
                   _queue("screeninghit", status__exact=HitStatus.TRUE_MATCH)),
        ],
        "Transaction monitoring (PMLA)": _alert_figures(AlertRule.Kind.MONITORING, alerts),
        "Market-abuse surveillance": _alert_figures(AlertRule.Kind.SURVEILLANCE, alerts),
        "Cases": [
            Figure("opened today", cases["opened"], _queue("case")),
            Figure("open", cases["open"], _queue("case")),
            Figure("closure awaiting a second officer", cases["awaiting"],
                   _queue("case", sla="awaiting")),
            Figure("past their SLA", cases["past_sla"], _queue("case", sla="past"), warn=True),
            Figure("closed today", cases["closed"], _queue("case")),
        ],
        "STRs to FIU-IND": [
            Figure("drafts", strs["drafts"], _queue("strreport", status__exact=StrStatus.DRAFT)),
            Figure(f"due within {STR_REMIND_DAYS} days", strs["due"],
                   _queue("strreport", status__exact=StrStatus.DRAFT), warn=True),
            Figure("overdue", strs["overdue"],
                   _queue("strreport", status__exact=StrStatus.DRAFT), warn=True),
            Figure("filed today", strs["filed"],
                   _queue("strreport", status__exact=StrStatus.FILED)),
        ],
        "Periodic re-KYC": [
            Figure("due", rekyc["due"], _queue("rekycdue")),
            Figure("overdue (no new positions)", rekyc["overdue"], _queue("rekycdue"), warn=True),
        ],
    }  # fmt: skip
