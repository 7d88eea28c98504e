"""P6: exports. The trade register of 1 million trades as CSV and as XLSX: peak memory
(RSS) of the exporting process and rows per second, beside the same export of 100
thousand trades.

    .venv/bin/python -m bench.report_export [--quick] [--small N] [--large N] [--json PATH]

On a scratch database (``ts_bench_p6``), ``--small`` filled orders (one fill each, real
charge breakdowns: ``bench.seed.seed_trades``) over 250 past sessions are COPYed in, and
each export runs in a process of its own (``bench.export_child``) over the whole range;
the history then grows to ``--large`` and the same exports run again. Baselines in the
same run: ``idle`` (the process with Django set up, nothing read: its own footprint) and
``stream`` (the register's rows read and thrown away: the floor for any writer's rows/s).
Constant memory means the peak over ``idle`` does not grow with the rows.
"""

import argparse
import datetime as dt
import time
from pathlib import Path

from bench import harness

DATABASE = "ts_bench_p6"
MODES = ("idle", "stream", "csv", "xlsx")
DAYS = 250


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k trades")
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.quick:
        args.small, args.large = 10_000, 100_000

    env = harness.fresh_database(DATABASE)
    print("seeding 8 accounts ...", flush=True)
    accounts = harness.django_json(
        "import json; from bench.seed import seed_base, seed_accounts; seed_base(); "
        "print('BENCH_JSON ' + json.dumps([a['account'] for a in seed_accounts(8)]))",
        env,
    )
    today = dt.date.today()
    span = ((today - dt.timedelta(days=DAYS + 2)).isoformat(), today.isoformat())

    def grow_to(total: int, have: int) -> float:
        started = time.monotonic()
        harness.django_json(
            "from bench.seed import seed_trades, analyze; "
            f"seed_trades({total - have}, accounts={accounts!r}, first={have}, days={DAYS}); "
            "analyze('orders_order', 'orders_fill'); print('BENCH_JSON 0')",
            env,
        )
        return time.monotonic() - started

    def export(mode: str) -> dict:
        row = harness.django_json(
            f"from bench.export_child import run; run({mode!r}, {span[0]!r}, {span[1]!r})", env
        )
        row["rows_per_second"] = round(row["rows"] / row["seconds"]) if row["rows"] else None
        print(f"  {mode}: {row['rows']:,} rows in {row['seconds']} s, "
              f"peak {row['peak_rss_mib']} MiB", flush=True)  # fmt: skip
        return row

    results: dict = {"config": {"small": args.small, "large": args.large, "days": DAYS}}
    have = 0
    for label, total in (("small", args.small), ("large", args.large)):
        print(f"trade history: {total:,} trades (COPY) ...", flush=True)
        results[f"seed_{label}_seconds"] = round(grow_to(total, have), 1)
        have = total
        results[label] = {mode: export(mode) for mode in MODES}

    rows = []
    for mode in MODES[1:]:
        small, large = results["small"][mode], results["large"][mode]
        over_small = small["peak_rss_mib"] - results["small"]["idle"]["peak_rss_mib"]
        over_large = large["peak_rss_mib"] - results["large"]["idle"]["peak_rss_mib"]
        rows.append({
            "mode": mode,
            "small_rps": small["rows_per_second"], "large_rps": large["rows_per_second"],
            "rps_vs_stream": round(large["rows_per_second"]
                                   / results["large"]["stream"]["rows_per_second"], 2),
            "small_peak": small["peak_rss_mib"], "large_peak": large["peak_rss_mib"],
            "over_idle_small": round(over_small, 1), "over_idle_large": round(over_large, 1),
            "peak_ratio": round(large["peak_rss_mib"] / small["peak_rss_mib"], 2),
        })  # fmt: skip
    results["summary"] = rows
    print()
    print(harness.table(rows, [
        ("mode", "export", 8), ("small_rps", f"rows/s {args.small:,}", 16),
        ("large_rps", f"rows/s {args.large:,}", 18), ("rps_vs_stream", "vs stream", 10),
        ("small_peak", "peak MiB", 10), ("large_peak", "peak MiB", 10),
        ("over_idle_small", "over idle", 10), ("over_idle_large", "over idle", 10),
        ("peak_ratio", "large/small", 12),
    ]))  # fmt: skip
    harness.write_json(args.json, results)


if __name__ == "__main__":
    main()
