"""The admin of backtest runs: results read-only (metrics, trades, the chart as a PNG of its
own URL), the "Run a backtest" form through the service, compare selected runs side by side
with one chart; and who may see, run and delete. Also the charts themselves, drawn from
results made here."""

import io
import os
from pathlib import Path

import numpy as np
import pytest
from django.urls import reverse
from matplotlib.image import imread

from strategies.charts import _reduced, compare_chart_png, equity_chart_png, run_chart_png
from strategies.models import BacktestRun
from strategies.services import backtest_execute, backtest_request, drawdown_pct

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_strategy")]
PNG = b"\x89PNG\r\n\x1a\n"
CHANGELIST = "/admin/strategies/backtestrun/"
#: Where the pictures go to be looked at (set to keep them): STRATEGIES_CHART_DIR=/tmp/charts
CHART_DIR = os.environ.get("STRATEGIES_CHART_DIR", "")


def keep(name: str, png: bytes) -> None:
    if CHART_DIR:
        Path(CHART_DIR).mkdir(parents=True, exist_ok=True)
        (Path(CHART_DIR) / name).write_bytes(png)


def picture(png: bytes) -> np.ndarray:
    assert png.startswith(PNG)
    return imread(io.BytesIO(png), format="png")


@pytest.fixture
def admin_client(client, administrator, otp_login):
    return otp_login(client, administrator)


@pytest.fixture
def second_run(fake_engine, administrator, request_data):
    run = backtest_request(
        user=administrator, data={**request_data, "params": {"level": 95}}, enqueue=False
    )
    return backtest_execute(run.pk)


# --- charts --------------------------------------------------------------------------


def test_the_run_chart_is_a_png_of_two_panels_over_dates(succeeded_run):
    png = run_chart_png(succeeded_run)
    keep("run.png", png)
    image = picture(png)
    assert image.shape[:2] == (600, 1000)  # 10 x 6 inches at 100 dpi
    # Both panels drew: the equity line's blue and the drawdown's red are in the picture.
    rgb = image[..., :3]
    assert (np.abs(rgb - [0x1F / 255, 0x5F / 255, 0xA8 / 255]).sum(axis=-1) < 0.05).sum() > 200
    assert (np.abs(rgb - [0xC0 / 255, 0x39 / 255, 0x2B / 255]).sum(axis=-1) < 0.05).sum() > 100


def test_a_million_bars_draw_from_their_lows_and_highs():
    n = 1_000_000
    times = np.datetime64("2024-01-01T03:45", "us") + np.arange(n) * np.timedelta64(1, "m")
    equity = 1e6 * np.cumprod(1 + np.random.default_rng(5).normal(0, 1e-4, n))
    t, e = _reduced(times, equity)
    assert len(t) <= 4000
    assert (e.min(), e.max()) == (equity.min(), equity.max())  # every trough and peak kept
    assert np.all(np.diff(t) > np.timedelta64(0))
    png = equity_chart_png(
        times=times, equity=equity, drawdown=drawdown_pct(equity), title="a million bars"
    )
    keep("million.png", png)
    assert picture(png).shape[:2] == (600, 1000)


def test_a_chart_needs_one_value_per_bar():
    with pytest.raises(ValueError, match="one equity and one drawdown value per bar"):
        equity_chart_png(
            times=np.zeros(3, "datetime64[us]"), equity=np.ones(3), drawdown=np.ones(2), title=""
        )


def test_runs_compared_on_one_chart(succeeded_run, second_run):
    png = compare_chart_png([succeeded_run, second_run])
    keep("compare.png", png)
    assert picture(png).shape[:2] == (500, 1000)
    with pytest.raises(ValueError, match="no succeeded runs"):
        compare_chart_png([BacktestRun(status=BacktestRun.Status.QUEUED)])


# --- the admin -----------------------------------------------------------------------


