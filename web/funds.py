"""Funds: the chosen account's cash, blocked funds, margin in use and what is available,
its ledger with the balance after each entry, its client's contract notes to download
(the files through the contract-note API, which checks their sha256 and audits each
download), and statements (holdings, positions, ledger, margin) of the account over a
period: requested here through the reports' export service, written by the reports worker,
downloaded through the report-exports API (which checks the file's sha256 and audits it)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from compliance.reports.exports import report_export_request
from compliance.reports.models import ReportExport
from compliance.reports.registers.base import ReportParamsError
from compliance.reports.selectors import contract_notes_for, report_exports_for, report_kinds_for
from marketdata import calendar
from orders.selectors import ledger_running
from web.selectors import shell_of
from web.views import page, signed_in

LEDGER_SHOWN = 200
NOTES_SHOWN = 30
STATEMENTS_SHOWN = 10
STATEMENT_DAYS = 30  # the period the form offers first


def _statement_kinds(user) -> list:
    return [r for r in report_kinds_for(user=user) if r.statement]


def _statements(user) -> list[ReportExport]:
    kinds = [r.kind for r in _statement_kinds(user)]
    return list(
        report_exports_for(user=user).filter(requested_by=user, kind__in=kinds)
        .order_by("-pk")[:STATEMENTS_SHOWN]
    )  # fmt: skip


@signed_in
def funds(request: HttpRequest) -> HttpResponse:
    shell = shell_of(request.user, request.session)
    account = shell["account"]
    ledger = ledger_running(account=account, last=LEDGER_SHOWN) if account else []
    notes = []
    if account is not None:
        notes = list(
            contract_notes_for(user=request.user).filter(client_id=account.client_id)
            .order_by("-trade_date", "-number")[:NOTES_SHOWN]
        )  # fmt: skip
    today = timezone.localdate(timezone.now(), calendar.IST)
    kinds = _statement_kinds(request.user)
    return page(
        request, "web/funds.html", shell=shell, ledger=ledger, shown=LEDGER_SHOWN, notes=notes,
        kinds=kinds, kinds_by_kind={r.kind: r.title for r in kinds},
        formats=ReportExport.Format.choices,
        statements=_statements(request.user), date_to=today,
        date_from=today - timedelta(days=STATEMENT_DAYS - 1), nav="funds",
    )  # fmt: skip


@signed_in
@require_POST
def statement_request(request: HttpRequest) -> HttpResponse:
    """Queue a statement of the chosen account: its kind, format and (for the ledger and
    margin statements) period; each refused field is named in a message."""
    back = HttpResponseRedirect(reverse("web:funds") + "#statements")
    account = shell_of(request.user, request.session)["account"]
    if account is None:
        messages.error(request, "No trading account is linked to you.")
        return back
    kinds = {r.kind: r for r in _statement_kinds(request.user)}
    kind = request.POST.get("kind", "")
    if kind not in kinds:
        titles = ", ".join(r.title for r in kinds.values())
        messages.error(request, f"Choose a statement: {titles}.")
        return back
    data = {"account": str(account.pk)}
    for name in ("date_from", "date_to"):
        if name in kinds[kind].filters:
            data[name] = request.POST.get(name, "")
    try:
        export = report_export_request(
            user=request.user, kind=kind, fmt=request.POST.get("format", ""), data=data
        )
    except ReportParamsError as refused:
        for field, problems in refused.errors.items():
            messages.error(request, f"{field.replace('_', ' ').capitalize()}: {' '.join(problems)}")
        return back
    except PermissionError as refused:
        messages.error(request, str(refused))
        return back
    messages.success(
        request, f"{kinds[kind].title} ({export.get_format_display()}) requested: it is listed "
        "below and ready to download in a moment.",
    )  # fmt: skip
    return back
