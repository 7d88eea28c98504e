"""Redis password of a named ACL user, on the real server.

The new password is added beside the old one (``ACL SETUSER <user> #<sha256>``: only its
hash travels), a fresh connection authenticates as the user with it, and only then are the
old passwords removed. A failed check removes the new one again. The ``default`` user is
never touched. When Redis keeps its users in an ACL file, ``ACL SAVE`` persists the change.
"""

import hashlib
from collections.abc import Mapping

import redis
from django.conf import settings

from ops.rotation.base import CredentialStep, RotationFailed, StepSkipped, VerificationFailed
from ops.secret_store import url_user, url_with_password

TIMEOUT = 5


def password_hash(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def auth_error(admin_url: str, user: str, password: str) -> str | None:
    """Authenticate as ``user`` on a fresh connection; None if that worked, else why not."""
    pool = redis.ConnectionPool.from_url(admin_url)
    kwargs = {**pool.connection_kwargs, "username": user, "password": password, "db": 0}
    kwargs.update(socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)
    connection = pool.connection_class(**kwargs)
    try:
        connection.connect()  # sends AUTH <user> <password> first
    except redis.AuthenticationError as exc:
        return str(exc) or "authentication failed"
    except redis.exceptions.NoPermissionError:
        return None  # only an authenticated user is told what it may not do
    except redis.RedisError as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        connection.disconnect()
        pool.disconnect()
    return None


class RedisPassword(CredentialStep):
    name = "redis"
    store_keys = ("REDIS_USER", "REDIS_PASSWORD", "REDIS_PASSWORD_VERSION")

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.admin_url = settings.REDIS_ROTATION_ADMIN_URL or settings.REDIS_URL
        self.user = ctx.redis_user or settings.REDIS_ROTATION_USER or url_user(settings.REDIS_URL)
        self.old_hashes: list[str] = []

    @property
    def subject(self) -> str:
        return f"redis/{self.user}" if self.user else "redis"

    def _admin(self) -> redis.Redis:
        return redis.Redis.from_url(
            self.admin_url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT,
            decode_responses=True,
        )  # fmt: skip

    def check(self) -> None:
        if not self.admin_url:
            raise StepSkipped("not configured: no Redis (REDIS_URL and REDIS_ROTATION_ADMIN_URL)")
        if not self.user:
            raise StepSkipped(
                "not configured: no ACL user to rotate (set REDIS_ROTATION_USER, or name the "
                "user in REDIS_URL)"
            )
        if self.user == "default":
            raise StepSkipped("the default user is never rotated: give the app a named ACL user")
        self.secret(redis.ConnectionPool.from_url(self.admin_url).connection_kwargs.get("password"))
        try:
            found = self._admin().acl_getuser(self.user)
        except redis.RedisError as exc:
            message = self.redacted(f"cannot read Redis ACLs: {exc}")
            raise RotationFailed(message, stage="check") from None
        if found is None:
            raise RotationFailed(f"no ACL user {self.user!r} on the Redis server", stage="check")
        if "nopass" in found["flags"]:
            raise RotationFailed(
                f"ACL user {self.user!r} has no password (nopass): set one before rotating it",
                stage="check",
            )
        if "on" not in found["flags"]:
            raise RotationFailed(f"ACL user {self.user!r} is disabled", stage="check")
        self.old_hashes = list(found["passwords"])

    def plan(self) -> str:
        return (
            f"would add a new password to Redis ACL user {self.user!r}, write REDIS_PASSWORD "
            f"to {self.ctx.store.location}, authenticate as the user with it on a fresh "
            f"connection, then remove the {len(self.old_hashes)} old password(s)"
        )

    def _setuser(self, *rules: str) -> None:
        self._admin().execute_command("ACL", "SETUSER", self.user, *rules)

    def apply(self, new: str) -> None:
        self._setuser(f"#{password_hash(new)}")

    def backend_values(self, new: str) -> Mapping[str, str]:
        return self.password_entries("REDIS", self.user, new)

    def verify(self, new: str) -> str:
        if error := auth_error(self.admin_url, self.user, new):
            raise VerificationFailed(f"AUTH as {self.user!r} with the new password: {error}")
        if auth_error(self.admin_url, self.user, self.secret(self.generate())) is None:
            raise VerificationFailed(f"Redis let {self.user!r} in with a wrong password")
        return "AUTH with the new password on a fresh connection (a wrong one is refused)"

    def undo(self, new: str) -> None:
        self._setuser(f"!{password_hash(new)}")

    def finish(self, new: str) -> None:
        kept = password_hash(new)
        stale = [f"!{digest}" for digest in self.old_hashes if digest != kept]
        if stale:
            self._setuser(*stale)
        if url_user(self.admin_url) == self.user:  # it rotated its own password
            self.admin_url = url_with_password(self.admin_url, new)
        admin = self._admin()
        try:
            aclfile = admin.config_get("aclfile").get("aclfile", "")
            if aclfile:
                admin.acl_save()
                self.notes.append(f"saved to the ACL file {aclfile}")
            else:
                self.notes.append(
                    "Redis keeps no ACL file: the change lasts until Redis restarts unless "
                    "its configuration carries the new password"
                )
        except redis.RedisError as exc:
            self.notes.append(self.redacted(f"not persisted ({exc})"))

    def done(self, verified_by: str) -> str:
        return f"rotated; verified by {verified_by}; old password(s) removed"
