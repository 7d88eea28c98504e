"""Seeding for the benchmarks, run inside Django (``manage.py shell``) on a scratch database.

- ``seed_accounts``: funded, KYC-verified accounts, each with its own trade-scope API key
  bound to 127.0.0.1, made through the services (so they are audited like real ones).
- ``seed_orders``: order history by PostgreSQL COPY (finished, unfilled orders of past
  sessions: no fills, positions or blocked funds to keep in step).
- ``seed_trades``: filled order history by COPY (complete CNC orders of past sessions, one
  fill each, with the charges engine's breakdown), for the exports benchmark.
- ``seed_audit_events``: hash-chained audit events by COPY over many account chains,
  continuing each chain from its head. It is the one place that knows the chain's layout.
"""

import csv
import datetime as dt
import io
import json
from decimal import ROUND_DOWN, Decimal

from django.db import connection, transaction
from django.utils import timezone

SYMBOLS = ["INFY", "TCS", "RELIANCE", "HDFCBANK", "ICICIBANK", "ITC", "SBIN", "LT"]
TICK = Decimal("0.05")


def _pan(n: int) -> str:
    """A valid PAN (holder type P), distinct for each n < 26 * 9999."""
    return f"BNCP{chr(65 + n // 9999 % 26)}{n % 9999 + 1:04d}{chr(65 + n % 26)}"


def seed_base() -> dict:
    """Instruments, warm quotes, the firm's order-rate limit raised; returns bench prices."""
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from marketdata.pricecache import quote_get_many
    from risk.services import limit_decide, limit_propose

    call_command("import_instruments", "--nifty50", verbosity=0)
    maker = User.objects.create_user("bench-risk-1")
    checker = User.objects.create_user("bench-risk-2")
    change = limit_propose(
        actor=maker, scope="firm", kind="order_rate_per_second", value=Decimal(1_000_000),
        reason="benchmark: measure placement, not the SEBI order-rate limit",
    )  # fmt: skip
    limit_decide(change=change, actor=checker, approve=True)
    quotes = quote_get_many([f"NSE:{s}" for s in SYMBOLS])
    return {
        key.split(":")[1]: {
            "bid": str((q.bid / TICK).to_integral_value(ROUND_DOWN) * TICK),
            "ask": str(q.ask),
        }
        for key, q in quotes.items()
    }


def seed_accounts(count: int, *, first: int = 0, cash: Decimal = Decimal("100000000")) -> list:
    """``count`` accounts BENCH<n>, each with a user (Trader role) and an API key."""
    from django.contrib.auth.models import Group, User

    from compliance.models import Client
    from ops.apikeys import api_key_create
    from ops.models import ApiKey
    from orders.models import TradingAccount
    from orders.services import funds_move

    admin, _ = User.objects.get_or_create(username="bench-admin")
    trader = Group.objects.get(name="Trader")
    made = []
    for n in range(first, first + count):
        client = Client.objects.create(
            name=f"Bench client {n}", pan=_pan(n), kyc_status=Client.KycStatus.VERIFIED,
            kyc_verified_at=timezone.now(),
        )  # fmt: skip
        account = TradingAccount.objects.create(code=f"BENCH{n}", client=client)
        user = User.objects.create_user(f"bench-{n}")
        user.groups.add(trader)
        account.users.add(user)
        funds_move(account=account, kind="deposit", amount=cash)
        key, secret = api_key_create(
            actor=admin, user=user, account=account, label="bench", scope=ApiKey.Scope.TRADE,
            algo_id=f"BENCHALGO{n}", algo_registered=True, primary_ip="127.0.0.1",
        )  # fmt: skip
        made.append({"account": account.code, "key_id": key.key_id, "secret": secret})
    return made


def _copy(table: str, columns: list[str], rows) -> int:
    """COPY ``rows`` (iterables of Python values; None is NULL) into ``table`` in chunks."""
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
    done = 0
    connection.ensure_connection()
    raw = connection.connection
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    with raw.cursor() as cursor:
        for row in rows:
            writer.writerow(["\\N" if v is None else v for v in row])
            done += 1
            if done % 50_000 == 0:
                buffer.seek(0)
                cursor.copy_expert(sql, buffer)
                buffer.seek(0)
                buffer.truncate()
        buffer.seek(0)
        cursor.copy_expert(sql, buffer)
    return done


