"""Market-data API: contracts, permissions and every kind of bad input as problem+json."""

from datetime import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from marketdata.calendar import IST
from marketdata.models import Bar
from marketdata.services import history_generate

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


@pytest.fixture
def trader(api_client, user_in_role):
    api_client.force_authenticate(user_in_role("Trader"))
    return api_client


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    return response.json()


def test_instrument_search_and_detail(trader, instruments):
    found = trader.get("/api/v1/instruments", {"q": "inf"}).json()
    assert [i["key"] for i in found["results"]] == ["NSE:INFY"]
    by_sector = trader.get("/api/v1/instruments", {"sector": "financial services"}).json()
    assert [i["tradingsymbol"] for i in by_sector["results"]] == ["HDFCBANK", "SBIN"]
    by_isin = trader.get("/api/v1/instruments", {"q": "INE467B01029"}).json()
    assert by_isin["count"] == 1
    detail = trader.get("/api/v1/instruments/NSE:TCS").json()
    assert (detail["tick_size"], detail["lot_size"], detail["indices"]) == (
        "0.0500",
        1,
        ["NIFTY 50"],
    )
    assert problem(trader.get("/api/v1/instruments/NSE:NOSUCH"), 404)["detail"] == (
        "unknown instrument(s): NSE:NOSUCH"
    )


def test_batch_quotes_in_every_mode(trader, instruments):
    full = trader.get("/api/v1/quotes", {"i": ["NSE:INFY", "NSE:TCS"]}).json()
    assert list(full["data"]) == ["NSE:INFY", "NSE:TCS"]
    infy = full["data"]["NSE:INFY"]
    assert set(infy) == {"last_price", "ohlc", "net_change", "volume", "depth", "timestamp"}
    assert Decimal(infy["depth"]["buy"][0]["price"]) <= Decimal(infy["last_price"])
    for side, best in (("buy", max), ("sell", min)):
        levels = infy["depth"][side]
        assert len(levels) == 5
        assert set(levels[0]) == {"price", "quantity", "orders"}
        assert Decimal(levels[0]["price"]) == best(Decimal(x["price"]) for x in levels)
    assert full["market"]["calendar"] == "XNSE"
    ltp = trader.get("/api/v1/quotes/ltp", {"i": "NSE:INFY"}).json()["data"]
    assert ltp == {"NSE:INFY": {"last_price": infy["last_price"]}}
    ohlc = trader.get("/api/v1/quotes/ohlc", {"i": "NSE:INFY"}).json()["data"]["NSE:INFY"]
    assert ohlc["ohlc"] == infy["ohlc"]


def test_quotes_for_a_whole_index(trader, instruments):
    data = trader.get("/api/v1/quotes/ltp", {"index": "NIFTY 50"}).json()["data"]
    assert set(data) == {"NSE:INFY", "NSE:TCS", "NSE:HDFCBANK", "NSE:SBIN"}


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({}, "i", "Give at least one instrument key, or index."),
        ({"i": ["NSE:INFY", "NSE:NOSUCH", "BSE:XYZ"]}, "i", "unknown instrument NSE:NOSUCH"),
        ({"index": "NIFTY NEXT 500"}, "index", "unknown index"),
        (
            {"i": [f"NSE:S{n}" for n in range(501)]},
            "i",
            "Ensure this field has no more than 500 elements.",
        ),
        ({"i": "X" * 41}, "i.0", "Ensure this field has no more than 40 characters."),
    ],
)
def test_bad_quote_requests(trader, instruments, params, field, message):
    body = problem(trader.get("/api/v1/quotes", params), 400)
    assert message in body["errors"][field]


def test_unknown_keys_are_all_named(trader, instruments):
    body = problem(trader.get("/api/v1/quotes", {"i": ["NSE:NOSUCH", "BSE:XYZ"]}), 400)
    assert body["errors"]["i"] == ["unknown instrument BSE:XYZ", "unknown instrument NSE:NOSUCH"]


