"""What the risk API answers when it cannot do what was asked (issue 10)."""

import pytest

from conftest import problem
from risk.models import KillSwitch, LimitChange

pytestmark = pytest.mark.django_db


@pytest.fixture
def rina(api_client, risk_managers):
    api_client.force_authenticate(risk_managers[0])
    return api_client


def test_an_unknown_symbol_or_account_in_a_limit_change_is_named(rina, account):
    proposal = {"kind": "max_order_quantity", "value": "5", "reason": "new desk"}
    answer = rina.post(
        "/api/v1/risk/limit-changes",
        {**proposal, "scope": "account_instrument", "account": "TS0001", "tradingsymbol": "NOSUCH"},
        format="json",
    )
    assert problem(answer, 404, "not-found")["detail"] == "No instrument NOSUCH."
    answer = rina.post(
        "/api/v1/risk/limit-changes", {**proposal, "scope": "account", "account": "TS0009"},
        format="json",
    )  # fmt: skip
    assert problem(answer, 404, "not-found")["detail"] == "No account TS0009 that you may see."
    assert not LimitChange.objects.exists()


def test_unknown_changes_and_switches_are_named(rina):
    for answer, what in [
        (rina.post("/api/v1/risk/limit-changes/999/approve"), "No limit change 999."),
        (rina.post("/api/v1/risk/limit-changes/999/reject"), "No limit change 999."),
        (rina.post("/api/v1/risk/kill-switches/999/reset"), "No kill switch 999."),
    ]:
        assert problem(answer, 404, "not-found")["detail"] == what


def test_tripping_answers_the_switch_and_the_orders_it_cancelled(rina, account):
    answer = rina.post(
        "/api/v1/risk/kill-switches",
        {"level": "account", "account": "TS0001", "reason": "test"},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert set(body) == {"kill_switch", "cancelled_orders"}
    assert body["kill_switch"]["id"] == KillSwitch.objects.get().pk
    assert body["cancelled_orders"] == []
