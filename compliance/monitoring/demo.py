"""Demo data of transaction monitoring: six clients, onboarded through KYC with the income
they declare, whose deposits, withdrawals and trades each trip one rule, then one
monitoring run, so the queue has one alert of each.

Money moves through ``funds_move``; orders through ``order_place``, the broker's
acknowledgement ``submission_record`` and ``fill_apply`` (as the surveillance demo does).
Two accounts are made old with ``orders.demo.account_history_backdate``: the dormant one
(its opening deposit 400 days ago) and the active trader's (60 days: its margin was paid
in before the look-back). The thin stock, DEMOTHIN (series BE, Rs-a-few-thousand shares a day
in its imported day bars), is added to the instrument master through marketdata's
importers. Trading needs the market in session (the demo clock of ``python manage.py
demo``, or NSE hours); outside, it says so and plants nothing. A second run changes
nothing.
"""

from datetime import timedelta
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from itertools import count

from django.db import transaction
from django.utils import timezone

from compliance.kyc.choices import IncomeRange
from compliance.kyc.demo import client_onboard
from compliance.kyc.selectors import kyc_awaiting_kra
from compliance.kyc.services import kyc_kra_sync
from compliance.models import Client
from compliance.monitoring.services import monitoring_run
from marketdata import calendar
from marketdata.demo import thin_instrument
from marketdata.models import Instrument
from marketdata.pricecache import quote_get_many
from orders.choices import LedgerKind, OrderType, Product
from orders.demo import account_history_backdate
from orders.execution import BrokerOrderState, submission_record
from orders.models import TradingAccount
from orders.services import fill_apply, funds_move, order_place
from orders.validation import OrderRequest

TAG = "mon-demo"
#: the liquid stock the demo trades: an equity quoted at most this, so a small margin buys
MAX_PRICE = Decimal("5000")

#: account code, name, PAN, declared income, the rule its scenario trips
PARTIES = [
    ("TS0201", "Nikhil Bansal", "AQWPB4411C", IncomeRange.L1_5, "income_mismatch"),
    ("TS0202", "Pooja Chawla", "BRTPC5522D", IncomeRange.BELOW_1L, "turnover_vs_income"),
    ("TS0203", "Farhan Qureshi", "CSYPQ6633E", IncomeRange.ABOVE_1CR, "structuring"),
    ("TS0204", "Meenakshi Pillai", "DTZPP7744F", IncomeRange.ABOVE_1CR, "funds_through"),
    ("TS0205", "Harish Gowda", "EUAPG8855G", IncomeRange.ABOVE_1CR, "dormant_reactivated"),
    ("TS0206", "Sneha Agarwal", "FVBPA9966H", IncomeRange.ABOVE_1CR, "illiquid_concentration"),
]


def seed(*, stdout, reset_passwords: bool = False) -> None:
    if TradingAccount.objects.filter(code=PARTIES[0][0]).exists():
        stdout.write("Monitoring demo: already planted.")
        return
    if not calendar.is_open():
        stdout.write(
            "Monitoring demo: not planted, the market is closed (python manage.py demo "
            "keeps the demo clock open)."
        )
        return
    liquid = _liquid()
    if liquid is None:
        stdout.write(f"Monitoring demo: not planted, no equity is quoted under {MAX_PRICE}.")
        return
    thin = thin_instrument()
    accounts = _parties()
    _plant(accounts, liquid, thin)
    today = timezone.localtime(timezone.now(), calendar.IST).date()
    raised = monitoring_run(day=today)
    stdout.write(
        f"Monitoring demo: planted deposits, withdrawals and trades tripping each rule; "
        f"{sum(raised.values())} alert(s) raised "
        f"({', '.join(f'{k} {v}' for k, v in sorted(raised.items()))}); see Compliance > "
        "Alerts, kind Transaction monitoring (PMLA)."
    )


def _liquid() -> Instrument | None:
    """An NSE equity, quoted under MAX_PRICE."""
    candidates = list(
        Instrument.objects.filter(is_active=True, series="EQ").order_by("tradingsymbol")[:100]
    )
    quotes = quote_get_many([i.key for i in candidates]) if candidates else {}
    for instrument in candidates:
        quote = quotes.get(instrument.key)
        if quote is not None and 0 < quote.bid <= MAX_PRICE and quote.ask > quote.bid:
            return instrument
    return None