ORDER_COLUMNS = [
    "account_id", "instrument_id", "exchange", "tradingsymbol", "transaction_type",
    "order_type", "product", "validity", "quantity", "price", "trigger_price", "tag",
    "client_order_id", "algo_id", "status", "filled_quantity", "average_price",
    "rejection_reasons", "broker_order_id", "blocked_amount", "session_date", "payload_hash",
    "placed_by_id", "placed_from_ip", "request_id", "created_at", "updated_at",
    "pending_from", "pending_change",
]  # fmt: skip


def seed_orders(count: int, *, accounts: list[str], first: int = 0) -> int:
    """``count`` finished orders of past sessions, spread over ``accounts`` (codes) and
    eight instruments: CANCELLED and EXPIRED LIMIT orders with nothing filled and nothing
    blocked, and REJECTED ones with their reason, so no fill, position or ledger row is
    owed. Each has a unique client_order_id in its account (numbered from ``first``, so a
    second call adds to the first)."""
    from marketdata.models import Instrument
    from orders.models import TradingAccount

    ids = list(TradingAccount.objects.filter(code__in=accounts).values_list("pk", flat=True))
    instruments = list(
        Instrument.objects.filter(exchange="NSE", tradingsymbol__in=SYMBOLS).values_list(
            "pk", "tradingsymbol"
        )
    )
    rejected = json.dumps([{"code": "INSUFFICIENT_FUNDS", "message": "Not enough funds."}])
    today = timezone.localdate()
    start = timezone.now()

    def rows():
        for n in range(first, first + count):
            account = ids[n % len(ids)]
            instrument, symbol = instruments[n % len(instruments)]
            days_ago = 1 + n % 400  # up to 400 sessions back
            at = start - dt.timedelta(days=days_ago, seconds=n % 20000)
            status = ("CANCELLED", "EXPIRED", "REJECTED")[n % 3]
            yield (
                account, instrument, "NSE", symbol, "BUY" if n % 2 else "SELL", "LIMIT",
                "CNC", "DAY", 1 + n % 50, "1000.00", None, "", f"seed-{n}", "", status, 0,
                "0", rejected if status == "REJECTED" else "[]", "", "0.00",
                today - dt.timedelta(days=days_ago), f"{n:064x}", None, "127.0.0.1", "",
                at.isoformat(), at.isoformat(), "", "{}",
            )  # fmt: skip

    with transaction.atomic():
        return _copy("orders_order", ORDER_COLUMNS, rows())


FILL_COLUMNS = [
    "order_id", "account_id", "broker_fill_id", "quantity", "price", "charges",
    "charges_total", "trade_date", "filled_at",
]  # fmt: skip


def seed_trades(count: int, *, accounts: list[str], first: int = 0, days: int = 250) -> int:
    """``count`` filled orders of past sessions over ``days`` days before today, spread over
    ``accounts`` (codes) and eight instruments, numbered from ``first`` (so a second call
    adds to the first): COMPLETE CNC MARKET orders of 10 shares at
    1000.00, each with one fill whose charges are the charges engine's for that trade (so a
    trade register reads real breakdowns). Nothing is blocked and no position is owed: the
    rows are history for reads, not a book to trade on."""
    from marketdata.models import Instrument
    from orders.charges import charges_for_fill
    from orders.models import TradingAccount
    from orders.rates import brokerage_plans, charge_rates

    accts = list(
        TradingAccount.objects.filter(code__in=accounts).values_list("pk", "brokerage_plan")
    )
    instruments = list(
        Instrument.objects.filter(exchange="NSE", tradingsymbol__in=SYMBOLS).values_list(
            "pk", "tradingsymbol"
        )
    )
    today = timezone.localdate()
    start = timezone.now().replace(hour=5, minute=0, second=0, microsecond=0)  # 10:30 IST
    breakdowns = {}
    for side in ("BUY", "SELL"):
        for _, plan in accts:
            breakdown = charges_for_fill(
                rates=charge_rates(), plans=brokerage_plans(), plan_code=plan,
                trade_date=today - dt.timedelta(days=1), exchange="NSE", product="CNC",
                side=side, quantity=10, price=Decimal("1000.00"),
            )  # fmt: skip
            breakdowns[side, plan] = (json.dumps(breakdown.as_dict()), str(breakdown.total))

    def orders():
        for n in range(first, first + count):
            account, _ = accts[n % len(accts)]
            instrument, symbol = instruments[n % len(instruments)]
            at = start - dt.timedelta(days=1 + n % days, seconds=n % 18000)
            yield (
                account, instrument, "NSE", symbol, "BUY" if n % 2 else "SELL", "MARKET",
                "CNC", "DAY", 10, None, None, "", f"trade-{n}", "", "COMPLETE", 10,
                "1000.0000", "[]", f"PX{n:010d}", "0.00", at.date(), f"{n:064x}", None,
                "127.0.0.1", "", at.isoformat(), at.isoformat(), "", "{}",
            )  # fmt: skip

    with transaction.atomic():
        _copy("orders_order", ORDER_COLUMNS, orders())
        plans = dict(accts)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, account_id, transaction_type, session_date, created_at "
                "FROM orders_order WHERE client_order_id LIKE 'trade-%%' AND id NOT IN "
                "(SELECT order_id FROM orders_fill) ORDER BY id"
            )
            # A server-side read would be leaner; 1 million 5-tuples fit in memory here.
            placed = cursor.fetchall()

        def fills():
            for order_id, account, side, day, at in placed:
                charges, total = breakdowns[side, plans[account]]
                fill_at = at + dt.timedelta(seconds=1)
                yield (
                    order_id, account, f"FX{order_id:010d}", 10, "1000.00", charges, total,
                    day, fill_at.isoformat(),
                )  # fmt: skip

        return _copy("orders_fill", FILL_COLUMNS, fills())


