"""Fixtures shared by every app's tests, and the rule for tests that need real services.

A test that needs a real server (Redis, PostgreSQL, a Celery worker, Chromium) skips
with a reason when it is missing, except when ``TRADINGSITE_REQUIRE_SERVICES=1``
(as in CI), where a missing service fails the test instead of hiding it.

With ``TEST_DATABASE_ADMIN_URL`` set (a PostgreSQL superuser, as in CI's production pass)
the tests connect as the runtime role, ``DATABASE_URL``'s user: the superuser creates the
test database and gives it the roles' grants, the schema owner (``DATABASE_MIGRATION_URL``)
migrates it, and what needs more than the runtime role asks for it through
``privileged_db`` (docs/database-roles.md, "Tests").
"""

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import environ
import pytest
from django.contrib.auth.models import Group
from django.db import DatabaseError, connections
from rest_framework.test import APIClient

pytest_plugins = [
    "orders.tests.fixtures",
    "compliance.tests.kyc_fixtures",
    "compliance.tests.case_fixtures",
    "compliance.tests.contract_note_fixtures",
    "compliance.tests.export_fixtures",
    "compliance.tests.report_fixtures",
    "compliance.tests.retention_fixtures",
]

BASE_DIR = Path(__file__).resolve().parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def require(available: bool, what: str) -> None:
    """Skip unless ``what`` is available; with TRADINGSITE_REQUIRE_SERVICES=1, fail instead."""
    if available:
        return
    if os.environ.get("TRADINGSITE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what} is required here (TRADINGSITE_REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"needs {what}")


def together(work, n: int) -> list:
    """Run ``work(i)`` for i in 0..n-1 in ``n`` threads released at one moment (a race);
    return what each returned or raised (a refusal, or a deadlock the test then fails on)."""
    import threading

    from django.db import connections

    barrier = threading.Barrier(n)
    outcomes: list = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            outcomes.append(work(i))
        except Exception as error:
            outcomes.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def problem(response, status: int, slug: str) -> dict:
    """Assert an API answer is the problem+json of ``slug`` with ``status``; return its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == f"/api/problems/{slug}"
    return body


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_manage(*args: str, env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess:
    """Run ``manage.py`` in a child process with exactly ``env`` (plus PATH)."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# --- Who the tests log in as (PostgreSQL) --------------------------------------------------

LOGIN_KEYS = ("USER", "PASSWORD", "HOST", "PORT")


def runtime_role_tests() -> bool:
    """Whether the tests connect as the runtime role (TEST_DATABASE_ADMIN_URL is set)."""
    return bool(os.environ.get("TEST_DATABASE_ADMIN_URL"))


def database_login(who: str) -> dict:
    """``USER``, ``PASSWORD``, ``HOST`` and ``PORT`` of ``who``: "superuser"
    (TEST_DATABASE_ADMIN_URL) or "owner" (DATABASE_MIGRATION_URL; its password may come
    from DATABASE_MIGRATION_PASSWORD). Where the tests connect as a superuser already, both
    are the tests' own login."""
    from django.conf import settings

    if not runtime_role_tests():
        return {key: connections["default"].settings_dict[key] for key in LOGIN_KEYS}
    if who == "superuser":
        config = environ.Env.db_url_config(os.environ["TEST_DATABASE_ADMIN_URL"])
    elif who == "owner":
        config = environ.Env.db_url_config(settings.DATABASE_MIGRATION_URL)
        config["PASSWORD"] = os.environ.get("DATABASE_MIGRATION_PASSWORD") or config["PASSWORD"]
    else:
        raise ValueError(f"who is 'superuser' or 'owner', not {who!r}")
    return {key: config.get(key) or "" for key in LOGIN_KEYS}


def login_wrapper(who: str, *, dbname: str = ""):
    """A Django connection of its own to ``dbname`` (default: the test database) as ``who``;
    the caller closes it."""
    default = connections["default"]
    config = {**default.settings_dict, **database_login(who)}
    config["NAME"] = dbname or config["NAME"]
    return type(default)(config, f"tests-{who}")


def _as_superuser_outside(sql: str) -> None:
    """Run ``sql`` as the superuser in TEST_DATABASE_ADMIN_URL's own database (``postgres``)."""
    dbname = environ.Env.db_url_config(os.environ["TEST_DATABASE_ADMIN_URL"])["NAME"]
    admin = login_wrapper("superuser", dbname=dbname or "postgres")
    try:
        with admin.cursor() as cursor:
            cursor.execute(sql)
    finally:
        admin.close()


def _runtime_role_database_setup(*, keep: bool, verbosity: int) -> str:
    """Create the test database as the superuser, with the roles' grants of ``db_roles``;
    migrate it as the owner (whose ``post_migrate`` grants the runtime role what it may do),
    and leave the connection logged in as the runtime role. Returns the database name."""
    from django.conf import settings
    from django.test.utils import setup_databases
    from psycopg2.errors import DuplicateDatabase

    from ops.db_roles import role_findings, role_name, setup_statements

    default = connections["default"]
    config = default.settings_dict
    if default.vendor != "postgresql" or not settings.DATABASE_MIGRATION_URL:
        raise pytest.UsageError(
            "TEST_DATABASE_ADMIN_URL runs the tests as the runtime role: set DATABASE_URL to the "
            "runtime role's and DATABASE_MIGRATION_URL to the schema owner's postgres:// URL "
            "(docs/database-roles.md)."
        )
    runtime = {key: config[key] for key in LOGIN_KEYS}
    owner = database_login("owner")
    if runtime["USER"] == owner["USER"]:
        raise pytest.UsageError(
            f"DATABASE_URL and DATABASE_MIGRATION_URL both log in as {owner['USER']!r}: the "
            "tests as the runtime role need the runtime role and the schema owner."
        )
    name = default.creation._get_test_db_name()
    quoted = default.ops.quote_name(name)
    if not keep:
        _as_superuser_outside(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
    try:
        _as_superuser_outside(f"CREATE DATABASE {quoted}")
    except DatabaseError as exc:
        if not (keep and isinstance(exc.__cause__, DuplicateDatabase)):  # --reuse-db: kept
            raise
    # As db_roles does it in the real database, in one transaction.
    statements = setup_statements(
        owner=role_name(owner["USER"], "DATABASE_MIGRATION_URL's user"),
        runtime=role_name(runtime["USER"], "DATABASE_URL's user"),
    )
    admin = login_wrapper("superuser", dbname=name)
    try:
        admin.set_autocommit(False)
        with admin.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement.sql)
        admin.commit()
    finally:
        admin.close()
    default.close()
    config.update(owner)
    try:  # the database exists: Django's set-up only migrates it
        setup_databases(
            verbosity=verbosity,
            interactive=False,
            keepdb=True,
            aliases={"default"},
            serialized_aliases=set(),
        )
    finally:
        default.close()
        config.update(runtime)
    with default.cursor() as cursor:
        findings = role_findings(cursor, runtime["USER"])
    if findings:
        pytest.fail(f"the runtime role in {name}: {'; '.join(findings)}", pytrace=False)
    return name


if runtime_role_tests():

    @pytest.fixture(scope="session")
    def django_db_setup(
        request, django_test_environment, django_db_blocker, django_db_keepdb, django_db_createdb
    ):
        """pytest-django's, for tests that run as the runtime role (TEST_DATABASE_ADMIN_URL)."""
        from django.conf import settings

        keep = django_db_keepdb and not django_db_createdb
        original = settings.DATABASES["default"]["NAME"]
        with django_db_blocker.unblock():
            name = _runtime_role_database_setup(keep=keep, verbosity=request.config.option.verbose)
        yield
        with django_db_blocker.unblock():
            connections.close_all()
            settings.DATABASES["default"]["NAME"] = original
            if not keep:
                quoted = connections["default"].ops.quote_name(name)
                _as_superuser_outside(f"DROP DATABASE {quoted} WITH (FORCE)")


@pytest.fixture(scope="session", autouse=True)
def _flush_past_truncate_triggers():
    """Let the test flush empty the tables whose triggers refuse TRUNCATE (PostgreSQL).

    Transactional tests end with Django's flush, one ``TRUNCATE`` of every table, which the
    kept-record and audit tables refuse even for their owner (tradingsite.records). In
    ``session_replication_role = replica`` PostgreSQL fires no ordinary trigger, and only a
    superuser may set it. Where the tests connect as a superuser, the flush sets it for its
    own transaction; where they run as the runtime role, which may truncate nothing, the flush
    runs on a connection of its own as the superuser (TEST_DATABASE_ADMIN_URL). The
    application's roles never can.
    """
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        if not runtime_role_tests():
            return original(self, ["SET LOCAL session_replication_role = replica", *sql_list])
        admin = login_wrapper("superuser", dbname=self.connection.settings_dict["NAME"])
        try:
            with admin.cursor() as cursor:
                cursor.execute("SET session_replication_role = replica")  # closed below
                for sql in sql_list:
                    cursor.execute(sql)
        finally:
            admin.close()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "execute_sql_flush", execute_sql_flush)
        yield


