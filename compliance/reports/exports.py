"""Export jobs: a register or statement written to a file in the background, kept.

- :func:`report_export_request` checks the filters (``report_params_parse``) and the
  format, records a queued :class:`ReportExport` and its audit event in one transaction,
  and enqueues ``compliance.tasks.report_export`` on commit. Refused filters make nothing.
- :func:`report_export_run` (the task) claims the export, writes its rows to a temporary
  file inside ``reports_reading()`` (the reporting replica when one is configured) with a
  JobRun showing progress (rows so far, of a total where the register counts its rows
  up front: ``Register.count``, one COUNT there too), saves the file as
  ``exports/<kind>/<YYYY-MM-DD>/<sha256>.<fmt>`` in the ``compliance`` storage and records
  the outcome. A failed run keeps its message and no file. No lock is held while the rows
  are read or the file is written.
- :func:`report_export_open` hands the file to who may see it, after checking its sha256.

Each move of an export follows :data:`TRANSITIONS` and is audited.
"""

import hashlib
import importlib
import logging
import tempfile
from collections.abc import Mapping
from datetime import date
from typing import IO, Any

from django.core.files import File
from django.core.files.storage import storages
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from compliance.reports.models import ReportExport
from compliance.reports.registers import (
    REGISTERS,
    ReportParams,
    ReportParamsError,
    report_params_parse,
)
from compliance.reports.selectors import report_exports_for
from compliance.services import audit_record
from marketdata.calendar import IST
from ops.progress import job_progress
from tradingsite.db_routers import reports_alias, reports_reading
from tradingsite.errors import DomainError

logger = logging.getLogger(__name__)
Status = ReportExport.Status
CHUNK = 1024 * 1024

#: The moves an export may make; a move not listed is refused (a task run twice skips).
TRANSITIONS: dict[str, set[str]] = {
    Status.QUEUED: {Status.RUNNING, Status.FAILED},
    # Again from running: the task is redelivered after its worker was lost (acks late).
    Status.RUNNING: {Status.RUNNING, Status.SUCCEEDED, Status.FAILED},
}
ACTIONS = {Status.SUCCEEDED: "report.export_completed", Status.FAILED: "report.export_failed"}
#: Errors worth another attempt (a lost database or replica connection, a network timeout).
TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


class ReportExportNotFound(DomainError):
    problem_type = "not-found"


class ReportExportNotReady(DomainError):
    problem_type = "conflict"


class ReportFileAltered(DomainError):
    """The stored file's sha256 is not the one recorded: it is not served."""

    problem_type = "file-altered"


class _Firm:
    """Who a scheduled export runs as: the firm, which sees every account. Only holders of
    ``compliance.schedule_report_exports`` make schedules, and their filters are checked
    as them when the schedule is made."""

    pk = None
    is_authenticated = False

    def has_perm(self, perm: str) -> bool:
        return True


def _summary(export: ReportExport) -> dict[str, Any]:
    return {
        "kind": export.kind,
        "format": export.format,
        "params": export.params,
        "status": export.status,
        "schedule": export.schedule,
        "row_count": export.row_count,
        "sha256": export.sha256,
        "path": export.path,
        "database": export.database,
        "error": export.error[:500],
    }


def report_export_request(
    *,
    user: Any,
    kind: str,
    fmt: str,
    data: Mapping[str, Any],
    schedule: str = "",
    key: Any = None,
    enqueue: bool = True,
) -> ReportExport:
    """Queue an export of ``kind`` as ``fmt`` with ``data``'s filters, for ``user`` (``None``
    for a scheduled run, which names its ``schedule``); through an API ``key``, only
    statements of the key's account (``report_params_parse``).

    Raises :class:`ReportParamsError` (each bad field named, the format too) or, for a kind
    ``user`` may not run, :class:`PermissionError`; either way nothing is recorded.
    """
    if user is None and not schedule:
        raise ValueError("An export without a user is a scheduled one: name the schedule.")
    errors: dict[str, list[str]] = {}
    if fmt not in ReportExport.Format.values:
        errors["format"] = [f"{fmt!r} is not a format: choose one of {ReportExport.Format.values}."]
    try:
        params = report_params_parse(kind, data, user=user or _Firm(), key=key)
    except ReportParamsError as refused:
        raise ReportParamsError(refused.detail, errors={**errors, **refused.errors}) from None
    if errors:
        raise ReportParamsError(f"No format {fmt!r}.", errors=errors)
    with transaction.atomic():
        export = ReportExport.objects.create(
            kind=kind,
            format=fmt,
            params=params.as_json(),
            requested_by=user,
            schedule=schedule[:200],
        )
        audit_record(
            action="report.export_requested", obj=export, actor=user, after=_summary(export)
        )
        if enqueue:  # the demo's seed runs its exports itself (report_export_run)
            transaction.on_commit(lambda: _enqueue(export.pk))
    return export


def _enqueue(export_id: int) -> None:
    from compliance.tasks import report_export

    report_export.delay(export_id)


