"""Screening hits: raised at onboarding and on a new list version (a task, with progress),
disposed by an officer: a true match freezes the accounts, audited; a false positive is
not raised again."""

from decimal import Decimal
from pathlib import Path

import pytest

from compliance.cases.models import Case
from compliance.models import AuditEvent, Client
from compliance.screening.models import HitStatus, ListVersion, ScreeningHit
from compliance.screening.selectors import ScreeningSubject, hits_counts, screening_subject
from compliance.screening.services import (
    DispositionRefused,
    client_screen,
    screening_hit_dispose,
    screening_list_import,
)
from ops.models import JobRun
from orders.models import TradingAccount
from orders.services import funds_move, order_place
from orders.tests.fixtures import request

DATA = Path(__file__).parent / "data"
UN = (DATA / "un_consolidated_sample.xml").read_bytes()
PEP = (DATA / "pep_sample.csv").read_bytes()


@pytest.fixture
def listed_client(db) -> Client:
    client = Client.objects.create(
        name="Mohd. Rafiq Qureshi", pan="AQRPQ1234M", kyc_status=Client.KycStatus.VERIFIED
    )
    TradingAccount.objects.create(code="TS0801", client=client)
    TradingAccount.objects.create(code="TS0802", client=client)
    return client


@pytest.fixture
def unrelated_client(db) -> Client:
    return Client.objects.create(name="Meera Nair", pan="AMNPN4321Q")


@pytest.fixture
def un_version(db) -> ListVersion:
    return screening_list_import(list_code="un", data=UN, source="consolidated.xml")


@pytest.fixture
def officer(user_in_role):
    return user_in_role("Compliance Officer")


def test_the_subject_is_built_from_the_client(listed_client):
    assert screening_subject(client=listed_client) == ScreeningSubject(name="Mohd. Rafiq Qureshi")


def test_onboarding_screen_raises_a_hit_with_its_evidence(
    listed_client, unrelated_client, un_version
):
    (hit,) = client_screen(client=listed_client)
    assert hit.entry.reference == "QDi.901"
    assert hit.entry_key == "un:QDi.901"
    assert hit.version == un_version
    assert hit.status == HitStatus.OPEN
    assert hit.score == Decimal("100.00")
    assert hit.evidence["matched_name"] in {"MUHAMMAD RAFIQ QURESHI", "Mohammed Rafiq Kureshi"}
    assert "missing" in hit.evidence["date_of_birth"]["note"]
    assert AuditEvent.objects.filter(action="screening.hit_raised", object_id=str(hit.pk)).exists()
    assert client_screen(client=unrelated_client) == []
    assert client_screen(client=listed_client) == []  # an open hit is not raised twice
    assert hits_counts()["by_status"]["Open"] == 1


def test_true_match_suspends_the_accounts_and_is_audited(
    listed_client, un_version, officer, market
):
    (hit,) = client_screen(client=listed_client)
    hit = screening_hit_dispose(
        hit=hit, disposition=HitStatus.TRUE_MATCH, reason="Passport copy matches", actor=officer
    )
    assert hit.status == HitStatus.TRUE_MATCH
    assert hit.case_required is True
    assert hit.disposed_by == officer
    assert hit.disposed_at is not None
    assert sorted(hit.accounts_suspended) == ["TS0801", "TS0802"]
    accounts = TradingAccount.objects.filter(client=listed_client)
    assert {a.status for a in accounts} == {TradingAccount.Status.SUSPENDED}
    disposed = AuditEvent.objects.get(action="screening.hit_true_match")
    assert disposed.actor_username == officer.username
    assert disposed.after["accounts_suspended"] == ["TS0801", "TS0802"]
    assert disposed.after["case_required"] is True
    # A case is opened on the client: high priority, unassigned, by the system.
    case = Case.objects.get(screening_hit=hit)
    assert (case.priority, case.client_id, case.assignee, case.opened_by) == (
        Case.Priority.HIGH, listed_client.pk, None, None,
    )  # fmt: skip
    assert case.title == "AML true match: Mohd. Rafiq Qureshi listed as " + hit.entry.name
    suspended = AuditEvent.objects.filter(action="account.suspended").order_by("chain")
    assert [e.chain for e in suspended] == [f"account:{a.pk}" for a in accounts.order_by("pk")]
    # The freeze holds: an order on the account is refused.
    placed = order_place(account=accounts.first(), request=request())
    assert placed.order.status == "REJECTED"
    assert "ACCOUNT_NOT_ACTIVE" in {r["code"] for r in placed.order.rejection_reasons}