@transaction.atomic
def _onboard() -> list[Client]:
    clients = []
    for _code, name, pan, income, _rule in PARTIES:
        client, made = Client.objects.get_or_create(
            pan_digest=Client.pan_index(pan), defaults={"pan": pan, "name": name}
        )
        if made or not client.kyc_applications.exists():
            client_onboard(client=client, income_range=income)
        clients.append(client)
    return clients


def _parties() -> list[TradingAccount]:
    clients = _onboard()
    # The KRA outside any transaction (each look-up is one step of the fake): validated,
    # the clients trade.
    for application in kyc_awaiting_kra().filter(client__in=clients):
        for _ in range(2):
            application = kyc_kra_sync(application=application)
    return [
        TradingAccount.objects.get_or_create(code=code, defaults={"client": client})[0]
        for (code, *_), client in zip(PARTIES, clients, strict=True)
    ]


_fills = count(1)


def _deposit(account: TradingAccount, amount: str) -> None:
    funds_move(account=account, kind=LedgerKind.DEPOSIT, amount=Decimal(amount),
               memo="monitoring demo")  # fmt: skip


@transaction.atomic
def _trade(account, instrument, side, quantity, price, *, product=Product.MIS) -> None:
    order = order_place(
        account=account,
        request=OrderRequest(
            exchange=instrument.exchange, tradingsymbol=instrument.tradingsymbol,
            transaction_type=side, order_type=OrderType.LIMIT, product=product,
            quantity=quantity, price=price, tag=TAG,
        ),
    ).order  # fmt: skip
    if order.status != "ACCEPTED":
        raise RuntimeError(f"demo order refused: {order.rejection_reasons}")
    submission_record(order_id=order.pk, state=BrokerOrderState(f"MON-{order.pk}", "working", 0))
    stamp = timezone.now().strftime("%Y%m%d%H%M%S")
    fill_apply(order=order, broker_fill_id=f"MON-{stamp}-{next(_fills)}", quantity=quantity,
               price=price)  # fmt: skip


def _shares(value: str, price: Decimal, rounding=ROUND_DOWN) -> int:
    return max(1, int((Decimal(value) / price).to_integral_value(rounding)))


def _round_trips(account, instrument, price, *, value: str, times: int) -> None:
    quantity = _shares(value, price)
    for _ in range(times):
        _trade(account, instrument, "BUY", quantity, price)
        _trade(account, instrument, "SELL", quantity, price)


def _plant(accounts: list[TradingAccount], liquid: Instrument, thin: Instrument) -> None:
    income, turnover, structured, through, dormant, illiquid = accounts
    quotes = quote_get_many([liquid.key, thin.key])
    price, thin_price = quotes[liquid.key].ask, quotes[thin.key].ask
    # Rs 4 lakh paid in by a client who declared at most Rs 5 lakh a year (80 %).
    for amount in ("150000", "175000", "75000"):
        _deposit(income, amount)
    # A client declaring under Rs 1 lakh a year, with the broker two months on Rs 2 lakh,
    # trades over Rs 24 lakh in two intraday round trips.
    _deposit(turnover, "200000")
    account_history_backdate(account=turnover, to=timezone.now() - timedelta(days=60))
    _round_trips(turnover, liquid, price, value="600000", times=2)
    # Four deposits just under Rs 10 lakh in a week.
    for amount in ("980000", "960000", "990000", "970000"):
        _deposit(structured, amount)
    # Rs 25 lakh in, Rs 22 lakh out, Rs 1 lakh traded.
    _deposit(through, "2500000")
    _round_trips(through, liquid, price, value="50000", times=1)
    funds_move(account=through, kind=LedgerKind.WITHDRAWAL, amount=Decimal("2200000"),
               memo="monitoring demo")  # fmt: skip
    # Opened 400 days ago with Rs 1 lakh, untouched since; today Rs 12 lakh and a trade.
    _deposit(dormant, "100000")
    account_history_backdate(account=dormant, to=timezone.now() - timedelta(days=400))
    _deposit(dormant, "1200000")
    _round_trips(dormant, liquid, price, value="300000", times=1)
    # Rs 9 lakh of delivery buying in DEMOTHIN, against Rs 1 lakh in the liquid stock.
    _deposit(illiquid, "2000000")
    for _ in range(2):
        _trade(illiquid, thin, "BUY", _shares("450000", thin_price, ROUND_UP), thin_price,
               product=Product.CNC)  # fmt: skip
    _round_trips(illiquid, liquid, price, value="50000", times=1)
