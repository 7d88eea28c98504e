"""Strategies in the web app: a quant sees the account's deployments and pauses, starts and
stops them (through the services, audited); a trader sees them without the controls and is
refused; another account's deployment and another user's backtest are 404s; a run's page
points its chart at the equity API."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from compliance.models import AuditEvent
from strategies.live.services import deployment_create, deployment_start
from strategies.models import BacktestRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def quant(account):
    user = account.users.get()
    user.groups.add(Group.objects.get(name="Quant"))
    return user


@pytest.fixture
def deployment(quant, account, market):
    made = deployment_create(
        actor=quant, strategy="sma_cross", params={"fast": 5, "slow": 20}, account=account,
        instrument=market["INFY"], quantity=1, capital=Decimal("100000"), algo_id="ALGO-W",
        history_from=timezone.now() - timedelta(days=1),
    )  # fmt: skip
    return deployment_start(made, actor=quant)


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_quant_pauses_starts_and_stops_a_deployment(quant, deployment):
    web = client_of(quant)
    page = web.get(reverse("web:strategies")).content.decode()
    assert "ALGO-W" in page
    assert "Pause</button>" in page
    web.post(reverse("web:deployment-move", args=[deployment.pk, "pause"]))
    deployment.refresh_from_db()
    assert deployment.status == "paused"
    web.post(reverse("web:deployment-move", args=[deployment.pk, "start"]))
    web.post(reverse("web:deployment-move", args=[deployment.pk, "stop"]))
    deployment.refresh_from_db()
    assert deployment.status == "stopped"
    actions = AuditEvent.objects.filter(object_id=str(deployment.pk)).values_list(
        "action", flat=True
    )
    assert {"deployment.paused", "deployment.running", "deployment.stopped"} <= set(actions)
    again = web.post(reverse("web:deployment-move", args=[deployment.pk, "start"]), follow=True)
    assert "did not start" in again.content.decode()


def test_a_trader_sees_deployments_without_controls_and_is_refused(quant, deployment):
    quant.groups.set([Group.objects.get(name="Trader")])
    web = client_of(quant)
    page = web.get(reverse("web:strategies")).content.decode()
    assert "ALGO-W" in page
    assert "Pause</button>" not in page
    refused = web.post(reverse("web:deployment-move", args=[deployment.pk, "pause"]), follow=True)
    assert "did not pause" in refused.content.decode()
    deployment.refresh_from_db()
    assert deployment.status == "running"


def test_another_accounts_deployment_and_another_users_run_are_404(
    quant, deployment, django_user_model
):
    stranger = django_user_model.objects.create_user("sam")
    stranger.groups.add(Group.objects.get(name="Trader"))
    web = client_of(stranger)
    assert web.post(reverse("web:deployment-move", args=[deployment.pk, "stop"])).status_code == 404
    deployment.refresh_from_db()
    assert deployment.status == "running"
    run = BacktestRun.objects.create(strategy="sma_cross", requested_by=quant)
    assert web.get(reverse("web:backtest", args=[run.pk])).status_code == 404
    mine = client_of(quant).get(reverse("web:backtest", args=[run.pk])).content.decode()
    assert f"Backtest {run.pk} · sma_cross" in mine
    assert 'id="equity"' not in mine  # queued: no chart yet
