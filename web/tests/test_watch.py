"""The web app's sign-in and watchlists: traders and clients sign in at /login/ (staff are sent
to the admin), the daily logout lands on it with its reason; watchlists are the user's own
(another's is a 404 by URL and refused by every action), limited, and every refusal names
the problem and changes nothing."""

from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from orders.models import TradingAccount
from web import services
from web.models import MAX_WATCHLISTS, Watchlist, WatchlistItem
from web.services import WatchlistRefused
from web.tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def sign_in(client: Client, username: str, password: str = PASSWORD, code: str = ""):
    return client.post(
        reverse("web:login"), {"username": username, "password": password, "otp_token": code}
    )


def test_the_root_sends_a_visitor_to_sign_in_and_a_trader_to_the_watch(asha):
    assert Client().get("/").url == reverse("web:login")
    client = Client()
    answer = sign_in(client, "asha")
    assert (answer.status_code, answer.url) == (302, reverse("web:watch"))
    assert client.get("/").url == reverse("web:watch")
    page = client.get(reverse("web:watch"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "TS0001" in html  # the account switcher
    assert "Available" in html


def test_a_wrong_password_is_named_and_does_not_sign_in(asha):
    client = Client()
    answer = sign_in(client, "asha", "wrong-password-here")
    assert answer.status_code == 200
    assert "correct username and password" in answer.content.decode()
    assert "_auth_user_id" not in client.session


def test_staff_are_sent_to_the_admin(user_in_role):
    user_in_role("Risk Manager", "rita")
    answer = sign_in(Client(), "rita")
    assert answer.status_code == 200
    assert "Staff sign in to the back office at /admin/" in answer.content.decode()


def test_the_admin_sends_a_trader_here(asha):
    answer = Client().post(
        reverse("admin:login"), {"username": "asha", "password": PASSWORD, "otp_token": ""}
    )
    html = answer.content.decode()
    assert 'href="/login/"' in html


def test_a_trader_with_an_authenticator_gives_its_code(asha):
    device = TOTPDevice.objects.create(user=asha, name="phone", confirmed=True)
    refused = sign_in(Client(), "asha")
    assert "Enter the 6-digit code" in refused.content.decode()
    wrong = sign_in(Client(), "asha", code="000000" if totp(device.bin_key) != 0 else "111111")
    assert "That code is wrong" in wrong.content.decode()
    device.refresh_from_db()
    device.throttle_reset()  # a failure delays the next try (django-otp's throttling)
    client = Client()
    answer = sign_in(client, "asha", code=f"{totp(device.bin_key):06d}")
    assert answer.status_code == 302


def test_the_daily_logout_lands_on_the_sign_in_with_its_reason(asha):
    client = Client()
    sign_in(client, "asha")
    with time_machine.travel(timedelta(days=1), tick=False):
        answer = client.get(reverse("web:watch"), follow=True)
    assert answer.redirect_chain[-1][0].startswith(reverse("web:login"))
    assert "Your session ended at the daily logout" in answer.content.decode()


def test_a_first_visit_makes_one_empty_list_and_search_adds_to_it(web, asha):
    page = web.get(reverse("web:watch"))
    [watchlist] = Watchlist.objects.filter(user=asha)
    assert "This list is empty" in page.content.decode()
    found = web.get(reverse("web:watchlist", args=[watchlist.pk]), {"q": "INF"})
    assert 'value="NSE:INFY"' in found.content.decode()
    added = web.post(reverse("web:watch-add", args=[watchlist.pk]), {"key": "NSE:INFY"},
                           follow=True)  # fmt: skip
    html = added.content.decode()
    assert "NSE:INFY added." in html
    assert 'data-key="NSE:INFY"' in html
    assert "i=NSE%3AINFY" in html  # the quotes the page polls


def test_items_move_and_are_removed(web, asha, market):
    from marketdata.models import Instrument

    Instrument.objects.create(tradingsymbol="TCS", name="Tata Consultancy Services Ltd.")
    [watchlist] = services.watchlists_ensure(user=asha)
    for key in ("INFY", "TCS", "SMALLCAP"):
        services.watchlist_add(user=asha, watchlist_id=watchlist.pk, key=key)
    order = lambda: list(  # noqa: E731
        watchlist.items.order_by("position").values_list("instrument__tradingsymbol", flat=True)
    )
    last = watchlist.items.get(instrument__tradingsymbol="SMALLCAP")
    web.post(reverse("web:watch-move", args=[watchlist.pk]), {"item": last.pk, "by": -1})
    assert order() == ["INFY", "SMALLCAP", "TCS"]
    first = watchlist.items.get(instrument__tradingsymbol="INFY")
    web.post(reverse("web:watch-move", args=[watchlist.pk]), {"item": first.pk, "by": -1})
    assert order() == ["INFY", "SMALLCAP", "TCS"]  # at the top it stays
    web.post(reverse("web:watch-remove", args=[watchlist.pk]), {"item": first.pk})
    assert order() == ["SMALLCAP", "TCS"]


@pytest.mark.parametrize(
    ("key", "said"),
    [("", "Name an instrument"), ("NSE:NOPE", "There is no instrument NSE:NOPE"),
     ("INFY", "already on")],
)  # fmt: skip
def test_a_bad_add_is_refused_naming_the_problem(web, asha, key, said):
    [watchlist] = services.watchlists_ensure(user=asha)
    services.watchlist_add(user=asha, watchlist_id=watchlist.pk, key="NSE:INFY")
    answer = web.post(reverse("web:watch-add", args=[watchlist.pk]), {"key": key},
                            follow=True)  # fmt: skip
    assert said in answer.content.decode()
    assert watchlist.items.count() == 1


def test_another_users_list_is_a_404_and_refused_by_every_action(web, asha, market,
                                                                  django_user_model):  # fmt: skip
    other = django_user_model.objects.create_user("bina")
    [theirs] = services.watchlists_ensure(user=other)
    services.watchlist_add(user=other, watchlist_id=theirs.pk, key="NSE:INFY")
    item = theirs.items.get()
    assert web.get(reverse("web:watchlist", args=[theirs.pk])).status_code == 404
    for name, data in [("web:watch-add", {"key": "NSE:SMALLCAP"}), ("web:watch-remove", {"item": item.pk}),
                       ("web:watch-move", {"item": item.pk, "by": 1}),
                       ("web:watch-rename", {"name": "mine now"}), ("web:watch-delete", {})]:  # fmt: skip
        answer = web.post(reverse(name, args=[theirs.pk]), data, follow=True)
        assert f"You have no watchlist {theirs.pk}." in answer.content.decode(), name
    theirs.refresh_from_db()
    assert (theirs.name, theirs.items.count()) == ("Watchlist 1", 1)


def test_lists_are_limited_named_once_and_the_last_one_stays(asha):
    services.watchlists_ensure(user=asha)
    for n in range(2, MAX_WATCHLISTS + 1):
        services.watchlist_create(user=asha, name=f"List {n}")
    with pytest.raises(WatchlistRefused, match=f"You have {MAX_WATCHLISTS} watchlists"):
        services.watchlist_create(user=asha, name="One too many")
    with pytest.raises(WatchlistRefused, match="already have a watchlist named 'List 2'"):
        services.watchlist_rename(
            user=asha, watchlist_id=Watchlist.objects.get(name="List 3").pk, name=" List  2 "
        )
    with pytest.raises(WatchlistRefused, match="Give the watchlist a name"):
        services.watchlist_create(user=asha, name="   ")
    with pytest.raises(WatchlistRefused, match="at most 40 characters"):
        services.watchlist_create(user=asha, name="x" * 41)
    for watchlist in Watchlist.objects.filter(user=asha).exclude(name="Watchlist 1"):
        services.watchlist_delete(user=asha, watchlist_id=watchlist.pk)
    [last] = Watchlist.objects.filter(user=asha)
    services.watchlist_add(user=asha, watchlist_id=last.pk, key="INFY")
    services.watchlist_delete(user=asha, watchlist_id=last.pk)
    assert Watchlist.objects.filter(user=asha).count() == 1  # emptied, kept
    assert not WatchlistItem.objects.exists()


def test_the_account_switcher_offers_only_the_users_accounts(web, asha, account):
    from compliance.models import Client as Customer

    second = TradingAccount.objects.create(code="TS0099", client=account.client)
    second.users.add(asha)
    stranger = TradingAccount.objects.create(
        code="TS0500", client=Customer.objects.create(name="Other", pan="ABCPO1234K")
    )
    web.post(reverse("web:account"), {"account": "TS0099", "next": "/watch/"})
    assert 'value="TS0099" selected' in web.get(reverse("web:watch")).content.decode()
    refused = web.post(reverse("web:account"), {"account": stranger.code}, follow=True)
    html = unescape(refused.content.decode())
    assert "You have no account 'TS0500'." in html
    assert "TS0500" not in html.replace("You have no account 'TS0500'.", "")
    for elsewhere in ("//evil.example/", "/\\evil.example/", "https://evil.example/"):
        away = web.post(reverse("web:account"), {"account": "TS0001", "next": elsewhere})
        assert away.url == reverse("web:watch"), elsewhere


def test_funds_show_what_is_available(web, account):
    html = web.get(reverse("web:watch")).content.decode()
    assert account.cash_balance == Decimal("1000000.00")
    assert 'Available <strong class="num">₹10,00,000.00</strong>' in html
    assert 'Used margin <strong class="num">₹0.00</strong>' in html


@pytest.mark.parametrize(
    ("amount", "shown"),
    [("0", "₹0.00"), ("999.5", "₹999.50"), ("1000", "₹1,000.00"), ("123456.789", "₹1,23,456.79"),
     ("-12345678", "-₹1,23,45,678.00"), (None, "")],
)  # fmt: skip
def test_money_is_grouped_the_indian_way(amount, shown):
    from web.templatetags.money import inr

    assert inr(None if amount is None else Decimal(amount)) == shown
