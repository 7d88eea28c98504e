"""The market-abuse patterns, as pure functions over plain rows of one trading day.

Each takes the day's orders or fills (``OrderRow``, ``FillRow``: built by
``compliance.surveillance.selectors``) and its rule's parameters, and returns the
``Finding``s an officer should look at: a subject (what it groups by), a score, a summary
in the desk's words and the evidence (order and fill ids). Nothing here reads the database,
so each pattern is tested on planted rows (docs/compliance-surveillance.md).
"""

from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from compliance.alerts.findings import Finding

__all__ = ["FillRow", "Finding", "OrderRow"]

BUY, SELL = "BUY", "SELL"
HUNDRED = Decimal(100)
FOUR = Decimal("0.0001")


@dataclass(frozen=True)
class OrderRow:
    id: int
    account_id: int
    client_id: int
    instrument_id: int
    symbol: str
    side: str
    quantity: int
    price: Decimal | None  # None for a market order
    status: str
    filled_quantity: int
    placed_at: datetime
    ended_at: datetime | None = None  # when a cancelled order was cancelled
    touch_bid: Decimal | None = None
    touch_ask: Decimal | None = None
    algo_id: str = ""
    account_kind: str = "client"


@dataclass(frozen=True)
class FillRow:
    id: int
    order_id: int
    account_id: int
    client_id: int
    instrument_id: int
    symbol: str
    side: str
    quantity: int
    price: Decimal
    at: datetime


def _pct(part: Decimal, whole: Decimal) -> Decimal:
    return (part * HUNDRED / whole).quantize(FOUR, ROUND_HALF_EVEN) if whole else Decimal(0)


def _apart(a: Decimal, b: Decimal) -> Decimal:
    """How far apart two prices are, in percent of the lower."""
    return _pct(abs(a - b), min(a, b))


def _evidence(orders=(), fills=()) -> list[dict]:
    refs = [{"kind": "order", "id": o} for o in sorted(set(orders))]
    return refs + [{"kind": "fill", "id": f} for f in sorted(set(fills))]


def _party(client_id: int, groups: dict[int, int]) -> str:
    group = groups.get(client_id)
    return f"group:{group}" if group is not None else f"client:{client_id}"


def wash_trades(
    fills: list[FillRow], *, groups: dict[int, int], window_seconds: int,
    price_tolerance_pct: Decimal,
) -> list[Finding]:  # fmt: skip
    """One party (a client, or a linked group: ``groups`` maps client to group) buying and
    selling the same instrument within ``window_seconds`` at prices within
    ``price_tolerance_pct`` of each other: no change of beneficial ownership."""
    window = timedelta(seconds=window_seconds)
    by_party: dict[tuple[str, int], list[FillRow]] = defaultdict(list)
    for fill in fills:
        by_party[_party(fill.client_id, groups), fill.instrument_id].append(fill)
    found = []
    for (party, instrument_id), rows in sorted(by_party.items()):
        buys = [f for f in rows if f.side == BUY]
        sells = sorted((f for f in rows if f.side == SELL), key=lambda f: (f.at, f.id))
        times = [f.at for f in sells]
        pairs = [
            (b, s)
            for b in buys
            for s in sells[bisect_left(times, b.at - window) : bisect_right(times, b.at + window)]
            if _apart(b.price, s.price) <= price_tolerance_pct
        ]
        if not pairs:
            continue
        matched = {f.id: f for pair in pairs for f in pair}.values()
        quantity = min(
            sum(f.quantity for f in matched if f.side == BUY),
            sum(f.quantity for f in matched if f.side == SELL),
        )
        clients = sorted({f.client_id for f in matched})
        who = (
            "linked clients " + ", ".join(map(str, clients))
            if len(clients) > 1
            else f"client {clients[0]}"
        )
        found.append(
            Finding(
                subject_key=f"{party}|instrument:{instrument_id}",
                summary=f"{rows[0].symbol}: {who} bought and sold {quantity} within "
                f"{window_seconds}s at matching prices ({len(pairs)} matched "
                f"pair{'s' if len(pairs) != 1 else ''})",
                score=Decimal(quantity),
                evidence=_evidence(fills=[f.id for f in matched]),
                detail={
                    "pairs": [[b.id, s.id] for b, s in pairs],
                    "clients": clients,
                    "matched_quantity": quantity,
                },
                high=len(clients) > 1,
                client_id=clients[0],
                instrument_id=instrument_id,
            )
        )
    return found