def test_a_runs_page_shows_its_metrics_trades_and_chart(admin_client, succeeded_run):
    page = admin_client.get(f"{CHANGELIST}{succeeded_run.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<table class="backtest-metrics">' in html
    assert "<th>total_return</th>" in html
    assert "<th>sharpe</th><td>—</td>" in html  # an undefined ratio, shown as such
    assert '<table class="backtest-trades">' in html
    assert succeeded_run.trades[0]["entry_date"] in html
    chart_url = reverse("admin:strategies_backtestrun_chart", args=[succeeded_run.pk])
    assert f'<img src="{chart_url}"' in html
    assert "v1.2.3-test" in html  # the code version
    assert 'name="_save"' not in html  # read-only
    chart = admin_client.get(chart_url)
    assert chart.status_code == 200
    assert chart["Content-Type"] == "image/png"
    assert chart.content.startswith(PNG)


def test_a_queued_run_has_no_chart(admin_client, administrator, request_data):
    run = backtest_request(user=administrator, data=request_data, enqueue=False)
    url = reverse("admin:strategies_backtestrun_chart", args=[run.pk])
    assert admin_client.get(url).status_code == 404


def test_the_run_form_queues_a_backtest_through_the_service(
    admin_client, request_data, django_capture_on_commit_callbacks
):
    url = reverse("admin:strategies_backtestrun_run")
    form = admin_client.get(url)
    assert form.status_code == 200
    assert b'<option value="test_threshold">Close above a level (test)</option>' in form.content
    assert b"<code>level=100.0</code> [0..]" in form.content  # the catalogue, with bounds
    posted = {
        **request_data, "params": "level=101.5\nconfirm=2", "date_from": "2024-01-01",
        "date_to": request_data["date_to"].isoformat(), "slippage_bps": "2", "costs": "none",
    }  # fmt: skip
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        answer = admin_client.post(url, posted)
    run = BacktestRun.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == reverse("admin:strategies_backtestrun_change", args=[run.pk])
    assert (run.params, run.requested_by.username) == ({"level": 101.5, "confirm": 2}, "ada")
    assert (run.status, len(callbacks)) == ("queued", 1)


def test_the_run_form_shows_refusals_on_their_fields_and_makes_nothing(admin_client, request_data):
    posted = {
        **request_data, "params": "level=-3", "instrument": "NSE:NOPE",
        "date_from": "2024-01-01", "date_to": "2024-02-01", "costs": "none", "slippage_bps": "0",
    }  # fmt: skip
    answer = admin_client.post(reverse("admin:strategies_backtestrun_run"), posted)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "parameter level: -3.0 is below 0" in html
    assert "unknown instrument(s): NSE:NOPE" in html
    assert not BacktestRun.objects.exists()


def test_staff_who_may_only_look_see_runs_but_cannot_run_or_delete(
    client, otp_login, risk_manager, succeeded_run
):
    otp_login(client, risk_manager)
    listing = client.get(CHANGELIST)
    assert listing.status_code == 200
    assert f"{CHANGELIST}{succeeded_run.pk}/change/".encode() in listing.content
    assert b"Run a backtest" not in listing.content
    assert client.get(reverse("admin:strategies_backtestrun_run")).status_code == 403
    assert client.get(f"{CHANGELIST}{succeeded_run.pk}/delete/").status_code == 403
    assert client.get(f"{CHANGELIST}{succeeded_run.pk}/change/").status_code == 200


def test_staff_without_the_strategies_permission_see_nothing(
    client, otp_login, user_in_role, succeeded_run
):
    otp_login(client, user_in_role("Operations", "omar"))
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(f"{CHANGELIST}{succeeded_run.pk}/change/").status_code == 403
    chart = reverse("admin:strategies_backtestrun_chart", args=[succeeded_run.pk])
    assert client.get(chart).status_code == 403
    index = client.get("/admin/")
    assert b"/admin/strategies/backtestrun/" not in index.content


def test_the_administrator_may_delete_a_run(admin_client, succeeded_run):
    answer = admin_client.post(f"{CHANGELIST}{succeeded_run.pk}/delete/", {"post": "yes"})
    assert answer.status_code == 302
    assert not BacktestRun.objects.exists()


def test_compare_selected_shows_params_and_metrics_side_by_side(
    admin_client, succeeded_run, second_run
):
    ids = [succeeded_run.pk, second_run.pk]
    answer = admin_client.post(CHANGELIST, {"action": "compare_selected", "_selected_action": ids})
    assert answer.status_code == 302
    compare = reverse("admin:strategies_backtestrun_compare")
    assert answer["Location"] == f"{compare}?ids={min(ids)},{max(ids)}"
    page = admin_client.get(answer["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "<tr><th>param level</th><td>101.5</td><td>95</td></tr>" in html
    assert "<tr><th>num_trades</th><td>1</td><td>1</td></tr>" in html
    chart = reverse("admin:strategies_backtestrun_compare_chart")
    assert f'<img src="{chart}?ids={min(ids)},{max(ids)}"' in html
    png = admin_client.get(f"{chart}?ids={min(ids)},{max(ids)}")
    assert (png.status_code, png["Content-Type"]) == (200, "image/png")
    assert admin_client.get(f"{compare}?ids=x").status_code == 404


def test_a_trader_compares_only_runs_they_may_see(
    client, otp_login, tom, risk_manager, succeeded_run
):
    # The compare page answers for the runs the user may see: a staff viewer sees both,
    # and asking for a run that is not visible is the same as asking for none.
    otp_login(client, risk_manager)
    page = client.get(f"{reverse('admin:strategies_backtestrun_compare')}?ids={succeeded_run.pk}")
    assert page.status_code == 200
    assert b"test_threshold" in page.content
    assert (
        client.get(f"{reverse('admin:strategies_backtestrun_compare')}?ids=999999").status_code
        == 404
    )


def test_a_quant_runs_a_backtest_from_the_admin_and_sees_its_chart(
    admin_client, django_capture_on_commit_callbacks
):
    from marketdata.models import Instrument
    from strategies.tests.conftest import day_bars

    long = Instrument.objects.create(tradingsymbol="LONGCO", name="Long History Ltd.")
    day_bars(long, days=400)
    posted = {
        "strategy": "sma_cross", "params": "fast=5\nslow=20", "instrument": "NSE:LONGCO",
        "interval": "1d", "date_from": "2024-01-01", "date_to": "2025-12-31", "quantity": "100",
        "cash": "100000", "commission_pct": "0.03", "slippage_bps": "5", "costs": "india",
    }  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        answer = admin_client.post(reverse("admin:strategies_backtestrun_run"), posted)
    assert answer.status_code == 302
    run = BacktestRun.objects.get(instrument=long)
    assert run.status == BacktestRun.Status.SUCCEEDED, run.error
    assert (run.bar_count, len(run.equity)) == (400, 400)
    assert run.trades
    page = admin_client.get(answer["Location"])
    assert b"backtest-trades" in page.content
    chart = admin_client.get(reverse("admin:strategies_backtestrun_chart", args=[run.pk]))
    keep("sma_cross.png", chart.content)
    assert picture(chart.content).shape[:2] == (600, 1000)
