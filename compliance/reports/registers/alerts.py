"""The alert register: every surveillance and AML (transaction monitoring) alert raised.

Alerts are the compliance desk's alone (tipping-off): the register is staff only, as every
register that is not a statement is.
"""

from collections.abc import Iterator

from compliance.reports.registers.base import Column, Register, ReportParams, register
from compliance.reports.registers.common import CHUNK, in_period

ALERT_COLUMNS = (
    Column("alert_id", "Alert", 7),
    Column("raised_at", "Raised", 27),
    Column("rule", "Rule", 16),
    Column("rule_kind", "Kind", 12),
    Column("priority", "Priority", 8),
    Column("status", "Status", 10),
    Column("subject", "Subject", 18),
    Column("client_id", "Client", 7),
    Column("client_name", "Client name", 18),
    Column("account_id", "Account", 8),
    Column("ucc", "UCC", 10),
    Column("instrument", "Instrument", 12),
    Column("algo_id", "Algo ID", 12),
    Column("window_start", "Window from", 27),
    Column("window_end", "Window to", 27),
    Column("score", "Score", 9),
    Column("summary", "Summary", 36),
    Column("assignee", "Assignee", 12),
    Column("case_id", "Case", 7),
)


def _alerts(params: ReportParams):
    from compliance.alerts.models import Alert

    alerts = Alert.objects.filter(**in_period("raised_at", params))
    if params.client_id:
        alerts = alerts.filter(client_id=params.client_id)
    if params.account_id:
        alerts = alerts.filter(account_id=params.account_id)
    if params.instrument_id:
        alerts = alerts.filter(instrument_id=params.instrument_id)
    if params.algo_id:
        alerts = alerts.filter(algo_id=params.algo_id)
    return alerts


def alert_rows(params: ReportParams) -> Iterator[tuple]:
    alerts = (
        _alerts(params)
        .select_related("rule", "client", "account", "instrument", "assignee")
        .defer("client__pan", "client__bank_account_number", "evidence", "detail")
        .order_by("raised_at", "id")
    )
    for a in alerts.iterator(chunk_size=CHUNK):
        yield (
            a.pk, a.raised_at, a.rule.code, a.rule.kind, a.get_priority_display(), a.status,
            a.subject_key, a.client_id, a.client.name if a.client_id else "", a.account_id,
            a.account.code if a.account_id else "",
            a.instrument.key if a.instrument_id else "", a.algo_id, a.window_start,
            a.window_end, a.score, a.summary, a.assignee.username if a.assignee_id else "",
            a.case_id,
        )  # fmt: skip


register(
    Register(
        kind="alert_register",
        title="Surveillance and AML alert register",
        columns=ALERT_COLUMNS,
        rows=alert_rows,
        count=lambda params: _alerts(params).count(),
        filters=frozenset({"date_from", "date_to", "account", "client", "instrument", "algo_id"}),
        description="Every alert the surveillance and monitoring rules raised, with its status.",
    )
)
