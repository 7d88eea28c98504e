"""Fixtures of the web app's tests: a signed-in trader, the feed ticking, and the browser's
sign-in and error capture."""

import threading
import time

import pytest
from django.contrib.auth.models import Group

PASSWORD = "not-a-real-password-1"


@pytest.fixture
def asha(account):
    """The account's user ("asha"), a Trader with a password."""
    user = account.users.get()
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get(name="Trader"))
    return user


@pytest.fixture
def web(asha):
    """A test client signed in as asha."""
    from django.test import Client

    client = Client()
    client.force_login(asha)
    return client


@pytest.fixture
def ticking(settings):
    """The NIFTY 50 (INFY among them) and a feed thread ticking four times a second."""
    from marketdata.feed import feed_tick
    from marketdata.importers import parse_index_constituents
    from marketdata.management.commands.import_instruments import NIFTY_50_FILE
    from marketdata.selectors import instrument_specs
    from marketdata.services import instruments_import

    settings.MARKETDATA_ALWAYS_OPEN = True
    instruments_import(
        rows=parse_index_constituents(NIFTY_50_FILE.read_text()).rows, index="NIFTY 50"
    )
    instrument_specs()  # loaded here, so the feed thread needs no database
    stop = threading.Event()

    def ticks() -> None:
        while not stop.is_set():
            feed_tick()
            time.sleep(0.25)

    thread = threading.Thread(target=ticks, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=5)


def sign_in(page, url: str, username: str = "asha") -> None:
    """Sign in through the web app's sign-in page; on the watch after it."""
    page.goto(url + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/watch/")


def console_errors(page) -> list[str]:
    """The page's console errors and uncaught exceptions, as they come."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors
