"""The registers and statements against the database they read: every trade with its stored
charges, every order state change, balances that add up, filters that narrow, and the
filters' checks (who may run what, for whom, over how long)."""

from collections import defaultdict
from contextlib import suppress
from datetime import timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.models import AuditEvent, Client
from compliance.reports.registers import REGISTERS, ReportParams, ReportParamsError
from compliance.reports.registers import report_params_parse as parse
from compliance.reports.registers.common import ist_start
from compliance.tests.report_fixtures import DAY0, DAY1, DAY2, at, stamp_summary_expected
from orders.models import Fill, Holding, LedgerEntry, Order, Position
from orders.selectors import funds_of

pytestmark = pytest.mark.django_db

PERIOD = ReportParams(date_from=DAY0, date_to=DAY2)


def rows(kind: str, params: ReportParams = PERIOD) -> list[dict]:
    register = REGISTERS[kind]
    names = [c.name for c in register.columns]
    out = []
    for row in register.rows(params):
        assert len(row) == len(names)
        out.append(dict(zip(names, row, strict=True)))
    return out


def test_every_kind_is_registered_with_unique_column_names():
    assert set(REGISTERS) == {
        "trade_register", "order_log", "client_master", "holdings_statement",
        "positions_statement", "ledger_statement", "margin_statement", "stt_stamp_summary",
        "risk_breaches", "alert_register", "audit_extract",
    }  # fmt: skip
    for register in REGISTERS.values():
        names = [c.name for c in register.columns]
        assert len(names) == len(set(names)), register.kind


COUNTED = {"trade_register", "client_master", "holdings_statement", "positions_statement",
           "alert_register", "audit_extract"}  # fmt: skip


def test_the_registers_that_count_their_rows_count_them_exactly_in_one_query(
    book, django_assert_num_queries
):
    # Sums, merges, and opening and closing rows are not one row of a query: no count.
    assert {k for k, r in REGISTERS.items() if r.count is not None} == COUNTED
    scopes = (
        ReportParams(),
        PERIOD,
        ReportParams(date_from=DAY2, date_to=DAY2, client_id=book.asha.client_id),
        ReportParams(account_id=book.ravi.pk),
    )
    seen = 0
    for kind in sorted(COUNTED):
        register = REGISTERS[kind]
        for scope in scopes:
            taken = {k: v for k, v in scope.__dict__.items() if v not in (None, "")}
            names = {"account_id": "account", "client_id": "client"}
            if not {names.get(k, k) for k in taken} <= register.filters:
                continue  # a filter the kind does not take
            with django_assert_num_queries(1) as queries:
                counted = register.count(scope)
            assert "COUNT(" in queries.captured_queries[0]["sql"].upper()
            assert counted == len(list(register.rows(scope))), (kind, scope)
            seen += counted
    assert seen > 0


