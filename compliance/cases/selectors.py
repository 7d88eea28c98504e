"""Reads of cases: the queue's counts, a case's evidence, and the STR gathered from a case
(its subjects, accounts and transactions) as ``compliance.cases.report`` data."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from compliance.cases import report as r
from compliance.cases.models import CLOSED_STATES, Case, CaseStatus, StrReport, StrStatus
from compliance.kyc.selectors import kyc_application_current
from compliance.models import Client
from marketdata.calendar import IST
from orders.choices import LedgerKind
from orders.selectors import accounts_of_client, evidence_records

PAISA = Decimal("0.01")
#: An STR draft this close to its due date (or past it) is due soon (and reminded daily).
STR_REMIND_DAYS = 2


def open_cases() -> QuerySet[Case]:
    return Case.objects.exclude(status__in=CLOSED_STATES)


def case_counts(*, today: date | None = None) -> dict[str, Any]:
    """The case queue's numbers: by status, awaiting a second officer, past their SLA,
    and STRs due (drafts due within 2 days) or overdue."""
    now = timezone.now()
    today = today or timezone.localdate(now, IST)
    by_status = dict(Case.objects.values_list("status").annotate(n=Count("id")).order_by())
    counts = open_cases().aggregate(
        awaiting_approval=Count("id", filter=~Q(closure_outcome="")),
        past_sla=Count("id", filter=Q(sla_due_at__lt=now)),
        unassigned=Count("id", filter=Q(assignee__isnull=True)),
    )
    drafts = StrReport.objects.filter(status=StrStatus.DRAFT)
    return {
        "by_status": {s.label: by_status.get(s.value, 0) for s in CaseStatus},
        **counts,
        "str_due_soon": drafts.filter(
            due_on__gte=today, due_on__lte=today + timedelta(days=STR_REMIND_DAYS)
        ).count(),
        "str_overdue": drafts.filter(due_on__lt=today).count(),
    }


def case_evidence(case: Case) -> list[dict]:
    """Every record the case rests on: its alerts' evidence, then what officers added
    (each once, in that order)."""
    refs: list[dict] = []
    for alert in case.alerts.order_by("pk"):
        refs += [e for e in alert.evidence if e not in refs]
    return refs + [e for e in case.evidence if e not in refs]


def _subject(client: Client) -> r.Subject:
    kyc = kyc_application_current(client_id=client.pk)
    if kyc is None:
        return r.Subject(
            name=client.name, pan=client.pan, date_of_birth=None, nationality="",
            occupation="", address="", mobile="", email="", client_ref=str(client.pk),
        )  # fmt: skip
    return r.Subject(
        name=kyc.name, pan=client.pan, date_of_birth=kyc.date_of_birth,
        nationality=kyc.country, occupation=kyc.get_occupation_display(),
        address=kyc.address, mobile=kyc.mobile, email=kyc.email, client_ref=str(client.pk),
    )  # fmt: skip


def _account(account, client: Client) -> r.Account:
    return r.Account(
        account_number=account.code, holder_pan=client.pan, kind=account.kind,
        status=account.status, opened_on=timezone.localdate(account.created_at, IST),
        bank_ifsc=client.bank_ifsc,
    )  # fmt: skip


def _trade(fill) -> r.Transaction:
    return r.Transaction(
        ref=f"fill:{fill.pk}", at=timezone.localtime(fill.filled_at, IST),
        account_number=fill.account.code, kind="trade", instrument=fill.order.tradingsymbol,
        side=fill.order.transaction_type, quantity=fill.quantity, price=fill.price,
        amount=(fill.price * fill.quantity).quantize(PAISA),
    )  # fmt: skip


def _cash(entry) -> r.Transaction:
    return r.Transaction(
        ref=f"ledger:{entry.pk}", at=timezone.localtime(entry.posted_at, IST),
        account_number=entry.account.code, kind=LedgerKind(entry.kind).value, instrument="",
        side="CREDIT" if entry.amount >= 0 else "DEBIT", quantity=0, price=None,
        amount=abs(entry.amount),
    )  # fmt: skip


def str_report_data(*, case: Case, approved_by: Any = None) -> r.SuspiciousTransactionReport:
    """The STR of ``case`` (which has a draft) as plain data, for its files."""
    report = StrReport.objects.select_related("prepared_by").get(case=case)
    evidence = case_evidence(case)
    ids = {kind: [e["id"] for e in evidence if e["kind"] == kind] for kind in ("fill", "ledger")}
    order_ids = [e["id"] for e in evidence if e["kind"] == "order"]
    fills, ledger = evidence_records(
        fill_ids=ids["fill"], ledger_ids=ids["ledger"], order_ids=order_ids
    )
    alerts = list(case.alerts.select_related("rule").order_by("pk"))
    client_ids = {case.client_id} | {a.client_id for a in alerts}
    client_ids |= {f.account.client_id for f in fills} | {e.account.client_id for e in ledger}
    clients = list(Client.objects.filter(pk__in=client_ids - {None}).order_by("pk"))
    accounts = [
        _account(account, client)
        for client in clients
        for account in accounts_of_client(client_id=client.pk)
    ]
    transactions = [_trade(f) for f in fills] + [_cash(e) for e in ledger]
    transactions.sort(key=lambda t: (t.at, t.ref))
    return r.SuspiciousTransactionReport(
        report_ref=report.ref, case_ref=case.ref, generated_at=timezone.localtime(None, IST),
        suspicion_determined_on=report.suspicion_determined_on, due_on=report.due_on,
        reporting_entity=r.ReportingEntity(**settings.COMPLIANCE_REPORTING_ENTITY),
        principal_officer=r.PrincipalOfficer(**settings.COMPLIANCE_PRINCIPAL_OFFICER),
        subjects=[_subject(c) for c in clients], accounts=accounts,
        transactions=transactions, grounds_of_suspicion=report.grounds,
        suspicion_categories=list(report.categories),
        alerts=[f"{a.rule.code}: {a.summary}" for a in alerts],
        action_taken=report.action_taken,
        prepared_by=report.prepared_by.get_full_name() or report.prepared_by.get_username(),
        approved_by=(approved_by.get_full_name() or approved_by.get_username())
        if approved_by else "",
    )  # fmt: skip