def test_a_disposed_hit_cannot_be_disposed_again(listed_client, un_version, officer):
    (hit,) = client_screen(client=listed_client)
    screening_hit_dispose(hit=hit, disposition=HitStatus.FALSE_POSITIVE, reason="x", actor=officer)
    with pytest.raises(DispositionRefused, match="already disposed"):
        screening_hit_dispose(hit=hit, disposition=HitStatus.TRUE_MATCH, reason="y", actor=officer)
    assert TradingAccount.objects.filter(status=TradingAccount.Status.SUSPENDED).count() == 0


def test_disposing_needs_a_reason_and_the_permission(
    listed_client, un_version, officer, user_in_role
):
    (hit,) = client_screen(client=listed_client)
    with pytest.raises(DispositionRefused, match="reason"):
        screening_hit_dispose(
            hit=hit, disposition=HitStatus.FALSE_POSITIVE, reason=" ", actor=officer
        )
    with pytest.raises(DispositionRefused, match="may not"):
        screening_hit_dispose(
            hit=hit,
            disposition=HitStatus.FALSE_POSITIVE,
            reason="no",
            actor=user_in_role("Auditor"),
        )
    hit.refresh_from_db()
    assert hit.status == HitStatus.OPEN


def test_a_false_positive_is_not_raised_again_on_later_versions(
    listed_client, un_version, officer, django_capture_on_commit_callbacks
):
    (hit,) = client_screen(client=listed_client)
    screening_hit_dispose(
        hit=hit, disposition=HitStatus.FALSE_POSITIVE, reason="Different father's name, DOB 1990",
        actor=officer,
    )  # fmt: skip
    assert AuditEvent.objects.get(action="screening.hit_false_positive").after["reason"] == (
        "Different father's name, DOB 1990"
    )
    assert client_screen(client=listed_client) == []
    newer = UN.replace(b"Financier", b"Financier (updated)")  # the listing's identity unchanged
    with django_capture_on_commit_callbacks(execute=True):
        screening_list_import(list_code="un", data=newer, source="v2.xml")
    assert ScreeningHit.objects.count() == 1


def test_a_changed_listing_is_raised_again_after_a_false_positive(
    listed_client, un_version, officer
):
    (hit,) = client_screen(client=listed_client)
    screening_hit_dispose(hit=hit, disposition=HitStatus.FALSE_POSITIVE, reason="x", actor=officer)
    changed = UN.replace(b"<DATE>1968-04-12</DATE>", b"<DATE>1968-04-13</DATE>")
    version = screening_list_import(list_code="un", data=changed, source="v2.xml")
    (again,) = client_screen(client=listed_client, versions=[version])
    assert again.entry_key == hit.entry_key
    assert again.version == version


