"""The surveillance patterns on planted rows: each finds its planted scenario (a true
positive) and stays quiet on a near miss just under its parameters (a true negative)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.surveillance import patterns as p
from compliance.surveillance.rules import params_validate

T0 = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)  # 10:30 IST
CLOSE = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # 15:30 IST


def fill(id, client, side, qty, price, secs, *, instrument=1, order=None, account=None):
    return p.FillRow(
        id=id, order_id=order or id, account_id=account or client, client_id=client,
        instrument_id=instrument, symbol="INFY", side=side, quantity=qty, price=D(price),
        at=T0 + timedelta(seconds=secs),
    )  # fmt: skip


def order(id, client, side, qty, price, secs, **extra):
    base = {
        "account_id": extra.pop("account", client), "client_id": client, "instrument_id": 1,
        "symbol": "INFY", "side": side, "quantity": qty,
        "price": None if price is None else D(price), "status": extra.pop("status", "COMPLETE"),
        "filled_quantity": extra.pop("filled", 0), "placed_at": T0 + timedelta(seconds=secs),
        "touch_bid": D("1500.00"), "touch_ask": D("1500.05"),
    }  # fmt: skip
    return p.OrderRow(id=id, **{**base, **extra})


# --- wash trades ---------------------------------------------------------------------------


def wash(fills, groups=None):
    return p.wash_trades(
        fills, groups=groups or {}, window_seconds=60, price_tolerance_pct=D("0.10")
    )


def test_wash_trade_of_one_client_is_found():
    found = wash([fill(1, 7, "BUY", 100, "1500.00", 0), fill(2, 7, "SELL", 100, "1500.50", 30)])
    assert [f.subject_key for f in found] == ["client:7|instrument:1"]
    assert found[0].evidence == [{"kind": "fill", "id": 1}, {"kind": "fill", "id": 2}]
    assert found[0].score == 100
    assert "client 7 bought and sold 100 within 60s" in found[0].summary


def test_wash_trade_across_a_linked_group_is_found_and_high():
    found = wash(
        [fill(1, 7, "BUY", 100, "1500.00", 0), fill(2, 8, "SELL", 100, "1500.00", 5)],
        groups={7: 3, 8: 3},
    )
    assert [f.subject_key for f in found] == ["group:3|instrument:1"]
    assert found[0].high
    assert found[0].detail["clients"] == [7, 8]


@pytest.mark.parametrize(
    "sell",
    [
        fill(2, 7, "SELL", 100, "1500.00", 61),  # just outside the window
        fill(2, 7, "SELL", 100, "1501.55", 30),  # 0.1033% apart: over the tolerance
        fill(2, 8, "SELL", 100, "1500.00", 5),  # another, unlinked client
        fill(2, 7, "SELL", 100, "1500.00", 5, instrument=2),  # another instrument
    ],
)
def test_wash_trade_near_misses_are_not_found(sell):
    assert wash([fill(1, 7, "BUY", 100, "1500.00", 0), sell]) == []


# --- spoofing ------------------------------------------------------------------------------


def spoof(orders, fills):
    return p.spoofing(
        orders, fills, min_quantity=1000, min_distance_pct=D("0.5"), cancel_within_seconds=10,
        other_side_window_seconds=60,
    )  # fmt: skip


def spoof_order(**extra):
    # 1490.00 is 0.6667% below the 1500.00 bid; cancelled after 5 s.
    values = {"status": "CANCELLED", "ended_at": T0 + timedelta(seconds=5)}
    price = extra.pop("price", "1490.00")
    return order(10, 7, "BUY", 5000, price, 0, **{**values, **extra})


def test_spoofing_is_found():
    found = spoof([spoof_order()], [fill(1, 7, "SELL", 100, "1500.05", 3)])
    assert [f.subject_key for f in found] == ["client:7|instrument:1"]
    assert found[0].evidence == [{"kind": "order", "id": 10}, {"kind": "fill", "id": 1}]
    assert found[0].detail["orders"][0]["distance_pct"] == "0.6667"


@pytest.mark.parametrize(
    ("extra", "other"),
    [
        ({"quantity": 999}, "SELL"),  # under the size
        ({"price": "1492.55"}, "SELL"),  # 0.4967% from the touch: too close
        ({"ended_at": T0 + timedelta(seconds=11)}, "SELL"),  # lived longer than 10 s
        ({"status": "OPEN", "ended_at": None}, "SELL"),  # never cancelled
        ({}, "BUY"),  # no trade on the other side
    ],
)
def test_spoofing_near_misses_are_not_found(extra, other):
    assert spoof([spoof_order(**extra)], [fill(1, 7, other, 100, "1500.05", 3)]) == []


def test_spoofing_other_side_trade_after_the_window_is_not_found():
    late = fill(1, 7, "SELL", 100, "1500.05", 5 + 61)
    assert spoof([spoof_order()], [late]) == []


# --- order-to-trade ratio ------------------------------------------------------------------

NSE_SLABS = [
    {"from": 500, "penalty_rupees": 5000},
    {"from": 750, "penalty_rupees": 10000},
    {"from": 1000, "penalty_rupees": 20000},
]


def otr(orders, fills):
    return p.order_to_trade(
        orders, fills, slabs=NSE_SLABS, exclude_within_pct=D("0.75"), min_orders=50
    )


def far_orders(n, *, algo="", start=0):
    # 1400.00 is far (6.7 %) from the touch: each order counts.
    return [order(start + i, 7, "BUY", 1, "1400.00", i, algo_id=algo) for i in range(n)]


def test_otr_at_the_first_slab_is_found_per_client_and_algo():
    found = otr(far_orders(500, algo="ALGO7"), [])
    assert sorted(f.subject_key for f in found) == ["algo:ALGO7", "client:7"]
    assert {f.score for f in found} == {D(500)}
    assert all("penalty Rs 5000" in f.summary for f in found)


def test_otr_just_under_the_first_slab_is_not_found():
    rows = far_orders(1000)
    fills = [fill(1, 7, "BUY", 1, "1400.00", 0, order=0), fill(2, 7, "BUY", 1, "1400.00", 0)]
    assert otr(rows[:999], fills) == []  # 999 / 2 = 499.5


def test_otr_cancels_count_and_near_market_orders_do_not():
    cancelled = [
        order(i, 7, "BUY", 1, "1400.00", i, status="CANCELLED", ended_at=T0) for i in range(250)
    ]
    near = [order(1000 + i, 7, "BUY", 1, "1505.00", i) for i in range(400)]  # 0.33 % away
    found = otr(cancelled + near, [])
    assert [(f.subject_key, f.score) for f in found] == [("client:7", D(500))]


def test_otr_does_not_count_orders_we_rejected():
    rows = [*far_orders(499), order(999, 7, "BUY", 1, "1400.00", 0, status="REJECTED")]
    assert otr(rows, []) == []
    assert len(otr([*rows, order(1000, 7, "BUY", 1, "1400.00", 0)], [])) == 1


def test_otr_top_slab_is_high():
    (found,) = otr(far_orders(1000), [])
    assert found.high
    assert found.detail["slab"]["from"] == 1000


# --- marking the close ---------------------------------------------------------------------


def mark(fills, close="1530.00"):
    return p.marking_close(
        fills, close_at=CLOSE, reference={1: D("1500.00")}, closing={1: D(close)},
        last_minutes=30, move_pct=D("2"), min_share_pct=D("25"),
    )  # fmt: skip


def late_fill(id, client, side, qty, minutes_before_close, price="1520.00"):
    return p.FillRow(
        id=id, order_id=id, account_id=client, client_id=client, instrument_id=1,
        symbol="INFY", side=side, quantity=qty, price=D(price),
        at=CLOSE - timedelta(minutes=minutes_before_close),
    )  # fmt: skip


def test_marking_the_close_is_found():
    fills = [late_fill(1, 7, "BUY", 300, 10), late_fill(2, 8, "BUY", 700, 5)]
    found = mark(fills)
    assert sorted(f.subject_key for f in found) == [
        "client:7|instrument:1",
        "client:8|instrument:1",
    ]
    assert found[0].score == D("2.0000")


@pytest.mark.parametrize(
    ("fills", "close"),
    [
        ([late_fill(1, 7, "BUY", 300, 10)], "1529.95"),  # 1.9967 %: under the move
        ([late_fill(1, 7, "BUY", 300, 31)], "1530.00"),  # before the last 30 minutes
        ([late_fill(1, 7, "BUY", 249, 10), late_fill(2, 8, "SELL", 751, 5)], "1530.00"),
        ([late_fill(1, 7, "SELL", 300, 10)], "1530.00"),  # sold into a rise
    ],
)
def test_marking_the_close_near_misses_are_not_found(fills, close):
    assert mark(fills, close) == []


# --- front running -------------------------------------------------------------------------


def front(orders):
    return p.front_running(orders, window_seconds=300, min_client_quantity=5000)


def staff(secs, **extra):
    values = {"account": 90, "account_kind": "staff", "filled": 100}
    return order(1, 70, "BUY", 100, "1500.05", secs, **{**values, **extra})


def client_order(qty=5000, side="BUY"):
    return order(2, 7, side, qty, "1500.05", 300)


def test_front_running_is_found():
    found = front([staff(10), client_order()])
    assert [f.subject_key for f in found] == ["account:90|instrument:1"]
    assert found[0].evidence == [{"kind": "order", "id": 1}, {"kind": "order", "id": 2}]
    assert "staff account 90 bought 100 within 300s before 1 large client order" in (
        found[0].summary
    )


def test_front_running_by_a_proprietary_account_is_found():
    assert len(front([staff(10, account_kind="proprietary"), client_order()])) == 1


@pytest.mark.parametrize(
    "rows",
    [
        [staff(10), client_order(qty=4999)],  # the client order is not large
        [staff(-1), client_order()],  # 301 s ahead: outside the window
        [staff(10), client_order(side="SELL")],  # the other side
        [staff(10, account_kind="client"), client_order()],  # another client
        [staff(10, filled=0), client_order()],  # never traded
        [staff(301), client_order()],  # after the client order
    ],
)
def test_front_running_near_misses_are_not_found(rows):
    assert front(rows) == []


# --- circular trading ----------------------------------------------------------------------

GROUP = {7: 3, 8: 3, 9: 3}


def circle(fills, groups=GROUP):
    return p.circular_trading(
        fills, groups=groups, window_seconds=600, leg_seconds=5, price_tolerance_pct=D("0.5"),
        min_parties=3,
    )  # fmt: skip


def round_trip(last_secs=200, last_buy="1500.00"):
    return [
        fill(1, 7, "SELL", 100, "1500.00", 0), fill(2, 8, "BUY", 100, "1500.00", 0),
        fill(3, 8, "SELL", 100, "1501.00", 100), fill(4, 9, "BUY", 100, "1501.00", 100),
        fill(5, 9, "SELL", 100, "1500.00", last_secs),
        fill(6, 7, "BUY", 100, last_buy, last_secs),
    ]  # fmt: skip


def test_circular_trading_is_found():
    found = circle(round_trip())
    assert [f.subject_key for f in found] == ["group:3|instrument:1"]
    assert found[0].detail["cycle"] == [7, 8, 9]
    assert [e["id"] for e in found[0].evidence] == [1, 2, 3, 4, 5, 6]
    assert "client 7 → client 8 → client 9 → client 7" in found[0].summary


@pytest.mark.parametrize(
    ("fills", "groups"),
    [
        (round_trip()[:4], GROUP),  # A→B→C, never back to A
        (round_trip(last_secs=601), GROUP),  # the circle took 601 s: over the window
        (round_trip(last_buy="1507.55"), GROUP),  # 0.5033 % apart: off the tolerance
        ([*round_trip()[:5], fill(6, 7, "BUY", 100, "1500.00", 206)], GROUP),  # 6 s: no leg
        ([*round_trip()[:5], fill(6, 7, "BUY", 99, "1500.00", 200)], GROUP),  # not one trade
        (round_trip(), {7: 3, 8: 3}),  # C is not in the group
    ],
)
def test_circular_trading_near_misses_are_not_found(fills, groups):
    assert circle(fills, groups) == []


# --- concentration -------------------------------------------------------------------------


def conc(fills, market):
    return p.concentration(fills, market_volume=market, share_pct=D("25"), min_quantity=1000)


def test_concentration_against_the_market_is_found():
    fills = [fill(1, 7, "BUY", 3000, "1500", 0), fill(2, 7, "SELL", 2000, "1500", 9)]
    (found,) = conc(fills, {1: 10_000})  # 5000 of 20000 sides: 25 %
    assert found.score == D("25.0000")
    assert found.detail["source"] == "market"


def test_concentration_of_our_book_when_the_market_is_unknown():
    fills = [fill(1, 7, "BUY", 3000, "1500", 0), fill(2, 8, "SELL", 3000, "1500", 9)]
    found = conc(fills, {})
    assert [f.detail["source"] for f in found] == ["our book", "our book"]
    assert [f.score for f in found] == [D("50.0000"), D("50.0000")]


@pytest.mark.parametrize(
    ("fills", "market"),
    [
        ([fill(1, 7, "BUY", 4999, "1500", 0)], {1: 10_000}),  # 24.995 %
        ([fill(1, 7, "BUY", 999, "1500", 0)], {1: 1_000}),  # under the minimum quantity
    ],
)
def test_concentration_near_misses_are_not_found(fills, market):
    assert conc(fills, market) == []


# --- parameters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "params", "message"),
    [
        ("wash_trade", {"window_seconds": 60}, "missing parameter 'price_tolerance_pct'"),
        ("wash_trade", {"window_seconds": 0, "price_tolerance_pct": 1}, "window_seconds must be"),
        ("wash_trade", {"window_seconds": "x", "price_tolerance_pct": 1}, "must be a number"),
        ("spoofing", {"min_quantity": 1.5, "min_distance_pct": 1, "cancel_within_seconds": 1,
                      "other_side_window_seconds": 1}, "whole number"),
        ("concentration", {"share_pct": 101, "min_quantity": 1}, "at most 100"),
        ("concentration", {"share_pct": 5, "min_quantity": 1, "extra": 1}, "unknown parameter"),
        ("order_to_trade", {"slabs": [{"from": 750, "penalty_rupees": 1},
                                      {"from": 500, "penalty_rupees": 1}],
                            "exclude_within_pct": 1, "min_orders": 1}, "slabs rise"),
        ("order_to_trade", {"slabs": [], "exclude_within_pct": 1, "min_orders": 1}, "slabs"),
        ("front_running", [], "JSON object"),
    ],
)  # fmt: skip
def test_bad_params_are_refused_with_a_clear_error(code, params, message):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        params_validate(code, params)
    assert message in " ".join(refused.value.messages)


# --- invariants ----------------------------------------------------------------------------


random_fills = st.lists(
    st.builds(
        lambda i, client, side, qty, cents, secs: fill(
            i, client, side, qty, str(D(150000 + cents) / 100), secs
        ),
        st.integers(1, 10**6),
        st.integers(1, 4),
        st.sampled_from(["BUY", "SELL"]),
        st.integers(1, 2000),
        st.integers(0, 400),
        st.integers(0, 900),
    ),
    max_size=30,
    unique_by=lambda f: f.id,
)


@settings(max_examples=60, deadline=None)
@given(fills=random_fills, seed=st.randoms())
def test_findings_do_not_depend_on_the_order_rows_come_in(fills, seed):
    """A run finds the same subjects and evidence however the rows are ordered: the
    once-per-subject-and-day alert never sees a second, different version of a finding."""
    shuffled = list(fills)
    seed.shuffle(shuffled)
    groups = {1: 9, 2: 9, 3: 9}

    def seen(rows):
        found = [
            *wash(rows, groups),
            *circle(rows, groups),
            *conc(rows, {}),
        ]
        return sorted((f.subject_key, str(f.evidence), f.score) for f in found)

    assert seen(fills) == seen(shuffled)


@settings(max_examples=60, deadline=None)
@given(fills=random_fills)
def test_a_wash_trade_always_has_both_sides_of_one_party(fills):
    groups = {1: 9, 2: 9}
    by_id = {f.id: f for f in fills}
    for found in wash(fills, groups):
        rows = [by_id[e["id"]] for e in found.evidence]
        assert {f.side for f in rows} == {"BUY", "SELL"}
        assert len({groups.get(f.client_id, f"c{f.client_id}") for f in rows}) == 1
