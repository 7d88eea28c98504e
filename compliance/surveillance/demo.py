"""Demo data of surveillance: clients, a staff account and linked groups whose planted
orders and fills trip each pattern, then one surveillance run, so the queue is not empty.
Marking the close and concentration are planted in the demo's thin stock (DEMOTHIN): in a
NIFTY 50 stock the market's own volume and close (the synthetic history) dwarf our book.

Orders go through ``order_place``; the broker's acknowledgement and the fills are recorded
through ``submission_record`` and ``fill_apply``, as a broker would answer (the paper
exchange is not asked to match them, so the fills land at the planted prices and times).
Each order is placed, acknowledged and filled in one transaction, so the submission task
that follows the commit finds it sent already. It needs the market in session (the demo
clock of ``python manage.py demo``, or NSE hours); outside, it says so and plants nothing.
The planted orders stay within the demo's risk limits (orders under Rs 50 lakh, at most
10 orders a second per account and algo ID: a faster burst would trip the kill switch),
so the order-to-trade burst is paced, and takes about a minute. A second run changes
nothing.
"""

import time
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import count

from django.db import transaction
from django.utils import timezone

from compliance.kyc.demo import client_onboard
from compliance.kyc.selectors import kyc_awaiting_kra
from compliance.kyc.services import kyc_kra_sync
from compliance.models import Client
from compliance.surveillance.models import ClientGroup, ClientLink
from compliance.surveillance.services import surveillance_run
from marketdata import calendar
from marketdata.demo import thin_instrument
from marketdata.models import Instrument
from marketdata.pricecache import quote_get_many
from orders.choices import LedgerKind, OrderType, Product
from orders.execution import BrokerOrderState, submission_record
from orders.models import Order, TradingAccount
from orders.services import fill_apply, funds_move, order_cancel, order_place
from orders.validation import OrderRequest

TAG = "surv-demo"
#: an instrument at most this price keeps the large orders under the demo's order value limit
MAX_PRICE = Decimal("900")
#: the order-to-trade burst: NSE's first slab is 500 orders a trade; paced under the
#: order-rate limit (orders per second)
OTR_ORDERS, OTR_PER_SECOND = 505, 9

#: code, name, PAN, kind
PARTIES = [
    ("TS0101", "Vikram Mehta", "AMVPM4521K", TradingAccount.Kind.CLIENT),
    ("TS0102", "Sunita Mehta", "BQRPM7734L", TradingAccount.Kind.CLIENT),
    ("TS0103", "Mehta Holdings Pvt Ltd", "AAJCM9921Q", TradingAccount.Kind.CLIENT),
    ("TS0104", "Kiran Desai", "CKZPD3310M", TradingAccount.Kind.CLIENT),
    ("TS0105", "Ravi Iyer (staff)", "DLXPI6682N", TradingAccount.Kind.STAFF),
    ("TS0106", "Pension Fund of Bharat", "AABTP1187R", TradingAccount.Kind.CLIENT),
]


def seed(*, stdout, reset_passwords: bool = False) -> None:
    if Order.objects.filter(tag=TAG).exists():
        stdout.write("Surveillance demo: already planted.")
        return
    if not calendar.is_open():
        stdout.write(
            "Surveillance demo: not planted, the market is closed (python manage.py demo "
            "keeps the demo clock open)."
        )
        return
    instrument = _instrument()
    if instrument is None:
        stdout.write(
            f"Surveillance demo: not planted, no instrument is quoted at or under {MAX_PRICE}."
        )
        return
    accounts = _parties()
    raised = _plant(instrument, accounts)
    total = sum(raised.values())
    stdout.write(
        f"Surveillance demo: planted trades in {instrument.key} tripping each pattern; "
        f"{total} alert(s) raised ({', '.join(f'{k} {v}' for k, v in sorted(raised.items()))}); "
        "see Compliance > Alerts."
    )


def _instrument() -> Instrument | None:
    """An equity without a tight price band, quoted at or under MAX_PRICE."""
    candidates = list(
        Instrument.objects.filter(is_active=True, series="EQ")
        .exclude(price_band_pct__lt=10)
        .order_by("tradingsymbol")[:100]
    )
    quotes = quote_get_many([i.key for i in candidates]) if candidates else {}
    for instrument in candidates:
        quote = quotes.get(instrument.key)
        if quote is not None and 0 < quote.bid <= MAX_PRICE and quote.ask > quote.bid:
            return instrument
    return None


@transaction.atomic
def _onboard() -> list[Client]:
    """The parties as clients, each with an approved KYC application (what an STR on them
    reports: date of birth, address, occupation...)."""
    clients = []
    for _code, name, pan, _kind in PARTIES:  # (a company's date of birth: its incorporation)
        client, made = Client.objects.get_or_create(
            pan_digest=Client.pan_index(pan), defaults={"pan": pan, "name": name}
        )
        if made or not client.kyc_applications.exists():
            client_onboard(client=client, email=f"{pan.lower()}@demo.tradingsite.in")
        clients.append(client)
    return clients