class PrivilegedDatabase:
    """The test database as a superuser or as the schema owner, for what a test must do that
    the runtime role may not: tamper with the audit trail behind the app's back, bypass a
    trigger, migrate backwards, create roles.

    Where the tests run as the runtime role these are other sessions than the test's own, so
    they see only committed rows: the fixture makes the test transactional. Where the tests
    connect as a superuser already (or on SQLite), they are the test's own connection.
    """

    def __init__(self) -> None:
        self.as_runtime_role = runtime_role_tests()

    def params(self, who: str = "superuser") -> dict:
        """psycopg2's ``connect()`` arguments for the test database as ``who``."""
        login = database_login(who)
        return {
            "dbname": connections["default"].settings_dict["NAME"],
            "user": login["USER"],
            "password": login["PASSWORD"],
            "host": login["HOST"] or "127.0.0.1",
            "port": login["PORT"] or 5432,
        }

    def url(self, who: str = "superuser") -> str:
        """A ``postgres://`` URL of the test database as ``who``."""
        p = self.params(who)
        login = quote(p["user"]) + (f":{quote(p['password'])}" if p["password"] else "")
        return f"postgres://{login}@{p['host']}:{p['port']}/{p['dbname']}"

    @contextmanager
    def cursor(self, who: str = "superuser") -> Iterator:
        """A Django cursor as ``who`` (autocommit)."""
        if not self.as_runtime_role:
            with connections["default"].cursor() as cursor:
                yield cursor
            return
        other = login_wrapper(who)
        try:
            with other.cursor() as cursor:
                yield cursor
        finally:
            other.close()

    @contextmanager
    def connection_as(self, who: str) -> Iterator[None]:
        """Django's own connection logs in as ``who`` inside the block."""
        if not self.as_runtime_role:
            yield
            return
        default = connections["default"]
        saved = {key: default.settings_dict[key] for key in LOGIN_KEYS}
        default.close()
        default.settings_dict.update(database_login(who))
        try:
            yield
        finally:
            default.close()
            default.settings_dict.update(saved)


