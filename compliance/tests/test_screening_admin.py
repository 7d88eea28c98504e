"""The screening admin: the hits queue with its counts, dispositions through the services
(a bulk action with a reason), list versions read-only, and auditors changing nothing."""

from pathlib import Path

import pytest
from django.urls import reverse

from compliance.models import AuditEvent, Client
from compliance.screening.models import HitStatus, ListVersion, MatchRule, ScreeningHit
from compliance.screening.services import client_screen, screening_list_import
from orders.models import TradingAccount

DATA = Path(__file__).parent / "data"
QUEUE = reverse("admin:compliance_screeninghit_changelist")


@pytest.fixture
def hits(db):
    screening_list_import(
        list_code="un", data=(DATA / "un_consolidated_sample.xml").read_bytes(), source="un.xml"
    )
    found = []
    for name, pan in [("Mohd Rafiq Qureshi", "AQRPQ1234M"), ("Abdul Karim Hussain", "AAKPH2222B")]:
        client = Client.objects.create(name=name, pan=pan)
        TradingAccount.objects.create(code=f"TS9{pan[-2]}", client=client)
        found += client_screen(client=client)
    assert len(found) == 2
    return found


def test_the_queue_shows_counts_and_hits(client, user_in_role, otp_login, hits):
    otp_login(client, user_in_role("Compliance Officer"))
    page = client.get(QUEUE)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Open: <strong>2</strong>" in text
    assert "oldest open hit raised" in text
    assert "QDi.901" in text
    assert "Dispose as false positive" in text
    detail = client.get(reverse("admin:compliance_screeninghit_change", args=[hits[0].pk]))
    assert "matched listed name" in detail.content.decode()
    assert "not compared (a date of birth is missing) (+0.0)" in detail.content.decode()


def test_bulk_false_positive_needs_a_reason_then_disposes_through_the_service(
    client, user_in_role, otp_login, hits
):
    otp_login(client, user_in_role("Compliance Officer"))
    ids = [str(h.pk) for h in hits]
    asked = client.post(QUEUE, {"action": "dispose_false_positive", "_selected_action": ids})
    assert asked.status_code == 200
    assert "Why: kept with the hit" in asked.content.decode()
    blank = client.post(
        QUEUE,
        {"action": "dispose_false_positive", "_selected_action": ids, "apply": "1", "reason": ""},
    )
    assert "This field is required" in blank.content.decode()
    assert ScreeningHit.objects.filter(status=HitStatus.OPEN).count() == 2
    done = client.post(
        QUEUE,
        {
            "action": "dispose_false_positive", "_selected_action": ids, "apply": "1",
            "reason": "Different people: PAN records show other fathers' names",
        },
        follow=True,
    )  # fmt: skip
    assert "2 hit(s) disposed: False positive." in done.content.decode()
    assert ScreeningHit.objects.filter(status=HitStatus.FALSE_POSITIVE).count() == 2
    assert AuditEvent.objects.filter(action="screening.hit_false_positive").count() == 2
    assert not TradingAccount.objects.filter(status=TradingAccount.Status.SUSPENDED).exists()


def test_true_match_action_freezes_the_accounts(client, user_in_role, otp_login, hits):
    otp_login(client, user_in_role("Compliance Officer"))
    client.post(
        QUEUE,
        {
            "action": "dispose_true_match", "_selected_action": [hits[0].pk], "apply": "1",
            "reason": "Passport and DOB match the listing",
        },
    )  # fmt: skip
    hit = ScreeningHit.objects.get(pk=hits[0].pk)
    assert hit.status == HitStatus.TRUE_MATCH
    assert hit.case_required
    assert TradingAccount.objects.get(client=hit.client).status == TradingAccount.Status.SUSPENDED


def test_an_auditor_sees_everything_and_changes_nothing(client, user_in_role, otp_login, hits):
    otp_login(client, user_in_role("Auditor"))
    page = client.get(QUEUE)
    assert page.status_code == 200
    assert "Dispose as" not in page.content.decode()
    client.post(
        QUEUE,
        {
            "action": "dispose_true_match", "_selected_action": [hits[0].pk], "apply": "1",
            "reason": "try",
        },
    )  # fmt: skip
    assert ScreeningHit.objects.filter(status=HitStatus.OPEN).count() == 2
    version = ListVersion.objects.get()
    assert (
        client.get(reverse("admin:compliance_listversion_change", args=[version.pk])).status_code
        == 200
    )
    rule = MatchRule.objects.get(list_code="")
    url = reverse("admin:compliance_matchrule_change", args=[rule.pk])
    assert client.get(url).status_code == 200
    client.post(url, {"threshold": "50"})
    rule.refresh_from_db()
    assert str(rule.threshold) == "84.00"


def test_list_versions_are_read_only_even_for_officers(client, user_in_role, otp_login, hits):
    otp_login(client, user_in_role("Compliance Officer"))
    version = ListVersion.objects.get()
    page = client.get(reverse("admin:compliance_listversion_change", args=[version.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.get(reverse("admin:compliance_listversion_add")).status_code == 403
    assert (
        client.post(
            reverse("admin:compliance_listversion_delete", args=[version.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert ListVersion.objects.exists()


def test_an_officer_changes_the_match_rule_through_its_service(client, user_in_role, otp_login, db):
    otp_login(client, user_in_role("Compliance Officer"))
    rule = MatchRule.objects.get(list_code="")
    data = {name: str(value) for name, value in rule.weights().items()}
    data["threshold"] = "86.00"
    response = client.post(reverse("admin:compliance_matchrule_change", args=[rule.pk]), data)
    assert response.status_code == 302
    rule.refresh_from_db()
    assert str(rule.threshold) == "86.00"
    event = AuditEvent.objects.get(action="screening.match_rule_changed")
    assert event.before == {"threshold": "84.00"}
    assert event.after == {"threshold": "86.00"}


def test_adding_a_client_in_the_admin_screens_them(client, user_in_role, otp_login, db):
    screening_list_import(
        list_code="un", data=(DATA / "un_consolidated_sample.xml").read_bytes(), source="un.xml"
    )
    otp_login(client, user_in_role("Compliance Officer"))
    response = client.post(
        reverse("admin:compliance_client_add"),
        {"name": "Mohammed Rafiq Qureshi", "pan": "AQRPQ1234M", "kyc_status": "pending"},
        follow=True,
    )
    assert "AML screening raised 1 hit(s)" in response.content.decode()
    (hit,) = ScreeningHit.objects.all()
    assert hit.client.name == "Mohammed Rafiq Qureshi"


def test_bulk_assign_to_me_is_audited_and_skips_disposed_hits(
    client, user_in_role, otp_login, hits
):
    officer = user_in_role("Compliance Officer")
    otp_login(client, officer)
    ScreeningHit.objects.filter(pk=hits[1].pk).update(status=HitStatus.FALSE_POSITIVE)
    done = client.post(
        QUEUE, {"action": "assign_to_me", "_selected_action": [h.pk for h in hits]}, follow=True
    )
    assert "1 open hit(s) assigned to you." in done.content.decode()
    assert ScreeningHit.objects.get(pk=hits[0].pk).assignee == officer
    assert ScreeningHit.objects.get(pk=hits[1].pk).assignee is None
    event = AuditEvent.objects.get(action="screening.hit_assigned")
    assert event.after == {"assignee": officer.username}
