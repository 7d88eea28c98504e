"""Order fixtures and helpers shared by the order and risk tests (a plugin: see conftest.py)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from compliance.models import Client
from marketdata.models import Instrument
from marketdata.pricecache import quotes_publish
from marketdata.quotes import Quote
from orders.choices import WORKING, LedgerKind
from orders.models import Fill, Order, Position, TradingAccount
from orders.services import cash_from_ledger, funds_move, order_place
from orders.validation import OrderRequest


@pytest.fixture
def market(db, settings):
    """INFY (no band), SMALLCAP (5 % band, freeze 500) and an open market."""
    settings.MARKETDATA_ALWAYS_OPEN = True
    settings.PAPER_SLIPPAGE_BPS = Decimal("0")
    return {
        "INFY": Instrument.objects.create(
            tradingsymbol="INFY", name="Infosys Ltd.", sector="Information Technology", isin="INE009A01021"
        ),
        "SMALLCAP": Instrument.objects.create(
            tradingsymbol="SMALLCAP", name="Small Cap Ltd.", sector="Capital Goods",
            price_band_pct=Decimal("5"), freeze_quantity=500,
        ),
    }  # fmt: skip


def quote(
    symbol="INFY",
    *,
    bid="1500.00",
    ask="1500.05",
    bid_qty=10_000,
    ask_qty=10_000,
    last=None,
    prev="1490.00",
    at: datetime | None = None,
):
    """Publish a quote the paper exchange and the order checks will use (stamped ``at``,
    by default now); returns it."""
    q = Quote(
        instrument=f"NSE:{symbol}", last_price=Decimal(last or bid), bid=Decimal(bid), bid_quantity=bid_qty,
        ask=Decimal(ask), ask_quantity=ask_qty, open=Decimal(prev), high=Decimal(ask), low=Decimal(bid),
        prev_close=Decimal(prev), volume=1000, timestamp=(at or timezone.now()).astimezone(UTC),
    )  # fmt: skip
    quotes_publish({q.instrument: q})
    return q


@pytest.fixture
def account(market, django_user_model) -> TradingAccount:
    client = Client.objects.create(
        name="Asha Rao", pan="ABCPR1234K", kyc_status=Client.KycStatus.VERIFIED
    )
    account = TradingAccount.objects.create(code="TS0001", client=client)
    account.users.add(django_user_model.objects.create_user("asha"))
    funds_move(account=account, kind=LedgerKind.DEPOSIT, amount=Decimal("1000000.00"))
    account.refresh_from_db()
    quote("INFY")
    quote("SMALLCAP", bid="100.00", ask="100.05", prev="100.00")
    return account


@pytest.fixture
def trader(api_client, account):
    """An API client signed in as the account's user, who holds the Trader role."""
    from django.contrib.auth.models import Group

    user = account.users.get()
    user.groups.add(Group.objects.get(name="Trader"))
    api_client.force_authenticate(user)
    return api_client


@pytest.fixture
def answered(django_capture_on_commit_callbacks):
    """``with answered():`` runs what the block leaves to on_commit, as a commit would: the
    broker is asked, and answers."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


RESTING_PRICE = Decimal("1400.00")


@pytest.fixture
def resting(account, answered) -> Order:
    """A DAY limit buy of 10 INFY at 1400.00, open at the exchange, 14000.00 blocked."""
    with answered():
        order = order_place(
            account=account,
            request=request(order_type="LIMIT", price=RESTING_PRICE, quantity=10),
        ).order
    order.refresh_from_db()
    assert (order.status, order.blocked_amount) == ("OPEN", Decimal("14000.00"))
    return order


def request(
    symbol="INFY", side="BUY", order_type="MARKET", product="CNC", quantity=10, **extra
) -> OrderRequest:
    return OrderRequest(
        exchange="NSE", tradingsymbol=symbol, transaction_type=side, order_type=order_type,
        product=product, quantity=quantity, **extra,
    )  # fmt: skip


def assert_invariants(account: TradingAccount) -> None:
    """The conservation invariants of DESIGN.md, for one account."""
    account.refresh_from_db()
    assert account.cash_balance == cash_from_ledger(account), (
        "cash must equal the sum of the ledger and what archives carried forward"
    )
    open_blocks = Order.objects.filter(account=account, status__in=WORKING).aggregate(
        t=Sum("blocked_amount")
    )["t"]
    assert account.blocked == (open_blocks or Decimal("0")), (
        "blocked funds must equal the open orders' blocks"
    )
    for order in Order.objects.filter(account=account):
        fills = order.fills.aggregate(q=Sum("quantity"))["q"] or 0
        assert order.filled_quantity == fills <= order.quantity
        if order.status not in WORKING:
            assert order.blocked_amount == 0
    for position in Position.objects.filter(account=account):
        signed = sum(
            q if side == "BUY" else -q
            for q, side in Fill.objects.filter(
                account=account,
                order__instrument=position.instrument,
                order__product=position.product,
            ).values_list("quantity", "order__transaction_type")
        )
        signed += _converted(account, position)
        assert position.quantity == signed, (
            "a position equals the signed sum of its fills, with the shares converted into its "
            "product less those converted out"
        )


def _converted(account: TradingAccount, position: Position) -> int:
    """The signed shares converted into ``position``'s product, less those converted out
    (the audit trail records every conversion)."""
    from compliance.models import AuditEvent

    moved = 0
    for after in AuditEvent.objects.filter(action="position.converted").values_list(
        "after", flat=True
    ):
        if (after["account"], after["instrument"]) != (account.code, position.instrument.key):
            continue
        moved += after["shares"] if after["to"] == position.product else -after["shares"]
    return moved


@pytest.fixture
def now() -> datetime:
    return timezone.now()
