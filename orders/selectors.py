"""Reads of the orders app that other code shares, scoped to what a user may see."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Exists, Max, OuterRef, Q, QuerySet

from marketdata.models import Instrument
from orders.choices import LedgerKind
from orders.models import (
    Fill,
    Holding,
    LedgerCarryForward,
    LedgerEntry,
    Order,
    Position,
    TradingAccount,
)

SEE_ALL = "orders.view_all_accounts"


#: The client's encrypted columns, which trading never reads: loading an account with its
#: client leaves them out, so no placement pays for decrypting them.
CLIENT_SECRETS = ("client__pan", "client__bank_account_number")


def accounts_for(user, key=None, *, acting: bool = False) -> QuerySet[TradingAccount]:
    """Accounts ``user`` may see: those linked to them, or all with orders.view_all_accounts;
    through an API ``key``, only the key's account. With ``acting``, each carries ``linked``:
    whether ``user`` is linked to it (acting on an account needs a link, not only a role)."""
    accounts = TradingAccount.objects.select_related("client").defer(*CLIENT_SECRETS)
    if acting:
        links = TradingAccount.users.through.objects.filter(
            tradingaccount_id=OuterRef("pk"), user_id=user.pk
        )
        accounts = accounts.annotate(linked=Exists(links))
    if key is not None:
        accounts = accounts.filter(pk=key.account_id)
    return accounts if user.has_perm(SEE_ALL) else accounts.filter(users=user)


def accounts_of_client(*, client_id: int) -> list[TradingAccount]:
    """Every trading account of one client, in ascending id (the order they are locked in)."""
    return list(TradingAccount.objects.filter(client_id=client_id).order_by("pk"))


def account_acts_for(user, account: TradingAccount) -> bool:
    """Whether ``user`` is linked to ``account`` (acting on it needs a link, not only a role)."""
    return account.users.filter(pk=user.pk).exists()


def orders_for(user, key=None) -> QuerySet[Order]:
    return Order.objects.filter(account__in=accounts_for(user, key)).select_related("account")


def fills_for(user, key=None) -> QuerySet[Fill]:
    return Fill.objects.filter(account__in=accounts_for(user, key)).select_related(
        "order", "account"
    )


def positions_for(user, key=None) -> QuerySet[Position]:
    return Position.objects.filter(account__in=accounts_for(user, key)).select_related(
        "account", "instrument"
    )


def holdings_for(user, key=None) -> QuerySet[Holding]:
    return Holding.objects.filter(account__in=accounts_for(user, key)).select_related(
        "account", "instrument"
    )


def ledger_for(user, key=None) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(account__in=accounts_for(user, key)).select_related("account")


@dataclass(frozen=True)
class BookPosition:
    key: str  # EXCHANGE:SYMBOL
    instrument_id: int
    symbol: str
    product: str
    quantity: int
    average_price: Decimal


@dataclass(frozen=True)
class BookOrder:
    pk: int
    key: str
    instrument_id: int
    side: str
    product: str
    quantity: int
    filled_quantity: int


@dataclass
class AccountBook:
    """What an account holds and works, read in one statement: its open positions, its
    holdings and its working orders. Placement and the risk checks read everything they
    need of the account's book from it."""

    positions: list[BookPosition] = field(default_factory=list)
    holdings: dict[int, int] = field(default_factory=dict)  # instrument id -> quantity
    working: list[BookOrder] = field(default_factory=list)
    #: (order id, payload hash) of the order already placed with the client_order_id asked
    #: about, through the unique index; None if there is none.
    replay_of: tuple[int, str] | None = None

    @property
    def instrument_keys(self) -> list[str]:
        return list(dict.fromkeys([p.key for p in self.positions] + [o.key for o in self.working]))

    def position(self, instrument_id: int, product: str) -> int:
        return sum(
            p.quantity
            for p in self.positions
            if (p.instrument_id, p.product) == (instrument_id, product)
        )

    def sellable(self, instrument_id: int) -> int:
        """Delivery shares the account may still sell: holdings, plus today's net delivery
        buys, less the unfilled part of delivery sells already working."""
        pending = sum(
            o.quantity - o.filled_quantity
            for o in self.working
            if (o.instrument_id, o.product, o.side) == (instrument_id, "CNC", "SELL")
        )
        held = self.holdings.get(instrument_id, 0)
        return held + self.position(instrument_id, "CNC") - pending

    def margin_used(self, *, on) -> Decimal:
        """Margin held by open intraday positions: their value at cost times the MIS share."""
        from orders.margins import margin_fraction

        used = sum(
            (
                abs(p.quantity) * p.average_price
                * margin_fraction(symbol=p.symbol, product="MIS", on=on)
                for p in self.positions
                if p.product == "MIS"
            ),
            Decimal("0.00"),
        )  # fmt: skip
        return used.quantize(Decimal("0.01"))


