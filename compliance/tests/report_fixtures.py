"""A small real book for the registers' tests (a plugin: see conftest.py).

Over three trading days in late November 2026 (IST): two clients open accounts and deposit;
on day 1 Asha buys INFY in two fills and Ravi (a Devanagari name) buys SMALLCAP under an
algo ID; day 1's delivery buys are settled into holdings; on day 2 Asha sells part of her INFY, buys SMALLCAP intraday (MIS) under another
algo ID and withdraws cash, a kill switch is tripped on Ravi's account with a breach and
reset by a second risk manager, and a wash-trade alert is raised on Asha; a margin snapshot is taken at 11:30. Orders are
placed through ``order_place``, sent to the paper exchange and filled through
``fill_apply``, so every row has its audit events. ``stamp_book`` adds the clients' states
and a third client without one, for the stamp duty summary.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from compliance.models import Client
from orders.choices import LedgerKind
from orders.models import Fill, Order, TradingAccount
from orders.tests.fixtures import quote, request

IST = ZoneInfo("Asia/Kolkata")
DAY0, DAY1, DAY2 = date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 30)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, 0, 123456, tzinfo=IST)


@dataclass
class Book:
    asha: TradingAccount
    ravi: TradingAccount
    staff: object  # a Compliance Officer: may run every register
    asha_user: object  # Asha's own login: statements of her own client only
    orders: list[Order] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    meera: TradingAccount | None = None  # the stamp duty book's third client (no state)


def _quotes() -> None:
    quote("INFY", bid="1500.00", ask="1500.05", prev="1490.00")
    quote("SMALLCAP", bid="100.00", ask="100.05", prev="100.00")


def filled(account, symbol, side, price, parts, *, product="CNC", algo_id="", when):
    """An order of ``account`` placed at ``when`` through ``order_place``, sent to the paper
    exchange and filled in ``parts`` through ``fill_apply``, a minute apart."""
    from orders.execution import execution_submit
    from orders.services import fill_apply, order_place

    with time_machine.travel(when, tick=False):
        _quotes()
        order = order_place(
            account=account,
            request=request(
                symbol, side=side, order_type="LIMIT", price=Decimal(price),
                quantity=sum(parts), product=product, algo_id=algo_id,
            ),
        ).order  # fmt: skip
        execution_submit(order.pk)
    fills = []
    for i, quantity in enumerate(parts, 1):
        with time_machine.travel(when.replace(minute=when.minute + i), tick=False):
            fills.append(
                fill_apply(
                    order=order,
                    broker_fill_id=f"T{order.pk}-{i}",
                    quantity=quantity,
                    price=Decimal(price),
                )
            )
    order.refresh_from_db()
    return order, fills


@pytest.fixture
def book(market, user_in_role, risk_managers, django_user_model) -> Book:
    from compliance.alerts.models import Alert, AlertRule
    from compliance.alerts.services import alert_raise
    from orders.eod import holdings_settle, margin_snapshots_take
    from orders.services import funds_move
    from risk.choices import KillSwitchLevel, LimitKind
    from risk.services import kill_switch_reset, kill_switch_trip

    with time_machine.travel(at(DAY0, 10), tick=False):
        asha_client = Client.objects.create(
            name="Asha Rao", pan="ABCPR1234K", kyc_status=Client.KycStatus.VERIFIED,
            kra_status="validated", risk_category="low", rekyc_due_on=date(2028, 11, 26),
        )  # fmt: skip
        ravi_client = Client.objects.create(
            name="रवि अय्यर", pan="ABCPI5678M", kyc_status=Client.KycStatus.VERIFIED
        )
        asha = TradingAccount.objects.create(code="TS0001", client=asha_client)
        ravi = TradingAccount.objects.create(code="TS0002", client=ravi_client)
        asha_user = django_user_model.objects.create_user("asha")
        asha.users.add(asha_user)
        funds_move(account=asha, kind=LedgerKind.DEPOSIT, amount=Decimal("500000.00"))
        funds_move(account=ravi, kind=LedgerKind.DEPOSIT, amount=Decimal("200000.00"))
    result = Book(
        asha=asha, ravi=ravi, staff=user_in_role("Compliance Officer"), asha_user=asha_user
    )
    day1 = (
        filled(asha, "INFY", "BUY", "1400.00", [4, 6], when=at(DAY1, 10)),
        filled(ravi, "SMALLCAP", "BUY", "100.00", [5], algo_id="ALGO7", when=at(DAY1, 11)),
    )
    with time_machine.travel(at(DAY2, 8), tick=False):
        holdings_settle()  # day 1's delivery buys become holdings before day 2 opens
    for order, fills in (
        *day1,
        filled(asha, "INFY", "SELL", "1600.00", [4], when=at(DAY2, 10)),
        filled(asha, "SMALLCAP", "BUY", "99.00", [20], product="MIS", algo_id="ALGO1",
               when=at(DAY2, 11)),
    ):  # fmt: skip
        result.orders.append(order)
        result.fills.extend(fills)
    _, ravi_rm = risk_managers
    with time_machine.travel(at(DAY2, 12), tick=False):
        funds_move(account=asha, kind=LedgerKind.WITHDRAWAL, amount=Decimal("1000.00"))
        switch, _ = kill_switch_trip(
            level=KillSwitchLevel.ACCOUNT, reason="daily loss", account=ravi,
            breaches=[(LimitKind.MAX_DAILY_LOSS, Decimal("1000.00"), Decimal("1250.00"))],
        )  # fmt: skip
        alert_raise(
            rule=AlertRule.objects.get(code="wash_trade"), subject_key=f"client:{asha_client.pk}",
            window=(at(DAY2, 9), at(DAY2, 12)), summary="both sides of INFY", score=2,
            client_id=asha_client.pk, account_id=asha.pk, instrument_id=market["INFY"].pk,
            priority=Alert.Priority.HIGH,
        )  # fmt: skip
    with time_machine.travel(at(DAY2, 13), tick=False):
        kill_switch_reset(switch=switch, actor=ravi_rm)
    margin_snapshots_take(kind="intraday", at=at(DAY2, 11, 30))  # Asha's MIS is open
    for account in (asha, ravi):
        account.refresh_from_db()
    return result


@pytest.fixture
def stamp_book(book, kyc_application) -> Book:
    """The book with the clients' states for the stamp duty summary: Asha in Karnataka, Ravi
    in Maharashtra (his latest application; an older one says Tamil Nadu), and a third
    client, Meera (TS0003), with no KYC application, so no state on record. On day 2 after
    the kill switch's reset, Ravi and Meera buy too, so that day has all three states."""
    from compliance.kyc.choices import IndianState
    from orders.services import funds_move

    with time_machine.travel(at(DAY2, 9), tick=False):
        meera_client = Client.objects.create(
            name="Meera Iyer", pan="ABCPI9012Q", kyc_status=Client.KycStatus.VERIFIED
        )
        meera = TradingAccount.objects.create(code="TS0003", client=meera_client)
        funds_move(account=meera, kind=LedgerKind.DEPOSIT, amount=Decimal("100000.00"))
    for order, fills in (
        filled(book.ravi, "SMALLCAP", "BUY", "100.00", [7], when=at(DAY2, 14)),
        filled(meera, "INFY", "BUY", "1500.00", [2, 1], when=at(DAY2, 14, 10)),
    ):
        book.orders.append(order)
        book.fills.extend(fills)
    # After the fills: a draft application moves the client's KYC status off "verified".
    kyc_application(client=book.asha.client, state=IndianState.KARNATAKA)
    kyc_application(client=book.ravi.client, state=IndianState.TAMIL_NADU)
    kyc_application(client=book.ravi.client, state=IndianState.MAHARASHTRA)
    book.meera = meera
    return book


def stamp_summary_expected() -> dict[tuple, dict]:
    """The STT and stamp duty summary worked out from the database, fill by fill: per
    (trade date, exchange, state code) its fills, buy and sell value, STT and stamp duty;
    the state is the one on the client's latest KYC application, ``"unknown"`` without."""
    from collections import defaultdict

    from compliance.kyc.models import KycApplication

    def state(client_id: int) -> str:
        latest = KycApplication.objects.filter(client_id=client_id).order_by("-id").first()
        return latest.state if latest and latest.state else "unknown"

    zero = Decimal("0.00")
    summed = ("buy_value", "sell_value", "stt", "stamp_duty")
    out: dict[tuple, dict] = defaultdict(lambda: {"fills": 0, **dict.fromkeys(summed, zero)})
    for fill in Fill.objects.select_related("order", "account"):
        row = out[(fill.trade_date, fill.order.exchange, state(fill.account.client_id))]
        row["fills"] += 1
        side = "buy_value" if fill.order.transaction_type == "BUY" else "sell_value"
        row[side] += fill.price * fill.quantity
        row["stt"] += Decimal(fill.charges["stt"])
        row["stamp_duty"] += Decimal(fill.charges["stamp_duty"])
    return dict(out)
