"""System checks of the ops app (run by ``manage.py check``; ``--deploy`` in production):
the field-encryption keyring, the static files manifest that `collectstatic` writes, the
privileges of the runtime database role (docs/database-roles.md), and the audit seals' key
and sink (docs/audit-seals.md)."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured


@register(Tags.security, deploy=True)
def field_encryption_keyring(app_configs, **kwargs) -> list[Error]:
    """Production must be given a readable, well-formed field-encryption keyring."""
    if not settings.PRODUCTION:
        return []
    from ops.crypto import keyring

    try:
        ring = keyring()
    except (ImproperlyConfigured, OSError) as exc:
        return [Error(str(exc), id="ops.E001", hint="Mount the keyring file and set its path.")]
    if not ring.index_key:
        return [Error("FIELD_ENCRYPTION_KEYRING has no 'index:' line", id="ops.E002")]
    return []


COLLECT_STATIC = "Run `python manage.py collectstatic --noinput`"


def _static_manifest_missing() -> bool:
    from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage

    return isinstance(staticfiles_storage, ManifestFilesMixin) and not (
        staticfiles_storage.manifest_storage.exists(staticfiles_storage.manifest_name)
    )


@register()  # no staticfiles tag: `collectstatic` itself need not be told to run
def static_manifest_embedded(app_configs, **kwargs) -> list[Warning]:
    """The embedded profile works without ``collectstatic``, but says it is missing."""
    if settings.PRODUCTION or not _static_manifest_missing():
        return []
    return [
        Warning(
            f"No static files manifest in STATIC_ROOT ({settings.STATIC_ROOT}): pages are "
            "served with static files found in the apps, unhashed and without long caching.",
            hint=f"{COLLECT_STATIC} (`python manage.py demo` does it for you).",
            id="ops.W001",
        )
    ]


@register(Tags.staticfiles, deploy=True)
def static_manifest_production(app_configs, **kwargs) -> list[Error]:
    """Production without the manifest would answer every page with a 500."""
    if not settings.PRODUCTION or not _static_manifest_missing():
        return []
    return [
        Error(
            f"No static files manifest in STATIC_ROOT ({settings.STATIC_ROOT}): every page "
            "that uses a static file would fail with a server error.",
            hint=f"{COLLECT_STATIC} in each deploy, before the web server starts.",
            id="ops.E003",
        )
    ]


DB_ROLES_HINT = (
    "Connect web and workers as a role that owns nothing: create it with `python manage.py "
    "db_roles --owner tradingsite_owner --runtime tradingsite_app` as a superuser, set "
    "DATABASE_URL to it and DATABASE_MIGRATION_URL to the owner (docs/database-roles.md)."
)


@register(Tags.security, deploy=True)
def database_runtime_role(app_configs, **kwargs) -> list[Warning]:
    """Production's runtime role (DATABASE_URL's user) may not rewrite or empty the audit
    trail: no superuser, BYPASSRLS or CREATEROLE, owns no audit table, holds no UPDATE,
    DELETE or TRUNCATE on one (a chain head needs UPDATE), each has its TRUNCATE trigger."""
    if not settings.PRODUCTION:
        return []
    from django.db import DEFAULT_DB_ALIAS, connections

    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        return []
    return runtime_role_warnings(connection)


def runtime_role_warnings(connection) -> list[Warning]:
    """The deploy check's findings for the role(s) ``connection`` acts as."""
    from django.db import DatabaseError

    from ops.db_roles import role_findings, roles_in_session

    try:
        with connection.cursor() as cursor:
            findings = [
                finding
                for role in roles_in_session(cursor)
                for finding in role_findings(cursor, role)
            ]
    except DatabaseError as exc:
        return [
            Warning(
                "Could not check the runtime database role's privileges: "
                f"{str(exc).strip() or type(exc).__name__}",
                hint="Run the deploy check where the database is reachable with DATABASE_URL.",
                id="ops.W003",
            )
        ]
    return [
        Warning(f"Runtime database role: {finding}.", hint=DB_ROLES_HINT, id="ops.W002")
        for finding in findings
    ]


AUDIT_SEAL_KEY_HINT = (
    "Create a key with `python manage.py audit_seal_key /run/secrets/audit_seal_key.pem`, "
    "mount it and set AUDIT_SEAL_KEY_FILE to it (or AUDIT_SEAL_KEY); docs/audit-seals.md."
)


@register(Tags.security, deploy=True)
def audit_seal_settings(app_configs, **kwargs) -> list[Warning]:
    """Production must sign the audit seals with a key of its own, kept out of the database,
    and name a sink the seals can go to."""
    if not settings.PRODUCTION:
        return []
    from compliance.seal_keys import seal_key
    from compliance.seal_sinks import seal_sink

    found = []
    try:
        seal_key()
    except ImproperlyConfigured as exc:
        found.append(
            Warning(
                f"Audit seals cannot be signed: {exc}.", hint=AUDIT_SEAL_KEY_HINT, id="ops.W004"
            )
        )
    try:
        seal_sink()
    except ImproperlyConfigured as exc:
        found.append(Warning(f"Audit seals have nowhere to go: {exc}.", id="ops.W005"))
    return found