def _distance_from_touch(order: OrderRow) -> Decimal | None:
    """How far a resting limit order sat behind its side's touch, in percent; None for an
    order with no price or touch, or one that could trade at once (no distance)."""
    if order.price is None:
        return None
    if order.side == BUY and order.touch_bid:
        return _pct(order.touch_bid - order.price, order.touch_bid)
    if order.side == SELL and order.touch_ask:
        return _pct(order.price - order.touch_ask, order.touch_ask)
    return None


def spoofing(
    orders: list[OrderRow], fills: list[FillRow], *, min_quantity: int,
    min_distance_pct: Decimal, cancel_within_seconds: int, other_side_window_seconds: int,
) -> list[Finding]:  # fmt: skip
    """Large orders (at least ``min_quantity`` unfilled) resting at least ``min_distance_pct``
    behind the touch and cancelled within ``cancel_within_seconds``, while the same client
    traded the other side of the instrument (from the order's placing to
    ``other_side_window_seconds`` after its cancel)."""
    cancel_within = timedelta(seconds=cancel_within_seconds)
    after = timedelta(seconds=other_side_window_seconds)
    spoofs: dict[tuple[int, int], list[tuple[OrderRow, list[FillRow], Decimal]]] = defaultdict(list)
    sides: dict[tuple[int, int, str], list[FillRow]] = defaultdict(list)
    for fill in sorted(fills, key=lambda f: (f.at, f.id)):
        sides[fill.client_id, fill.instrument_id, fill.side].append(fill)
    for order in orders:
        if order.ended_at is None or order.ended_at - order.placed_at > cancel_within:
            continue
        if order.quantity - order.filled_quantity < min_quantity:
            continue
        distance = _distance_from_touch(order)
        if distance is None or distance < min_distance_pct:
            continue
        opposite = sides[order.client_id, order.instrument_id, SELL if order.side == BUY else BUY]
        times = [f.at for f in opposite]
        other = opposite[
            bisect_left(times, order.placed_at) : bisect_right(times, order.ended_at + after)
        ]
        if other:
            spoofs[order.client_id, order.instrument_id].append((order, other, distance))
    found = []
    for (client_id, instrument_id), hits in sorted(spoofs.items()):
        spoofed = sum(o.quantity - o.filled_quantity for o, _, _ in hits)
        traded = {f.id: f for _, other, _ in hits for f in other}
        first = hits[0][0]
        found.append(
            Finding(
                subject_key=f"client:{client_id}|instrument:{instrument_id}",
                summary=f"{first.symbol}: client {client_id} placed and cancelled {spoofed} "
                f"on the {first.side.lower()} side within {cancel_within_seconds}s, away "
                f"from the touch, while trading {sum(f.quantity for f in traded.values())} "
                "on the other side",
                score=Decimal(spoofed),
                evidence=_evidence(orders=[o.id for o, _, _ in hits], fills=list(traded)),
                detail={
                    "orders": [
                        {
                            "id": o.id,
                            "quantity": o.quantity,
                            "distance_pct": str(d),
                            "lived_seconds": (o.ended_at - o.placed_at).total_seconds(),
                        }
                        for o, _, d in hits
                    ],
                    "other_side_fills": sorted(traded),
                },
                high=len(hits) > 1,  # layering: several levels
                client_id=client_id,
                instrument_id=instrument_id,
            )
        )
    return found