_BOOK_SQL = """
SELECT 'P', p.id, p.instrument_id, i.exchange, i.tradingsymbol, p.product, '', p.quantity, 0,
       p.average_price
  FROM orders_position p JOIN marketdata_instrument i ON i.id = p.instrument_id
 WHERE p.account_id = %s AND p.quantity <> 0
UNION ALL
SELECT 'H', h.id, h.instrument_id, '', '', 'CNC', '', h.quantity, 0, h.average_price
  FROM orders_holding h
 WHERE h.account_id = %s AND h.quantity <> 0
UNION ALL
SELECT 'O', o.id, o.instrument_id, o.exchange, o.tradingsymbol, o.product, o.transaction_type,
       o.quantity, o.filled_quantity, 0
  FROM orders_order o
 WHERE o.account_id = %s AND o.status IN ({working})
UNION ALL
SELECT 'R', o.id, o.instrument_id, '', o.payload_hash, '', '', 0, 0, 0
  FROM orders_order o
 WHERE o.account_id = %s AND o.client_order_id = %s AND %s <> ''
"""


def account_book(account_pk: int, *, client_order_id: str = "") -> AccountBook:
    """The account's open positions, holdings and working orders, in one statement (and the
    order already placed with ``client_order_id``, if one is given).

    Under the account's lock, read it after the lock is granted: a statement that waited
    for the lock still sees the data as it was when it began."""
    from orders.choices import WORKING

    book = AccountBook()
    with connection.cursor() as cursor:
        working = sorted(WORKING)
        sql = _BOOK_SQL.format(working=", ".join(["%s"] * len(working)))
        asked = client_order_id or ""
        cursor.execute(
            sql, [account_pk, account_pk, account_pk, *working, account_pk, asked, asked]
        )
        for kind, pk, instrument, exchange, symbol, product, side, qty, filled, avg in cursor:
            if kind == "P":
                book.positions.append(
                    BookPosition(
                        f"{exchange}:{symbol}", instrument, symbol, product, qty, Decimal(avg)
                    )
                )
            elif kind == "H":
                book.holdings[instrument] = qty
            elif kind == "R":
                book.replay_of = (pk, symbol)
            else:
                book.working.append(
                    BookOrder(pk, f"{exchange}:{symbol}", instrument, side, product, qty, filled)
                )
    return book


def margin_used(account: TradingAccount, *, on) -> Decimal:
    """Margin held by open intraday positions: their value at cost times the MIS margin share."""
    return account_book(account.pk).margin_used(on=on)


def funds_of(account: TradingAccount, *, on, book: AccountBook | None = None) -> dict[str, Decimal]:
    """Cash, funds blocked for open orders, intraday margin in use, and what is available."""
    used = (book or account_book(account.pk)).margin_used(on=on)
    return {
        "cash": account.cash_balance,
        "blocked": account.blocked,
        "margin_used": used,
        "available": account.cash_balance - account.blocked - used,
    }


def charges_estimate(*, account: TradingAccount, request, price: Decimal, on: date):
    """The charges ``request`` would pay filled whole at ``price`` on ``on`` (the order
    ticket's preview): the account's brokerage plan and the rates in force, as a fill."""
    from orders.charges import charges_for_fill
    from orders.rates import brokerage_plans, charge_rates

    return charges_for_fill(
        rates=charge_rates(), plans=brokerage_plans(), plan_code=account.brokerage_plan,
        trade_date=on, exchange=request.exchange, product=request.product,
        side=request.transaction_type, quantity=request.quantity, price=price,
    )  # fmt: skip


