"""Progress of long jobs: a bar on the command line and a JobRun row for the admin.

    with job_progress("marketdata.import_bars", "bhavcopy 2024-07-08", total=n) as job:
        for chunk in chunks:
            write(chunk)
            job.advance(len(chunk))
        job.finish(result={"bars": n})

The row is updated at most once a second, outside the job's own transactions.
"""

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from django.utils import timezone
from tqdm import tqdm

from ops.models import JobRun

SAVE_EVERY_SECONDS = 1.0


class JobProgress:
    def __init__(self, run: JobRun, bar: tqdm) -> None:
        self.run = run
        self.bar = bar
        self._saved_at = 0.0

    def set_total(self, total: int) -> None:
        self.run.total = total
        self.bar.reset(total=total)
        self.bar.update(self.run.done)
        self._save(force=True)

    def advance(self, n: int = 1, *, message: str = "") -> None:
        self.run.done += n
        if message:
            self.run.message = message
            self.bar.set_postfix_str(message, refresh=False)
        self.bar.update(n)
        self._save()

    def finish(self, *, result: dict | None = None, message: str = "") -> None:
        self.run.result = result or {}
        self.run.message = message or self.run.message
        self.run.status = JobRun.Status.SUCCEEDED

    def _save(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._saved_at >= SAVE_EVERY_SECONDS:
            self.run.save(update_fields=["total", "done", "message", "updated_at"])
            self._saved_at = now


@contextmanager
def job_progress(
    kind: str,
    description: str,
    *,
    total: int | None = None,
    unit: str = "rows",
    stream: TextIO | None = None,
    show_bar: bool | None = None,
) -> Iterator[JobProgress]:
    """Record a JobRun and draw a progress bar; a job that raises is marked failed."""
    run = JobRun.objects.create(kind=kind, description=description[:255], total=total, unit=unit)
    out = stream or sys.stderr
    bar = tqdm(
        total=total, unit=f" {unit}", desc=description[:40], file=out, dynamic_ncols=True,
        disable=not (out.isatty() if show_bar is None else show_bar), unit_scale=True,
    )  # fmt: skip
    progress = JobProgress(run, bar)
    try:
        yield progress
    except BaseException as exc:
        run.status = JobRun.Status.FAILED
        run.message = f"{type(exc).__name__}: {exc}"[:2000]
        raise
    finally:
        bar.close()
        if run.status == JobRun.Status.RUNNING:
            run.status = JobRun.Status.SUCCEEDED
        run.finished_at = timezone.now()
        run.save()