@pytest.fixture
def privileged_db(transactional_db) -> PrivilegedDatabase:
    """The one way a test gets more privilege than the runtime role (see PrivilegedDatabase)."""
    return PrivilegedDatabase()


@pytest.fixture(autouse=True)
def _joins_allowed():
    """Celery's "inside a task" flag is a process global that eager tasks set and restore;
    two threads running eager tasks at once (a live server's request threads and a ticking
    feed) can restore it in the wrong order and leave it set, which makes a later test's
    ``.get()`` refuse. Start every test with it clear, as a fresh process would."""
    from celery.result import _set_task_join_will_block

    _set_task_join_will_block(False)


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # The manifest storage needs collectstatic first; tests serve files from the finders.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _isolated_market_data(settings):
    # Each test gets an empty in-process quotes cache and fresh instrument specs;
    # access sampling (which writes to the database) is off unless a test turns it on.
    from django.core.cache import caches

    from marketdata.selectors import instrument_specs_cache

    settings.CACHES = {
        **settings.CACHES,
        "quotes": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "test-quotes",
        },
    }
    settings.MARKETDATA_ACCESS_SAMPLE_RATE = 0.0
    settings.MARKETDATA_DEMO_HISTORY_SESSIONS = 1
    settings.MARKETDATA_DEMO_DAILY_SESSIONS = 2
    caches["quotes"].clear()
    instrument_specs_cache.clear()
    yield
    instrument_specs_cache.clear()


