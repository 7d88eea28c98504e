"""The admin page that rotates secrets: dry run and run for holders of ops.rotate_secrets,
refused to everyone else, POST with CSRF only, and never a secret value on the page."""

import pytest
from django.test import Client
from django.urls import reverse

from compliance.models import AuditEvent
from ops.secret_store import FileSecretStore

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_secrets")]
URL = reverse("ops-rotate-secrets")


@pytest.fixture
def operator(client, user_in_role, otp_login):
    user = user_in_role("Operations", username="ops_on_call")
    otp_login(client, user)
    return user


def test_dry_run_then_run(client, operator, tmp_path):
    page = client.get(URL)
    assert page.status_code == 200
    assert b'name="step" value="field_key" checked' in page.content

    plan = client.post(URL, {"action": "dry_run", "step": ["secret_key", "field_key"]})
    assert plan.status_code == 200
    assert b"Plan (dry run: nothing changed)" in plan.content
    assert b"would write a new SECRET_KEY" in plan.content
    assert b"would add key v2" in plan.content
    assert not (tmp_path / "secrets").exists()

    run = client.post(URL, {"action": "rotate", "step": ["secret_key"]})
    assert run.status_code == 200
    assert b'<tr class="rotation-rotated">' in run.content
    new_key = FileSecretStore(tmp_path / "secrets").read("SECRET_KEY")
    assert new_key
    assert new_key.encode() not in run.content
    event = AuditEvent.objects.get(action="ops.secret_rotated")
    assert (event.actor_username, event.after["secret"]) == ("ops_on_call", "secret_key")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "rotate"}, "no secret named; choose from postgres"),
        ({"action": "rotate", "step": ["ssh_keys"]}, "unknown secret(s): ssh_keys"),
        (
            {"action": "wipe", "step": ["secret_key"]},
            "action must be one of dry_run, rotate, not &#x27;wipe&#x27;",
        ),
    ],
)
def test_bad_requests_are_named(client, operator, tmp_path, data, message):
    answer = client.post(URL, data)
    assert answer.status_code == 400
    assert message.encode() in answer.content
    assert not (tmp_path / "secrets").exists()


def test_refused_without_the_permission(client, user_in_role, otp_login, tmp_path):
    otp_login(client, user_in_role("Risk Manager"))
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"action": "rotate", "step": ["secret_key"]}).status_code == 403
    client.logout()
    assert client.get(URL).status_code == 302  # to the sign-in page
    assert not (tmp_path / "secrets").exists()
    assert not AuditEvent.objects.filter(object_type="ops.secret").exists()


def test_post_needs_the_csrf_token(user_in_role, otp_login, tmp_path):
    client = otp_login(Client(enforce_csrf_checks=True), user_in_role("Operations"))
    assert client.post(URL, {"action": "rotate", "step": ["secret_key"]}).status_code == 403
    assert not (tmp_path / "secrets").exists()