def test_the_trade_register_is_every_fill_with_its_stored_charges(book):
    got = rows("trade_register")
    fills = list(Fill.objects.order_by("filled_at", "id"))
    assert len(got) == len(fills) == 5
    for row, fill in zip(got, fills, strict=True):
        order = fill.order
        assert row["trade_number"] == fill.broker_fill_id
        assert (row["fill_id"], row["order_id"]) == (fill.pk, order.pk)
        assert row["traded_at"] == fill.filled_at
        assert row["traded_at"].microsecond == 123456
        assert row["ucc"] == fill.account.code
        assert row["client_name"] == fill.account.client.name
        assert (row["symbol"], row["side"], row["product"]) == (
            order.tradingsymbol, order.transaction_type, order.product,
        )  # fmt: skip
        assert row["isin"] == order.instrument.isin
        assert (row["quantity"], row["price"]) == (fill.quantity, fill.price)
        assert row["value"] == fill.quantity * fill.price
        for key in ("brokerage", "stt", "exchange_transaction", "sebi_fee", "stamp_duty", "gst"):
            assert row[key] == Decimal(fill.charges[key]), key
        assert row["charges_total"] == fill.charges_total
        parts = ("brokerage", "stt", "exchange_transaction", "sebi_fee", "stamp_duty", "gst")
        assert sum(row[k] for k in parts) == row["charges_total"]
        assert row["algo_id"] == order.algo_id
    assert got[0]["isin"] == "INE009A01021"


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"account": "asha"}, lambda f, b: f.account_id == b.asha.pk),
        ({"client": "ravi"}, lambda f, b: f.account.client_id == b.ravi.client_id),
        ({"instrument": "INFY"}, lambda f, b: f.order.tradingsymbol == "INFY"),
        ({"algo_id": "ALGO1"}, lambda f, b: f.order.algo_id == "ALGO1"),
        ({"date_to": DAY1}, lambda f, b: f.trade_date == DAY1),
        ({"date_from": DAY2}, lambda f, b: f.trade_date == DAY2),
    ],
)
def test_the_trade_register_filters_narrow(book, market, filters, expected):
    values = {"date_from": DAY0, "date_to": DAY2}
    for name, value in filters.items():
        values[name] = {
            "asha": book.asha.pk, "ravi": book.ravi.client_id, "INFY": market["INFY"].pk,
        }.get(value, value)  # fmt: skip
    params = parse("trade_register", values, user=book.staff)
    got = [r["fill_id"] for r in rows("trade_register", params)]
    want = [f.pk for f in Fill.objects.order_by("filled_at", "id") if expected(f, book)]
    assert got == want
    assert 0 < len(got) < Fill.objects.count()


def test_the_order_log_is_every_state_change_of_every_order(book):
    got = rows("order_log")
    events = AuditEvent.objects.filter(object_type="orders.order").order_by("id")
    assert [r["event_id"] for r in got] == [e.pk for e in events]
    by_order = defaultdict(list)
    for row in got:
        by_order[row["order_id"]].append(row)
        event = events.get(pk=row["event_id"])
        assert row["at"] == event.occurred_at
        assert row["action"] == event.action
        assert row["to_status"] == (event.after or {}).get("status", "")
    for order in Order.objects.all():
        moves = by_order[order.pk]
        assert moves[0]["to_status"] == "ACCEPTED"
        assert moves[-1]["to_status"] == order.status == "COMPLETE"
        for before, after in pairwise(moves):
            assert after["from_status"] == before["to_status"]  # an unbroken chain of states
        assert {m["algo_id"] for m in moves} == {order.algo_id}
    algo = parse("order_log", {"algo_id": "ALGO7"}, user=book.staff)
    assert {r["order_id"] for r in rows("order_log", algo)} == {
        o.pk for o in Order.objects.filter(algo_id="ALGO7")
    }
    day2 = parse("order_log", {"date_from": DAY2, "account": book.asha.pk}, user=book.staff)
    got2 = rows("order_log", day2)
    assert got2
    assert all(r["at"] >= ist_start(DAY2) for r in got2)
    assert {r["ucc"] for r in got2} == {"TS0001"}
    assert len(got2) < len([r for r in got if r["ucc"] == "TS0001"])


def test_the_client_master_masks_the_pan_and_lists_the_accounts(book):
    got = {r["client_id"]: r for r in rows("client_master", ReportParams())}
    asha = got[book.asha.client_id]
    assert asha["pan_masked"] == "XXXXXX234K"
    assert (asha["kyc_status"], asha["kra_status"], asha["risk_category"]) == (
        "verified", "validated", "low",
    )  # fmt: skip
    assert asha["rekyc_due_on"] == book.asha.client.rekyc_due_on
    assert asha["accounts"] == "TS0001"
    assert got[book.ravi.client_id]["name"] == "रवि अय्यर"
    assert len(got) == Client.objects.count()
    one = rows("client_master", ReportParams(client_id=book.ravi.client_id))
    assert [r["client_id"] for r in one] == [book.ravi.client_id]


