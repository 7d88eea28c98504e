"""What every rotation step shares: its result, its errors, and the generate -> apply on
the server -> write to the backend -> verify -> roll back sequence.

A step never puts a secret value into a result, an audit event or a log line: the texts
it builds name things only, and library error messages pass through :meth:`redacted`.
"""

import secrets
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from ops.secret_store import SecretStore


class StepSkipped(Exception):
    """The step has nothing to rotate here (not configured); the message says why."""


class RotationFailed(Exception):
    """The step did not rotate; ``rolled_back`` says whether a change was undone."""

    def __init__(self, message: str, *, stage: str, rolled_back: bool = False) -> None:
        super().__init__(message)
        self.stage = stage
        self.rolled_back = rolled_back


class VerificationFailed(Exception):
    """The new credential did not work where it must."""


@dataclass
class StepResult:
    secret: str
    status: str  # planned | skipped | rotated | failed
    detail: str
    stage: str = ""
    key_version: int | None = None
    rolled_back: bool = False
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class RotationContext:
    """What a run was asked for, shared by its steps."""

    store: SecretStore
    dry_run: bool = False
    postgres_role: str | None = None
    redis_user: str | None = None
    drop_old_keys: bool = False
    batch_size: int = 500
    stream: object = None  # where the progress bar goes (the command's stderr)


def new_password() -> str:
    """256 random bits, URL-safe, so it can sit in DATABASE_URL or REDIS_URL as is."""
    return secrets.token_urlsafe(32)


class RotationStep(ABC):
    """One secret: :meth:`check` reads the current state, :meth:`plan` says what a run would
    do, :meth:`run` does it."""

    name: str = ""

    def __init__(self, ctx: RotationContext) -> None:
        self.ctx = ctx
        self.stage = "check"
        self.key_version: int | None = None
        self.notes: list[str] = []
        self._sensitive: list[str] = []

    @property
    def subject(self) -> str:
        """What is rotated, for the audit trail (no value), e.g. "postgres/app_role"."""
        return self.name

    @abstractmethod
    def check(self) -> None:
        """Raise StepSkipped when not configured, RotationFailed when it cannot run. It may
        read the server's state (and the old credential) but changes nothing."""

    @abstractmethod
    def plan(self) -> str:
        """What a run would do, in words."""

    @abstractmethod
    def run(self) -> str:
        """Rotate; return what was done, or raise RotationFailed."""

    def secret(self, value):
        """Register ``value`` as a secret, so it is scrubbed from any message; return it."""
        if value and isinstance(value, str):
            self._sensitive.append(value)
        return value

    def redacted(self, text: str) -> str:
        for value in sorted(self._sensitive, key=len, reverse=True):
            text = text.replace(value, "[redacted]")
        return text

    def next_version(self, key: str) -> int:
        current = self.ctx.store.read(key) or "0"
        return int(current) + 1 if current.isdigit() else 1


class CredentialStep(RotationStep):
    """A credential with a server side: generate -> apply on the server -> write to the
    backend -> verify -> retire the old one; a failed write or check restores the old
    credential on the server and in the backend."""

    #: Backend entries this step writes; restored as they were when the step rolls back.
    store_keys: tuple[str, ...] = ()

    def generate(self) -> str:
        return new_password()

    @abstractmethod
    def apply(self, new: str) -> None:
        """Make ``new`` valid on the server."""

    @abstractmethod
    def backend_values(self, new: str) -> Mapping[str, str]:
        """The entries to write to the secrets backend."""

    @abstractmethod
    def verify(self, new: str) -> str:
        """Raise VerificationFailed unless ``new`` works; return how it was checked."""

    @abstractmethod
    def undo(self, new: str) -> None:
        """Restore the old credential on the server."""

    def finish(self, new: str) -> None:
        """After verification: retire the old credential."""

    def done(self, verified_by: str) -> str:
        return f"rotated; verified by {verified_by}"

    def password_entries(self, prefix: str, login: str, new: str) -> dict[str, str]:
        """A rotated password's backend entries: ``<prefix>_USER``, ``_PASSWORD`` and
        ``_PASSWORD_VERSION`` (one more than the stored one)."""
        self.key_version = self.next_version(f"{prefix}_PASSWORD_VERSION")
        return {
            f"{prefix}_USER": login,
            f"{prefix}_PASSWORD": new,
            f"{prefix}_PASSWORD_VERSION": str(self.key_version),
        }

    def run(self) -> str:
        store = self.ctx.store
        before = {key: self.secret(store.read(key)) for key in self.store_keys}
        self.stage = "generate"
        new = self.secret(self.generate())
        self.stage = "apply"
        try:
            self.apply(new)
        except Exception as exc:
            raise RotationFailed(
                self.redacted(f"the server refused the change: {exc}"), stage="apply"
            ) from None
        try:
            self.stage = "write"
            store.write(self.backend_values(new))
            self.stage = "verify"
            verified_by = self.verify(new)
        except Exception as exc:
            raise self._rolled_back(exc, new, before) from None
        self.stage = "finish"
        try:
            self.finish(new)
        except Exception as exc:
            self.notes.append(self.redacted(f"retiring the old credential failed: {exc}"))
        self.stage = "done"
        return self.redacted(self.done(verified_by))

    def _rolled_back(self, exc: Exception, new: str, before: Mapping) -> RotationFailed:
        failed_at, self.stage = self.stage, "rollback"
        problems = []
        for what, undo in (
            ("server", lambda: self.undo(new)),
            ("backend", lambda: self.ctx.store.write(before)),
        ):
            try:
                undo()
            except Exception as undo_exc:
                problems.append(f"restoring the {what} failed: {undo_exc}")
        outcome = "; ".join(problems) or "rolled back: the old credential is in place again"
        return RotationFailed(
            self.redacted(f"{failed_at} failed: {exc}; {outcome}"),
            stage=failed_at,
            rolled_back=not problems,
        )
