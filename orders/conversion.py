"""Converting today's position between intraday (MIS) and delivery (CNC), as brokers offer.

No order goes to the exchange: the shares already traded change product. The money moves
as if the trade had been made in the new product at the position's average price:

- MIS → CNC long: the buy value is debited (delivery pays in full) and the intraday margin
  it held is released; it needs that much available.
- MIS → CNC short: the sale becomes a delivery sale, credited, and needs the holdings to
  deliver (what ``AccountBook.sellable`` counts).
- CNC → MIS: the delivery debit (or credit) of today's trade is reversed, and the position
  holds intraday margin from then on; it is squared off at the close like any MIS position.

Only today's position converts (settled holdings do not), only while the market is open,
only into a position of the same side or none, and at most the position's quantity. The
fills keep the charges they were charged; the day's bought and sold counters move with the
shares, so the end of day settles (CNC) or squares off (MIS) what was converted. The
account row is locked first, then the two positions (CNC before MIS), as ``orders.locks``
orders them; one ledger entry and one audit event record it.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from django.utils import timezone

from compliance.services import audit_record
from marketdata import calendar
from marketdata.models import Instrument
from orders import locks
from orders.choices import LedgerKind
from orders.margins import margin_fraction
from orders.models import Position, TradingAccount
from orders.selectors import account_book, funds_of
from orders.services import ledger_post
from tradingsite.errors import DomainError

PAISA = Decimal("0.01")
CONVERTIBLE = ("CNC", "MIS")


class ConversionRefused(DomainError, ValueError):
    """A conversion that cannot be made; nothing was changed."""

    problem_type = "conversion-refused"


@dataclass(frozen=True)
class Conversion:
    source: Position
    target: Position
    quantity: int
    value: Decimal


def _check_terms(from_product: str, to_product: str, quantity) -> None:
    errors: dict[str, list[str]] = {}
    for name, product in (("from_product", from_product), ("to_product", to_product)):
        if product not in CONVERTIBLE:
            errors[name] = [f"{product!r} is not a product that converts: CNC or MIS."]
    if not errors and from_product == to_product:
        errors["to_product"] = [f"The position is already {from_product}."]
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        errors["quantity"] = [f"A whole number of shares, 1 or more, not {quantity!r}."]
    if errors:
        raise ConversionRefused(
            "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()), errors=errors
        )


@locks.spine_transaction
def position_convert(
    *,
    account: TradingAccount,
    instrument: Instrument,
    from_product: str,
    to_product: str,
    quantity: int,
    actor=None,
) -> Conversion:
    """Convert ``quantity`` shares of the account's ``from_product`` position in
    ``instrument`` to ``to_product``. Raises :class:`ConversionRefused`, naming why."""
    _check_terms(from_product, to_product, quantity)
    now = timezone.now()
    if not calendar.is_open(now):
        raise ConversionRefused("Positions convert only while the market is open.")
    account = locks.account(account.pk)
    if account.status != TradingAccount.Status.ACTIVE:
        raise ConversionRefused(f"Account {account.code} is {account.status.lower()}.")
    book = account_book(account.pk)
    first, second = sorted([from_product, to_product])  # CNC before MIS, always
    locked = {
        product: locks.position(account_pk=account.pk, instrument_pk=instrument.pk, product=product)
        for product in (first, second)
    }
    source, target = locked[from_product], locked[to_product]
    symbol = instrument.tradingsymbol
    if abs(source.quantity) < quantity:
        raise ConversionRefused(
            f"The {from_product} position in {symbol} is {abs(source.quantity)} shares; "
            f"{quantity} cannot be converted.",
            errors={"quantity": [f"At most {abs(source.quantity)}."]},
        )
    long = source.quantity > 0
    if target.quantity and (target.quantity > 0) != long:
        raise ConversionRefused(
            f"The {to_product} position in {symbol} is on the other side "
            f"({target.quantity:+d}): square one off before converting."
        )
    today = timezone.localtime(now, calendar.IST).date()
    value = (source.average_price * quantity).quantize(PAISA, ROUND_HALF_EVEN)
    mis_margin = (value * margin_fraction(symbol=symbol, product="MIS", on=today)).quantize(PAISA)
    available = funds_of(account, on=today, book=book)["available"]
    if to_product == "CNC":
        cash = -value if long else value
        freed = mis_margin
        if not long and book.sellable(instrument.pk) < quantity:
            raise ConversionRefused(
                f"A delivery sale of {quantity} {symbol} needs the shares in holdings; "
                f"{max(book.sellable(instrument.pk), 0)} can be delivered."
            )
    else:
        cash, freed = (value if long else -value), -mis_margin
    if to_product == "MIS" and long and book.sellable(instrument.pk) < quantity:
        raise ConversionRefused(
            f"Working delivery sells of {symbol} count on these shares: cancel them first."
        )
    need = -(cash + freed)
    if need > 0 and need > available:
        raise ConversionRefused(
            f"Converting {quantity} {symbol} to {to_product} needs ₹{need}; "
            f"₹{available} is available.",
            extra={"required": str(need), "available": str(available)},
        )

    before = {p: (pos.quantity, str(pos.average_price)) for p, pos in locked.items()}
    price = source.average_price
    _move_shares(source, target, quantity, long)
    arrow = f"{from_product}→{to_product}"
    ledger_post(
        account=account,
        kind=LedgerKind.TRADE_CREDIT if cash > 0 else LedgerKind.TRADE_DEBIT,
        amount=cash,
        memo=f"Converted {quantity} {symbol} {arrow} at {price}",
        actor=actor,
    )
    audit_record(
        action="position.converted",
        obj=target,
        actor=actor,
        before={"positions": before},
        after={
            "account": account.code, "instrument": instrument.key, "quantity": quantity,
            "shares": quantity if long else -quantity,
            "from": from_product, "to": to_product, "value": str(value), "cash": str(cash),
            "positions": {p: (pos.quantity, str(pos.average_price)) for p, pos in locked.items()},
        },
    )  # fmt: skip
    return Conversion(source=source, target=target, quantity=quantity, value=value)


def _move_shares(source: Position, target: Position, quantity: int, long: bool) -> None:
    """Move the shares at the source's average cost (the target's average is weighted), and
    the day's counters of the side they were traded on."""
    price = source.average_price
    held = abs(target.quantity)
    target.average_price = (
        (target.average_price * held + price * quantity) / (held + quantity)
    ).quantize(Decimal("0.0001"), ROUND_HALF_EVEN)
    signed = quantity if long else -quantity
    target.quantity += signed
    source.quantity -= signed
    if source.quantity == 0:
        source.average_price = Decimal("0")
    counter = "day_buy_quantity" if long else "day_sell_quantity"
    moved = min(getattr(source, counter), quantity)
    setattr(source, counter, getattr(source, counter) - moved)
    setattr(target, counter, getattr(target, counter) + quantity)
    source.save()
    target.save()
