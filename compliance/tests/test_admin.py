"""The audit trail in the admin: readable (every field, actions by their labels), never editable,
verifiable with one button, and showing when it is checkpointed."""

import json
import re
from datetime import UTC, datetime
from html import unescape

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.utils.html import escape

from compliance.actions import AUDIT_ACTION_LABELS, action_display, action_label
from compliance.models import AuditCheckpoint, AuditEvent
from compliance.services import audit_checkpoint, audit_record
from conftest import BASE_DIR

pytestmark = pytest.mark.django_db
VERIFY = "/admin/compliance/auditevent/verify/"


@pytest.fixture
def superuser_client(client, django_user_model, otp_login):
    return otp_login(client, django_user_model.objects.create_superuser("root", password="x" * 16))


def test_even_a_superuser_cannot_add_change_or_delete(superuser_client, record_events):
    event = record_events(1)[0]
    base = "/admin/compliance/auditevent/"

    listing = superuser_client.get(base)
    detail = superuser_client.get(f"{base}{event.pk}/change/")

    assert listing.status_code == 200
    assert b"Verify chain" in listing.content
    assert b"/admin/compliance/auditevent/add/" not in listing.content
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content
    assert superuser_client.get(f"{base}add/").status_code == 403
    assert superuser_client.get(f"{base}{event.pk}/delete/").status_code == 403
    changed = superuser_client.post(f"{base}{event.pk}/change/", {"action": "rewritten"})
    assert changed.status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


def test_the_list_filters_by_action(superuser_client, record_events):
    record_events(2, action="order.accepted")
    record_events(1, action="order.rejected")

    response = superuser_client.get("/admin/compliance/auditevent/", {"action": "order.rejected"})

    assert [e.action for e in response.context["cl"].result_list] == ["order.rejected"]


def test_verify_chain_shows_the_result(client, user_in_role, record_events, tamper, otp_login):
    otp_login(client, user_in_role("Auditor"))
    record_events(2)

    response = client.post(VERIFY, follow=True)
    [message] = list(get_messages(response.wsgi_request))
    assert message.level_tag == "success"
    assert message.message.startswith("Audit trail intact: 3 events checked")  # + the login

    tamper(2, action="x")
    response = client.post(VERIFY, follow=True)
    [message] = list(get_messages(response.wsgi_request))
    assert message.level_tag == "error"
    assert "BROKEN: chain firm at seq 2" in message.message


def test_verify_needs_the_permission_and_a_post(client, user_in_role, django_user_model, otp_login):
    staff = django_user_model.objects.create_user("clerk", password="x" * 16, is_staff=True)
    otp_login(client, staff)
    assert client.post(VERIFY).status_code == 403
    otp_login(client, user_in_role("Compliance Officer"))
    assert client.get(VERIFY).status_code == 405


# --- The detail pages show every field, read-only, to superusers and auditors --------------

AT = datetime(2026, 11, 20, 5, 0, 7, tzinfo=UTC)  # 10:30:07 IST
HOSTILE = "<script>alert('x')</script>"


@pytest.fixture
def auditor_client(client, user_in_role, otp_login):
    return otp_login(client, user_in_role("Auditor"))


@pytest.fixture
def accepted_event(django_user_model):
    dealer = django_user_model.objects.create_user("dealer7", password="x" * 16)
    with time_machine.travel(AT, tick=False):
        return audit_record(
            action="order.accepted",
            object_type="orders.order",
            object_id="4242",
            actor=dealer,
            source_ip="203.0.113.9",
            request_id="req-7f3a9c",
            before={"status": "AMO"},
            after={"status": "ACCEPTED", "quantity": 10, "memo": HOSTILE},
        )


def row_values(event: AuditEvent) -> dict:
    return AuditEvent.objects.filter(pk=event.pk).values().get()


@pytest.mark.parametrize("reader", ["superuser_client", "auditor_client"])
def test_the_event_page_shows_every_field_and_changes_nothing(request, reader, accepted_event):
    client = request.getfixturevalue(reader)
    event, url = accepted_event, f"/admin/compliance/auditevent/{accepted_event.pk}/change/"
    stored = row_values(event)

    page = client.get(url)
    html = page.content.decode()

    assert page.status_code == 200
    for shown in [
        f'<div class="readonly">{event.seq}</div>',
        "Order accepted (order.accepted)",
        "20 Nov 2026, 10:30:07 IST",
        "orders.order",
        "4242",
        f"dealer7 (user id {event.actor_id})",
        "203.0.113.9",
        "req-7f3a9c",
        event.prev_hash,
        event.hash,
    ]:
        assert shown in html, shown
    for value in (event.before, event.after):
        pretty = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
        assert f'<pre class="audit-json">{escape(pretty)}</pre>' in html
    assert HOSTILE not in html
    assert '"quantity": 10,\n' in unescape(html)  # indented, one key a line
    for button in ('name="_save"', 'name="_continue"', 'name="_addanother"', "deletelink"):
        assert button not in html
    posted = client.post(url, {"action": "rewritten", "after": "{}", "_save": "Save"})
    assert posted.status_code == 403
    assert row_values(event) == stored