def _counted(order: OrderRow, exclude_within_pct: Decimal) -> int:
    """What an order adds to the exchange's order count: its entry, and its cancel; an order
    priced within ``exclude_within_pct`` of the market (or a market order) adds nothing, nor
    does one we rejected (it never reached the exchange)."""
    if order.price is None or order.status == "REJECTED":
        return 0
    touch = [p for p in (order.touch_bid, order.touch_ask) if p]
    if touch:
        mid = sum(touch) / len(touch)
        if _apart(order.price, mid) <= exclude_within_pct:
            return 0
    return 2 if order.ended_at is not None else 1


def order_to_trade(
    orders: list[OrderRow], fills: list[FillRow], *, slabs: list[dict],
    exclude_within_pct: Decimal, min_orders: int,
) -> list[Finding]:  # fmt: skip
    """The day's order-to-trade ratio per client and per algo ID, against the exchange's
    slabs (``slabs``: [{"from": ratio, "penalty_rupees": n}], rising). Orders count their
    entry and cancellation; trades are executions, and no trade counts as one."""
    executions: dict[int, int] = defaultdict(int)
    for fill in fills:
        executions[fill.order_id] += 1
    groups: dict[str, list[OrderRow]] = defaultdict(list)
    for order in orders:
        groups[f"client:{order.client_id}"].append(order)
        if order.algo_id:
            groups[f"algo:{order.algo_id}"].append(order)
    ordered = sorted(slabs, key=lambda s: Decimal(str(s["from"])))
    found = []
    for subject, rows in sorted(groups.items()):
        counted = sum(_counted(o, exclude_within_pct) for o in rows)
        trades = sum(executions[o.id] for o in rows)
        if counted < min_orders:
            continue
        ratio = (Decimal(counted) / max(trades, 1)).quantize(FOUR, ROUND_HALF_EVEN)
        slab = None
        for number, candidate in enumerate(ordered):
            if ratio >= Decimal(str(candidate["from"])):
                slab = number
        if slab is None:
            continue
        who = f"algo ID {rows[0].algo_id}" if subject.startswith("algo:") else (
            f"client {rows[0].client_id}"
        )  # fmt: skip
        penalty = ordered[slab]["penalty_rupees"]
        found.append(
            Finding(
                subject_key=subject,
                summary=f"{who}: order-to-trade ratio {ratio} ({counted} orders counted, "
                f"{trades} trades) is in the exchange's slab from {ordered[slab]['from']} "
                f"(penalty Rs {penalty} a day)",
                score=ratio,
                evidence=_evidence(orders=[o.id for o in rows]),
                detail={
                    "orders_counted": counted,
                    "trades": trades,
                    "ratio": str(ratio),
                    "slab": ordered[slab],
                },
                high=slab == len(ordered) - 1,
                client_id=None if subject.startswith("algo:") else rows[0].client_id,
                algo_id=rows[0].algo_id if subject.startswith("algo:") else "",
            )
        )
    return found


