"""The command line: ``python -m tradingsite_client place TS0001 INFY BUY 5``.

Credentials come from the environment, never from arguments (which other users can see
in the process list): TRADINGSITE_URL, TRADINGSITE_KEY_ID and TRADINGSITE_SECRET.
Answers are printed as JSON; a refused request exits 1 with its problem on stderr.
"""

import argparse
import datetime
import json
import os
import sys
from decimal import Decimal, InvalidOperation

import requests

from tradingsite_client import ApiError, TradingSite

ENV = ("TRADINGSITE_URL", "TRADINGSITE_KEY_ID", "TRADINGSITE_SECRET")
PAISA = Decimal("0.01")


def whole_number(text: str) -> int:
    """A quantity or an order id: a whole number of at least 1."""
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return number


def rupees(text: str) -> Decimal:
    """A price in rupees with at most two decimals (paise), e.g. 1400.05; given with two."""
    try:
        price = Decimal(text).quantize(PAISA)  # the API refuses a third decimal, even a zero
        exact = price.is_finite() and price == Decimal(text) and price >= 0
    except InvalidOperation:
        exact = False
    if not exact:
        raise argparse.ArgumentTypeError(
            f"must be a price in rupees with at most two decimals, e.g. 1400.05, not {text!r}"
        )
    return price


def trade_date(text: str) -> str:
    try:
        return datetime.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date as YYYY-MM-DD, not {text!r}") from None


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="python -m tradingsite_client", description=__doc__)
    commands = cli.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("me", help="who the key belongs to")
    commands.add_parser("funds", help="an account's funds").add_argument("account")
    commands.add_parser("quote", help="quotes, e.g. NSE:INFY").add_argument("instrument", nargs="+")
    place = commands.add_parser("place", help="place an order")
    place.add_argument("account")
    place.add_argument("tradingsymbol")
    place.add_argument("transaction_type", choices=["BUY", "SELL"])
    place.add_argument("quantity", type=whole_number)
    place.add_argument("--type", dest="order_type", default="MARKET",
                       choices=["MARKET", "LIMIT", "SL", "SL-M"])  # fmt: skip
    place.add_argument("--product", default="CNC", choices=["CNC", "MIS", "NRML"])
    place.add_argument("--price", type=rupees, metavar="RUPEES")
    place.add_argument("--trigger-price", type=rupees, metavar="RUPEES")
    place.add_argument("--validity", default="DAY", choices=["DAY", "IOC"])
    place.add_argument("--client-order-id", default="")
    orders = commands.add_parser("orders", help="your orders")
    orders.add_argument("--status")
    modify = commands.add_parser(
        "modify",
        help="change a working order's quantity, price or trigger price",
        description="Change a working order. Its type, product and validity stay as placed.",
    )
    modify.set_defaults(subparser=modify)
    modify.add_argument("order_id", type=whole_number)
    modify.add_argument("--quantity", type=whole_number, metavar="N")
    modify.add_argument("--price", type=rupees, metavar="RUPEES")
    modify.add_argument("--trigger-price", type=rupees, metavar="RUPEES")
    commands.add_parser("cancel", help="cancel an order").add_argument(
        "order_id", type=whole_number
    )
    trades = commands.add_parser("trades", help="your fills, newest first, with charges")
    trades.add_argument("--account", metavar="CODE")
    trades.add_argument("--date", dest="trade_date", type=trade_date, metavar="YYYY-MM-DD")
    trades.add_argument("--order", dest="order_id", type=whole_number, metavar="ORDER_ID")
    for name, what in (("positions", "positions with P&L"), ("holdings", "delivery holdings")):
        commands.add_parser(name, help=what).add_argument("--account", metavar="CODE")
    return cli


def run(args: argparse.Namespace, api: TradingSite):
    command = args.command
    if command == "me":
        return api.me()
    if command == "funds":
        return api.funds(args.account)
    if command == "quote":
        return api.quotes(*args.instrument)
    if command == "place":
        return api.place_order(
            args.account, args.tradingsymbol, args.transaction_type, args.quantity,
            order_type=args.order_type, product=args.product, price=args.price,
            trigger_price=args.trigger_price, validity=args.validity,
            client_order_id=args.client_order_id,
        )  # fmt: skip
    if command == "orders":
        return api.orders(**({"status": args.status} if args.status else {}))
    if command == "modify":
        return api.modify_order(
            args.order_id,
            quantity=args.quantity,
            price=args.price,
            trigger_price=args.trigger_price,
        )
    if command == "cancel":
        return api.cancel_order(args.order_id)
    if command == "trades":
        filters = {"account": args.account, "trade_date": args.trade_date, "order": args.order_id}
        return api.trades(**{name: str(value) for name, value in filters.items() if value})
    if command == "positions":
        return api.positions(args.account)
    return api.holdings(args.account)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "modify" and (args.quantity, args.price, args.trigger_price) == (None,) * 3:
        args.subparser.error("modify needs at least one of --quantity, --price or --trigger-price")
    missing = [name for name in ENV if not os.environ.get(name)]
    if missing:
        print(f"error: set {', '.join(missing)} in the environment", file=sys.stderr)
        return 2
    api = TradingSite(
        os.environ["TRADINGSITE_URL"],
        key_id=os.environ["TRADINGSITE_KEY_ID"],
        secret=os.environ["TRADINGSITE_SECRET"],
    )
    try:
        result = run(args, api)
    except ApiError as error:
        print(json.dumps(error.problem, indent=2), file=sys.stderr)
        return 1
    except requests.RequestException as error:
        print(f"error: cannot reach {api.base_url}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
