"""Funds: the chosen account's cash, blocked funds, margin in use and what is available,
its ledger with the balance after each entry, and its client's contract notes to download
(the files through the contract-note API, which checks their sha256 and audits each
download)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from compliance.reports.selectors import contract_notes_for
from orders.selectors import ledger_running
from web.selectors import shell_of
from web.views import page, signed_in

LEDGER_SHOWN = 200
NOTES_SHOWN = 30


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
    return page(
        request, "web/funds.html", shell=shell, ledger=ledger, shown=LEDGER_SHOWN, notes=notes,
        nav="funds",
    )  # fmt: skip
