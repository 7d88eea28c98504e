"""The shipped client's methods and command line over real HTTP against a live server:
modify and cancel a working order; trades, positions, holdings and funds after a fill. Then,
with no server: bad arguments refused before any request, good ones sent where they belong."""

import json
from decimal import Decimal

import pytest

from orders.eod import holdings_settle
from orders.models import Order
from tradingsite_client import ApiError, TradingSite
from tradingsite_client.__main__ import ENV, main

pytestmark = pytest.mark.django_db(transaction=True)


def cli(capsys, *argv: str) -> tuple[int, object, str]:
    """Run the command line in-process; returns its exit code, its JSON answer and stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, json.loads(out) if out else None, err


def resting_buy(algo, quantity: int = 5) -> dict:
    """A limit buy below the 1500.05 ask, so it stays OPEN."""
    return algo.place_order("TS0001", "INFY", "BUY", quantity, order_type="LIMIT", price="1400.00")


def test_modify_then_cancel_a_working_order(algo):
    order_id = resting_buy(algo)["order_id"]
    # The answer is the request sent to the broker; here the broker answers at once, after
    # the commit, and the order takes the change.
    changed = algo.modify_order(order_id, quantity=7, price=Decimal("1410.00"))
    assert (changed["status"], changed["requested_change"]) == (
        "MODIFY_PENDING",
        {"quantity": 7, "price": "1410.00", "trigger_price": None},
    )
    stored = Order.objects.get(pk=order_id)
    assert (stored.quantity, stored.price, stored.status) == (7, Decimal("1410.00"), "OPEN")
    assert algo.modify_order(order_id, price="1405.50")["quantity"] == 7  # the rest is kept
    stored = Order.objects.get(pk=order_id)
    assert (stored.quantity, stored.price) == (7, Decimal("1405.50"))
    assert algo.cancel_order(order_id)["status"] == "CANCEL_PENDING"
    assert Order.objects.get(pk=order_id).status == "CANCELLED"
    for again in (
        lambda: algo.cancel_order(order_id),
        lambda: algo.modify_order(order_id, quantity=3),
    ):
        with pytest.raises(ApiError) as refused:
            again()
        assert (refused.value.status, refused.value.type) == (409, "order-not-working")


def test_a_modification_the_server_refuses_raises_its_problem(algo):
    order_id = resting_buy(algo)["order_id"]
    with pytest.raises(ApiError) as refused:
        algo.modify_order(order_id, price="1400.03")  # off the 0.05 tick
    assert (refused.value.status, list(refused.value.problem["errors"])) == (400, ["price"])
    assert Order.objects.get(pk=order_id).price == Decimal("1400.00")


def test_modify_with_nothing_to_change_is_refused_by_the_client(algo):
    with pytest.raises(ValueError, match="quantity, a price or a trigger_price"):
        algo.modify_order(1)


def test_trades_positions_holdings_and_funds_after_a_fill(algo):
    order = algo.place_order("TS0001", "INFY", "BUY", 10)
    resting_buy(algo)  # no fill, so no trade
    trades = algo.trades()["results"]
    assert [(t["order_id"], t["quantity"], t["price"]) for t in trades] == [
        (order["order_id"], 10, "1500.05")
    ]
    assert algo.trades(order=str(order["order_id"] + 1))["results"] == []
    assert algo.trades(account="TS0001", trade_date=trades[0]["trade_date"])["count"] == 1
    [position] = algo.positions()
    assert (position["instrument"], position["quantity"], position["product"]) == (
        "NSE:INFY",
        10,
        "CNC",
    )
    assert algo.positions("TS0009") == []  # not the key's account: nothing to see
    assert algo.holdings() == []  # delivery settles T+1
    holdings_settle()
    [holding] = algo.holdings("TS0001")
    assert (holding["quantity"], Decimal(holding["average_price"])) == (10, Decimal("1500.05"))
    assert algo.positions() == []
    funds = algo.funds("TS0001")["funds"]
    spent = Decimal("15000.50") + Decimal(trades[0]["charges_total"])
    assert Decimal(funds["cash"]) == Decimal("1000000.00") - spent
    assert Decimal(funds["blocked"]) > 0  # the resting buy's block


def test_the_command_line_modifies_and_cancels(algo, capsys):
    order_id = str(resting_buy(algo)["order_id"])
    code, answer, _ = cli(capsys, "modify", order_id, "--quantity", "6", "--price", "1402.35")
    assert (code, answer["requested_change"]["quantity"], answer["requested_change"]["price"]) == (
        0,
        6,
        "1402.35",
    )
    code, answer, err = cli(capsys, "modify", order_id, "--trigger-price", "1401.00")
    assert (code, answer) == (1, None)  # a limit order has no trigger: the API says so
    assert list(json.loads(err)["errors"]) == ["trigger_price"]
    code, stop, _ = cli(capsys, "place", "TS0001", "INFY", "BUY", "2", "--type", "SL",
                        "--price", "1600", "--trigger-price", "1590")  # fmt: skip
    assert (code, stop["trigger_price"]) == (0, "1590.00")
    assert stop["status"] in {"ACCEPTED", "OPEN"}  # resting until 1590 trades
    code, answer, _ = cli(capsys, "modify", str(stop["order_id"]), "--trigger-price", "1595.50")
    changed = Order.objects.get(pk=stop["order_id"])
    assert (code, str(changed.trigger_price), str(changed.price)) == (0, "1595.50", "1600.00")
    code, answer, _ = cli(capsys, "cancel", order_id)
    assert (code, answer["status"]) == (0, "CANCEL_PENDING")
    assert Order.objects.get(pk=order_id).status == "CANCELLED"
    code, answer, err = cli(capsys, "cancel", order_id)
    assert (code, answer) == (1, None)  # nothing on stdout, the problem on stderr
    assert json.loads(err)["type"] == "/api/problems/order-not-working"


def test_the_command_line_shows_trades_positions_holdings_and_funds(algo, capsys):
    order_id = algo.place_order("TS0001", "INFY", "BUY", 4)["order_id"]
    code, answer, _ = cli(capsys, "trades", "--order", str(order_id))
    assert (code, [t["quantity"] for t in answer["results"]]) == (0, [4])
    code, answer, _ = cli(capsys, "trades", "--date", "2001-01-01")
    assert (code, answer["results"]) == (0, [])
    code, answer, _ = cli(capsys, "positions", "--account", "TS0001")
    assert (code, [(p["instrument"], p["quantity"]) for p in answer]) == (0, [("NSE:INFY", 4)])
    holdings_settle()
    code, answer, _ = cli(capsys, "holdings")
    assert (code, [(h["instrument"], h["quantity"]) for h in answer]) == (0, [("NSE:INFY", 4)])
    code, answer, _ = cli(capsys, "funds", "TS0001")
    assert (code, answer["code"]) == (0, "TS0001")
    assert Decimal(answer["funds"]["cash"]) < Decimal("1000000.00") - Decimal("6000.20")
    code, answer, err = cli(capsys, "funds", "TS0009")
    assert (code, answer, json.loads(err)["status"]) == (1, None, 404)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["modify", "5"], "modify needs at least one of --quantity, --price or --trigger-price"),
        (["modify", "5", "--price", "1400.005"], "at most two decimals"),
        (["modify", "5", "--price", "abc"], "must be a price in rupees"),
        (["modify", "5", "--quantity", "0"], "whole number of at least 1, not '0'"),
        (["modify", "five", "--quantity", "1"], "whole number of at least 1, not 'five'"),
        (["cancel", "-3"], "whole number of at least 1"),
        (["trades", "--date", "05-01-2026"], "must be a date as YYYY-MM-DD"),
        (["trades", "--order", "x"], "whole number of at least 1"),
        (["positions", "TS0001"], "unrecognized arguments: TS0001"),
        (["place", "TS0001", "INFY", "BUY", "1", "--price", "-1"], "must be a price in rupees"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(monkeypatch, capsys, argv, message):
    sent = []
    monkeypatch.setattr(TradingSite, "request", lambda self, *args, **kwargs: sent.append(args))
    for name in ENV:
        monkeypatch.setenv(name, "http://127.0.0.1:9" if name == "TRADINGSITE_URL" else "x")
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err
    assert sent == []


def test_good_arguments_reach_the_right_endpoint(monkeypatch, capsys):
    sent = []
    monkeypatch.setattr(
        TradingSite, "request", lambda self, *args, **kwargs: sent.append((*args, kwargs)) or {}
    )
    for name in ENV:
        monkeypatch.setenv(name, "http://127.0.0.1:9" if name == "TRADINGSITE_URL" else "x")
    for argv in (
        ["modify", "12", "--price", "1400.050", "--quantity", "3"],
        ["trades", "--account", "TS0001", "--order", "12"],
        ["holdings", "--account", "TS0001"],
    ):
        assert main(argv) == 0
    assert sent == [
        ("PATCH", "/api/v1/orders/12", {"json": {"quantity": 3, "price": "1400.05"}}),
        ("GET", "/api/v1/trades", {"params": {"account": "TS0001", "order": "12"}}),
        ("GET", "/api/v1/holdings", {"params": {"account": "TS0001"}}),
    ]