def _parties() -> list[TradingAccount]:
    clients = _onboard()
    # The KRA outside any transaction (each look-up is one step of the fake): validated,
    # the clients trade.
    for application in kyc_awaiting_kra().filter(client__in=clients):
        for _ in range(2):
            application = kyc_kra_sync(application=application)
    accounts = []
    for (code, _name, _pan, kind), client in zip(PARTIES, clients, strict=True):
        account, created = TradingAccount.objects.get_or_create(
            code=code, defaults={"client": client, "kind": kind}
        )
        if created:
            funds_move(
                account=account, kind=LedgerKind.DEPOSIT, amount=Decimal("50000000.00"),
                memo="opening deposit (surveillance demo)",
            )  # fmt: skip
        accounts.append(account)
    family, _ = ClientGroup.objects.get_or_create(
        name="Mehta family and company",
        defaults={"relation": ClientGroup.Relation.FAMILY,
                  "note": "Vikram and Sunita Mehta are the directors of Mehta Holdings."},
    )  # fmt: skip
    for account in accounts[:3]:
        ClientLink.objects.get_or_create(group=family, client=account.client)
    return accounts


_fills = count(1)


def _tick(price: Decimal, tick: Decimal) -> Decimal:
    return (price / tick).quantize(Decimal(1), ROUND_HALF_UP) * tick


def _place(account, instrument, side, quantity, price, **extra) -> Order:
    return order_place(
        account=account,
        request=OrderRequest(
            exchange=instrument.exchange, tradingsymbol=instrument.tradingsymbol,
            transaction_type=side, order_type=OrderType.LIMIT, product=Product.MIS,
            quantity=quantity, price=price, tag=TAG, **extra,
        ),
    ).order  # fmt: skip


@transaction.atomic
def _trade(account, instrument, side, quantity, price, *, at: datetime | None = None, **extra):
    order = _place(account, instrument, side, quantity, price, **extra)
    if order.status != "ACCEPTED":
        raise RuntimeError(f"demo order refused: {order.rejection_reasons}")
    submission_record(order_id=order.pk, state=BrokerOrderState(f"DEMO-{order.pk}", "working", 0))
    stamp = timezone.now().strftime("%Y%m%d%H%M%S")
    fill_apply(
        order=order, broker_fill_id=f"DEMO-{stamp}-{next(_fills)}", quantity=quantity,
        price=price, filled_at=at,
    )  # fmt: skip
    return order


def _plant(instrument: Instrument, accounts: list[TradingAccount]) -> dict[str, int]:
    mehta, sunita, holdings, kiran, staff, fund = accounts
    tick = instrument.tick_size
    quote = quote_get_many([instrument.key])[instrument.key]
    bid, ask = quote.bid, quote.ask
    # Wash trade: Vikram buys and sells at the same price within seconds.
    _trade(mehta, instrument, "BUY", 200, bid)
    _trade(mehta, instrument, "SELL", 200, bid)
    # Circular trading: round the Mehta group, A to B to C and back to A.
    for seller, buyer in ((mehta, sunita), (sunita, holdings), (holdings, mehta)):
        _trade(seller, instrument, "SELL", 150, bid)
        _trade(buyer, instrument, "BUY", 150, bid)
    # Spoofing: Kiran rests a large buy 1 % under the bid, sells into it, and cancels.
    with transaction.atomic():
        spoof = _place(kiran, instrument, "BUY", 2000, _tick(bid * Decimal("0.99"), tick))
        order_cancel(order=spoof, reason="demo: the spoof is withdrawn")
    _trade(kiran, instrument, "SELL", 300, ask)
    # Front running: the staff account buys just before the pension fund's large buy.
    _trade(staff, instrument, "BUY", 500, ask)
    _place(fund, instrument, "BUY", 5000, _tick(bid * Decimal("0.995"), tick))
    # Order-to-trade ratio: an algo that posts far-off orders and never trades.
    far = _tick(bid * Decimal("0.95"), tick)
    for placed in range(OTR_ORDERS):
        if placed % OTR_PER_SECOND == 0:  # (and first: the spoofer has just placed orders)
            time.sleep(1.05)  # under the order-rate limit: a breach trips the kill switch
        _place(kiran, instrument, "BUY", 1, far, algo_id="DEMOALGO1")
    # Marking the close, in a thin stock (where the day's close and volume are our book's):
    # Sunita's buying in the last minutes lifts the close 3 %. Her fill is the day's last
    # before the close whatever the demo clock says: three minutes before it, or now if that
    # is later, or a second before it if the close has passed. Concentration: her buying is
    # also most of the thin stock's volume.
    thin = thin_instrument()
    thin_quote = quote_get_many([thin.key])[thin.key]
    now = timezone.now()
    today = timezone.localtime(now, calendar.IST).date()
    close = datetime.combine(today, calendar.MARKET_CLOSE, calendar.IST)
    _trade(fund, thin, "BUY", 100, thin_quote.bid, at=close - timedelta(minutes=40))
    late = min(max(now, close - timedelta(minutes=3)), close - timedelta(seconds=1))
    lifted = _tick(thin_quote.bid * Decimal("1.03"), thin.tick_size)
    _trade(sunita, thin, "BUY", 1500, lifted, at=late)
    return surveillance_run(day=today, close=True)
