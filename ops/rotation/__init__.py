"""Secrets rotation: the PostgreSQL role password, the Redis ACL password, Django's
SECRET_KEY, the field-encryption key, and expiring API keys.

    results = secrets_rotate(only=["secret_key"], dry_run=True, actor=request.user)

Each step checks what it would change, then (unless a dry run) generates a new value,
applies it on the real server, writes it to the secrets backend (ops.secret_store),
verifies it by connecting with it, and rolls back if that fails. Every step, skipped or
not, is audited and logged without any secret value. One rotation runs at a time.
"""

import fcntl
import logging
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

from compliance.services import audit_record
from ops.rotation.api_keys import ExpiringApiKeys
from ops.rotation.base import RotationContext, RotationFailed, StepResult, StepSkipped
from ops.rotation.field_key import FieldKey
from ops.rotation.postgres import PostgresPassword
from ops.rotation.redis_acl import RedisPassword
from ops.rotation.secret_key import SecretKey
from ops.secret_store import SecretStore, secret_store

logger = logging.getLogger("ops.rotation")

STEPS = {
    "postgres": PostgresPassword,
    "redis": RedisPassword,
    "secret_key": SecretKey,
    "field_key": FieldKey,
    "api_keys": ExpiringApiKeys,
}
ACTIONS = {
    "rotated": "ops.secret_rotated",
    "failed": "ops.secret_rotation_failed",
    "skipped": "ops.secret_rotation_skipped",
}
DRY_RUN_ACTION = "ops.secret_rotation_dry_run"
LOCK_ID = zlib.crc32(b"tradingsite.secrets_rotation")

__all__ = ["STEPS", "RotationBusy", "StepResult", "secrets_rotate", "steps_parse"]


class RotationBusy(RuntimeError):
    """Another rotation holds the lock."""


def steps_parse(only: str | Iterable[str] | None) -> list[str]:
    """The steps to run, in their fixed order; a clear error names any unknown one."""
    if only is None:
        return list(STEPS)
    names = [n.strip() for n in (only.split(",") if isinstance(only, str) else only)]
    names = [n for n in names if n]
    unknown = [n for n in names if n not in STEPS]
    if unknown:
        raise ValueError(f"unknown secret(s): {', '.join(unknown)}; choose from {', '.join(STEPS)}")
    if not names:
        raise ValueError(f"no secret named; choose from {', '.join(STEPS)}")
    return [name for name in STEPS if name in names]


@contextmanager
def rotation_lock() -> Iterator[None]:
    """One rotation at a time: two field-key rotations racing would each add a key."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_ID])
            if not cursor.fetchone()[0]:
                raise RotationBusy("another secrets rotation is running")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_ID])
        return
    with open(Path(settings.DATA_DIR) / ".secrets-rotation.lock", "a") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RotationBusy("another secrets rotation is running") from None
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def secrets_rotate(
    *,
    only: str | Iterable[str] | None = None,
    dry_run: bool = False,
    actor=None,
    postgres_role: str | None = None,
    redis_user: str | None = None,
    drop_old_keys: bool = False,
    batch_size: int = 500,
    store: SecretStore | None = None,
    stream=None,
) -> list[StepResult]:
    """Run the named steps (all by default); one result per step, in order."""
    names = steps_parse(only)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    ctx = RotationContext(
        store=store or secret_store(), dry_run=dry_run, postgres_role=postgres_role,
        redis_user=redis_user, drop_old_keys=drop_old_keys, batch_size=batch_size,
        stream=stream,
    )  # fmt: skip
    if dry_run:
        return [_step_run(STEPS[name](ctx), actor) for name in names]
    with rotation_lock():
        return [_step_run(STEPS[name](ctx), actor) for name in names]


def _step_run(step, actor) -> StepResult:
    dry_run = step.ctx.dry_run
    try:
        step.check()
        if dry_run:
            result = StepResult(step.name, "planned", step.plan(), stage="plan")
        else:
            result = StepResult(step.name, "rotated", step.run(), stage="done")
    except StepSkipped as exc:
        result = StepResult(step.name, "skipped", str(exc), stage="skipped")
    except RotationFailed as exc:
        result = StepResult(
            step.name, "failed", step.redacted(str(exc)), stage=exc.stage,
            rolled_back=exc.rolled_back,
        )  # fmt: skip
    except Exception as exc:
        result = StepResult(
            step.name, "failed", step.redacted(f"{type(exc).__name__}: {exc}"), stage=step.stage
        )
    result.key_version = step.key_version
    result.notes = [step.redacted(note) for note in step.notes]
    _record(step, result, actor, dry_run=dry_run)
    return result


def _record(step, result: StepResult, actor, *, dry_run: bool) -> None:
    """Audit and log the step's outcome (names and versions only, never a value)."""
    audit_record(
        action=DRY_RUN_ACTION if dry_run else ACTIONS[result.status],
        object_type="ops.secret",
        object_id=step.subject[:64],
        actor=actor,
        after={
            "secret": result.secret,
            "step": result.stage,
            "status": result.status,
            "key_version": result.key_version,
            "rolled_back": result.rolled_back,
            "detail": result.detail,
            "notes": result.notes,
        },
    )
    level = logging.WARNING if result.status == "failed" else logging.INFO
    where = [] if result.stage in (result.status, "done") else [f"at {result.stage}"]
    where += [f"version {result.key_version}"] if result.key_version else []
    logger.log(
        level,
        "secrets rotation%s: %s %s%s: %s",
        " (dry run)" if dry_run else "",
        step.subject,
        result.status,
        f" ({', '.join(where)})" if where else "",
        result.detail,
    )
