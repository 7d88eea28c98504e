"""Market-data API: instruments, quotes (full, LTP, OHLC), historical bars, market status, imports.

Keys are ``EXCHANGE:SYMBOL`` (``NSE:INFY``), as in Kite Connect. Quotes come through the
price cache; bars from the database.
"""

from datetime import date, datetime, time, timedelta

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketdata import calendar
from marketdata.choices import Interval
from marketdata.importers import (
    ImportFormatError,
    parse_bars,
    parse_equity_list,
    parse_index_constituents,
)
from marketdata.models import Instrument
from marketdata.pricecache import quote_get_many
from marketdata.quotes import Quote
from marketdata.selectors import (
    UnknownInstrument,
    bars_between,
    index_member_keys,
    instrument_get,
    instrument_search,
)
from marketdata.services import BarImportError, bars_import, instruments_import
from ops.progress import job_progress
from tradingsite.errors import ProblemError
from tradingsite.permissions import holds

ViewMarketData = holds("marketdata.view_market_data")
ImportMarketData = holds("marketdata.import_market_data")

MAX_QUOTE_KEYS = 500
#: The longest range one bars request may span, per interval (as Kite Connect allows).
MAX_BAR_RANGE = {"1m": 60, "5m": 100, "15m": 200, "1h": 400, "1d": 2000}
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def _unknown_problem(exc: UnknownInstrument, field: str) -> ProblemError:
    return ProblemError(
        f"Unknown instrument(s): {', '.join(exc.keys)}.",
        problem_type="validation-error",
        errors={field: [f"unknown instrument {key}" for key in exc.keys]},
    )


# --- Instruments -----------------------------------------------------------------------------


class InstrumentOutput(serializers.ModelSerializer):
    key = serializers.CharField(read_only=True)
    indices = serializers.SerializerMethodField()

    class Meta:
        model = Instrument
        fields = [
            "key", "exchange", "tradingsymbol", "isin", "name", "sector", "series", "lot_size",
            "tick_size", "price_band_pct", "freeze_quantity", "face_value", "listing_date",
            "is_active", "asm_stage", "gsm_stage", "indices",
        ]  # fmt: skip

    def get_indices(self, instrument: Instrument) -> list[str]:
        return [m.index for m in instrument.indices.all()]


class InstrumentList(generics.ListAPIView):
    """Search the instrument master by symbol prefix, name or ISIN; filter by sector or index."""

    permission_classes = [ViewMarketData]
    serializer_class = InstrumentOutput
    filter_backends = []

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="Symbol prefix, part of the name, or an ISIN"),
            OpenApiParameter("sector", str),
            OpenApiParameter("index", str, description="e.g. NIFTY 50"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        return instrument_search(
            params.get("q", "").strip(),
            sector=params.get("sector", ""),
            index=params.get("index", ""),
        ).prefetch_related("indices")


class InstrumentDetail(APIView):
    permission_classes = [ViewMarketData]

    @extend_schema(operation_id="instrument_detail", responses=InstrumentOutput)
    def get(self, request: Request, key: str) -> Response:
        try:
            instrument = instrument_get(key)
        except UnknownInstrument as exc:
            raise ProblemError(str(exc), problem_type="not-found") from exc
        return Response(InstrumentOutput(instrument).data)


# --- Quotes ------------------------------------------------------------------------------------


class QuotesInput(serializers.Serializer):
    i = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, max_length=MAX_QUOTE_KEYS,
        help_text="Instrument keys, repeated: ?i=NSE:INFY&i=NSE:TCS",
    )  # fmt: skip
    index = serializers.CharField(
        required=False, help_text="All members of an index, e.g. NIFTY 50"
    )

    def validate(self, attrs):
        if not attrs.get("i") and not attrs.get("index"):
            raise serializers.ValidationError(
                {"i": ["Give at least one instrument key, or index."]}
            )
        return attrs


def _levels(levels: tuple, price, quantity: int) -> list[dict]:
    """A side's depth, best first; the top of the book alone where the provider gives no
    depth (its order count then unknown: null)."""
    if not levels:
        return [{"price": str(price), "quantity": quantity, "orders": None}]
    return [{"price": str(x.price), "quantity": x.quantity, "orders": x.orders} for x in levels]