AUDIT_COLUMNS = [
    "chain", "seq", "occurred_at", "action", "object_type", "object_id", "actor_id",
    "actor_username", "source_ip", "request_id", "before", "after", "prev_hash", "hash",
]  # fmt: skip


LIFECYCLE = [("ACCEPTED", None), ("OPEN", "ACCEPTED"), ("COMPLETE", "OPEN")]


def seed_audit_events(count: int, *, chains: int = 1000) -> dict:
    """Append ``count`` events over ``chains`` account chains (order lifecycle events of
    made-up orders of made-up accounts), hashed with ``compliance.chain.event_hash`` and
    COPYed in; each chain continues from its head, and the heads move to the last."""
    from compliance.chain import account_chain, event_hash, plain
    from compliance.models import AuditChain

    keys = [account_chain(9_000_000 + k) for k in range(chains)]
    with transaction.atomic():
        heads = {c.key: [c.seq, c.hash] for c in AuditChain.objects.filter(key__in=keys)}
        for key in keys:
            heads.setdefault(key, [0, "0" * 64])
        start = timezone.now() - dt.timedelta(days=30)

        def rows():
            for n in range(count):
                order = n // 3
                chain = keys[order % chains]
                head = heads[chain]
                head[0] += 1
                status, before = LIFECYCLE[n % 3]
                fields = {
                    "chain": chain,
                    "seq": head[0],
                    "occurred_at": start + dt.timedelta(microseconds=1000 * n),
                    "action": f"order.{status.lower()}",
                    "object_type": "orders.order",
                    "object_id": str(10_000_000 + order),
                    "actor_id": None,
                    "actor_username": "system",
                    "source_ip": "127.0.0.1",
                    "request_id": f"bench-{order}",
                    "before": None if before is None else {"status": before},
                    "after": plain({"status": status, "quantity": 1 + n % 50, "price": "1000.00"}),
                    "prev_hash": head[1],
                }
                digest = event_hash(fields)
                yield [
                    chain, head[0], fields["occurred_at"].isoformat(), fields["action"],
                    "orders.order", fields["object_id"], None, "system", "127.0.0.1",
                    fields["request_id"],
                    None if fields["before"] is None else json.dumps(fields["before"]),
                    json.dumps(fields["after"]), head[1], digest,
                ]  # fmt: skip
                head[1] = digest

        copied = _copy("compliance_auditevent", AUDIT_COLUMNS, rows())
        AuditChain.objects.bulk_create(
            [
                AuditChain(key=key, seq=seq, hash=hash_)
                for key, (seq, hash_) in heads.items()
                if seq
            ],
            update_conflicts=True,
            unique_fields=["key"],
            update_fields=["seq", "hash"],
        )
    return {"events": copied, "chains": chains}


def analyze(*tables: str) -> None:
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")
