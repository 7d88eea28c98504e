"""Funds: the chosen account's cash, blocked funds, margin in use and what is available,
and its ledger with the balance after each entry."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from orders.selectors import ledger_running
from web.selectors import shell_of
from web.views import signed_in

LEDGER_SHOWN = 200


@signed_in
def funds(request: HttpRequest) -> HttpResponse:
    shell = shell_of(request.user, request.session)
    account = shell["account"]
    ledger = ledger_running(account=account, last=LEDGER_SHOWN) if account else []
    return TemplateResponse(
        request, "web/funds.html",
        {**shell, "ledger": ledger, "shown": LEDGER_SHOWN, "nav": "funds"},
    )  # fmt: skip