def _quote_data(quote: Quote, mode: str) -> dict:
    ltp = {"last_price": str(quote.last_price)}
    if mode == "ltp":
        return ltp
    ohlc = {
        "open": str(quote.open), "high": str(quote.high), "low": str(quote.low),
        "close": str(quote.prev_close),
    }  # fmt: skip
    if mode == "ohlc":
        return {**ltp, "ohlc": ohlc}
    return {
        **ltp,
        "ohlc": ohlc,
        "net_change": str(quote.last_price - quote.prev_close),
        "volume": quote.volume,
        "depth": {
            "buy": _levels(quote.bids, quote.bid, quote.bid_quantity),
            "sell": _levels(quote.asks, quote.ask, quote.ask_quantity),
        },
        "timestamp": timezone.localtime(quote.timestamp, calendar.IST).isoformat(),
    }


class QuotesView(APIView):
    """Quotes for many instruments in one call (full quote, LTP only, or OHLC)."""

    permission_classes = [ViewMarketData]
    mode = "full"

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "i", str, many=True, description="Instrument key, repeatable (max 500)"
            ),
            OpenApiParameter("index", str, description="Every member of this index, e.g. NIFTY 50"),
        ],
        responses=inline_serializer(
            "Quotes", {"data": serializers.DictField(), "market": serializers.DictField()}
        ),
    )
    def get(self, request: Request) -> Response:
        params = QuotesInput(
            data={**request.query_params.dict(), "i": request.query_params.getlist("i")}
        )
        params.is_valid(raise_exception=True)
        keys = list(params.validated_data.get("i", []))
        if params.validated_data.get("index"):
            members = index_member_keys(params.validated_data["index"])
            if not members:
                raise ProblemError(
                    f"No index called {params.validated_data['index']!r} has members.",
                    problem_type="validation-error",
                    errors={"index": ["unknown index"]},
                )
            keys += members
        try:
            quotes = quote_get_many(keys, client=request.user.get_username())
        except UnknownInstrument as exc:
            raise _unknown_problem(exc, "i") from exc
        return Response(
            {
                "data": {key: _quote_data(quote, self.mode) for key, quote in quotes.items()},
                "market": calendar.market_status(),
            }
        )


class LtpView(QuotesView):
    """Last traded prices only (the lightest quote)."""

    mode = "ltp"


class OhlcView(QuotesView):
    """Last price plus the day's open, high, low and the previous close."""

    mode = "ohlc"