def ledger_running(
    *, account: TradingAccount, last: int = 200
) -> list[tuple[LedgerEntry, Decimal]]:
    """The account's latest ``last`` ledger entries, newest first, each with the balance
    after it: the ledger's sum (with what archives carried forward) walked back entry by
    entry, so the newest balance is the account's cash."""
    from django.db.models import Sum

    online = account.ledger.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
    carried = account.carried_forward.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
    balance, running = online + carried, []
    for entry in account.ledger.order_by("-posted_at", "-pk")[:last]:
        running.append((entry, balance))
        balance -= entry.amount
    return running


@dataclass(frozen=True)
class PnlPoint:
    """The P&L of a day's trades at one minute's close: gross, and less their charges."""

    at: datetime
    gross: Decimal
    net: Decimal


@dataclass
class DayTrades:
    """One instrument and product's trades of a day: shares and value bought and sold, and
    their charges. Its day P&L at a price p is sold - bought + (bought_qty - sold_qty) x p."""

    instrument: Instrument
    product: str
    bought_quantity: int = 0
    bought_value: Decimal = Decimal(0)
    sold_quantity: int = 0
    sold_value: Decimal = Decimal(0)
    charges: Decimal = Decimal(0)

    @property
    def net_quantity(self) -> int:
        return self.bought_quantity - self.sold_quantity

    @property
    def bought_average(self) -> Decimal | None:
        if not self.bought_quantity:
            return None
        return (self.bought_value / self.bought_quantity).quantize(Decimal("0.01"))

    @property
    def sold_average(self) -> Decimal | None:
        if not self.sold_quantity:
            return None
        return (self.sold_value / self.sold_quantity).quantize(Decimal("0.01"))


def day_trades(*, account: TradingAccount, day: date) -> list[DayTrades]:
    """``account``'s trades of ``day`` per instrument and product (the day view of
    positions: what was traded today, apart from what was carried in)."""
    found: dict[tuple[int, str], DayTrades] = {}
    fills = Fill.objects.filter(account=account, trade_date=day).select_related("order__instrument")
    for fill in fills.order_by("filled_at", "pk"):
        order = fill.order
        row = found.setdefault(
            (order.instrument_id, order.product), DayTrades(order.instrument, order.product)
        )
        if order.transaction_type == "BUY":
            row.bought_quantity += fill.quantity
            row.bought_value += fill.quantity * fill.price
        else:
            row.sold_quantity += fill.quantity
            row.sold_value += fill.quantity * fill.price
        row.charges += fill.charges_total
    return sorted(found.values(), key=lambda r: (r.instrument.tradingsymbol, r.product))


def intraday_pnl(*, account: TradingAccount, day: date) -> list[PnlPoint]:
    """The P&L of ``account``'s trades of ``day`` at each minute's close: what its fills
    so far bought and sold, with the shares still held marked at that minute's close (a
    fill counts from the close of the minute it happened in); ``net`` less their charges.
    Positions carried from earlier days are left out: this is the day's trading alone."""
    from django.utils import timezone

    from marketdata.calendar import IST
    from marketdata.models import Bar

    fills = list(
        Fill.objects.filter(account=account, trade_date=day)
        .order_by("filled_at", "pk")
        .values_list("order__instrument_id", "order__transaction_type", "quantity", "price",
                     "charges_total", "filled_at")
    )  # fmt: skip
    if not fills:
        return []
    first = min(timezone.localtime(f[5], IST) for f in fills).replace(second=0, microsecond=0)
    closes: dict[datetime, dict[int, Decimal]] = {}
    bars = Bar.objects.filter(
        instrument_id__in={f[0] for f in fills}, interval="1m", start__gte=first,
        start__lt=first.replace(hour=23, minute=59) ,
    ).values_list("start", "instrument_id", "close")  # fmt: skip
    for start, instrument_id, close in bars:
        closes.setdefault(start, {})[instrument_id] = close
    cash, charges, held, last = Decimal(0), Decimal(0), {}, {}
    points, pending = [], iter(fills)
    upcoming = next(pending, None)
    for minute in sorted(closes):
        while upcoming is not None and upcoming[5] < minute + timedelta(minutes=1):
            instrument_id, side, quantity, price, cost, _ = upcoming
            sign = 1 if side == "BUY" else -1
            held[instrument_id] = held.get(instrument_id, 0) + sign * quantity
            cash -= sign * quantity * price
            charges += cost
            upcoming = next(pending, None)
        last.update(closes[minute])
        if not held:
            continue
        marked = sum((quantity * last[i] for i, quantity in held.items() if i in last), Decimal(0))
        gross = (cash + marked).quantize(Decimal("0.01"))
        points.append(PnlPoint(minute, gross, gross - charges))
    return points


