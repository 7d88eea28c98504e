"""What a rule found, before it is an alert: the shape both surveillance's patterns and
transaction monitoring's return, and raising a list of them as alerts."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from compliance.alerts.models import Alert, AlertRule
from compliance.alerts.services import alert_raise


@dataclass
class Finding:
    subject_key: str
    summary: str
    score: Decimal
    evidence: list[dict] = field(default_factory=list)
    detail: dict = field(default_factory=dict)
    high: bool = False
    client_id: int | None = None
    account_id: int | None = None
    instrument_id: int | None = None
    algo_id: str = ""


def finding_raise(
    *, rule: AlertRule, finding: Finding, window: tuple[dt.datetime, dt.datetime]
) -> Alert | None:
    """Raise ``finding`` as ``rule``'s alert over ``window`` (None if raised already)."""
    return alert_raise(
        rule=rule, subject_key=finding.subject_key, window=window, summary=finding.summary,
        score=finding.score, evidence=finding.evidence, detail=finding.detail,
        priority=Alert.Priority.HIGH if finding.high else Alert.Priority.MEDIUM,
        client_id=finding.client_id, account_id=finding.account_id,
        instrument_id=finding.instrument_id, algo_id=finding.algo_id,
    )  # fmt: skip


def findings_raise(
    *, rule: AlertRule, findings: Iterable[Finding], window: tuple[dt.datetime, dt.datetime]
) -> int:
    """Raise each of ``findings``; how many alerts were new."""
    return sum(
        finding_raise(rule=rule, finding=finding, window=window) is not None for finding in findings
    )
