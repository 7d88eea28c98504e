"""Fixtures shared by every app's tests, and the rule for tests that need real services.

A test that needs a real server (Redis, PostgreSQL, a Celery worker, Chromium) skips
with a reason when it is missing, except when ``TRADINGSITE_REQUIRE_SERVICES=1``
(as in CI), where a missing service fails the test instead of hiding it.
"""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

pytest_plugins = ["orders.tests.fixtures"]

BASE_DIR = Path(__file__).resolve().parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def require(available: bool, what: str) -> None:
    """Skip unless ``what`` is available; with TRADINGSITE_REQUIRE_SERVICES=1, fail instead."""
    if available:
        return
    if os.environ.get("TRADINGSITE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what} is required here (TRADINGSITE_REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"needs {what}")


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


@pytest.fixture(scope="session", autouse=True)
def _flush_past_truncate_triggers():
    """Let the test flush empty the tables whose triggers refuse TRUNCATE (PostgreSQL).

    Transactional tests end with Django's flush, one ``TRUNCATE`` of every table, which the
    kept-record and audit tables refuse even for their owner (tradingsite.records). In
    ``session_replication_role = replica`` PostgreSQL fires no ordinary trigger, and only a
    superuser may set it, so the flush sets it for its own transaction: the tests connect
    as a superuser (``postgres`` in CI); the application's roles never can.
    """
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        return original(self, ["SET LOCAL session_replication_role = replica", *sql_list])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "execute_sql_flush", execute_sql_flush)
        yield


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
