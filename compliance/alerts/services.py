"""Writes of alerts: raising one (once per rule, subject and window), dismissing and
assigning them; each audited."""

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from compliance.alerts.models import Alert, AlertRule
from compliance.assignment import queue_assign
from compliance.services import audit_record
from tradingsite.errors import DomainError

EVIDENCE_KINDS = ("order", "fill", "ledger", "audit")


class UnknownRule(LookupError):
    """No alert rule has this code (its data migration has not run, or a typo)."""


def rule_params(code: str) -> tuple[AlertRule, dict[str, Any]]:
    """The rule ``code`` and its parameters; a missing rule is an error, never a default."""
    rule = AlertRule.objects.filter(code=code).first()
    if rule is None:
        raise UnknownRule(f"no alert rule {code!r}: add it (compliance.AlertRule) first")
    return rule, dict(rule.params)


def alert_raise(
    *,
    rule: AlertRule,
    subject_key: str,
    window: tuple[dt.datetime, dt.datetime],
    summary: str,
    score: Decimal | float | int = 0,
    evidence: Iterable[Mapping[str, Any]] = (),
    detail: Mapping[str, Any] | None = None,
    priority: int = Alert.Priority.MEDIUM,
    client_id: int | None = None,
    account_id: int | None = None,
    instrument_id: int | None = None,
    algo_id: str = "",
) -> Alert | None:
    """Raise ``rule``'s alert on ``subject_key`` for ``window``; None if it was raised already
    (a rule run twice over the same window raises nothing new). Audited on the firm chain."""
    refs = [{"kind": str(e["kind"]), "id": int(e["id"])} for e in evidence]
    bad = sorted({r["kind"] for r in refs} - set(EVIDENCE_KINDS))
    if bad:
        raise ValueError(f"evidence kinds must be {', '.join(EVIDENCE_KINDS)}, not {bad}")
    start, end = window
    if start > end:
        raise ValueError(f"an alert's window starts ({start}) before it ends ({end})")
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                rule=rule, subject_key=subject_key[:120], window_start=start, window_end=end,
                summary=summary[:300], score=Decimal(str(score)), evidence=refs,
                detail=dict(detail or {}), priority=priority, client_id=client_id,
                account_id=account_id, instrument_id=instrument_id, algo_id=algo_id,
            )  # fmt: skip
            audit_record(  # on the firm's chain: an alert is the desk's, not the account's
                action="alert.raised",
                object_type="compliance.alert",
                object_id=str(alert.pk),
                after={"rule": rule.code, "subject": alert.subject_key, "summary": alert.summary},
            )
    except IntegrityError:
        if Alert.objects.filter(
            rule=rule, subject_key=subject_key[:120], window_start=start, window_end=end
        ).exists():
            return None
        raise
    return alert


class AlertNotOpen(DomainError, ValueError):
    """Only an open alert can be dismissed or assigned, and only to an officer."""

    problem_type = "conflict"


def alert_dismiss(*, alert: Alert, actor: Any, reason: str) -> Alert:
    """Close an open alert with no action, for ``reason`` (required); audited."""
    if not reason.strip():
        raise ValueError("dismissing an alert needs a reason")
    with transaction.atomic():
        alert = Alert.objects.select_for_update(of=("self",)).get(pk=alert.pk)
        if alert.status != Alert.Status.OPEN:
            raise AlertNotOpen(f"alert {alert.pk} is {alert.get_status_display()}, not open")
        alert.status = Alert.Status.DISMISSED
        alert.detail = {**alert.detail, "dismissal": reason.strip()[:500]}
        alert.save(update_fields=["status", "detail", "updated_at"])
        audit_record(
            action="alert.dismissed", object_type="compliance.alert", object_id=str(alert.pk),
            actor=actor, before={"status": Alert.Status.OPEN},
            after={"status": alert.status, "reason": reason.strip()[:500]},
        )  # fmt: skip
    return alert


def alert_assign(*, alerts: Iterable[Alert], assignee: Any, actor: Any) -> int:
    """Assign the open ones of ``alerts`` to the officer ``assignee``; audited, one event per
    alert. Returns how many were assigned. Only an officer who may work the queue
    (``compliance.manage_surveillance_case``) assigns or is assigned."""
    return queue_assign(
        items=Alert.objects.filter(pk__in=[a.pk for a in alerts], status=Alert.Status.OPEN),
        assignee=assignee, actor=actor, perm="compliance.manage_surveillance_case",
        action="alert.assigned", refused=AlertNotOpen,
    )  # fmt: skip


def alert_rule_update(
    *, rule: AlertRule, params: dict[str, Any], enabled: bool, actor: Any
) -> AlertRule:
    """Set a rule's parameters and whether it runs (checked by the caller against the
    rule's expected keys); audited with the parameters before and after."""
    with transaction.atomic():
        locked = AlertRule.objects.select_for_update(of=("self",)).get(pk=rule.pk)
        before = {"params": locked.params, "enabled": locked.enabled}
        locked.params, locked.enabled = dict(params), enabled
        locked.save(update_fields=["params", "enabled", "updated_at"])
        audit_record(
            action="alert_rule.changed", object_type="compliance.alertrule",
            object_id=str(locked.pk), actor=actor, before=before,
            after={"params": locked.params, "enabled": locked.enabled},
        )  # fmt: skip
    return locked