def orders_of_session(*, day: date) -> QuerySet[Order]:
    """Every order of the trading day ``day``, whatever its status, with its account (for
    the compliance desk's surveillance; never a trader's view)."""
    return Order.objects.filter(session_date=day).select_related("account").order_by("id")


def fills_of_session(*, day: date) -> QuerySet[Fill]:
    """Every fill traded on ``day``, with its order and account (surveillance)."""
    return Fill.objects.filter(trade_date=day).select_related("order", "account").order_by("id")


def fill_trade_dates() -> list[date]:
    """Every trade date with fills, oldest first (the days that have contract notes)."""
    return list(Fill.objects.order_by("trade_date").values_list("trade_date", flat=True).distinct())


def fills_of_day_by_client(*, day: date) -> QuerySet[Fill]:
    """Every fill traded on ``day`` with its order, instrument (ISIN), account and client
    (the client's secrets left out), by client then time: the day's contract notes."""
    return (
        Fill.objects.filter(trade_date=day)
        .select_related("order", "order__instrument", "account", "account__client")
        .defer(*(f"account__{name}" for name in CLIENT_SECRETS))
        .order_by("account__client_id", "filled_at", "id")
    )


def evidence_records(
    *, fill_ids: Iterable[int] = (), ledger_ids: Iterable[int] = (), order_ids: Iterable[int] = ()
) -> tuple[list[Fill], list[LedgerEntry]]:
    """The fills (those named, and every fill of the orders named) and ledger entries a
    compliance case rests on, oldest first, with their accounts and orders (the STR's
    transactions; never a trader's view)."""
    fills = (
        Fill.objects.filter(Q(pk__in=list(fill_ids)) | Q(order_id__in=list(order_ids)))
        .select_related("order", "account")
        .order_by("filled_at", "id")
    )
    ledger = (
        LedgerEntry.objects.filter(pk__in=list(ledger_ids))
        .select_related("account")
        .order_by("posted_at", "id")
    )
    return list(fills), list(ledger)


def ledger_of_period(
    *,
    start: datetime,
    end: datetime,
    kinds: Iterable[str] = (LedgerKind.DEPOSIT, LedgerKind.WITHDRAWAL),
) -> QuerySet[LedgerEntry]:
    """Every posting of ``kinds`` (by default the client's own money in and out: deposits
    and withdrawals) from ``start`` to before ``end``, with its account (the compliance
    desk's transaction monitoring; never a trader's view). Withdrawals are negative."""
    return (
        LedgerEntry.objects.filter(kind__in=list(kinds), posted_at__gte=start, posted_at__lt=end)
        .select_related("account")
        .order_by("id")
    )


def fills_of_period(*, start: datetime, end: datetime) -> QuerySet[Fill]:
    """Every fill from ``start`` to before ``end``, with its order and account (monitoring)."""
    return (
        Fill.objects.filter(filled_at__gte=start, filled_at__lt=end)
        .select_related("order", "account")
        .order_by("id")
    )


