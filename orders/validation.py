"""Checks an order passes before risk.

Two kinds, on purpose:

- ``request_errors``: the request itself is malformed for this instrument (off-tick price,
  odd lot, missing price or trigger). The API answers 400 and nothing is written.
- ``business_rejections``: a well-formed order the market or the account cannot take
  (account or KYC state, freeze quantity, price band, holdings, funds). The order is
  stored as REJECTED with these reasons, audited, and returned to the client.
"""

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal

from marketdata.models import Instrument
from marketdata.quotes import Quote


@dataclass(frozen=True)
class OrderRequest:
    """What a client asks for, in Kite Connect's field names."""

    exchange: str
    tradingsymbol: str
    transaction_type: str
    order_type: str
    product: str
    quantity: int
    validity: str = "DAY"
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    tag: str = ""
    client_order_id: str | None = None
    algo_id: str = ""

    @property
    def key(self) -> str:
        return f"{self.exchange}:{self.tradingsymbol}"

    def payload_hash(self) -> str:
        """Identifies the payload, so a reused client_order_id with other content is caught."""
        body = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Rejection:
    """Why an order was refused: a code, a message for people, and the limit and value involved."""

    code: str
    message: str
    limit: str = ""
    value: str = ""

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v != ""}


def _off_tick(value: Decimal, tick: Decimal) -> bool:
    return value % tick != 0


def request_errors(request: OrderRequest, instrument: Instrument) -> dict[str, list[str]]:
    """Field errors of a request that cannot be an order of this instrument."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if request.quantity <= 0:
        add("quantity", "must be a positive whole number of shares")
    elif request.quantity % instrument.lot_size:
        add("quantity", f"must be a multiple of the lot size {instrument.lot_size}")
    needs_price = request.order_type in ("LIMIT", "SL")
    needs_trigger = request.order_type in ("SL", "SL-M")
    if needs_price and request.price is None:
        add("price", f"is required for {request.order_type} orders")
    if not needs_price and request.price is not None:
        add("price", f"must be empty for {request.order_type} orders")
    if needs_trigger and request.trigger_price is None:
        add("trigger_price", f"is required for {request.order_type} orders")
    if not needs_trigger and request.trigger_price is not None:
        add("trigger_price", f"must be empty for {request.order_type} orders")
    tick = instrument.tick_size
    for field in ("price", "trigger_price"):
        value = getattr(request, field)
        if value is None:
            continue
        if value <= 0:
            add(field, "must be greater than zero")
        elif _off_tick(value, tick):
            add(field, f"{value} is not a multiple of the tick size {tick.normalize()}")
    if request.order_type == "SL" and request.price and request.trigger_price and not errors:
        if request.transaction_type == "BUY" and request.trigger_price > request.price:
            add("trigger_price", "of a stop-loss buy must not be above its price")
        if request.transaction_type == "SELL" and request.trigger_price < request.price:
            add("trigger_price", "of a stop-loss sell must not be below its price")
    return errors


def price_band(instrument: Instrument, prev_close: Decimal) -> tuple[Decimal, Decimal] | None:
    """The day's price range from the previous close, on the tick grid (None: no fixed band)."""
    if instrument.price_band_pct is None:
        return None
    tick = instrument.tick_size
    width = prev_close * instrument.price_band_pct / 100
    low = ((prev_close - width) / tick).to_integral_value(rounding="ROUND_CEILING") * tick
    high = ((prev_close + width) / tick).to_integral_value(rounding="ROUND_FLOOR") * tick
    return low.quantize(Decimal("0.01")), high.quantize(Decimal("0.01"))


def business_rejections(
    *,
    account,
    instrument: Instrument,
    request: OrderRequest,
    quote: Quote,
    market_open: bool,
    sellable: int,
    available_funds: Decimal,
    required_funds: Decimal,
    today: date | None = None,
    reduces_position: bool = False,
) -> list[Rejection]:
    """Every reason the order cannot be taken now (all of them, not just the first)."""
    found = []
    if account.status != "active":
        found.append(
            Rejection("ACCOUNT_NOT_ACTIVE", f"Account {account.code} is {account.status}.")
        )
    client = account.client
    if not client.can_trade:
        kra = f"; KRA status {client.kra_status}" if client.kra_status else ""
        found.append(
            Rejection(
                "KYC_NOT_VERIFIED",
                f"KYC of {client.name} is {client.get_kyc_status_display().lower()}{kra}: "
                "trading needs an approved KYC that the KRA has validated.",
            )
        )
    elif today is not None and client.rekyc_overdue(today) and not reduces_position:
        found.append(
            Rejection(
                "REKYC_OVERDUE",
                f"The periodic re-KYC of {client.name} was due on {client.rekyc_due_on}: "
                "only orders that close or reduce a position are taken until it is done.",
                limit=str(client.rekyc_due_on),
                value=str(today),
            )
        )
    if not instrument.is_active:
        found.append(Rejection("INSTRUMENT_INACTIVE", f"{instrument.key} is not tradable."))
    if instrument.freeze_quantity and request.quantity > instrument.freeze_quantity:
        found.append(
            Rejection(
                "FREEZE_QUANTITY",
                "Quantity is above the exchange's freeze quantity.",
                limit=str(instrument.freeze_quantity),
                value=str(request.quantity),
            )
        )
    band = price_band(instrument, quote.prev_close)
    if band:
        for field in ("price", "trigger_price"):
            value = getattr(request, field)
            if value is not None and not band[0] <= value <= band[1]:
                found.append(
                    Rejection(
                        "PRICE_BAND",
                        f"{field} is outside today's price band {band[0]}-{band[1]}.",
                        limit=f"{band[0]}-{band[1]}",
                        value=str(value),
                    )
                )
    if not market_open and request.validity == "IOC":
        found.append(
            Rejection(
                "IOC_OUTSIDE_SESSION", "IOC orders can only be placed while the market is open."
            )
        )
    if (
        request.product == "CNC"
        and request.transaction_type == "SELL"
        and request.quantity > sellable
    ):
        found.append(
            Rejection(
                "INSUFFICIENT_HOLDINGS",
                "Delivery sells need holdings or a same-day buy; no short delivery.",
                limit=str(sellable),
                value=str(request.quantity),
            )
        )
    if required_funds > available_funds:
        found.append(
            Rejection(
                "INSUFFICIENT_FUNDS",
                "Not enough available funds for this order.",
                limit=str(available_funds),
                value=str(required_funds),
            )
        )
    return found
