"""Test helper: make PostgreSQL check one test role's password (or not) over TCP.

This machine's pg_hba.conf trusts every connection from 127.0.0.1, so a login with a
wrong password succeeds and proves nothing. For a dedicated test role only, a line for
that role goes in front of the trust lines and the server reloads; the line comes out
again afterwards (a run killed half-way leaves a line for a role that no longer exists,
which matches nobody). Nobody else's authentication changes. Where the server already
behaves as wanted (e.g. a CI image that asks for passwords), the file is not touched.
"""

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import require
from ops.rotation.postgres import login_error

MARK = "# tradingsite rotation test"
LOCK = Path("/tmp/tradingsite-pg-hba.lock")  # noqa: S108 - a lock shared by parallel test runs
WRONG = "certainly-not-the-password"


def _checks_password(params: dict, role: str) -> bool:
    return login_error(params, role, WRONG) is not None


def _rewrite(hba: Path, keep, add: list[str]) -> None:
    """Replace the file atomically, keeping its owner and mode (the server must read it)."""
    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lines = [line for line in hba.read_text().splitlines() if keep(line)]
        info = hba.stat()
        draft = hba.with_name(f".{hba.name}.{os.getpid()}")
        draft.write_text("\n".join([*add, *lines]) + "\n")
        os.chown(draft, info.st_uid, info.st_gid)
        os.chmod(draft, info.st_mode & 0o7777)
        os.replace(draft, hba)


def _reload_until(admin, params: dict, role: str, checks: bool) -> None:
    with admin.cursor() as cursor:
        cursor.execute("SELECT pg_reload_conf()")
    deadline = time.monotonic() + 15
    while _checks_password(params, role) != checks:
        if time.monotonic() > deadline:
            pytest.fail(f"PostgreSQL did not apply the pg_hba.conf line for {role}")
        time.sleep(0.1)


@contextmanager
def authentication(
    admin, params: dict, role: str, method: str, *, required: bool
) -> Iterator[None]:
    """While inside, logins as ``role`` over TCP use ``method`` ("scram-sha-256" or "trust").

    ``required``: when the file cannot be edited, fail under TRADINGSITE_REQUIRE_SERVICES
    (via ``require``) rather than skip.
    """
    wanted = method != "trust"
    if _checks_password(params, role) == wanted:
        yield
        return
    with admin.cursor() as cursor:
        cursor.execute("SHOW hba_file")
        hba = Path(cursor.fetchone()[0])
    writable = hba.is_file() and os.access(hba, os.W_OK)
    what = f"a writable {hba} on this machine, to set {method} for a test role"
    if required:
        require(writable, what)
    elif not writable:
        pytest.skip(f"needs {what}")

    def ours(line: str) -> bool:
        return MARK in line and f" {role} " in line

    lines = [f"host all {role} {net} {method} {MARK}" for net in ("127.0.0.1/32", "::1/128")]
    _rewrite(hba, keep=lambda line: not ours(line), add=lines)
    try:
        _reload_until(admin, params, role, wanted)
        yield
    finally:
        _rewrite(hba, keep=lambda line: not ours(line), add=[])
        with admin.cursor() as cursor:
            cursor.execute("SELECT pg_reload_conf()")