@pytest.mark.parametrize("reader", ["superuser_client", "auditor_client"])
def test_the_checkpoint_page_shows_every_field_and_changes_nothing(request, reader, record_events):
    client = request.getfixturevalue(reader)
    record_events(2)
    with time_machine.travel(AT, tick=False):
        checkpoint = audit_checkpoint()
    last = AuditEvent.objects.filter(chain="firm").order_by("seq").last()
    url = f"/admin/compliance/auditcheckpoint/{checkpoint.pk}/change/"

    page = client.get(url)
    html = page.content.decode()

    assert page.status_code == 200
    assert f"<tr><td>firm</td><td>{last.seq}</td><td><code>{last.hash}</code></td></tr>" in html
    assert f'<div class="readonly">{last.seq}</div>' in html  # events covered
    assert "20 Nov 2026, 10:30:07 IST" in html
    assert 'name="_save"' not in html
    assert client.post(url, {"events": "1", "heads": "{}"}).status_code == 403
    assert AuditCheckpoint.objects.values_list("heads", "events").get() == (
        {"firm": [last.seq, last.hash]},
        last.seq,
    )


# --- Actions have human labels beside their codes -----------------------------------------


def test_actions_show_labels_beside_codes_in_the_list_and_the_filter(
    superuser_client, record_events
):
    record_events(1, action="order.accepted")
    record_events(1, action="risk.limit_widened")  # a code with no label of its own

    html = superuser_client.get("/admin/compliance/auditevent/").content.decode()
    results, filters = html.split('id="result_list"')[1], html.split('id="changelist-filter"')[1]

    assert "Order accepted (order.accepted)" in results
    assert "Risk: limit widened (risk.limit_widened)" in results
    assert 'href="?action=order.accepted"' in filters
    assert "Order accepted (order.accepted)</a>" in filters
    assert "Risk: limit widened (risk.limit_widened)</a>" in filters


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("order.accepted", "Order accepted"),
        ("auth.login_failed", "Sign-in failed"),
        ("risk.limit_widened", "Risk: limit widened"),
        ("kill_switch.armed_twice", "Kill switch: armed twice"),
        ("surveillance", "Surveillance"),
    ],
)
def test_action_labels_and_their_fallback(code, label):
    assert action_label(code) == label
    assert action_display(code) == f"{label} ({code})"


def audited_codes() -> set[str]:
    """Every action code the code base writes: literals, and the codes built from choices."""
    from compliance.signals import ADMIN_ACTIONS
    from ops.rotation import ACTIONS, DRY_RUN_ACTION
    from orders.choices import OrderStatus
    from risk.models import LimitChange

    written = re.compile(r'(?:audit_record\(\s*action=|_audit\(\s*)"([a-z_]+\.[a-z_]+)"')
    codes = set()
    for source in BASE_DIR.glob("*/**/*.py"):
        if ".venv" in source.parts or "tests" in source.parts:
            continue
        codes |= set(written.findall(source.read_text()))
    assert "order.rejected" in codes  # the pattern does find audit_record's literals
    codes |= {f"order.{status.lower()}" for status in OrderStatus.values}
    codes |= {f"risk.limit_{status}" for status in LimitChange.Status.values}
    codes |= {*ADMIN_ACTIONS.values(), "admin.other", *ACTIONS.values(), DRY_RUN_ACTION}
    return codes


def test_every_action_the_code_writes_has_a_label_of_its_own():
    assert audited_codes() - set(AUDIT_ACTION_LABELS) == set()


# --- The audit page shows its own safeguards: the checkpoint schedule and the last one ------


def safeguards(html: str) -> str:
    found = re.search(r'<p[^>]*id="audit-checkpoints"[^>]*>(.*?)</p>', html, re.S)
    assert found, "no checkpoint line on the audit trail page"
    return " ".join(re.sub(r"<[^>]+>", "", found.group(1)).split())


def test_the_audit_page_shows_the_checkpoint_schedule_and_the_last_checkpoint(
    superuser_client, record_events
):
    record_events(3)
    with time_machine.travel(AT, tick=False):
        before = safeguards(superuser_client.get("/admin/compliance/auditevent/").content.decode())
        made = audit_checkpoint()
        after = safeguards(superuser_client.get("/admin/compliance/auditevent/").content.decode())

    assert (
        before == "Checkpoints: daily at 23:55 IST (next 20 Nov 2026, 23:55 IST); last: none yet."
    )
    assert after == (
        f"Checkpoints: daily at 23:55 IST (next 20 Nov 2026, 23:55 IST); "
        f"last: {made} at 20 Nov 2026, 10:30 IST."
    )


def test_a_disabled_or_edited_schedule_shows_as_it_is(superuser_client):
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    task = PeriodicTask.objects.get(task="compliance.tasks.audit_checkpoint")
    task.crontab = CrontabSchedule.objects.create(
        minute="30", hour="18", day_of_week="1-5", timezone="Asia/Kolkata"
    )
    task.save()
    with time_machine.travel(AT, tick=False):  # a Friday
        page = superuser_client.get("/admin/compliance/auditevent/").content.decode()
    assert safeguards(page).startswith(
        "Checkpoints: weekdays at 18:30 IST (next 20 Nov 2026, 18:30 IST);"
    )

    task.enabled = False
    task.save()
    page = superuser_client.get("/admin/compliance/auditevent/").content.decode()
    assert "its periodic task is disabled" in safeguards(page)
    PeriodicTask.objects.filter(pk=task.pk).delete()
    page = superuser_client.get("/admin/compliance/auditevent/").content.decode()
    assert safeguards(page).startswith("Checkpoints: not scheduled")
