"""PostgreSQL role password: ``ALTER ROLE ... PASSWORD`` on the real server.

The password goes to the server as a SCRAM verifier computed here (as psql's
``\\password`` does), so the plain text never reaches the server's statement log.
Verification logs in as the role with the new password. Where the server lets the role in
without checking passwords (``trust`` in pg_hba.conf), a login proves nothing, so the
stored verifier is compared with the new password instead; if it cannot be read, the
rotation is undone rather than left unverified.
"""

import base64
import hashlib
import hmac
from collections.abc import Mapping

import environ
import psycopg2
from django.conf import settings
from django.db import connections
from psycopg2 import sql
from psycopg2.extensions import encrypt_password

from ops.rotation.base import CredentialStep, RotationFailed, StepSkipped, VerificationFailed
from ops.secret_store import password_for

CONNECT_TIMEOUT = 5
UNREADABLE = object()  # pg_authid is not readable with the privileged connection


def admin_params() -> dict | None:
    """How to reach the server with a role that may run ALTER ROLE (None: no PostgreSQL).

    Raises ValueError when POSTGRES_ROTATION_ADMIN_URL is set but is no PostgreSQL URL.
    """
    if url := settings.POSTGRES_ROTATION_ADMIN_URL:
        try:
            config = environ.Env.db_url_config(url)
        except ValueError:
            config = {}
        if "postgresql" not in (config.get("ENGINE") or ""):
            raise ValueError("POSTGRES_ROTATION_ADMIN_URL is not a valid postgres:// URL")
    else:
        config = connections["default"].settings_dict
        if "postgresql" not in config["ENGINE"]:
            return None
    params = {
        "dbname": config.get("NAME") or "postgres",
        "user": config.get("USER"),
        "password": config.get("PASSWORD"),
        "host": config.get("HOST"),
        "port": config.get("PORT"),
        "connect_timeout": CONNECT_TIMEOUT,
    }
    if sslmode := (config.get("OPTIONS") or {}).get("sslmode"):
        params["sslmode"] = sslmode
    return {key: value for key, value in params.items() if value not in (None, "")}


def login_error(params: Mapping, role: str, password: str) -> str | None:
    """Log in as ``role`` with ``password``; None if that worked, else why not."""
    try:
        conn = psycopg2.connect(**{**params, "user": role, "password": password})
    except psycopg2.Error as exc:
        return str(exc).strip() or type(exc).__name__
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT current_user")
            who = cursor.fetchone()[0]
    finally:
        conn.close()
    return None if who == role else f"logged in as {who}, not {role}"


def verifier_matches(stored: str, password: str, role: str) -> bool:
    """Whether a rolpassword (SCRAM-SHA-256 or md5) is the verifier of ``password``."""
    if stored.startswith("SCRAM-SHA-256$"):
        iterations_salt, _, keys = stored[len("SCRAM-SHA-256$") :].partition("$")
        iterations, _, salt = iterations_salt.partition(":")
        stored_key = keys.partition(":")[0]
        salted = hashlib.pbkdf2_hmac(
            "sha256", password.encode(), base64.b64decode(salt), int(iterations)
        )
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        return hmac.compare_digest(
            base64.b64encode(hashlib.sha256(client_key).digest()).decode(), stored_key
        )
    if stored.startswith("md5"):
        digest = hashlib.md5((password + role).encode(), usedforsecurity=False).hexdigest()
        return hmac.compare_digest("md5" + digest, stored)
    return False


