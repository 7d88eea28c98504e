"""Management commands: progress recorded for the admin, bad files rejected whole."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from marketdata.models import Bar, IndexMembership, Instrument
from ops.models import JobRun

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue()


def test_import_nifty50_records_its_job():
    output = run("import_instruments", "--nifty50")
    assert "'created': 50" in output
    assert IndexMembership.objects.filter(index="NIFTY 50").count() == 50
    job = JobRun.objects.get(kind="marketdata.import_instruments")
    assert (job.status, job.done, job.total, job.result["created"]) == ("succeeded", 50, 50, 50)


def test_import_equity_list(tmp_path):
    path = tmp_path / "EQUITY_L.csv"
    path.write_text(
        "SYMBOL,NAME OF COMPANY, SERIES, DATE OF LISTING, PAID UP VALUE, MARKET LOT, ISIN NUMBER, FACE VALUE\n"
        "INFY,Infosys Limited,EQ,08-FEB-1995,5,1,INE009A01021,5\n"
        "20MICRONS,20 Microns Limited,EQ,06-OCT-2008,5,1,INE144J01027,5\n"
    )
    run("import_instruments", str(path))
    micro = Instrument.objects.get(tradingsymbol="20MICRONS")
    assert (str(micro.listing_date), micro.face_value, micro.lot_size) == ("2008-10-06", 5, 1)


def test_a_bad_instrument_file_names_the_line_and_imports_nothing(tmp_path):
    path = tmp_path / "EQUITY_L.csv"
    path.write_text(
        "SYMBOL,NAME OF COMPANY, SERIES, DATE OF LISTING, PAID UP VALUE, MARKET LOT, ISIN NUMBER, FACE VALUE\n"
        "INFY,Infosys Limited,EQ,08-FEB-1995,5,1,INE009A01021,5\n"
        "BAD,Bad Isin Ltd,EQ,08-FEB-1995,5,1,INE009A01022,5\n"
    )
    err = StringIO()
    with pytest.raises(CommandError, match="1 bad row"):
        call_command("import_instruments", str(path), stderr=err)
    assert "line 3" in err.getvalue()
    assert "INE009A01022" in err.getvalue()
    assert Instrument.objects.count() == 0


def test_missing_file_is_a_clear_error():
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_instruments", "/no/such/file.csv")


def test_import_bars_rejects_a_bad_file_whole(tmp_path, instruments):
    path = tmp_path / "infy.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2026-11-20 09:15,1500,1501,1499,1500.5,100\n"
        "2026-11-20 09:16,1500,1499,1501,1500.5,100\n"
        "2026-11-20 09:17,1500,1501,1499,abc,100\n"
    )
    err = StringIO()
    with pytest.raises(CommandError, match="3 bad row"):  # line 3 breaks two rules
        call_command("import_bars", str(path), "--interval", "1m", "--symbol", "INFY", stderr=err)
    assert "line 3" in err.getvalue()
    assert "line 4" in err.getvalue()
    assert Bar.objects.count() == 0


def test_import_bars_then_reimport(tmp_path, instruments):
    path = tmp_path / "infy.csv"
    path.write_text(
        "symbol,timestamp,open,high,low,close,volume\n"
        "INFY,2026-11-20 09:15,1500,1501,1499,1500.5,100\n"
        "INFY,2026-11-20 09:16,1500.5,1502,1500,1501,150\n"
    )
    run("import_bars", str(path), "--interval", "1m")
    run("import_bars", str(path), "--interval", "1m")
    assert Bar.objects.filter(interval="1m").count() == 2
    assert Bar.objects.get(interval="1d").volume == 250
    assert JobRun.objects.filter(kind="marketdata.import_bars", status="succeeded").count() == 2


def test_generate_history_with_progress(instruments):
    output = run("generate_history", "--days", "1", "--symbols", "NSE:INFY", "--end", "2026-11-20")
    assert "'bars': 483" in output
    job = JobRun.objects.get(kind="marketdata.generate_history")
    assert (job.done, job.total, job.unit) == (1, 1, "instrument-days")


def test_generate_history_daily_only_writes_each_sessions_day_bar_as_the_full_run(instruments):
    run("generate_history", "--days", "3", "--symbols", "NSE:INFY", "--end", "2026-11-20",
        "--daily-only")  # fmt: skip
    assert set(Bar.objects.values_list("interval", flat=True)) == {"1d"}
    daily = list(Bar.objects.order_by("start").values_list("start", "open", "high", "close"))
    assert len(daily) == 3
    Bar.objects.all().delete()
    run("generate_history", "--days", "3", "--symbols", "NSE:INFY", "--end", "2026-11-20")
    full = Bar.objects.filter(interval="1d").order_by("start")
    assert list(full.values_list("start", "open", "high", "close")) == daily


def test_generate_history_refuses_absurd_days(instruments):
    with pytest.raises(CommandError, match="between 1 and 3660"):
        call_command("generate_history", "--days", "0")
    assert JobRun.objects.get(kind="marketdata.generate_history").status == "failed"


def test_warm_cache_command(instruments):
    assert "'warmed': 4" in run("warm_cache")
