"""One export in a process of its own, for ``bench.report_export``: its peak memory is the
process's own (``ru_maxrss``), not the harness's.

    manage.py shell -c "from bench.export_child import run; run('csv', '2026-01-01', ...)"

``mode`` is a format (``csv``, ``xlsx``), ``stream`` (the register's rows read and thrown
away: the floor for any writer) or ``idle`` (Django set up, nothing read: the process's
own footprint). It prints one ``BENCH_JSON`` line: rows, seconds, peak RSS in MiB, bytes.
"""

import json
import os
import resource
import tempfile
import time
from datetime import date


def run(mode: str, date_from: str, date_to: str, kind: str = "trade_register") -> None:
    from compliance.reports.registers import REGISTERS, ReportParams

    register = REGISTERS[kind]
    params = ReportParams(
        date_from=date.fromisoformat(date_from), date_to=date.fromisoformat(date_to)
    )
    started = time.perf_counter()
    rows = size = 0
    if mode == "stream":
        for _ in register.rows(params):
            rows += 1
    elif mode != "idle":
        from compliance.reports.writers import report_write

        with tempfile.NamedTemporaryFile(suffix=f".{mode}") as out:
            rows = report_write(register, params, mode, out)
            out.flush()
            size = os.fstat(out.fileno()).st_size
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {"mode": mode, "rows": rows, "seconds": round(seconds, 3),
              "peak_rss_mib": round(peak_mib, 1), "bytes": size}  # fmt: skip
    print("BENCH_JSON " + json.dumps(result), flush=True)
