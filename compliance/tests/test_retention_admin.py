"""Retention in the admin: a past month archived, verified and restored from the changelist;
the policy floor; holds placed and released; the purge's second officer."""

import pytest
from django.test import Client as WebClient

from compliance.models import AuditEvent
from compliance.retention.models import ArchiveRun, LegalHold, RetentionPolicy
from compliance.retention.restore import restored_rows
from compliance.tests.retention_fixtures import IN_MONTH, events_at

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("archive_dir")]
RUNS = "/admin/compliance/archiverun/"


@pytest.fixture
def officer_clients(archive_officers, otp_login):
    """Call it after making the past month's events: signing in records events now, on the
    firm's chain, and a month's archive takes a prefix of each chain."""
    return lambda: [otp_login(WebClient(), officer) for officer in archive_officers]


def act(web, action: str, run: ArchiveRun, **extra):
    return web.post(RUNS, {"action": action, "_selected_action": [run.pk], **extra}, follow=True)


def said(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_a_past_month_is_archived_then_restored_from_the_admin(officer_clients):
    events_at(IN_MONTH, 3)
    before = list(AuditEvent.objects.order_by("chain", "seq").values())
    asha, bala = officer_clients()

    listing = asha.get(RUNS)
    assert b"Archive month" in listing.content
    response = asha.post(
        f"{RUNS}archive/",
        {"kind": "audit_events", "month": "2020-03", "release": "on"},
        follow=True,
    )
    assert "Archive of audit_events 2020-03 queued." in said(response)
    run = ArchiveRun.objects.get()
    assert (run.status, run.rows) == ("released", 3)

    verified = act(asha, "verify", run)
    assert f"Archive run {run.pk} intact: 1 files, 3 rows verified." in said(verified)
    restored = act(bala, "restore", run)
    assert any("restored read-only to" in m for m in said(restored))
    assert restored_rows(run, AuditEvent) == before

    refused = asha.post(
        f"{RUNS}archive/", {"kind": "audit_events", "month": "2099-01"}, follow=True
    )
    assert any("inside the online window" in m for m in said(refused))


def test_the_purge_needs_the_second_officer_in_the_admin_too(officer_clients, archive_officers):
    events_at(IN_MONTH, 1)
    asha, bala = officer_clients()
    asha.post(f"{RUNS}archive/", {"kind": "audit_events", "month": "2020-03", "release": "on"})
    run = ArchiveRun.objects.get()
    RetentionPolicy.objects.filter(kind="audit_events").update(retention_years=5)

    act(asha, "request_purge", run)
    run.refresh_from_db()
    assert run.purge_requested_by == archive_officers[0]
    own = act(asha, "approve_purge", run)
    assert any("a second officer approves" in m for m in said(own))
    act(bala, "approve_purge", run)
    run.refresh_from_db()
    assert (run.status, run.purge_approved_by) == ("purged", archive_officers[1])


def test_a_policy_below_the_floor_is_refused_and_a_change_is_audited(officer_clients):
    asha, _ = officer_clients()
    policy = RetentionPolicy.objects.get(kind="orders")
    url = f"/admin/compliance/retentionpolicy/{policy.pk}/change/"

    low = asha.post(url, {"retention_years": 4, "online_months": 12})
    assert low.status_code == 200
    assert b"kept 5 years at least" in low.content
    asha.post(url, {"retention_years": 8, "online_months": 24})
    policy.refresh_from_db()
    assert (policy.retention_years, policy.online_months) == (8, 24)
    event = AuditEvent.objects.get(action="retention.policy_changed")
    assert (event.before, event.after) == (
        {"retention_years": 5, "online_months": 12},
        {"retention_years": 8, "online_months": 24},
    )


def test_holds_are_placed_and_released_through_their_services(officer_clients, held_account):
    asha, bala = officer_clients()
    asha.post(
        "/admin/compliance/legalhold/add/", {"client": held_account.client.pk, "reason": "SEBI"}
    )
    hold = LegalHold.objects.get()
    assert hold.active
    assert AuditEvent.objects.filter(action="retention.hold_placed").exists()
    bala.post(
        "/admin/compliance/legalhold/",
        {"action": "release_holds", "_selected_action": [hold.pk], "reason": "closed"},
    )
    hold.refresh_from_db()
    assert (hold.active, hold.release_reason) == (False, "closed")
    assert asha.post(f"/admin/compliance/legalhold/{hold.pk}/delete/").status_code == 403


def test_the_retention_pages_render_and_nothing_is_deleted(officer_clients, held_account):
    events_at(IN_MONTH, 1)
    asha, _ = officer_clients()
    asha.post(f"{RUNS}archive/", {"kind": "audit_events", "month": "2020-03"})
    run = ArchiveRun.objects.get()
    policy = RetentionPolicy.objects.get(kind="audit_events")
    for url in (
        RUNS,
        f"{RUNS}{run.pk}/change/",
        "/admin/compliance/retentionpolicy/",
        f"/admin/compliance/retentionpolicy/{policy.pk}/change/",
        "/admin/compliance/legalhold/",
        "/admin/compliance/legalhold/add/",
    ):
        assert asha.get(url).status_code == 200, url
    assert asha.post(f"{RUNS}{run.pk}/delete/").status_code == 403
    assert asha.post(f"/admin/compliance/retentionpolicy/{policy.pk}/delete/").status_code == 403
    assert asha.get("/admin/compliance/retentionpolicy/add/").status_code == 403


def test_the_archive_task_is_safe_to_run_twice(archive_officers):
    from compliance.retention.tasks import archive_month_task

    events_at(IN_MONTH, 2)
    first = archive_month_task("audit_events", "2020-03", archive_officers[0].pk, release=True)
    again = archive_month_task("audit_events", "2020-03", archive_officers[0].pk, release=True)
    assert first == again == {"run": ArchiveRun.objects.get().pk, "rows": 2, "status": "released"}
