"""The admin and API allowlists: a deploy file plus admin rows, applied without a restart,
IPv4 and IPv6, failing shut, with X-Forwarded-For believed only from trusted proxies."""

import os

import pytest

from compliance.models import AuditEvent
from ops.allowlist import allowlist, parse_file
from ops.models import AllowlistEntry

pytestmark = pytest.mark.django_db

OUTSIDE = "203.0.113.5"  # allowed by the tests' default file, not by the files here


@pytest.fixture
def listfile(tmp_path, settings):
    path = tmp_path / "allowlist.txt"
    path.write_text("admin,api 127.0.0.0/8\n")
    settings.IP_ALLOWLIST_FILE = path

    def write(text: str) -> None:
        stamp = path.stat().st_mtime_ns
        path.write_text(text)
        os.utime(path, ns=(stamp + 1_000_000, stamp + 1_000_000))  # a visible change

    return write


def api_status(client, address: str, **headers) -> tuple[int, dict]:
    answer = client.get("/api/v1/", REMOTE_ADDR=address, headers=headers)
    return answer.status_code, answer.json() if answer["Content-Type"].endswith("json") else {}


def test_outside_addresses_are_refused_with_a_problem(client, listfile):
    status, body = api_status(client, OUTSIDE)
    assert status == 403
    assert body["type"] == "/api/problems/ip-not-allowed"
    assert body["detail"] == f"{OUTSIDE} is not on the api allowlist."
    admin = client.get("/admin/login/", REMOTE_ADDR=OUTSIDE)
    assert admin.status_code == 403
    assert b"not on the admin allowlist" in admin.content
    assert client.get("/health", REMOTE_ADDR=OUTSIDE).status_code == 200  # probes stay open


def test_rows_apply_at_once_per_surface(client, listfile):
    row = AllowlistEntry.objects.create(network="203.0.113.0/24", surface="api")
    assert api_status(client, OUTSIDE)[0] == 401  # through the allowlist, to authentication
    assert client.get("/admin/login/", REMOTE_ADDR=OUTSIDE).status_code == 403
    row.delete()
    assert api_status(client, OUTSIDE)[0] == 403


def test_the_file_applies_without_a_restart(client, listfile):
    assert api_status(client, OUTSIDE)[0] == 403
    listfile("admin,api 127.0.0.0/8\napi 203.0.113.0/28  # the algo desk\n")
    assert api_status(client, OUTSIDE)[0] == 401
    listfile("admin,api 127.0.0.0/8\n")
    assert api_status(client, OUTSIDE)[0] == 403


def test_ipv6_ranges(client, listfile):
    AllowlistEntry.objects.create(network="2001:db8::/32", surface="both")
    assert api_status(client, "2001:db8::5")[0] == 401
    assert api_status(client, "2001:db9::5")[0] == 403


def test_a_bad_file_fails_shut_and_names_the_line(client, listfile):
    listfile("admin,api 127.0.0.0/8\napi 10.0.0.0/33\n")
    status, body = api_status(client, "127.0.0.1")
    assert status == 403
    assert "line 2" in body["detail"]
    assert "'10.0.0.0/33' is not an IPv4 or IPv6 address or CIDR range" in body["detail"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10.0.0.0/8\n", "line 1: expected 'admin|api|admin,api CIDR'"),
        ("web 10.0.0.0/8\n", "line 1: expected"),
        ("# ok\napi 10.0.0.0/8 extra\n", "line 2: expected"),
    ],
)
def test_file_syntax_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_file(text, "allowlist.txt")


def test_forwarded_for_counts_only_from_a_trusted_proxy(client, listfile, settings):
    # A client cannot claim to be local by sending the header itself.
    assert api_status(client, OUTSIDE, X_Forwarded_For="127.0.0.1")[0] == 403
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    listfile("admin,api 127.0.0.0/8\nadmin,api 10.0.0.0/8\n")
    # Through the trusted proxy, the rightmost untrusted address is the client.
    assert api_status(client, "10.0.0.2", X_Forwarded_For=f"127.0.0.1, {OUTSIDE}")[0] == 403
    assert api_status(client, "10.0.0.2", X_Forwarded_For=f"{OUTSIDE}, 127.0.0.1")[0] == 401


def test_rows_are_validated_and_audited_in_the_admin(client, listfile, user_in_role, otp_login):
    otp_login(client, user_in_role("Administrator"))
    page = client.post(
        "/admin/ops/allowlistentry/add/", {"network": "10.0.0.0/33", "surface": "api", "note": ""}
    )
    assert "is not an IPv4 or IPv6 address or CIDR range" in page.content.decode()
    client.post(
        "/admin/ops/allowlistentry/add/",
        {"network": "203.0.113.7", "surface": "api", "note": "algo box"},
    )
    row = AllowlistEntry.objects.get()
    assert row.network == "203.0.113.7/32"
    assert AuditEvent.objects.filter(action="ops.allowlist_saved").count() == 1
    assert allowlist().allows("api", "203.0.113.7")