def test_holdings_and_positions_statements_are_the_books_rows(book):
    holdings = rows("holdings_statement", ReportParams())
    assert (
        {(r["ucc"], r["symbol"], r["quantity"], r["average_price"]) for r in holdings}
        == {
            (h.account.code, h.instrument.tradingsymbol, h.quantity, h.average_price)
            for h in Holding.objects.filter(quantity__gt=0)
        }
        == {("TS0001", "INFY", 10, Decimal("1400")), ("TS0002", "SMALLCAP", 5, Decimal("100"))}
    )
    assert all(r["cost_value"] == r["quantity"] * r["average_price"] for r in holdings)
    positions = rows("positions_statement", ReportParams(account_id=book.asha.pk))
    assert {(r["symbol"], r["product"], r["quantity"], r["realized_pnl"]) for r in positions} == {
        (p.instrument.tradingsymbol, p.product, p.quantity, p.realized_pnl)
        for p in Position.objects.filter(account=book.asha)
    }
    assert {r["ucc"] for r in positions} == {"TS0001"}


def test_the_ledger_statement_runs_its_balance_from_the_opening(book):
    params = ReportParams(date_from=DAY2, date_to=DAY2, client_id=book.asha.client_id)
    got = rows("ledger_statement", params)
    opening, *entries, closing = got
    assert opening["kind"] == "opening_balance"
    assert closing["kind"] == "closing_balance"
    before = LedgerEntry.objects.filter(account=book.asha, posted_at__lt=opening["posted_at"])
    assert opening["balance"] == sum((e.amount for e in before), Decimal(0))
    ids = list(
        LedgerEntry.objects.filter(account=book.asha, posted_at__gte=opening["posted_at"])
        .order_by("posted_at", "id")
        .values_list("pk", flat=True)
    )
    assert [e["entry_id"] for e in entries] == ids
    assert len(ids) > 3
    balance = opening["balance"]
    for entry in entries:
        amount = (entry["credit"] or 0) - (entry["debit"] or 0)
        assert amount == LedgerEntry.objects.get(pk=entry["entry_id"]).amount
        balance += amount
        assert entry["balance"] == balance
    assert closing["balance"] == balance == book.asha.cash_balance
    whole = rows("ledger_statement", ReportParams(date_from=DAY0, date_to=DAY2))
    closings = {r["ucc"]: r["balance"] for r in whole if r["kind"] == "closing_balance"}
    assert closings == {"TS0001": book.asha.cash_balance, "TS0002": book.ravi.cash_balance}
    assert [r["balance"] for r in whole if r["kind"] == "opening_balance"] == [0, 0]


def test_the_daily_margin_statement_reads_the_days_snapshots(book):
    from orders.eod import margin_snapshots_take
    from orders.models import MarginSnapshot

    close = at(DAY2, 15, 40)
    # A morning snapshot of Asha's with more margin in use than at the close, and short.
    MarginSnapshot.objects.create(
        account=book.asha, trade_date=DAY2, taken_at=at(DAY2, 10), kind="intraday",
        cash=Decimal("1000.00"), blocked=Decimal("0.00"), margin_used=Decimal("99999.00"),
        available=Decimal("-98999.00"),
    )  # fmt: skip
    assert margin_snapshots_take(kind="close", at=close) == 2
    assert margin_snapshots_take(kind="close", at=close) == 2  # the same instant: no new rows
    assert MarginSnapshot.objects.count() == 5  # the book's 11:30 snapshot of both, and these
    got = rows("margin_statement", ReportParams(date_from=DAY2, date_to=DAY2))
    assert [(r["trade_date"], r["ucc"], r["snapshots"]) for r in got] == [
        (DAY2, "TS0001", 3), (DAY2, "TS0002", 2),
    ]  # fmt: skip
    for row, account in zip(got, (book.asha, book.ravi), strict=True):
        funds = funds_of(account, on=DAY2)
        assert row["as_of"] == close
        assert (row["cash"], row["blocked"], row["margin_used"], row["available"]) == (
            funds["cash"], funds["blocked"], funds["margin_used"], funds["available"],
        )  # fmt: skip
    assert got[0]["margin_used"] > 0  # Asha's intraday SMALLCAP, still open in the book
    assert (got[0]["peak_margin_used"], got[0]["shortfall"]) == (Decimal("99999.00"),
                                                                  Decimal("98999.00"))  # fmt: skip
    assert got[1]["peak_margin_used"] == got[1]["margin_used"] == 0  # Ravi: no MIS
    assert got[1]["shortfall"] == max(-got[1]["available"], Decimal("0.00"))
    assert rows("margin_statement", ReportParams(date_from=DAY1, date_to=DAY1)) == []