def test_a_new_version_rescreens_every_client_in_a_task_with_progress(
    listed_client, unrelated_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        version = screening_list_import(list_code="un", data=UN, source="consolidated.xml")
    assert len(callbacks) == 1
    (hit,) = ScreeningHit.objects.all()
    assert hit.client == listed_client
    assert hit.version == version
    run = JobRun.objects.get(kind="compliance.screening_rescreen")
    assert run.status == JobRun.Status.SUCCEEDED
    assert (run.total, run.done) == (2, 2)
    assert run.result == {"version": version.pk, "clients": 2, "hits": 1}
    # Run twice (a redelivered task): nothing new.
    from compliance.tasks import screening_rescreen

    assert screening_rescreen.delay(version.pk).get()["hits"] == 0
    assert ScreeningHit.objects.count() == 1


def test_pep_list_hits_on_an_alias(db, django_capture_on_commit_callbacks):
    client = Client.objects.create(name="Sanjay Verma", pan="ASVPV1111R")
    with django_capture_on_commit_callbacks(execute=True):
        screening_list_import(list_code="pep", data=PEP, source="pep.csv")
    (hit,) = ScreeningHit.objects.filter(client=client)
    assert hit.entry.reference == "PEP-0001"
    assert hit.evidence["matched_name"] == "Sanjay Verma"


def test_kyc_submission_screens_with_the_date_of_birth_and_blocks_approval(
    listed_client, un_version, kyc_application, officers, django_capture_on_commit_callbacks
):
    """Submitting the KYC screens the client with the application's date of birth and
    country as evidence; an open hit (or a true match) bars approving the application."""
    import datetime as dt

    from compliance.kyc.services import KycRefused, kyc_approve, kyc_verify

    maker, checker = officers
    with django_capture_on_commit_callbacks(execute=True):
        application = kyc_application(
            client=listed_client, pan=listed_client.pan, name=listed_client.name,
            step="under_review", date_of_birth=dt.date(1968, 4, 12),
        )  # fmt: skip
    (hit,) = ScreeningHit.objects.filter(client=listed_client)
    # The application's date of birth and country (IN) are the match's extra evidence.
    assert hit.evidence["date_of_birth"]["note"] == "same date of birth 1968-04-12"
    assert hit.evidence["nationality"]["note"] == "same nationality (india)"
    application = kyc_verify(application=application, actor=maker)
    with pytest.raises(KycRefused, match=r"AML screening hits \(1 open\)"):
        kyc_approve(application=application, actor=checker)
    screening_hit_dispose(hit=hit, disposition=HitStatus.TRUE_MATCH, reason="same DOB",
                          actor=checker)  # fmt: skip
    with pytest.raises(KycRefused, match="1 true match"):
        kyc_approve(application=application, actor=checker)


def test_a_true_match_cancels_the_clients_working_orders(
    listed_client, un_version, officer, market, django_capture_on_commit_callbacks
):
    from decimal import Decimal

    from orders.execution import execution_submit

    account = TradingAccount.objects.get(code="TS0801")
    funds_move(account=account, kind="deposit", amount=Decimal("1000000.00"))
    resting = order_place(account=account, request=request(order_type="LIMIT",
                                                           price=Decimal("1300.00")))  # fmt: skip
    execution_submit(resting.order.pk)  # at the (paper) broker
    unsent = order_place(account=account, request=request(order_type="LIMIT",
                                                          price=Decimal("1310.00")))  # fmt: skip
    (hit,) = client_screen(client=listed_client)
    with django_capture_on_commit_callbacks(execute=True):
        screening_hit_dispose(hit=hit, disposition=HitStatus.TRUE_MATCH, reason="r", actor=officer)
    resting.order.refresh_from_db()
    unsent.order.refresh_from_db()
    assert unsent.order.status == "CANCELLED"
    assert resting.order.status in ("CANCEL_PENDING", "CANCELLED")
    # The order's own trail gives a neutral reason; the suspension's event keeps the real one.
    cancelled = AuditEvent.objects.filter(object_id=str(unsent.order.pk), after__status="CANCELLED")
    assert cancelled.get().after["reason"] == "cancelled: the account is suspended"
    suspended = AuditEvent.objects.get(action="account.suspended", chain=f"account:{account.pk}")
    assert sorted(suspended.after["orders_cancelled"]) == sorted(
        [resting.order.pk, unsent.order.pk]
    )
