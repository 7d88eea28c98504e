"""The secrets backend: where rotated secrets are written, and read back at start-up.

Two backends, chosen by ``SECRETS_BACKEND``:

- ``file`` (the embedded default): one file per secret in ``SECRETS_PATH`` (a folder,
  ``DATA_DIR/secrets`` by default), each 0600 and replaced atomically;
- ``k8s``: one Kubernetes ``Secret`` manifest (YAML, ``stringData``) at ``SECRETS_PATH``,
  0600, for an operator or a GitOps job to ``kubectl apply``. Its keys are the names of
  the environment variables the settings read, so ``envFrom: secretRef`` hands them over.

Secret names are environment-variable names (``SECRET_KEY``, ``DATABASE_PASSWORD``...).
This module reads no Django settings at import time: ``tradingsite.settings`` itself
calls :func:`secrets_at_start` before Django is set up.
"""

import base64
import binascii
import os
import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import yaml
from django.core.exceptions import ImproperlyConfigured

BACKENDS = ("file", "k8s")
NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,62}$")
# RFC 1123 subdomain: what Kubernetes accepts as a Secret's name and namespace.
K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _checked_name(name: str) -> str:
    if not NAME.match(name):
        raise ValueError(f"secret name {name!r} is not an environment-variable name (A-Z, 0-9, _)")
    return name


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text``, readable by its owner only (0600)."""
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        with os.fdopen(os.open(draft, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(draft, path)
    finally:
        draft.unlink(missing_ok=True)


class SecretStore(ABC):
    """A place that holds named secrets."""

    location: str

    @abstractmethod
    def read_all(self) -> dict[str, str]:
        """Every secret held, by name ({} when there is nothing yet)."""

    @abstractmethod
    def write(self, changes: Mapping[str, str | None]) -> None:
        """Set each named secret; ``None`` removes it. Other secrets are kept."""

    def read(self, name: str) -> str | None:
        return self.read_all().get(name)


class FileSecretStore(SecretStore):
    """One 0600 file per secret in a 0700 folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.location = str(self.folder)

    def read_all(self) -> dict[str, str]:
        if not self.folder.is_dir():
            return {}
        return {
            entry.name: entry.read_text().strip()
            for entry in sorted(self.folder.iterdir())
            if entry.is_file() and NAME.match(entry.name)
        }

    def write(self, changes: Mapping[str, str | None]) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name, value in changes.items():
            target = self.folder / _checked_name(name)
            if value is None:
                target.unlink(missing_ok=True)
            else:
                _write_private(target, value)


class _ManifestDumper(yaml.SafeDumper):
    """Multi-line values (the field keyring) as literal blocks, the rest as plain scalars."""


_ManifestDumper.add_representer(
    str,
    lambda dumper, value: dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None
    ),
)


class KubernetesSecretStore(SecretStore):
    """A ``v1/Secret`` manifest (``stringData``) in one 0600 file."""

    def __init__(self, path: Path, *, name: str, namespace: str) -> None:
        for what, value in (("SECRETS_K8S_NAME", name), ("SECRETS_K8S_NAMESPACE", namespace)):
            if not K8S_NAME.match(value) or len(value) > 253:
                raise ImproperlyConfigured(
                    f"{what}={value!r} is not a valid Kubernetes name "
                    "(lower-case letters, digits, '-' and '.')"
                )
        self.path = Path(path)
        self.name = name
        self.namespace = namespace
        self.location = f"{self.path} (Secret {namespace}/{name})"

    def read_all(self) -> dict[str, str]:
        if not self.path.is_file():
            return {}
        try:
            manifest = yaml.safe_load(self.path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ImproperlyConfigured(f"{self.path}: not valid YAML ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("kind") != "Secret":
            raise ImproperlyConfigured(f"{self.path}: not a Kubernetes Secret manifest")
        values = {}
        for name, encoded in (manifest.get("data") or {}).items():
            try:
                values[name] = base64.b64decode(str(encoded), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise ImproperlyConfigured(
                    f"{self.path}: data.{name} is not base64-encoded UTF-8"
                ) from None
        # As in Kubernetes, stringData wins over data for the same key.
        values.update(
            {name: str(value) for name, value in (manifest.get("stringData") or {}).items()}
        )
        return values

    def manifest(self, values: Mapping[str, str]) -> dict:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": {"app.kubernetes.io/name": "tradingsite"},
            },
            "type": "Opaque",
            "stringData": dict(sorted(values.items())),
        }

    def write(self, changes: Mapping[str, str | None]) -> None:
        values = self.read_all()
        for name, value in changes.items():
            if value is None:
                values.pop(_checked_name(name), None)
            else:
                values[_checked_name(name)] = value
        self.path.parent.mkdir(parents=True, exist_ok=True)
        header = "# Written by `manage.py rotate_secrets`: apply with kubectl, never commit.\n"
        body = yaml.dump(self.manifest(values), Dumper=_ManifestDumper, sort_keys=False)
        _write_private(self.path, header + body)


def secret_store_open(
    backend: str, path: Path, *, k8s_name: str = "", k8s_namespace: str = ""
) -> SecretStore:
    if backend == "file":
        return FileSecretStore(path)
    if backend == "k8s":
        return KubernetesSecretStore(path, name=k8s_name, namespace=k8s_namespace)
    raise ImproperlyConfigured(
        f"SECRETS_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}"
    )


def secret_store() -> SecretStore:
    """The backend configured in settings."""
    from django.conf import settings

    return secret_store_open(
        settings.SECRETS_BACKEND,
        Path(settings.SECRETS_PATH),
        k8s_name=settings.SECRETS_K8S_NAME,
        k8s_namespace=settings.SECRETS_K8S_NAMESPACE,
    )


def secrets_at_start(
    backend: str, path: Path, *, k8s_name: str, k8s_namespace: str
) -> dict[str, str]:
    """What the settings load: the backend's secrets, or {} before the first rotation."""
    return secret_store_open(
        backend, path, k8s_name=k8s_name, k8s_namespace=k8s_namespace
    ).read_all()


def password_for(user: str, stored: Mapping[str, str], prefix: str) -> str:
    """The rotated password of ``user`` in ``stored`` (``<prefix>_USER`` must name that user),
    or "" when the backend holds none for that user."""
    if user and stored.get(f"{prefix}_USER") == user:
        return stored.get(f"{prefix}_PASSWORD", "")
    return ""


def url_user(url: str) -> str:
    return unquote(urlsplit(url).username or "")


def url_with_password(url: str, password: str) -> str:
    """``url`` with its password replaced; its user name (possibly none) is kept."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port:
        host = f"{host}:{parts.port}"
    user = quote(unquote(parts.username or ""), safe="")
    netloc = f"{user}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