def test_the_stt_and_stamp_summary_adds_up_the_fills_charges(book):
    got = rows("stt_stamp_summary")
    unknown = ("unknown", "Unknown: no state on the client's KYC record")
    assert [(r["trade_date"], r["exchange"], r["state_code"], r["state"]) for r in got] == [
        (DAY1, "NSE", *unknown), (DAY2, "NSE", *unknown),
    ]  # fmt: skip  # the book's clients have no KYC application: no state on record
    for row in got:
        fills = Fill.objects.filter(trade_date=row["trade_date"])
        assert row["fills"] == fills.count()
        assert row["stt"] == sum(Decimal(f.charges["stt"]) for f in fills)
        assert row["stamp_duty"] == sum(Decimal(f.charges["stamp_duty"]) for f in fills)
        buys = [f for f in fills if f.order.transaction_type == "BUY"]
        assert row["buy_value"] == sum(f.price * f.quantity for f in buys)
    assert got[1]["sell_value"] == Decimal("6400.00")


SUMMED = ("fills", "buy_value", "sell_value", "stt", "stamp_duty")


def test_the_stt_and_stamp_summary_splits_by_the_clients_state(
    stamp_book, django_assert_num_queries
):
    with django_assert_num_queries(1):  # the states come in the fills' query, not per client
        got = rows("stt_stamp_summary")
    assert [(r["trade_date"], r["state_code"], r["state"]) for r in got] == [
        (DAY1, "27", "Maharashtra"),  # Ravi: his latest application (the older: Tamil Nadu)
        (DAY1, "29", "Karnataka"),  # Asha
        (DAY2, "27", "Maharashtra"),
        (DAY2, "29", "Karnataka"),
        (DAY2, "unknown", "Unknown: no state on the client's KYC record"),  # Meera
    ]
    expected = stamp_summary_expected()
    assert {
        (r["trade_date"], r["exchange"], r["state_code"]): {k: r[k] for k in SUMMED} for r in got
    } == expected
    for day in (DAY1, DAY2):  # the states' rows add up to the day's fills, to the paisa
        fills = Fill.objects.filter(trade_date=day)
        day_rows = [r for r in got if r["trade_date"] == day]
        assert sum(r["fills"] for r in day_rows) == fills.count()
        for key in ("stt", "stamp_duty"):
            assert sum(r[key] for r in day_rows) == sum(Decimal(f.charges[key]) for f in fills)
    assert all(r["stamp_duty"] > 0 for r in got)  # every state's row has a buy: duty to pay
    assert all(v.as_tuple().exponent == -2 for r in got for v in (r["stt"], r["stamp_duty"]))


def test_the_stamp_summary_of_one_client_and_a_state_left_blank(stamp_book, kyc_application):
    meera = stamp_book.meera.client
    kyc_application(client=meera, pan=meera.pan)  # an application, but no state on it
    one = ReportParams(date_from=DAY0, date_to=DAY2, client_id=meera.pk)
    (row,) = rows("stt_stamp_summary", one)
    assert (row["trade_date"], row["state_code"], row["fills"]) == (DAY2, "unknown", 2)
    assert row["stamp_duty"] == sum(
        Decimal(f.charges["stamp_duty"]) for f in Fill.objects.filter(account=stamp_book.meera)
    )
    asha = ReportParams(date_from=DAY0, date_to=DAY2, account_id=stamp_book.asha.pk)
    assert {r["state"] for r in rows("stt_stamp_summary", asha)} == {"Karnataka"}