TEST_ALLOWLIST = """\
# Tests come from loopback, private and the documentation ranges (RFC 5737, RFC 3849).
admin,api 127.0.0.0/8
admin,api ::1/128
admin,api 10.0.0.0/8
admin,api 192.168.0.0/16
admin,api 192.0.2.0/24
admin,api 198.51.100.0/24
admin,api 203.0.113.0/24
admin,api 2001:db8::/32
"""


@pytest.fixture(autouse=True)
def _test_allowlist(settings, tmp_path_factory):
    # ops.allowlist fails shut; tests that are about it point it at a file of their own.
    from ops import allowlist

    path = tmp_path_factory.getbasetemp() / "allowlist.txt"
    if not path.exists():
        path.write_text(TEST_ALLOWLIST)
    settings.IP_ALLOWLIST_FILE = path
    allowlist._loaded.clear()  # rows rolled back with the last test leave no trace here


@pytest.fixture(autouse=True)
def _full_rate_limit_buckets(settings):
    # API rate limits (ops.ratelimits) start full in each test, in-process or in Redis, and
    # no API key is cached from an earlier test (ops.signers).
    from ops import admission, signers

    admission.local_buckets_clear()
    signers.signers_forget()
    if settings.REDIS_URL:
        from django_redis import get_redis_connection

        redis = get_redis_connection("default")
        stale = list(redis.scan_iter(f"{admission.BUCKET_PREFIX}*"))
        if stale:
            redis.delete(*stale)


@pytest.fixture(autouse=True)
def _tasks_run_inline(request):
    # Unit tests run Celery tasks in-process; integration tests send them to real workers.
    from tradingsite.celery import app

    app.conf.task_always_eager = request.node.get_closest_marker("integration") is None
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user_in_role(django_user_model):
    """Make a user holding one of the roles in ops.roles, e.g. ``user_in_role("Trader")``."""

    def make(role: str, username: str | None = None):
        from ops.roles import ROLES

        user = django_user_model.objects.create_user(
            username=username or role.lower().replace(" ", "_"),
            password="not-a-real-password-1",
            is_staff=ROLES[role]["staff"],
        )
        user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def risk_managers(user_in_role):
    """Two risk managers, rina and ravi: one makes or trips, the other checks or resets."""
    return user_in_role("Risk Manager", "rina"), user_in_role("Risk Manager", "ravi")


@pytest.fixture
def set_limit(risk_managers):
    """Put a limit in force the only way there is: one proposes, the other approves."""
    from risk.services import limit_decide, limit_propose

    maker, checker = risk_managers

    def apply(scope, kind, value=None, **targets):
        change = limit_propose(
            actor=maker, scope=scope, kind=kind, value=value, reason="test", **targets
        )
        return limit_decide(change=change, actor=checker, approve=True)

    return apply


def login_with_second_factor(client, user):
    """Sign ``user`` in on a test ``client`` as the admin's sign-in with a TOTP code would.

    The admin (and every staff session) needs a session verified by a second factor
    (ops.twofactor); ``client.force_login`` alone leaves a staff user at the enrolment
    page. This gives the user a confirmed TOTP device if they have none, signs in and
    marks the session verified by it. Returns the client.
    """
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test authenticator", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def otp_login():
    """``otp_login(client, user)``: a session verified by a second factor (see above)."""
    return login_with_second_factor


@pytest.fixture
def redis_url() -> str:
    """The real Redis of the production profile (REDIS_URL)."""
    url = os.environ.get("REDIS_URL", "")
    require(bool(url), "Redis (set REDIS_URL)")
    return url


@pytest.fixture
def chromium() -> str:
    require(bool(CHROMIUM), "Debian's chromium package")
    return CHROMIUM


@pytest.fixture(autouse=True)
def seal_files(settings, tmp_path):
    """Every test seals to a file under its ``tmp_path``, signed by a key made there, so no
    test sees another's seals; no process cache."""
    from compliance.seals import seal_cache_clear

    settings.AUDIT_SEAL_SINK = f"file://{tmp_path / 'seals.jsonl'}"
    settings.AUDIT_SEAL_KEY = ""
    settings.AUDIT_SEAL_KEY_FILE = tmp_path / "seal_key.pem"
    settings.AUDIT_SEAL_PUBLIC_KEYS = []
    seal_cache_clear()
    yield tmp_path / "seals.jsonl"
    seal_cache_clear()
