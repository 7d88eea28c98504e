"""The chart page: candles of one instrument from the bars API (1m to 1d), with volume, an
SMA and an EMA, drawn in the browser by the vendored lightweight-charts."""

from __future__ import annotations

from datetime import timedelta

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from marketdata import calendar
from marketdata.selectors import UnknownInstrument, instrument_get
from web.views import page, signed_in

#: Days of bars a chart asks for at each interval (within the bars API's ranges).
SPAN_DAYS = {"1m": 5, "5m": 20, "15m": 40, "1h": 120, "1d": 730}


@signed_in
def chart(request: HttpRequest, key: str) -> HttpResponse:
    interval = request.GET.get("interval", "1d")
    if interval not in SPAN_DAYS:
        interval = "1d"
    try:
        instrument = instrument_get(key.upper())
    except UnknownInstrument:
        raise Http404(f"There is no instrument {key}.") from None
    today = timezone.localdate(timezone.now(), calendar.IST)
    start = today - timedelta(days=SPAN_DAYS[interval])
    source = (
        f"{reverse('api:instrument-bars', args=[instrument.key])}"
        f"?interval={interval}&from={start.isoformat()}&to={today.isoformat()}"
    )
    return page(
        request, "web/chart.html", instrument=instrument, interval=interval,
        intervals=list(SPAN_DAYS), source=source, nav="watch",
    )  # fmt: skip