def _move(export_id: int, to: str, **fields: Any) -> ReportExport | None:
    """Apply one move (locking the export's row only for it) and audit completion or
    failure; ``None`` when the move is not allowed from the export's state."""
    with transaction.atomic():
        export = ReportExport.objects.select_for_update(of=("self",)).get(pk=export_id)
        if to not in TRANSITIONS.get(export.status, set()):
            return None
        before = export.status
        export.status = to
        for name, value in fields.items():
            setattr(export, name, value)
        export.save()
        if to in ACTIONS:
            audit_record(
                action=ACTIONS[to], obj=export, before={"status": before}, after=_summary(export)
            )
    return export


def _params(export: ReportExport) -> ReportParams:
    stored = dict(export.params)
    for name in ("date_from", "date_to"):
        if stored.get(name):
            stored[name] = date.fromisoformat(stored[name])
    return ReportParams(**stored)


def _digest(file: IO[bytes]) -> tuple[str, int]:
    """sha256 and size of ``file``, read back in chunks (XLSX writers seek in their file,
    so the bytes are hashed once they are final)."""
    file.seek(0)
    digest, size = hashlib.sha256(), 0
    while chunk := file.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def report_export_run(export_id: int, *, retry_transient: bool = False) -> ReportExport:
    """Run one queued export to its file (the task). Safe to run twice: a finished export
    is left as it is. With ``retry_transient`` a :data:`TRANSIENT` error is raised with the
    export left running, for the task to try again; otherwise every error fails it."""
    started = timezone.now()
    export = _move(export_id, Status.RUNNING, started_at=started, database=reports_alias())
    if export is None:
        return ReportExport.objects.get(pk=export_id)
    try:
        stored = _write(export)
    except Exception as exc:  # the export records why; nothing is stored
        if retry_transient and isinstance(exc, TRANSIENT):
            raise
        if not isinstance(exc, ReportParamsError):
            logger.exception("Report export %s failed", export.pk)
        message = _failure(exc)
        failed = _move(export.pk, Status.FAILED, error=message[:2000], finished_at=timezone.now())
        return failed or ReportExport.objects.get(pk=export_id)
    done = _move(export.pk, Status.SUCCEEDED, finished_at=timezone.now(), error="", **stored)
    return done or ReportExport.objects.get(pk=export_id)


def _failure(exc: Exception) -> str:
    """What a failed export says: a refusal's detail and fields, else the error itself."""
    if not isinstance(exc, DomainError):
        return f"{type(exc).__name__}: {exc}"
    fields = "; ".join(f"{name}: {' '.join(said)}" for name, said in exc.errors.items())
    return f"{exc.detail} {fields}".strip()


def _write(export: ReportExport) -> dict[str, Any]:
    """Write the export's rows to a temporary file, then to the storage; the fields to set."""
    writers = importlib.import_module("compliance.reports.writers")  # looked up at run time
    register = REGISTERS[export.kind]
    params = _params(export)
    with (
        job_progress(
            "compliance.report_export", f"{register.title} (export {export.pk})", show_bar=False
        ) as job,
        tempfile.NamedTemporaryFile(prefix="report-export-", suffix=f".{export.format}") as tmp,
    ):
        ReportExport.objects.filter(pk=export.pk).update(job_run_id=job.run.pk)

        def progress(rows_so_far: int) -> None:
            job.advance(rows_so_far - job.run.done)

        with reports_reading() as alias:
            if register.count is not None:  # one COUNT, read where the rows are read
                job.set_total(register.count(params))
            rows = writers.report_write(register, params, export.format, tmp, progress=progress)
        if job.run.total is not None and job.run.total != rows:
            job.set_total(rows)  # rows came or went between the count and the read
        tmp.flush()
        sha256, size = _digest(tmp)
        day = timezone.localdate(timezone.now(), IST).isoformat()
        path = f"exports/{export.kind}/{day}/{sha256}.{export.format}"
        storage = storages["compliance"]
        if not storage.exists(path):  # named by its content: the same bytes, the same file
            tmp.seek(0)
            path = storage.save(path, File(tmp, name=path))
        job.finish(result={"rows": rows, "sha256": sha256, "bytes": size})
    return {
        "path": path,
        "sha256": sha256,
        "size": size,
        "row_count": rows,
        "database": alias,
        "job_run_id": job.run.pk,
    }


def report_export_open(*, export: ReportExport, user: Any) -> IO[bytes]:
    """The export's file, open at its start, for ``user``: its requester, or a holder of the
    export permission (anyone else: not found). Its sha256 is checked first; an altered
    file is refused (and the refusal audited), a served one is audited as downloaded."""
    if not report_exports_for(user=user).filter(pk=export.pk).exists():
        raise ReportExportNotFound(f"No report export {export.pk} that you may see.")
    if export.status != Status.SUCCEEDED:
        raise ReportExportNotReady(f"Report export {export.pk} is {export.status}: no file.")
    file = storages["compliance"].open(export.path, "rb")
    sha256, _ = _digest(file)
    if sha256 != export.sha256:
        file.close()
        audit_record(
            action="report.export_refused",
            obj=export,
            actor=user,
            after={"path": export.path, "recorded": export.sha256, "found": sha256},
        )
        raise ReportFileAltered(
            f"The file of report export {export.pk}, {export.path}, does not match its "
            f"recorded sha256 {export.sha256}: it is not served.",
            extra={"path": export.path},
        )
    file.seek(0)
    audit_record(
        action="report.export_downloaded",
        obj=export,
        actor=user,
        after={"path": export.path, "sha256": sha256},
    )
    return file
