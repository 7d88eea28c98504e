"""KYC at the service layer: the state machine, maker-checker, the KRA, risk and re-KYC."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from compliance.kyc.choices import TRANSITIONS, ApplicationStatus, KraStatus, RiskCategory
from compliance.kyc.kra import FakeKra
from compliance.kyc.models import KycApplication, KycRiskRule, ReKycDue
from compliance.kyc.services import (
    KycMakerCheckerRefused,
    KycPermissionDenied,
    KycRefused,
    kyc_application_create,
    kyc_approve,
    kyc_hold,
    kyc_ipv_record,
    kyc_kra_sync,
    kyc_reject,
    kyc_risk_recompute,
    kyc_submit,
    kyc_transition,
    rekyc_raise_due,
)
from compliance.models import AuditEvent, Client

pytestmark = pytest.mark.django_db
S = ApplicationStatus


@pytest.fixture(autouse=True)
def fresh_kra():
    for pan in ("ABCPK1234L", "ABCPK0001L", "ABCPK9999L", "ABCPZ1234Q"):
        FakeKra().forget(pan)


def client_of(application) -> Client:
    return Client.objects.get(pk=application.client_id)


def test_the_verifier_cannot_approve_or_reject_what_they_verified(kyc_application, officers):
    maker, _ = officers
    application = kyc_application(step="verified")

    with pytest.raises(KycMakerCheckerRefused, match=r"meera verified application .* second"):
        kyc_approve(application=application, actor=maker)
    with pytest.raises(KycMakerCheckerRefused, match="second officer must reject"):
        kyc_reject(application=application, actor=maker, reason="looks wrong")

    application.refresh_from_db()
    assert (application.status, application.decided_by) == (S.VERIFIED, None)
    assert client_of(application).kyc_status == Client.KycStatus.UNDER_REVIEW
    assert not AuditEvent.objects.filter(action="kyc.approved").exists()


def test_a_second_officer_approves_then_the_kra_validates_and_the_client_may_trade(
    kyc_application, officers
):
    maker, checker = officers
    application = kyc_approve(application=kyc_application(step="verified"), actor=checker)

    assert (application.status, application.verified_by, application.decided_by) == (
        S.APPROVED, maker, checker,
    )  # fmt: skip
    client = client_of(application)
    assert client.kyc_status == Client.KycStatus.KRA_PENDING
    assert not client.can_trade  # approved, but the KRA has not validated it yet

    uploaded = kyc_kra_sync(application=application)  # unknown to the KRA: uploaded
    assert uploaded.kra_status == KraStatus.UNDER_PROCESS
    assert not client_of(application).can_trade

    validated = kyc_kra_sync(application=application)  # the next look-up: validated
    assert validated.kra_status == KraStatus.VALIDATED
    client = client_of(application)
    assert (client.kyc_status, client.kra_status, client.risk_category) == (
        Client.KycStatus.VERIFIED, KraStatus.VALIDATED, RiskCategory.LOW,
    )  # fmt: skip
    assert client.can_trade
    assert client.kyc_verified_at is not None
    assert client.rekyc_due_on == timezone.localdate().replace(year=timezone.localdate().year + 10)
    actions = list(
        AuditEvent.objects.filter(object_type="compliance.kycapplication").values_list(
            "action", flat=True
        )
    )
    for action in ("kyc.submitted", "kyc.under_review", "kyc.verified", "kyc.approved"):
        assert action in actions


def test_a_kra_that_forgets_a_validated_record_does_not_bar_the_client(kyc_application, officers):
    """Another process's fake KRA (the embedded profile's worker) knows nothing: the client
    validated before keeps trading, and nothing is uploaded again."""
    _, checker = officers
    application = kyc_approve(application=kyc_application(step="verified"), actor=checker)
    kyc_kra_sync(application=application)
    application = kyc_kra_sync(application=application)
    assert application.kra_status == KraStatus.VALIDATED
    FakeKra().forget(application.pan)

    again = kyc_kra_sync(application=application)
    assert again.kra_status == KraStatus.VALIDATED
    assert client_of(application).can_trade
    assert FakeKra().lookup(application.pan) is None  # not uploaded again


@pytest.mark.parametrize(
    ("pan", "status"),
    [("ABCPK0001L", KraStatus.ON_HOLD), ("ABCPK9999L", KraStatus.REJECTED)],
)
def test_the_fake_kra_holds_or_rejects_some_pans_and_the_client_stays_barred(
    kyc_application, officers, pan, status
):
    application = kyc_approve(application=kyc_application(pan=pan, step="verified"),
                              actor=officers[1])  # fmt: skip
    kyc_kra_sync(application=application)
    application = kyc_kra_sync(application=application)
    assert application.kra_status == status
    assert client_of(application).kyc_status == Client.KycStatus.KRA_PENDING


def test_the_fake_kra_knows_nothing_until_uploaded_and_validates_after_its_steps(
    kyc_application, settings
):
    settings.KYC_FAKE_KRA_STEPS = 2
    kra = FakeKra()
    application = kyc_application()
    assert kra.lookup(application.pan) is None
    assert kra.upload(application).status == KraStatus.UNDER_PROCESS
    assert kra.lookup(application.pan).status == KraStatus.UNDER_PROCESS
    assert kra.lookup(application.pan).status == KraStatus.VALIDATED
    assert {s.value for s in KraStatus} == {
        "KYC Registered", "Under Process", "On Hold", "Rejected", "KYC Validated",
    }  # fmt: skip


def test_illegal_moves_are_refused_and_change_nothing(kyc_application, officers):
    maker, checker = officers
    application = kyc_application()
    for to in (S.UNDER_REVIEW, S.VERIFIED, S.APPROVED, S.REJECTED):
        with pytest.raises(KycRefused, match="Draft; it cannot move"):
            kyc_transition(application=application, to=to, actor=checker, reason="x")
    application = kyc_submit(application=application, actor=maker)
    with pytest.raises(KycRefused, match="Say why"):
        kyc_hold(application=application, actor=maker, reason=" ")
    held = kyc_hold(application=application, actor=maker, reason="address proof blurred")
    assert (held.status, held.hold_reason) == (S.ON_HOLD, "address proof blurred")
    with pytest.raises(KycRefused, match="before its in-person verification"):
        kyc_transition(
            application=kyc_transition(application=held, to=S.UNDER_REVIEW, actor=maker),
            to=S.VERIFIED, actor=maker,
        )  # fmt: skip


def test_submission_needs_every_required_document(officers, db):
    client = Client.objects.create(name="No Docs", pan="ABCPN1234D")
    from compliance.tests.kyc_fixtures import DECLARED

    application = kyc_application_create(client=client, actor=officers[0], **DECLARED)
    with pytest.raises(KycRefused, match="without: PAN card, Proof of address, Photograph"):
        kyc_submit(application=application, actor=officers[0])


def test_a_trader_cannot_move_an_application(kyc_application, user_in_role):
    application = kyc_application()
    with pytest.raises(KycPermissionDenied, match=r"needs compliance\.review_kyc"):
        kyc_submit(application=application, actor=user_in_role("Trader"))


def test_every_state_but_the_decided_ones_has_a_way_out():
    leaving = {frm for frm, _ in TRANSITIONS}
    assert leaving == {S.DRAFT, S.SUBMITTED, S.UNDER_REVIEW, S.ON_HOLD, S.VERIFIED}
    assert not leaving & {S.APPROVED, S.REJECTED}


def test_rejection_records_the_reason_and_bars_the_client(kyc_application, officers):
    application = kyc_reject(application=kyc_application(step="verified"), actor=officers[1],
                             reason="PAN name mismatch")  # fmt: skip
    assert (application.status, application.rejection_reason) == (S.REJECTED, "PAN name mismatch")
    assert client_of(application).kyc_status == Client.KycStatus.REJECTED


@pytest.mark.parametrize(
    ("declared", "category"),
    [
        ({}, RiskCategory.LOW),
        ({"pep": True}, RiskCategory.HIGH),
        ({"country": "AE"}, RiskCategory.MEDIUM),
        ({"tax_residency_country": "IR"}, RiskCategory.HIGH),
        ({"occupation": "jeweller"}, RiskCategory.HIGH),
        ({"occupation": "business"}, RiskCategory.MEDIUM),
        ({"expected_annual_turnover": Decimal("25000001")}, RiskCategory.MEDIUM),  # > 10x 25 lakh
        ({"expected_annual_turnover": Decimal("25000000")}, RiskCategory.LOW),  # exactly 10x
        ({"expected_annual_turnover": Decimal("125000001")}, RiskCategory.HIGH),  # > 50x
    ],
)
def test_risk_category_comes_from_the_rules_as_data(kyc_application, officers, declared, category):
    application = kyc_approve(application=kyc_application(step="verified", **declared),
                              actor=officers[1])  # fmt: skip
    assert application.risk_category == category
    assert bool(application.risk_reasons) == (category != RiskCategory.LOW)


def test_risk_is_recomputed_from_changed_rules_and_moves_the_rekyc_date(kyc_application, officers):
    application = kyc_approve(application=kyc_application(step="verified"), actor=officers[1])
    assert client_of(application).rekyc_due_on.year == timezone.localdate().year + 10
    KycRiskRule.objects.create(factor="occupation", value="private_sector", category="high")

    application = kyc_risk_recompute(application=application, actor=officers[1])

    assert application.risk_category == RiskCategory.HIGH
    client = client_of(application)
    assert client.risk_category == RiskCategory.HIGH
    assert client.rekyc_due_on.year == timezone.localdate().year + 2  # high: every 24 months
    assert AuditEvent.objects.filter(action="kyc.risk_recomputed").count() == 1


def test_rekyc_falling_due_is_raised_once_and_closed_by_a_new_approval(kyc_application, officers):
    application = kyc_approve(application=kyc_application(step="verified"), actor=officers[1])
    client = client_of(application)
    today = timezone.localdate()
    assert rekyc_raise_due(on=today) == []  # ten years away
    Client.objects.filter(pk=client.pk).update(rekyc_due_on=today + dt.timedelta(days=10))

    [raised] = rekyc_raise_due(on=today)
    assert rekyc_raise_due(on=today) == []  # safe to run twice
    assert (raised.client_id, raised.status) == (client.pk, "due")

    renewal = kyc_application(client=client, step="verified")
    kyc_approve(application=renewal, actor=officers[1])
    raised.refresh_from_db()
    assert raised.status == "done"
    assert ReKycDue.objects.filter(status="due").count() == 0
    assert KycApplication.objects.filter(client=client).count() == 2


def test_an_application_must_carry_its_clients_pan(officers, db):
    from compliance.tests.kyc_fixtures import DECLARED

    client = Client.objects.create(name="Mira", pan="ABCPM1234A")
    with pytest.raises(KycRefused, match="not Mira's"):
        kyc_application_create(client=client, actor=officers[0], pan="ABCPX1234A", **DECLARED)


_pans = iter(range(1000, 9000))


@hypothesis_settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(moves=st.lists(st.tuples(st.sampled_from(list(S)), st.booleans()), max_size=8))
def test_random_moves_follow_the_table_and_never_let_one_officer_verify_and_decide(
    kyc_application, officers, moves
):
    """State-machine legality: any sequence of moves by either officer changes the status
    only along TRANSITIONS, and no decision is ever made by the one who verified."""
    application = kyc_application(pan=f"ABCPQ{next(_pans)}Z", step="submitted")
    for to, by_checker in moves:
        actor = officers[1] if by_checker else officers[0]
        if to == S.VERIFIED and not application.ipv_done:
            application = (
                kyc_ipv_record(application=application, actor=actor)
                if application.status in (S.SUBMITTED, S.UNDER_REVIEW, S.ON_HOLD)
                else application
            )
        before = application.status
        try:
            application = kyc_transition(application=application, to=to, actor=actor, reason="r")
        except KycRefused:
            application.refresh_from_db()
            assert application.status == before
        else:
            assert (before, to) in TRANSITIONS
            assert application.status == to
        if application.decided_by_id is not None and application.verified_by_id is not None:
            assert application.decided_by_id != application.verified_by_id


def test_the_shipped_rules_come_back_into_empty_tables_after_migrate_only():
    from compliance.kyc.models import ReKycInterval
    from compliance.kyc.rules import kyc_rules_load

    assert set(ReKycInterval.objects.values_list("category", "months")) == {
        ("high", 24), ("medium", 96), ("low", 120),
    }  # fmt: skip
    ReKycInterval.objects.filter(category="high").update(months=12)  # an officer's edit
    KycRiskRule.objects.all().delete()
    kyc_rules_load(only_if_empty=True)
    assert ReKycInterval.objects.get(category="high").months == 12  # kept
    assert KycRiskRule.objects.filter(factor="pep", value="true", category="high").exists()