def accounts_last_active(*, account_ids: Iterable[int], before: datetime) -> dict[int, datetime]:
    """Per account, when it was last active before ``before``: its last fill, deposit or
    withdrawal, else its opening (an account never used is idle since it was opened).
    Accounts opened at or after ``before`` are left out."""
    ids = sorted(set(account_ids))
    opened = dict(
        TradingAccount.objects.filter(pk__in=ids, created_at__lt=before).values_list(
            "pk", "created_at"
        )
    )
    fills = (
        Fill.objects.filter(account_id__in=opened, filled_at__lt=before)
        .values("account_id")
        .annotate(last=Max("filled_at"))
        .values_list("account_id", "last")
    )
    money = (
        LedgerEntry.objects.filter(
            account_id__in=opened,
            kind__in=[LedgerKind.DEPOSIT, LedgerKind.WITHDRAWAL],
            posted_at__lt=before,
        )
        .values("account_id")
        .annotate(last=Max("posted_at"))
        .values_list("account_id", "last")
    )
    last = dict(opened)
    for account_id, at in [*fills, *money]:
        last[account_id] = max(last[account_id], at)
    return last


# --- Registers and statements (compliance.reports.registers) ---------------------------------


def _register_scope(
    rows: QuerySet,
    *,
    account_id: int | None = None,
    client_id: int | None = None,
    instrument_id: int | None = None,
    algo_id: str = "",
    account: str = "account",
    instrument: str = "instrument",
    algo: str = "algo_id",
) -> QuerySet:
    """``rows`` narrowed to the filters that are set (``account`` etc. name the lookups)."""
    if account_id:
        rows = rows.filter(**{f"{account}_id": account_id})
    if client_id:
        rows = rows.filter(**{f"{account}__client_id": client_id})
    if instrument_id:
        rows = rows.filter(**{f"{instrument}_id": instrument_id})
    if algo_id:
        rows = rows.filter(**{algo: algo_id})
    return rows


def fills_for_register(
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    account_id: int | None = None,
    client_id: int | None = None,
    instrument_id: int | None = None,
    algo_id: str = "",
) -> QuerySet[Fill]:
    """Every fill traded from ``date_from`` to ``date_to`` (trade dates, both included) with its
    order, instrument, account and client (secrets left out), oldest first: the trade
    register and the STT and stamp duty summary (the compliance desk's, never a trader's)."""
    fills = Fill.objects.all()
    if date_from:
        fills = fills.filter(trade_date__gte=date_from)
    if date_to:
        fills = fills.filter(trade_date__lte=date_to)
    fills = _register_scope(
        fills, account_id=account_id, client_id=client_id, instrument_id=instrument_id,
        algo_id=algo_id, instrument="order__instrument", algo="order__algo_id",
    )  # fmt: skip
    return (
        fills.select_related("order", "order__instrument", "account", "account__client")
        .defer(*(f"account__{name}" for name in CLIENT_SECRETS))
        .order_by("filled_at", "id")
    )


def orders_for_register(
    *,
    account_id: int | None = None,
    client_id: int | None = None,
    instrument_id: int | None = None,
    algo_id: str = "",
) -> QuerySet[Order]:
    """Orders narrowed by the filters set, with account, client (secrets left out) and
    instrument: the order log reads each state change's order from it."""
    orders = _register_scope(
        Order.objects.all(), account_id=account_id, client_id=client_id,
        instrument_id=instrument_id, algo_id=algo_id,
    )  # fmt: skip
    return (
        orders.select_related("account", "account__client", "instrument")
        .defer(*(f"account__{name}" for name in CLIENT_SECRETS))
        .order_by("id")
    )


def accounts_for_register(
    *, account_id: int | None = None, client_id: int | None = None
) -> QuerySet[TradingAccount]:
    """Trading accounts narrowed by the filters set, with their clients (secrets left out),
    in ascending id: the statements go account by account."""
    accounts = TradingAccount.objects.all()
    if account_id:
        accounts = accounts.filter(pk=account_id)
    if client_id:
        accounts = accounts.filter(client_id=client_id)
    return accounts.select_related("client").defer(*CLIENT_SECRETS).order_by("pk")