@pytest.fixture
def history(instruments):
    history_generate(days=2, end=datetime(2026, 11, 20).date(), keys=["NSE:INFY"])


def test_bars_by_interval_and_range(trader, history):
    body = trader.get(
        "/api/v1/instruments/NSE:INFY/bars",
        {"interval": "1h", "from": "2026-11-20", "to": "2026-11-20"},
    ).json()
    assert body["columns"] == ["start", "open", "high", "low", "close", "volume"]
    assert [b[0] for b in body["bars"]][:2] == [
        "2026-11-20T09:15:00+05:30",
        "2026-11-20T10:15:00+05:30",
    ]
    assert len(body["bars"]) == 7
    daily = trader.get(
        "/api/v1/instruments/NSE:INFY/bars",
        {"interval": "1d", "from": "2026-11-01", "to": "2026-11-30"},
    ).json()["bars"]
    assert len(daily) == 2
    stored = Bar.objects.get(interval="1d", start=datetime(2026, 11, 20, 9, 15, tzinfo=IST))
    assert daily[-1][4] == str(stored.close)


def test_bars_with_datetimes_are_read_in_ist(trader, history):
    bars = trader.get(
        "/api/v1/instruments/NSE:INFY/bars",
        {"interval": "1m", "from": "2026-11-20T09:15", "to": "2026-11-20T09:20"},
    ).json()["bars"]
    assert len(bars) == 5


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"interval": "3m", "from": "2026-11-01", "to": "2026-11-02"}, "interval", '"3m" is not a valid choice.'),
        ({"interval": "1d", "from": "2026-11-10", "to": "2026-11-01"}, "to", "must be after start"),
        ({"interval": "1m", "from": "2026-01-01", "to": "2026-11-01"}, "to", "1m bars can be asked for at most 60 days at a time"),
        ({"interval": "1d", "from": "1990-01-01", "to": "2026-01-01"}, "to", "1d bars can be asked for at most 2000 days at a time"),
        ({"interval": "1d", "from": "yesterday", "to": "2026-01-01"}, "from", "'yesterday' is not a date (YYYY-MM-DD) or an ISO datetime."),
        ({"interval": "1d", "to": "2026-01-01"}, "from", "This field may not be null."),
    ],
)  # fmt: skip
def test_bad_bar_requests(trader, history, params, field, message):
    body = problem(trader.get("/api/v1/instruments/NSE:INFY/bars", params), 400)
    assert message in body["errors"][field], body


def test_bars_of_an_unknown_instrument_is_404(trader, instruments):
    params = {"interval": "1d", "from": "2026-11-01", "to": "2026-11-02"}
    problem(trader.get("/api/v1/instruments/NSE:NOSUCH/bars", params), 404)


def test_market_status(trader):
    assert trader.get("/api/v1/market/status").json()["calendar"] == "XNSE"


def test_reading_market_data_needs_the_permission(api_client, django_user_model, instruments):
    api_client.force_authenticate(django_user_model.objects.create_user("nobody"))
    body = problem(api_client.get("/api/v1/quotes", {"i": "NSE:INFY"}), 403)
    assert "marketdata.view_market_data" in body["detail"]
    api_client.force_authenticate(None)
    problem(api_client.get("/api/v1/quotes", {"i": "NSE:INFY"}), 401)


BHAVCOPY = (
    "SYMBOL,SERIES,OPEN,HIGH,LOW,CLOSE,LAST,PREVCLOSE,TOTTRDQTY,TOTTRDVAL,TIMESTAMP,TOTALTRADES,ISIN,\n"
    "INFY,EQ,1500,1520.5,1490,1510.25,1510,1498.6,5000000,7550000000,20-NOV-2026,120000,INE009A01021,\n"
    "TCS,EQ,3600,3650,3590,3640,3641,3601.1,2000000,7280000000,20-NOV-2026,90000,INE467B01029,\n"
)