class MarketStatusView(APIView):
    permission_classes = [ViewMarketData]

    @extend_schema(operation_id="market_status", responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response(calendar.market_status())


# --- Historical bars ---------------------------------------------------------------------------


def _moment(value: str, *, end: bool) -> datetime:
    """A date (whole day) or an ISO datetime; naive values are IST."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day + timedelta(days=1) if end else day, time(0), calendar.IST)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise serializers.ValidationError(
            f"{value!r} is not a date (YYYY-MM-DD) or an ISO datetime."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=calendar.IST)


class BarsInput(serializers.Serializer):
    interval = serializers.ChoiceField(choices=Interval.values)
    start = serializers.CharField(help_text="YYYY-MM-DD or ISO datetime (IST if no offset)")
    end = serializers.CharField(help_text="YYYY-MM-DD (inclusive) or ISO datetime (exclusive)")

    def validate_start(self, value: str) -> datetime:
        return _moment(value, end=False)

    def validate_end(self, value: str) -> datetime:
        return _moment(value, end=True)

    def validate(self, attrs):
        span = attrs["end"] - attrs["start"]
        if span <= timedelta(0):
            raise serializers.ValidationError({"end": ["must be after start"]})
        limit = MAX_BAR_RANGE[attrs["interval"]]
        if span > timedelta(days=limit):
            raise serializers.ValidationError(
                {
                    "end": [
                        f"{attrs['interval']} bars can be asked for at most {limit} days at a time"
                    ]
                }
            )
        return attrs


class BarsView(APIView):
    """OHLCV bars of one instrument: ``[start, open, high, low, close, volume]`` rows."""

    permission_classes = [ViewMarketData]

    @extend_schema(
        operation_id="instrument_bars",
        parameters=[
            OpenApiParameter("interval", str, enum=Interval.values, required=True),
            OpenApiParameter("from", str, required=True, description="YYYY-MM-DD or ISO datetime"),
            OpenApiParameter(
                "to", str, required=True, description="YYYY-MM-DD (inclusive) or ISO datetime"
            ),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request, key: str) -> Response:
        query = request.query_params
        params = BarsInput(
            data={
                "interval": query.get("interval"),
                "start": query.get("from"),
                "end": query.get("to"),
            }
        )
        if not params.is_valid():
            errors = {{"start": "from", "end": "to"}.get(k, k): v for k, v in params.errors.items()}
            raise serializers.ValidationError(errors)
        try:
            instrument = instrument_get(key)
        except UnknownInstrument as exc:
            raise ProblemError(str(exc), problem_type="not-found") from exc
        bars = bars_between(instrument=instrument, **params.validated_data).values_list(
            "start", "open", "high", "low", "close", "volume"
        )
        return Response(
            {
                "instrument": instrument.key,
                "interval": params.validated_data["interval"],
                "columns": ["start", "open", "high", "low", "close", "volume"],
                "bars": [
                    [
                        timezone.localtime(s, calendar.IST).isoformat(),
                        str(o),
                        str(h),
                        str(lo),
                        str(c),
                        v,
                    ]
                    for s, o, h, lo, c, v in bars
                ],
            }
        )


# --- Imports (staff) -----------------------------------------------------------------------------


class UploadInput(serializers.Serializer):
    file = serializers.FileField()

    def validate_file(self, upload):
        if upload.size > MAX_UPLOAD_BYTES:
            raise serializers.ValidationError(
                f"files over {MAX_UPLOAD_BYTES // 2**20} MiB go through the CLI"
            )
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise serializers.ValidationError("the file is not UTF-8 text") from None


class InstrumentImportInput(UploadInput):
    format = serializers.ChoiceField(choices=["equity-list", "index"], default="equity-list")
    index = serializers.CharField(required=False, max_length=40)


class BarImportInput(UploadInput):
    interval = serializers.ChoiceField(choices=Interval.values, default="1d")
    symbol = serializers.CharField(required=False, max_length=20)
    skip_unknown = serializers.BooleanField(default=False)


def _file_problem(name: str, errors) -> ProblemError:
    lines = [str(e) for e in errors]
    return ProblemError(
        f"{name}: {len(lines)} bad row(s); nothing was imported.",
        problem_type="validation-error",
        errors={"file": lines},
    )


class InstrumentImportView(APIView):
    """Upload NSE's EQUITY_L.csv or an index list; all rows or none are imported."""

    permission_classes = [ImportMarketData]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="import_instruments",
        request=InstrumentImportInput,
        responses=OpenApiTypes.OBJECT,
    )
    def post(self, request: Request) -> Response:
        params = InstrumentImportInput(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        if data["format"] == "index" and not data.get("index"):
            raise serializers.ValidationError({"index": ["required with format=index"]})
        try:
            parse = parse_index_constituents if data["format"] == "index" else parse_equity_list
            parsed = parse(data["file"])
        except ImportFormatError as exc:
            raise serializers.ValidationError({"file": [str(exc)]}) from exc
        if parsed.errors:
            raise _file_problem(request.data["file"].name, parsed.errors)
        with job_progress(
            "marketdata.import_instruments", request.data["file"].name, show_bar=False
        ) as job:
            report = instruments_import(rows=parsed.rows, index=data.get("index"))
            job.finish(result=report)
        return Response({"job": job.run.pk, **report}, status=201)


class BarImportView(APIView):
    """Upload a generic OHLCV CSV or an NSE bhavcopy; checked whole before anything is written."""

    permission_classes = [ImportMarketData]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="import_bars", request=BarImportInput, responses=OpenApiTypes.OBJECT
    )
    def post(self, request: Request) -> Response:
        params = BarImportInput(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        name = request.data["file"].name
        try:
            parsed = parse_bars(data["file"], interval=data["interval"], symbol=data.get("symbol"))
        except (ImportFormatError, ValueError) as exc:
            raise serializers.ValidationError({"file": [str(exc)]}) from exc
        if parsed.errors:
            raise _file_problem(name, parsed.errors)
        try:
            with job_progress("marketdata.import_bars", name, show_bar=False, unit="bars") as job:
                report = bars_import(
                    rows=parsed.rows,
                    interval=data["interval"],
                    skip_unknown=data["skip_unknown"],
                    job=job,
                )
                report["filtered"] = parsed.skipped
                job.finish(result=report)
        except BarImportError as exc:
            raise _file_problem(name, exc.errors) from exc
        return Response({"job": job.run.pk, **report}, status=201)
