"""The command line: ``python -m tradingsite_client place TS0001 INFY BUY 5``.

Credentials come from the environment, never from arguments (which other users can see
in the process list): TRADINGSITE_URL, TRADINGSITE_KEY_ID and TRADINGSITE_SECRET.
"""

import argparse
import json
import os
import sys

import requests

from tradingsite_client import ApiError, TradingSite

ENV = ("TRADINGSITE_URL", "TRADINGSITE_KEY_ID", "TRADINGSITE_SECRET")


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="python -m tradingsite_client", description=__doc__)
    commands = cli.add_subparsers(dest="command", required=True)
    commands.add_parser("me", help="who the key belongs to")
    commands.add_parser("funds", help="an account's funds").add_argument("account")
    commands.add_parser("quote", help="quotes, e.g. NSE:INFY").add_argument("instrument", nargs="+")
    place = commands.add_parser("place", help="place an order")
    place.add_argument("account")
    place.add_argument("tradingsymbol")
    place.add_argument("transaction_type", choices=["BUY", "SELL"])
    place.add_argument("quantity", type=int)
    place.add_argument("--type", dest="order_type", default="MARKET",
                       choices=["MARKET", "LIMIT", "SL", "SL-M"])  # fmt: skip
    place.add_argument("--product", default="CNC", choices=["CNC", "MIS", "NRML"])
    place.add_argument("--price")
    place.add_argument("--trigger-price")
    place.add_argument("--validity", default="DAY", choices=["DAY", "IOC"])
    place.add_argument("--client-order-id", default="")
    orders = commands.add_parser("orders", help="your orders")
    orders.add_argument("--status")
    commands.add_parser("cancel", help="cancel an order").add_argument("order_id", type=int)
    return cli


def run(args: argparse.Namespace, api: TradingSite):
    if args.command == "me":
        return api.me()
    if args.command == "funds":
        return api.funds(args.account)
    if args.command == "quote":
        return api.quotes(*args.instrument)
    if args.command == "place":
        return api.place_order(
            args.account, args.tradingsymbol, args.transaction_type, args.quantity,
            order_type=args.order_type, product=args.product, price=args.price,
            trigger_price=args.trigger_price, validity=args.validity,
            client_order_id=args.client_order_id,
        )  # fmt: skip
    if args.command == "orders":
        return api.orders(**({"status": args.status} if args.status else {}))
    return api.cancel_order(args.order_id)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
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