def test_risk_breaches_alerts_and_the_audit_extract(book):
    risk = rows("risk_breaches")
    assert [r["event"] for r in risk] == ["breach", "kill_switch_tripped", "kill_switch_reset"]
    assert (risk[0]["limit"], risk[0]["value"], risk[0]["ucc"]) == (
        Decimal("1000.00"), Decimal("1250.00"), "TS0002",
    )  # fmt: skip
    assert risk[2]["by"] == "ravi"
    assert rows("risk_breaches", ReportParams(account_id=book.asha.pk)) == []
    alerts = rows("alert_register")
    assert [(a["rule"], a["priority"], a["ucc"], a["instrument"]) for a in alerts] == [
        ("wash_trade", "High", "TS0001", "NSE:INFY")
    ]
    assert rows("alert_register", ReportParams(client_id=book.ravi.client_id)) == []
    audit = rows("audit_extract")
    events = list(AuditEvent.objects.order_by("id"))
    assert [(a["event_id"], a["chain"], a["seq"], a["prev_hash"], a["hash"]) for a in audit] == [
        (e.pk, e.chain, e.seq, e.prev_hash, e.hash) for e in events
    ]
    order = book.orders[0]
    one = rows("audit_extract", ReportParams(object_type="orders.order", object_id=str(order.pk)))
    assert {a["object_id"] for a in one} == {str(order.pk)}
    assert [a["action"] for a in one][-1] == "order.complete"
    by_ravi = rows("audit_extract", ReportParams(actor="ravi"))
    assert by_ravi
    assert {a["actor"] for a in by_ravi} == {"ravi"}
    assert [a["event_id"] for a in by_ravi] == [e.pk for e in events if e.actor_username == "ravi"]


# --- The filters' checks ---------------------------------------------------------------------


def test_the_checks_refuse_bad_ranges_unknown_ids_and_filters_a_kind_does_not_take(book, settings):
    settings.REPORT_MAX_DAYS = 30
    cases = [
        ({"date_from": DAY2, "date_to": DAY1}, "date_to", "before"),
        ({"date_from": DAY0, "date_to": DAY0 + timedelta(days=30)}, "date_to", "the most is 30"),
        ({"date_from": "26-11-2026"}, "date_from", "not a date"),
        ({"account": 999}, "account", "No account 999"),
        ({"client": 999}, "client", "No client 999"),
        ({"instrument": 999}, "instrument", "No instrument"),
        ({"actor": "ravi"}, "actor", "takes no actor"),
    ]
    for data, field, message in cases:
        with pytest.raises(ReportParamsError) as refused:
            parse("trade_register", data, user=book.staff)
        assert field in refused.value.errors, data
        assert message in " ".join(refused.value.errors[field]), data
    with pytest.raises(ReportParamsError) as refused:
        parse("ledger_statement", {"client": book.asha.client_id}, user=book.staff)
    assert set(refused.value.errors) == {"date_from", "date_to"}
    with pytest.raises(ReportParamsError) as refused:
        parse("nonesuch", {}, user=book.staff)
    assert "kind" in refused.value.errors
    ok = parse("trade_register", {"date_from": DAY0, "date_to": DAY0 + timedelta(days=29)},
               user=book.staff)  # fmt: skip
    assert ok.date_to == DAY0 + timedelta(days=29)


def test_a_client_runs_only_statements_of_their_own_client(book):
    for kind in ("trade_register", "order_log", "audit_extract", "alert_register"):
        with pytest.raises(PermissionError):
            parse(kind, {}, user=book.asha_user)
    own = parse("holdings_statement", {}, user=book.asha_user)
    assert own.client_id == book.asha.client_id
    assert {r["ucc"] for r in rows("holdings_statement", own)} == {"TS0001"}
    with pytest.raises(ReportParamsError) as refused:
        parse("holdings_statement", {"client": book.ravi.client_id}, user=book.asha_user)
    assert "client" in refused.value.errors
    with pytest.raises(ReportParamsError) as refused:
        parse("ledger_statement", {"account": book.ravi.pk, "date_from": DAY0,
              "date_to": DAY2}, user=book.asha_user)  # fmt: skip
    assert "account" in refused.value.errors
    ledger = parse("ledger_statement", {"date_from": DAY0, "date_to": DAY2}, user=book.asha_user)
    assert {r["ucc"] for r in rows("ledger_statement", ledger)} == {"TS0001"}


