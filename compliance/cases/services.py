"""Writes of cases and STRs: opening a case from alerts (or an AML true match), working it,
escalating it, drafting its STR, and closing it with a second officer's approval.

Every change is audited on the firm's chain (a case is the desk's, never an account's:
nothing of it reaches an account's chain, which traders' tools may read one day). Locks
are taken in one order: the case, then its alerts (ascending id), then its STR; nothing
waits on I/O while holding them (the STR's files are written before the approval's
transaction, named by their content, and the approval checks nothing moved meanwhile).
"""

import hashlib
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.mail import send_mass_mail
from django.db import transaction
from django.utils import timezone

from compliance.alerts.models import Alert
from compliance.alerts.services import EVIDENCE_KINDS
from compliance.assignment import queue_assign
from compliance.cases import str_files
from compliance.cases.models import OUTCOMES, Case, CaseNote, CaseStatus, StrReport, StrStatus
from compliance.cases.report import SUSPICION_CATEGORIES
from compliance.cases.selectors import STR_REMIND_DAYS, str_report_data
from compliance.services import audit_record
from marketdata.calendar import IST
from tradingsite.errors import DomainError

WORK_CASES = "compliance.manage_surveillance_case"
FILE_STR = "compliance.file_str"
#: Days from the determination of suspicion to the STR's due date (PMLA rules, rule 8).
STR_DUE_DAYS = 7
#: Which moves each state allows (the closures go through the four-eyes pair below).
MOVES = {
    "review": ({CaseStatus.OPEN}, CaseStatus.UNDER_REVIEW),
    "escalate": ({CaseStatus.UNDER_REVIEW}, CaseStatus.ESCALATED),
}
WORKABLE = (CaseStatus.OPEN, CaseStatus.UNDER_REVIEW, CaseStatus.ESCALATED)


class CaseRefused(DomainError, ValueError):
    """A case move the rules do not allow (wrong state, the same officer twice, no right)."""

    problem_type = "conflict"


def _require(actor: Any, perm: str, doing: str) -> None:
    if actor is None or not actor.is_active or not actor.has_perm(perm):
        who = actor.get_username() if actor is not None else "nobody"
        raise CaseRefused(f"{who} may not {doing} (needs {perm})")