def margin_snapshots_for_register(
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    account_id: int | None = None,
    client_id: int | None = None,
) -> QuerySet:
    """Margin snapshots of the trade dates from ``date_from`` to ``date_to`` as plain rows
    (trade date, account, code, client, client name, taken at, kind, cash, blocked, margin
    used, available), by day, account and time: the daily margin statement."""
    from orders.models import MarginSnapshot

    snapshots = MarginSnapshot.objects.all()
    if date_from:
        snapshots = snapshots.filter(trade_date__gte=date_from)
    if date_to:
        snapshots = snapshots.filter(trade_date__lte=date_to)
    snapshots = _register_scope(snapshots, account_id=account_id, client_id=client_id)
    return snapshots.order_by("trade_date", "account_id", "taken_at").values_list(
        "trade_date", "account_id", "account__code", "account__client_id",
        "account__client__name", "taken_at", "kind", "cash", "blocked", "margin_used",
        "available",
    )  # fmt: skip


def account_codes_of_clients(*, client_ids: Iterable[int]) -> dict[int, list[str]]:
    """Per client, its trading accounts' codes in order (the client master's accounts)."""
    codes: dict[int, list[str]] = {}
    rows = TradingAccount.objects.filter(client_id__in=list(client_ids)).order_by("code")
    for client_id, code in rows.values_list("client_id", "code"):
        codes.setdefault(client_id, []).append(code)
    return codes


def holdings_for_register(
    *,
    account_id: int | None = None,
    client_id: int | None = None,
    instrument_id: int | None = None,
) -> QuerySet[Holding]:
    """Holdings (of a quantity) narrowed by the filters set, by account then symbol."""
    holdings = _register_scope(
        Holding.objects.filter(quantity__gt=0), account_id=account_id, client_id=client_id,
        instrument_id=instrument_id,
    )  # fmt: skip
    return (
        holdings.select_related("account", "account__client", "instrument")
        .defer(*(f"account__{name}" for name in CLIENT_SECRETS))
        .order_by("account__code", "instrument__tradingsymbol", "id")
    )


def positions_for_register(
    *,
    account_id: int | None = None,
    client_id: int | None = None,
    instrument_id: int | None = None,
) -> QuerySet[Position]:
    """Positions (open, or closed today with their realised P&L) narrowed by the filters set,
    by account then symbol then product."""
    positions = _register_scope(
        Position.objects.all(), account_id=account_id, client_id=client_id,
        instrument_id=instrument_id,
    )  # fmt: skip
    return (
        positions.select_related("account", "account__client", "instrument")
        .defer(*(f"account__{name}" for name in CLIENT_SECRETS))
        .order_by("account__code", "instrument__tradingsymbol", "product", "id")
    )


def ledger_balances_before(*, account_ids: Iterable[int], before: datetime) -> dict[int, Decimal]:
    """Per account, the sum of its ledger posted before ``before`` (an opening balance),
    what archives released from the online ledger included; accounts with no such postings
    are left out. Exact only for a ``before`` past every released posting
    (:func:`ledger_released_from`)."""
    from django.db.models import Sum

    ids = list(account_ids)
    totals: dict[int, Decimal] = {}
    for rows in (
        LedgerEntry.objects.filter(account_id__in=ids, posted_at__lt=before),
        LedgerCarryForward.objects.filter(account_id__in=ids, last_posted_at__lt=before),
    ):
        summed = rows.values("account_id").annotate(total=Sum("amount"))
        for account_id, total in summed.values_list("account_id", "total"):
            totals[account_id] = totals.get(account_id, Decimal("0.00")) + total
    return totals


def ledger_released_from(
    *, account_ids: Iterable[int] | None, since: datetime
) -> LedgerCarryForward | None:
    """The latest release of ledger postings of these accounts (None: all) made on or after
    ``since``: a statement from ``since`` would miss them."""
    released = LedgerCarryForward.objects.filter(last_posted_at__gte=since)
    if account_ids is not None:
        released = released.filter(account_id__in=list(account_ids))
    return released.order_by("-last_posted_at").first()


def ledger_for_register(
    *, account_ids: Iterable[int], start: datetime, end: datetime
) -> QuerySet[LedgerEntry]:
    """The postings of ``account_ids`` from ``start`` to before ``end``, by account then in
    the order they were posted (a ledger statement's lines)."""
    return LedgerEntry.objects.filter(
        account_id__in=list(account_ids), posted_at__gte=start, posted_at__lt=end
    ).order_by("account_id", "posted_at", "id")