def upload(client, path, text, **fields):
    file = SimpleUploadedFile("bhav.csv", text.encode(), content_type="text/csv")
    return client.post(path, {"file": file, **fields}, format="multipart")


def test_staff_import_of_a_bhavcopy(api_client, user_in_role, instruments):
    api_client.force_authenticate(user_in_role("Operations"))
    response = upload(api_client, "/api/v1/marketdata/imports/bars", BHAVCOPY, interval="1d")
    assert response.status_code == 201, response.content
    assert response.json()["bars"] == 2
    assert Bar.objects.filter(interval="1d").count() == 2


def test_a_bad_row_rejects_the_whole_upload(api_client, user_in_role, instruments):
    api_client.force_authenticate(user_in_role("Operations"))
    bad = BHAVCOPY.replace("3600,3650,3590", "3600,3550,3590")  # high below low
    body = problem(upload(api_client, "/api/v1/marketdata/imports/bars", bad), 400)
    assert body["errors"]["file"][0].startswith("line 3: ")
    assert Bar.objects.count() == 0


def test_unknown_symbols_in_an_upload_are_named(api_client, user_in_role, instruments):
    api_client.force_authenticate(user_in_role("Operations"))
    text = BHAVCOPY + "NOSUCH,EQ,10,11,9,10,10,10,100,1000,20-NOV-2026,5,,\n"
    body = problem(upload(api_client, "/api/v1/marketdata/imports/bars", text), 400)
    assert body["errors"]["file"] == ["line 4: unknown instrument NSE:NOSUCH"]
    assert Bar.objects.count() == 0


def test_an_unreadable_file_is_400(api_client, user_in_role):
    api_client.force_authenticate(user_in_role("Operations"))
    body = problem(
        upload(api_client, "/api/v1/marketdata/imports/bars", "just,some,words\n1,2,3\n"), 400
    )
    assert "file" in body["errors"]
    binary = SimpleUploadedFile("x.csv", b"\xff\xfe\x00garbage", content_type="text/csv")
    body = problem(
        api_client.post("/api/v1/marketdata/imports/bars", {"file": binary}, format="multipart"),
        400,
    )
    assert body["errors"]["file"] == ["the file is not UTF-8 text"]


def test_instrument_import_by_upload(api_client, user_in_role):
    api_client.force_authenticate(user_in_role("Operations"))
    text = "Company Name,Industry,Symbol,Series,ISIN Code\nInfosys Ltd.,Information Technology,INFY,EQ,INE009A01021\n"
    response = upload(
        api_client, "/api/v1/marketdata/imports/instruments", text, format="index", index="NIFTY 50"
    )
    assert response.status_code == 201, response.content
    assert response.json()["index_members"] == 1
    body = problem(
        upload(api_client, "/api/v1/marketdata/imports/instruments", text, format="index"), 400
    )
    assert body["errors"] == {"index": ["required with format=index"]}


def test_traders_cannot_import(trader, instruments):
    body = problem(upload(trader, "/api/v1/marketdata/imports/bars", BHAVCOPY), 403)
    assert "marketdata.import_market_data" in body["detail"]


def test_instrument_admin_links_to_the_market_watch(client, user_in_role, instruments, otp_login):
    otp_login(client, user_in_role("Risk Manager"))
    page = client.get("/admin/marketdata/instrument/").content.decode()
    assert 'href="/admin/marketdata/instrument/watch/"' in page
    watch = client.get("/admin/marketdata/instrument/watch/")
    assert watch.status_code == 200
    assert "marketdata/watch.js" in watch.content.decode()


def test_market_watch_needs_market_data_permission(client, django_user_model, otp_login):
    otp_login(client, django_user_model.objects.create_user("staffer", is_staff=True))
    assert client.get("/admin/marketdata/instrument/watch/").status_code == 403