class PostgresPassword(CredentialStep):
    name = "postgres"
    store_keys = ("DATABASE_USER", "DATABASE_PASSWORD", "DATABASE_PASSWORD_VERSION")

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.params: dict | None = None
        app_db = connections["default"].settings_dict
        self.role = (
            ctx.postgres_role
            or settings.POSTGRES_ROTATION_ROLE
            or (app_db.get("USER", "") if "postgresql" in app_db["ENGINE"] else "")
        )
        self.old_verifier = UNREADABLE
        self.old_password: str | None = None

    @property
    def subject(self) -> str:
        return f"postgres/{self.role}" if self.role else "postgres"

    def _admin(self):
        conn = psycopg2.connect(**self.params)
        conn.autocommit = True
        return conn

    def check(self) -> None:
        try:
            self.params = admin_params()
        except ValueError as exc:
            raise RotationFailed(str(exc), stage="check") from None
        if not self.params:
            raise StepSkipped(
                "not configured: no PostgreSQL (DATABASE_URL or POSTGRES_ROTATION_ADMIN_URL)"
            )
        if not self.role:
            raise StepSkipped("not configured: no role to rotate (set POSTGRES_ROTATION_ROLE)")
        self.secret(self.params.get("password"))
        try:
            conn = self._admin()
        except psycopg2.Error as exc:
            raise RotationFailed(
                self.redacted(f"cannot reach PostgreSQL: {exc}".strip()), stage="check"
            ) from None
        try:
            with conn.cursor() as cursor:
                cursor.execute(
                    "SELECT rolsuper, rolcanlogin FROM pg_roles WHERE rolname = %s", [self.role]
                )
                row = cursor.fetchone()
                if row is None:
                    raise RotationFailed(f"no role {self.role!r} on the server", stage="check")
                if row[0]:
                    raise StepSkipped(
                        f"role {self.role!r} is a superuser: its password is changed by hand, "
                        "not by the application"
                    )
                if not row[1]:
                    raise RotationFailed(f"role {self.role!r} cannot log in", stage="check")
                try:
                    cursor.execute(
                        "SELECT rolpassword FROM pg_authid WHERE rolname = %s", [self.role]
                    )
                    self.old_verifier = self.secret(cursor.fetchone()[0])
                except psycopg2.errors.InsufficientPrivilege:
                    self.old_verifier = UNREADABLE
        finally:
            conn.close()
        # A role that just logged in as itself proved its password; else the backend's.
        self.old_password = self.secret(
            (self.params.get("password") if self.params.get("user") == self.role else None)
            or password_for(self.role, self.ctx.store.read_all(), "DATABASE")
        )
        if self.old_verifier is UNREADABLE and not self.old_password:
            raise RotationFailed(
                f"the current password of role {self.role!r} is unknown (not in the secrets "
                "backend or the connection URL, and pg_authid is not readable), so a failed "
                "rotation could not be undone",
                stage="check",
            )

    def plan(self) -> str:
        where = f"{self.params.get('host', 'local socket')}:{self.params.get('port', 5432)}"
        return (
            f"would set a new password for PostgreSQL role {self.role!r} on {where} "
            f"(ALTER ROLE), write DATABASE_PASSWORD to {self.ctx.store.location}, and log in "
            "as the role with it"
        )

    def _set_password(self, verifier: str | None) -> None:
        conn = self._admin()
        try:
            with conn.cursor() as cursor:
                cursor.execute(
                    sql.SQL("ALTER ROLE {} PASSWORD %s").format(sql.Identifier(self.role)),
                    [verifier],
                )
        finally:
            conn.close()

    def apply(self, new: str) -> None:
        conn = self._admin()
        try:
            verifier = encrypt_password(new, self.role, conn)
        finally:
            conn.close()
        self._set_password(self.secret(verifier))
        self._admin_password(new)

    def _admin_password(self, password: str | None) -> None:
        """A role rotating its own password reconnects with the one now in force."""
        if self.params.get("user") == self.role and password:
            self.params = {**self.params, "password": password}

    def backend_values(self, new: str) -> Mapping[str, str]:
        return self.password_entries("DATABASE", self.role, new)

    def verify(self, new: str) -> str:
        if error := login_error(self.params, self.role, new):
            raise VerificationFailed(f"logging in as {self.role!r} with the new password: {error}")
        if login_error(self.params, self.role, self.secret(self.generate())) is not None:
            return "logging in with the new password (a wrong one is refused)"
        # The server let a wrong password in: trust authentication on this path.
        if self.old_verifier is UNREADABLE:
            raise VerificationFailed(
                "the server accepts any password for this role on this path (trust "
                "authentication) and pg_authid is not readable, so the new password "
                "cannot be checked"
            )
        conn = self._admin()
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", [self.role])
                stored = self.secret(cursor.fetchone()[0]) or ""
        finally:
            conn.close()
        if not verifier_matches(stored, new, self.role):
            raise VerificationFailed("the stored password verifier does not match the new password")
        self.notes.append("the server does not check passwords on this path (trust)")
        return "the stored SCRAM verifier (the server trusts this path, so a login proves nothing)"

    def undo(self, new: str) -> None:
        if self.old_verifier is not UNREADABLE:
            self._set_password(self.old_verifier)  # the exact verifier, or NULL
        else:
            conn = self._admin()
            try:
                verifier = self.secret(encrypt_password(self.old_password, self.role, conn))
            finally:
                conn.close()
            self._set_password(verifier)
        self._admin_password(self.old_password)