def marking_close(
    fills: list[FillRow], *, close_at: datetime, reference: dict[int, Decimal],
    closing: dict[int, Decimal], last_minutes: int, move_pct: Decimal, min_share_pct: Decimal,
) -> list[Finding]:  # fmt: skip
    """Clients whose buying (or selling) in the last ``last_minutes`` before ``close_at`` was
    at least ``min_share_pct`` of that window's volume, in an instrument whose closing price
    (``closing``) ended at least ``move_pct`` above (below) its price when the window opened
    (``reference``), per instrument id."""
    start = close_at - timedelta(minutes=last_minutes)
    late = [f for f in fills if start <= f.at <= close_at]
    found = []
    for instrument_id in sorted({f.instrument_id for f in late}):
        ref, close = reference.get(instrument_id), closing.get(instrument_id)
        if not ref or not close:
            continue
        move = _pct(close - ref, ref)
        if abs(move) < move_pct:
            continue
        side = BUY if move > 0 else SELL
        rows = [f for f in late if f.instrument_id == instrument_id]
        volume = Decimal(sum(f.quantity for f in rows))
        by_client: dict[int, list[FillRow]] = defaultdict(list)
        for fill in rows:
            if fill.side == side:
                by_client[fill.client_id].append(fill)
        for client_id, own in sorted(by_client.items()):
            share = _pct(Decimal(sum(f.quantity for f in own)), volume)
            if share < min_share_pct:
                continue
            found.append(
                Finding(
                    subject_key=f"client:{client_id}|instrument:{instrument_id}",
                    summary=f"{own[0].symbol}: client {client_id} made {share}% of the "
                    f"{'buying' if side == BUY else 'selling'} volume in the last "
                    f"{last_minutes} min, and the close moved {move}% (from {ref} to {close})",
                    score=abs(move),
                    evidence=_evidence(fills=[f.id for f in own]),
                    detail={
                        "reference": str(ref),
                        "close": str(close),
                        "move_pct": str(move),
                        "share_pct": str(share),
                    },
                    high=abs(move) >= 2 * move_pct,
                    client_id=client_id,
                    instrument_id=instrument_id,
                )
            )
    return found


STAFF_KINDS = ("staff", "proprietary")