def _text(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise CaseRefused(f"{what} is required")
    return value


def _locked(case: Case) -> Case:
    return Case.objects.select_for_update(of=("self",)).get(pk=case.pk)


def _audit(case: Case, action: str, actor: Any, before: dict | None, after: dict) -> None:
    audit_record(
        action=action, object_type="compliance.case", object_id=str(case.pk), actor=actor,
        before=before, after={"case": case.ref, **after},
    )  # fmt: skip


def sla_due_at(priority: int, start: datetime) -> datetime:
    """When a case of ``priority`` opened at ``start`` should be closed (the SLA timer)."""
    name = Case.Priority(priority).name.lower()
    return start + timedelta(days=settings.COMPLIANCE_CASE_SLA_DAYS[name])


def _lock_alerts(alerts: Iterable[Alert], *, case: Case | None) -> list[Alert]:
    """The alerts, locked in ascending id; each must be open (or already in ``case``)."""
    ids = sorted({a.pk for a in alerts})
    rows = list(Alert.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk"))
    if len(rows) != len(ids):
        raise CaseRefused(f"no alert {sorted(set(ids) - {a.pk for a in rows})}")
    for alert in rows:
        if alert.status != Alert.Status.OPEN and not (case and alert.case_id == case.pk):
            raise CaseRefused(
                f"alert {alert.pk} is {alert.get_status_display().lower()}: only open alerts "
                "go into a case"
            )
    return rows


def _file_alerts(case: Case, alerts: list[Alert]) -> list[int]:
    added = []
    for alert in alerts:
        if alert.case_id == case.pk:
            continue
        alert.status, alert.case = Alert.Status.IN_CASE, case
        alert.save(update_fields=["status", "case", "updated_at"])
        audit_record(
            action="alert.filed_in_case", object_type="compliance.alert",
            object_id=str(alert.pk), before={"status": Alert.Status.OPEN},
            after={"status": alert.status, "case": case.ref},
        )  # fmt: skip
        added.append(alert.pk)
    return added


def case_open(
    *,
    title: str,
    actor: Any,
    alerts: Iterable[Alert] = (),
    client_id: int | None = None,
    priority: int | None = None,
    screening_hit: Any = None,
) -> Case:
    """Open a case on open ``alerts`` (filed into it) and/or a client. Its priority is the
    highest of its alerts' unless given; its SLA timer starts now. ``actor`` None is the
    system opening a case for an AML true match (``screening_hit``)."""
    if actor is not None or screening_hit is None:
        _require(actor, WORK_CASES, "open a case")
    title = _text(title, "a case's title")[:200]
    with transaction.atomic():
        rows = _lock_alerts(alerts, case=None)
        clients = {a.client_id for a in rows if a.client_id} | ({client_id} - {None})
        if client_id is None and len(clients) == 1:
            client_id = clients.pop()
        if not rows and client_id is None:
            raise CaseRefused("a case needs at least one alert or a client")
        if priority is None:
            priority = max((a.priority for a in rows), default=Case.Priority.MEDIUM)
        if screening_hit is not None:
            priority = Case.Priority.HIGH
        now = timezone.now()
        case = Case.objects.create(
            title=title, priority=priority, client_id=client_id, screening_hit=screening_hit,
            assignee=actor, opened_by=actor, opened_at=now, sla_due_at=sla_due_at(priority, now),
        )  # fmt: skip
        filed = _file_alerts(case, rows)
        _audit(
            case, "case.opened", actor, None,
            {"title": title, "priority": case.get_priority_display(), "client": client_id,
             "alerts": filed, "screening_hit": getattr(screening_hit, "pk", None),
             "sla_due_at": case.sla_due_at.isoformat()},
        )  # fmt: skip
    return case


def case_add_alerts(*, case: Case, alerts: Iterable[Alert], actor: Any) -> list[int]:
    """File more open alerts into a case that is still being worked; audited."""
    _require(actor, WORK_CASES, "add alerts to a case")
    with transaction.atomic():
        case = _locked(case)
        if case.status not in WORKABLE:
            raise CaseRefused(f"{case.ref} is {case.get_status_display().lower()}")
        added = _file_alerts(case, _lock_alerts(alerts, case=case))
        _audit(case, "case.alerts_added", actor, None, {"alerts": added})
    return added


def case_assign(*, cases: Iterable[Case], assignee: Any, actor: Any) -> int:
    """Assign the workable ones of ``cases`` to ``assignee`` (an officer who may work
    cases); one audit event per case. Returns how many changed."""
    return queue_assign(
        items=Case.objects.filter(pk__in=[c.pk for c in cases], status__in=WORKABLE),
        assignee=assignee, actor=actor, perm=WORK_CASES, action="case.assigned",
        refused=CaseRefused,
    )  # fmt: skip


def case_move(*, case: Case, move: str, actor: Any, reason: str = "") -> Case:
    """``review`` (open -> under review; the officer takes it if nobody has) or
    ``escalate`` (under review -> escalated to the principal officer, with a reason)."""
    _require(actor, WORK_CASES, f"{move} a case")
    if move not in MOVES:
        raise CaseRefused(f"{move!r} is not a case move: {', '.join(MOVES)}")
    if move == "escalate":
        reason = _text(reason, "the reason for escalating")
    sources, target = MOVES[move]
    with transaction.atomic():
        case = _locked(case)
        if case.status not in sources:
            raise CaseRefused(
                f"{case.ref} is {case.get_status_display().lower()}: it cannot {move}"
            )
        before = case.status
        case.status = target
        if case.assignee_id is None:
            case.assignee = actor
        case.save(update_fields=["status", "assignee", "updated_at"])
        if reason:
            CaseNote.objects.create(case=case, author=actor, body=f"Escalated: {reason}")
        _audit(case, f"case.{move}", actor, {"status": before},
               {"status": case.status, "reason": reason or None})  # fmt: skip
    return case


def case_note_add(*, case: Case, actor: Any, body: str) -> CaseNote:
    """Add an officer's note (kept, never edited); audited with its text."""
    _require(actor, WORK_CASES, "write case notes")
    body = _text(body, "a note")[:5000]
    with transaction.atomic():
        case = _locked(case)
        note = CaseNote.objects.create(case=case, author=actor, body=body)
        _audit(case, "case.note_added", actor, None, {"note": note.pk, "body": body})
    return note


def case_evidence_add(*, case: Case, actor: Any, refs: Iterable[Mapping[str, Any]]) -> Case:
    """Link more records (orders, fills, ledger entries, audit events) to a case."""
    _require(actor, WORK_CASES, "add evidence to a case")
    try:
        new = [{"kind": str(r["kind"]), "id": int(r["id"])} for r in refs]
    except (KeyError, TypeError, ValueError):
        raise CaseRefused('evidence is a list of {"kind": ..., "id": <number>}') from None
    bad = sorted({r["kind"] for r in new} - set(EVIDENCE_KINDS))
    if bad or not new:
        raise CaseRefused(f"evidence kinds are {', '.join(EVIDENCE_KINDS)}; got {bad or 'none'}")
    with transaction.atomic():
        case = _locked(case)
        if case.is_closed:
            raise CaseRefused(f"{case.ref} is closed")
        added = [r for r in new if r not in case.evidence]
        case.evidence = [*case.evidence, *added]
        case.save(update_fields=["evidence", "updated_at"])
        _audit(case, "case.evidence_added", actor, None, {"evidence": added})
    return case


def str_draft(
    *, case: Case, actor: Any, grounds: str, categories: Iterable[str], action_taken: str = ""
) -> StrReport:
    """Draft (or redraft) the STR of an escalated case. The first draft records the
    determination of suspicion (today, IST) and the due date 7 days on."""
    _require(actor, FILE_STR, "draft an STR")
    grounds = _text(grounds, "the grounds of suspicion")
    categories = sorted(set(categories))
    unknown = [c for c in categories if c not in SUSPICION_CATEGORIES]
    if unknown or not categories:
        raise CaseRefused(
            f"name the grounds' categories from {', '.join(SUSPICION_CATEGORIES)}"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
        )
    with transaction.atomic():
        case = _locked(case)
        if case.status != CaseStatus.ESCALATED:
            raise CaseRefused(
                f"{case.ref} is {case.get_status_display().lower()}: an STR is drafted once a "
                "case is escalated"
            )
        report = StrReport.objects.select_for_update(of=("self",)).filter(case=case).first()
        if report is not None and report.status != StrStatus.DRAFT:
            raise CaseRefused(f"{report.ref} is filed: it does not change")
        fields = {"grounds": grounds, "categories": categories, "action_taken": action_taken}
        if report is None:
            determined = timezone.localdate(timezone.now(), IST)
            case.suspicion_determined_on = determined
            case.save(update_fields=["suspicion_determined_on", "updated_at"])
            report = StrReport.objects.create(
                case=case, prepared_by=actor, suspicion_determined_on=determined,
                due_on=determined + timedelta(days=STR_DUE_DAYS), **fields,
            )  # fmt: skip
            action = "str.drafted"
        else:
            for name, value in fields.items():
                setattr(report, name, value)
            report.prepared_by = actor
            report.save(update_fields=[*fields, "prepared_by"])
            action = "str.redrafted"
        audit_record(
            action=action, object_type="compliance.strreport", object_id=str(report.pk),
            actor=actor,
            after={"case": case.ref, "str": report.ref, "categories": categories,
                   "due_on": report.due_on.isoformat(), "grounds": grounds},
        )  # fmt: skip
    return report


def case_close_request(*, case: Case, actor: Any, outcome: str, reason: str) -> Case:
    """Propose closing a case: ``no_action`` (from review or escalation) or ``str_filed``
    (an escalated case with its STR drafted). A second officer approves it."""
    _require(actor, WORK_CASES, "propose closing a case")
    if outcome not in OUTCOMES:
        raise CaseRefused(f"{outcome!r} is not a closure: {' or '.join(OUTCOMES)}")
    reason = _text(reason, "the reason for closing")
    if outcome == "str_filed":
        _require(actor, FILE_STR, "propose filing an STR")
        _str_writable(case)
    with transaction.atomic():
        case = _locked(case)
        if case.status not in (CaseStatus.UNDER_REVIEW, CaseStatus.ESCALATED):
            raise CaseRefused(
                f"{case.ref} is {case.get_status_display().lower()}: only a case under review "
                "or escalated can be closed"
            )
        case.closure_outcome, case.closure_reason = outcome, reason
        case.closure_requested_by, case.closure_requested_at = actor, timezone.now()
        case.save(update_fields=["closure_outcome", "closure_reason", "closure_requested_by",
                                 "closure_requested_at", "updated_at"])  # fmt: skip
        _audit(case, "case.closure_requested", actor, None,
               {"outcome": outcome, "reason": reason})  # fmt: skip
    return case


def case_close_reject(*, case: Case, actor: Any, reason: str) -> Case:
    """Send a proposed closure back (the second officer), or withdraw it (its proposer),
    with a reason kept as a note."""
    _require(actor, WORK_CASES, "review a case's closure")
    reason = _text(reason, "the reason for sending the closure back")
    with transaction.atomic():
        case = _locked(case)
        if not case.closure_outcome or case.is_closed:
            raise CaseRefused(f"{case.ref} has no closure waiting for approval")
        before = {"outcome": case.closure_outcome, "by": case.closure_requested_by_id}
        case.closure_outcome, case.closure_reason = "", ""
        case.closure_requested_by, case.closure_requested_at = None, None
        case.save(update_fields=["closure_outcome", "closure_reason", "closure_requested_by",
                                 "closure_requested_at", "updated_at"])  # fmt: skip
        CaseNote.objects.create(case=case, author=actor, body=f"Closure sent back: {reason}")
        _audit(case, "case.closure_rejected", actor, before, {"reason": reason})
    return case


def _str_writable(case: Case) -> None:
    """Refuse, naming every problem, a case whose STR could not be written for FIU-IND
    (no draft, no subject, no transaction among its evidence...)."""
    if not StrReport.objects.filter(case=case).exists():
        raise CaseRefused(f"{case.ref} has no STR drafted: draft it before filing")
    try:
        str_files.str_validate(str_report_data(case=case))
    except str_files.STRInvalid as invalid:
        raise CaseRefused(f"{case.ref}: the STR cannot be filed: {invalid.detail}") from None


def _str_files_write(case: Case, actor: Any) -> dict[str, str]:
    """Write the STR's two files (named by their sha256) before any lock; the approval
    records them only if the case and its draft are still what was written."""
    data = str_report_data(case=case, approved_by=actor)
    try:
        str_files.str_validate(data)
    except str_files.STRInvalid as invalid:
        raise CaseRefused(f"{case.ref}: the STR cannot be filed: {invalid.detail}") from None
    name, machine = str_files.str_machine_readable(data)
    pdf = str_files.str_pdf(data)
    storage = storages["compliance"]
    written = {}
    for kind, content, suffix in (("data", machine, name.rsplit(".", 1)[-1]), ("pdf", pdf, "pdf")):
        digest = hashlib.sha256(content).hexdigest()
        path = f"str/{data.report_ref}/{digest}.{suffix}"
        if not storage.exists(path):
            storage.save(path, ContentFile(content))
        written[f"{kind}_file"], written[f"{kind}_sha256"] = path, digest
    return written


def case_close_approve(*, case: Case, actor: Any) -> Case:
    """A second officer approves the proposed closure. For ``str_filed`` the STR's files
    are written and frozen, and the STR is filed with the approver named."""
    _require(actor, WORK_CASES, "approve a case's closure")
    seen = Case.objects.get(pk=case.pk)
    if not seen.closure_outcome or seen.is_closed:
        raise CaseRefused(f"{seen.ref} has no closure waiting for approval")
    if seen.closure_requested_by_id == actor.pk:
        raise CaseRefused(
            f"{seen.ref}: closing needs a second officer; "
            f"{actor.get_username()} proposed this closure"
        )
    files: dict[str, str] = {}
    draft: StrReport | None = None
    if seen.closure_outcome == "str_filed":
        _require(actor, FILE_STR, "file an STR")
        draft = StrReport.objects.get(case=seen)
        if draft.prepared_by_id == actor.pk:
            raise CaseRefused(f"{draft.ref} is approved by an officer who did not prepare it")
        files = _str_files_write(seen, actor)
    with transaction.atomic():
        case = _locked(case)
        if (case.closure_requested_at, case.closure_outcome) != (
            seen.closure_requested_at,
            seen.closure_outcome,
        ) or case.is_closed:
            raise CaseRefused(f"{case.ref} changed while it was being approved: look again")
        now = timezone.now()
        if draft is not None:
            report = StrReport.objects.select_for_update(of=("self",)).get(pk=draft.pk)
            if (report.grounds, report.categories, report.action_taken, report.status) != (
                draft.grounds, draft.categories, draft.action_taken, StrStatus.DRAFT,
            ):  # fmt: skip
                raise CaseRefused(f"{report.ref} changed while it was being approved")
            report.status, report.approved_by, report.filed_at = StrStatus.FILED, actor, now
            for name, value in files.items():
                setattr(report, name, value)
            report.save(update_fields=["status", "approved_by", "filed_at", *files])
            audit_record(
                action="str.filed", object_type="compliance.strreport",
                object_id=str(report.pk), actor=actor,
                after={"case": case.ref, "str": report.ref, **files},
            )  # fmt: skip
        before = case.status
        case.status = OUTCOMES[case.closure_outcome]
        case.closed_by, case.closed_at = actor, now
        case.save(update_fields=["status", "closed_by", "closed_at", "updated_at"])
        _audit(case, "case.closed", actor, {"status": before},
               {"status": case.status, "outcome": case.closure_outcome,
                "proposed_by": case.closure_requested_by_id})  # fmt: skip
    return case


def str_due_remind(*, today: date) -> list[StrReport]:
    """E-mail the officers who file STRs about every draft due within two days or overdue
    (once a day each); the reminder is audited. Mail goes before the rows are marked, with
    no lock held."""
    due = list(
        StrReport.objects.filter(
            status=StrStatus.DRAFT, due_on__lte=today + timedelta(days=STR_REMIND_DAYS)
        )
        .exclude(reminded_on=today)
        .select_related("case")
        .order_by("due_on", "pk")
    )
    if not due:
        return []
    officers = [
        u.email
        for u in get_user_model().objects.filter(is_active=True).exclude(email="")
        if u.has_perm(FILE_STR)
    ]
    lines = [
        f"{r.ref} ({r.case.ref}): due {r.due_on:%d %b %Y}"
        + (" - OVERDUE" if r.due_on < today else f", {(r.due_on - today).days} day(s) left")
        for r in due
    ]
    if officers:
        send_mass_mail(
            [(f"{len(due)} STR(s) due for FIU-IND", "\n".join(lines), None, officers)],
            fail_silently=False,
        )
    with transaction.atomic():
        for report in due:
            StrReport.objects.filter(pk=report.pk).update(reminded_on=today)
            audit_record(
                action="str.due_reminded", object_type="compliance.strreport",
                object_id=str(report.pk),
                after={"str": report.ref, "due_on": report.due_on.isoformat(),
                       "overdue": report.due_on < today, "officers": len(officers)},
            )  # fmt: skip
    return due


class StrFileTampered(RuntimeError):
    """A filed STR's stored file no longer matches the sha256 recorded when it was filed."""


def str_file_read(*, report: StrReport, kind: str, actor: Any) -> tuple[str, bytes]:
    """The STR's ``kind`` file ("data": machine-readable, or "pdf"), for an officer or an
    auditor: a filed STR's frozen file (its sha256 checked), a draft's written afresh.
    Every read is audited (an STR is confidential: who read it is kept)."""
    if kind not in ("data", "pdf"):
        raise CaseRefused(f"{kind!r} is not an STR file: data or pdf")
    if report.status == StrStatus.FILED:
        path, digest = getattr(report, f"{kind}_file"), getattr(report, f"{kind}_sha256")
        with storages["compliance"].open(path, "rb") as stored:
            content = stored.read()
        if hashlib.sha256(content).hexdigest() != digest:
            raise StrFileTampered(f"{report.ref}: {path} does not match its recorded sha256")
        name = f"{report.ref}.{path.rsplit('.', 1)[-1]}"
    else:
        data = str_report_data(case=report.case)
        if kind == "pdf":
            name, content = f"{report.ref}-DRAFT.pdf", str_files.str_pdf(data)
        else:
            file_name, content = str_files.str_machine_readable(data)
            name = f"{report.ref}-DRAFT.{file_name.rsplit('.', 1)[-1]}"
    audit_record(
        action="str.read", object_type="compliance.strreport", object_id=str(report.pk),
        actor=actor, after={"str": report.ref, "file": kind, "status": report.status},
    )  # fmt: skip
    return name, content