_accounts = iter(range(1, 10_000))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    moves=st.lists(
        st.tuples(st.integers(0, 6), st.integers(-20_000, 50_000).filter(bool)), max_size=10
    ),
    first=st.integers(0, 6),
    length=st.integers(0, 6),
)
def test_any_ledger_statement_runs_from_its_opening_to_its_closing(db, moves, first, length):
    """Deposits and withdrawals on random days: whatever the period, the opening is the sum
    of what came before, each line adds its amount, and the closing is the sum to its end."""
    from orders.choices import LedgerKind
    from orders.models import TradingAccount
    from orders.services import FundsRefused, funds_move

    n = next(_accounts)
    client = Client.objects.create(name=f"Client {n}", pan=f"ABCPZ{n:04d}K")
    account = TradingAccount.objects.create(code=f"LP{n:04d}", client=client)
    for day, amount in sorted(moves, key=lambda m: m[0]):
        kind = LedgerKind.DEPOSIT if amount > 0 else LedgerKind.WITHDRAWAL
        when = ist_start(DAY0 + timedelta(days=day)) + timedelta(hours=11)
        # A withdrawal of more than is available is refused, and nothing posted.
        with time_machine.travel(when), suppress(FundsRefused):
            funds_move(account=account, kind=kind, amount=Decimal(abs(amount)))
    date_from = DAY0 + timedelta(days=first)
    params = ReportParams(
        date_from=date_from, date_to=date_from + timedelta(days=length), account_id=account.pk
    )
    opening, *lines, closing = rows("ledger_statement", params)
    posted = list(LedgerEntry.objects.filter(account=account).order_by("posted_at", "id"))
    start, end = ist_start(params.date_from), ist_start(params.date_to + timedelta(days=1))
    assert opening["balance"] == sum((e.amount for e in posted if e.posted_at < start), 0)
    assert [line["entry_id"] for line in lines] == [
        e.pk for e in posted if start <= e.posted_at < end
    ]
    balance = opening["balance"]
    for line in lines:
        balance += (line["credit"] or 0) - (line["debit"] or 0)
        assert line["balance"] == balance
    assert closing["balance"] == balance == sum((e.amount for e in posted if e.posted_at < end), 0)


def test_only_the_client_master_decrypts_and_only_the_pan(book, monkeypatch):
    """Registers decrypt nothing they do not show: the client's PAN and bank account are
    left unread everywhere but the client master, which reads the PAN to mask it."""
    from ops import crypto

    contexts: list[str] = []
    real = crypto.decrypt

    def counted(value, context):
        contexts.append(context)
        return real(value, context)

    monkeypatch.setattr(crypto, "decrypt", counted)
    for kind in sorted(REGISTERS):
        contexts.clear()
        params = PERIOD if "date_from" in REGISTERS[kind].filters else ReportParams()
        assert rows(kind, params)
        if kind == "client_master":
            assert len(contexts) == Client.objects.count()
            assert all("pan" in c and "bank" not in c for c in contexts), contexts
        else:
            assert contexts == [], kind


def test_through_an_api_key_only_the_keys_accounts_statements(book):
    from ops.apikeys import api_key_create

    key, _ = api_key_create(
        actor=None, user=book.asha_user, account=book.asha, label="statements",
        primary_ip="127.0.0.1",
    )  # fmt: skip
    span = {"date_from": DAY0.isoformat(), "date_to": DAY2.isoformat()}
    params = parse("ledger_statement", span, user=book.asha_user, key=key)
    assert (params.account_id, params.client_id) == (book.asha.pk, None)
    with pytest.raises(ReportParamsError) as refused:
        parse("ledger_statement", {**span, "account": book.ravi.pk}, user=book.asha_user, key=key)
    assert "account" in refused.value.errors
    with pytest.raises(PermissionError):
        parse("trade_register", span, user=book.asha_user, key=key)