def front_running(
    orders: list[OrderRow], *, window_seconds: int, min_client_quantity: int
) -> list[Finding]:
    """A staff or proprietary account's order that traded in the same instrument and on the
    same side within ``window_seconds`` before a client order of at least
    ``min_client_quantity``."""
    window = timedelta(seconds=window_seconds)
    large = [o for o in orders if o.account_kind == "client" and o.quantity >= min_client_quantity]
    own_side = [o for o in orders if o.account_kind in STAFF_KINDS and o.filled_quantity > 0]
    ahead: dict[tuple[int, int], dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    rows = {o.id: o for o in orders}
    for big in large:
        for own in own_side:
            if (
                own.instrument_id == big.instrument_id
                and own.side == big.side
                and big.placed_at - window <= own.placed_at < big.placed_at
            ):
                ahead[own.account_id, own.instrument_id][big.id].add(own.id)
    found = []
    for (account_id, instrument_id), hits in sorted(ahead.items()):
        own_ids = sorted({i for ids in hits.values() for i in ids})
        quantity = sum(rows[i].filled_quantity for i in own_ids)
        first = rows[own_ids[0]]
        found.append(
            Finding(
                subject_key=f"account:{account_id}|instrument:{instrument_id}",
                summary=f"{first.symbol}: {first.account_kind} account {account_id} "
                f"{'bought' if first.side == BUY else 'sold'} {quantity} within "
                f"{window_seconds}s before {len(hits)} large client order"
                f"{'s' if len(hits) != 1 else ''} on the same side",
                score=Decimal(quantity),
                evidence=_evidence(orders=[*own_ids, *hits]),
                detail={"ahead_of": {str(k): sorted(v) for k, v in sorted(hits.items())}},
                high=True,
                client_id=first.client_id,
                account_id=account_id,
                instrument_id=instrument_id,
            )
        )
    return found


def _cycle(edges: dict[int, set[int]], min_parties: int) -> list[int] | None:
    """The shortest directed cycle through at least ``min_parties`` distinct nodes."""
    best = None
    for start in sorted(edges):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in sorted(edges.get(node, ())):
                if nxt == start and len(path) >= min_parties:
                    if best is None or len(path) < len(best):
                        best = path
                elif nxt not in path and len(path) < len(edges):
                    stack.append((nxt, [*path, nxt]))
    return best


def circular_trading(
    fills: list[FillRow], *, groups: dict[int, int], window_seconds: int, leg_seconds: int,
    price_tolerance_pct: Decimal, min_parties: int,
) -> list[Finding]:  # fmt: skip
    """Shares passing round a linked group and back (A sells as B buys, B sells as C buys,
    C sells as A buys): within one group and instrument, a sell of one member and a buy of
    another of the same quantity, within ``leg_seconds`` of each other and at prices within
    ``price_tolerance_pct``, make a leg (one trade between them), and a cycle of legs through
    at least ``min_parties`` members, all within ``window_seconds``, is a finding."""
    window, leg = timedelta(seconds=window_seconds), timedelta(seconds=leg_seconds)
    rows: dict[tuple[int, int], list[FillRow]] = defaultdict(list)
    for fill in fills:
        if fill.client_id in groups:
            rows[groups[fill.client_id], fill.instrument_id].append(fill)
    found = []
    for (group_id, instrument_id), group_fills in sorted(rows.items()):
        edges: dict[int, set[int]] = defaultdict(set)
        by_edge: dict[tuple[int, int], set[int]] = defaultdict(set)
        for sell in (f for f in group_fills if f.side == SELL):
            for buy in (f for f in group_fills if f.side == BUY):
                if (
                    buy.client_id != sell.client_id
                    and buy.quantity == sell.quantity
                    and abs(buy.at - sell.at) <= leg
                    and _apart(buy.price, sell.price) <= price_tolerance_pct
                ):
                    edges[sell.client_id].add(buy.client_id)
                    by_edge[sell.client_id, buy.client_id] |= {sell.id, buy.id}
        cycle = _cycle(edges, min_parties)
        if cycle is None:
            continue
        legs = list(zip(cycle, [*cycle[1:], cycle[0]], strict=True))
        fill_ids = sorted({i for leg in legs for i in by_edge[leg]})
        times = [f.at for f in group_fills if f.id in fill_ids]
        if max(times) - min(times) > window:  # the shares must come back within the window
            continue
        route = " → ".join(f"client {c}" for c in [*cycle, cycle[0]])
        found.append(
            Finding(
                subject_key=f"group:{group_id}|instrument:{instrument_id}",
                summary=f"{group_fills[0].symbol}: shares went round linked group {group_id}: "
                f"{route}, within {window_seconds}s legs at matching prices",
                score=Decimal(len(cycle)),
                evidence=_evidence(fills=fill_ids),
                detail={"cycle": cycle, "group": group_id},
                high=True,
                client_id=cycle[0],
                instrument_id=instrument_id,
            )
        )
    return found


def concentration(
    fills: list[FillRow], *, market_volume: dict[int, int], share_pct: Decimal,
    min_quantity: int,
) -> list[Finding]:  # fmt: skip
    """A client's share of the day's traded volume of an instrument at or above
    ``share_pct``, once they traded at least ``min_quantity``. The volume is the market's
    (``market_volume``, shares traded, each trade once: a client's buys and sells are
    measured against twice it) or, where the market's is unknown or smaller, our own book's
    fills."""
    sides: dict[int, int] = defaultdict(int)
    own: dict[tuple[int, int], list[FillRow]] = defaultdict(list)
    for fill in fills:
        sides[fill.instrument_id] += fill.quantity
        own[fill.client_id, fill.instrument_id].append(fill)
    found = []
    for (client_id, instrument_id), rows in sorted(own.items()):
        quantity = sum(f.quantity for f in rows)
        if quantity < min_quantity:
            continue
        market = 2 * market_volume.get(instrument_id, 0)
        total, source = (market, "market") if market >= sides[instrument_id] else (
            sides[instrument_id], "our book"
        )  # fmt: skip
        share = _pct(Decimal(quantity), Decimal(total))
        if share < share_pct:
            continue
        found.append(
            Finding(
                subject_key=f"client:{client_id}|instrument:{instrument_id}",
                summary=f"{rows[0].symbol}: client {client_id} traded {quantity} shares, "
                f"{share}% of the day's volume ({source})",
                score=share,
                evidence=_evidence(fills=[f.id for f in rows]),
                detail={
                    "quantity": quantity,
                    "volume_sides": total,
                    "source": source,
                    "share_pct": str(share),
                },
                high=share >= 2 * share_pct,
                client_id=client_id,
                instrument_id=instrument_id,
            )
        )
    return found
