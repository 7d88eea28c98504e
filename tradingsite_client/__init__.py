"""A small Python client for the TradingSite API that signs every request (RFC 9421).

    from tradingsite_client import TradingSite
    api = TradingSite("https://api.example.in", key_id="tsk_...", secret="...")
    order = api.place_order("TS0001", "INFY", "BUY", 5, order_type="LIMIT", price="1400.00")
    api.modify_order(order["order_id"], price="1405.00")
    api.cancel_order(order["order_id"])
    api.positions(), api.holdings(), api.trades(), api.funds("TS0001")

Install it with ``pip install ./tradingsite_client`` from a clone of the repository.

Signing is done by the stock ``requests-http-signature`` library (hmac-sha256, covering
@method, @authority, @path, @query and the body's Content-Digest, with created and a fresh
nonce); this module only names the endpoints and turns problem+json errors into
``ApiError``. It depends on ``requests`` and ``requests-http-signature`` only.
"""

from decimal import Decimal
from typing import Any

import requests
from requests_http_signature import HTTPSignatureAuth, algorithms

COVERED = ("@method", "@authority", "@path", "@query")


class ApiError(Exception):
    """An RFC 9457 problem answered by the API: ``type``, ``status``, ``detail`` and the rest."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        self.type = str(problem.get("type", "")).rsplit("/", 1)[-1]
        self.detail = problem.get("detail", "")
        super().__init__(f"{status} {self.type}: {self.detail}")


class TradingSite:
    """One API key's view of the API."""

    def __init__(self, base_url: str, *, key_id: str, secret: str, timeout: float = 10) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.auth = HTTPSignatureAuth(
            signature_algorithm=algorithms.HMAC_SHA256,
            key=secret.encode(),
            key_id=key_id,
            covered_component_ids=COVERED,
            use_nonce=True,
        )

    def request(self, method: str, path: str, *, params=None, json=None) -> Any:
        response = self.session.request(
            method, f"{self.base_url}{path}", params=params, json=json, timeout=self.timeout
        )
        body = response.json() if response.content else None
        if response.status_code >= 400:
            raise ApiError(response.status_code, body or {"detail": response.reason})
        return body

    def me(self) -> dict:
        return self.request("GET", "/api/v1/me")

    def funds(self, account: str) -> dict:
        return self.request("GET", f"/api/v1/accounts/{account}")

    def quotes(self, *instruments: str) -> dict:
        return self.request("GET", "/api/v1/quotes", params=[("i", i) for i in instruments])

    def place_order(
        self, account: str, tradingsymbol: str, transaction_type: str, quantity: int, *,
        order_type: str = "MARKET", product: str = "CNC", price: Decimal | str | None = None,
        trigger_price: Decimal | str | None = None, validity: str = "DAY",
        client_order_id: str = "", exchange: str = "NSE", tag: str = "",
    ) -> dict:  # fmt: skip
        """Place an order; a risk rejection raises ApiError(422, type "order-rejected")."""
        payload = {
            "account": account,
            "exchange": exchange,
            "tradingsymbol": tradingsymbol,
            "transaction_type": transaction_type,
            "order_type": order_type,
            "product": product,
            "quantity": quantity,
            "validity": validity,
        }
        for name, value in (
            ("price", price),
            ("trigger_price", trigger_price),
            ("client_order_id", client_order_id),
            ("tag", tag),
        ):
            if value not in (None, ""):
                payload[name] = str(value)
        return self.request("POST", "/api/v1/orders", json=payload)

    def orders(self, **filters: str) -> dict:
        """A page of orders (``results``, ``next``...), filtered e.g. by ``status="OPEN"``."""
        return self.request("GET", "/api/v1/orders", params=filters)

    def order(self, order_id: int) -> dict:
        return self.request("GET", f"/api/v1/orders/{order_id}")

    def modify_order(
        self, order_id: int, *, quantity: int | None = None,
        price: Decimal | str | None = None, trigger_price: Decimal | str | None = None,
    ) -> dict:  # fmt: skip
        """Change a working order's quantity, price or trigger price (the server keeps its type
        and validity); a filled or cancelled order raises ApiError(409, "order-not-working")."""
        payload: dict[str, Any] = {}
        if quantity is not None:
            payload["quantity"] = quantity
        for name, value in (("price", price), ("trigger_price", trigger_price)):
            if value is not None:
                payload[name] = str(value)
        if not payload:
            raise ValueError("modify_order needs a quantity, a price or a trigger_price")
        return self.request("PATCH", f"/api/v1/orders/{order_id}", json=payload)

    def cancel_order(self, order_id: int) -> dict:
        """Cancel the unfilled rest of a working order."""
        return self.request("DELETE", f"/api/v1/orders/{order_id}")

    def trades(self, **filters: str) -> dict:
        """A page of fills, newest first, with their charges; filter by ``account``,
        ``trade_date`` (YYYY-MM-DD) or ``order`` (an order id)."""
        return self.request("GET", "/api/v1/trades", params=filters)

    def positions(self, account: str | None = None) -> list[dict]:
        """Positions with realized and unrealized P&L; flat ones with no P&L are left out."""
        return self.request("GET", "/api/v1/positions", params=_account(account))

    def holdings(self, account: str | None = None) -> list[dict]:
        """Delivery holdings (settled and awaiting settlement)."""
        return self.request("GET", "/api/v1/holdings", params=_account(account))


def _account(code: str | None) -> dict[str, str]:
    return {"account": code} if code else {}
