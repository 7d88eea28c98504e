"""The positions page's actions: convert between MIS and CNC (through
``orders.conversion``), its refusals shown as messages, and a role that may not trade
refused."""

import pytest

from orders.models import Position
from orders.services import order_place
from orders.tests.fixtures import request

pytestmark = pytest.mark.django_db


@pytest.fixture
def bought(account, answered):
    """Bought 10 INFY intraday (MIS) at the ask."""
    with answered():
        order_place(account=account, request=request(product="MIS", quantity=10))
    return account


def test_the_positions_page_converts_and_shows_a_refusal(bought, asha, client):
    client.force_login(asha)
    mis = Position.objects.get(account=bought, product="MIS")
    page = client.get("/positions/").content.decode()
    assert f'action="/positions/{mis.pk}/convert"' in page
    assert "To CNC" in page
    answer = client.post(f"/positions/{mis.pk}/convert", {"quantity": "3"}, follow=True)
    assert "Converted 3 INFY from MIS to CNC." in answer.content.decode()
    answer = client.post(f"/positions/{mis.pk}/convert", {"quantity": "99"}, follow=True)
    assert "Not converted: The MIS position in INFY is 7 shares; 99 cannot" in (
        answer.content.decode()
    )
    answer = client.post(f"/positions/{mis.pk}/convert", {"quantity": "x"}, follow=True)
    assert "Give the number of INFY shares to convert." in answer.content.decode()
    assert Position.objects.get(account=bought, product="CNC").quantity == 3


def test_a_user_whose_role_may_not_trade_cannot_convert(bought, client):
    client.force_login(bought.users.get())  # linked to the account, but in no role
    mis = Position.objects.get(account=bought, product="MIS")
    answer = client.post(f"/positions/{mis.pk}/convert", {"quantity": "3"}, follow=True)
    assert "Your role may not place orders." in answer.content.decode()
    assert Position.objects.get(account=bought, product="MIS").quantity == 10
