"""Tests of the CSV importers' parsing: pure functions, so no database is needed."""

import ast
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from marketdata import importers
from marketdata.importers import (
    IST,
    SESSION_OPEN,
    BarRow,
    ImportFormatError,
    InstrumentRow,
    Parsed,
    RowError,
    detect_bar_format,
    parse_bars,
    parse_equity_list,
    parse_index_constituents,
)

SEED_NIFTY50 = Path(__file__).resolve().parents[1] / "data" / "nifty50.csv"


def lines(*rows: str, eol: str = "\n") -> str:
    """Join rows into file text, one row a line, ending with ``eol``."""
    return eol.join(rows) + eol


def messages(parsed: Parsed) -> list[tuple[int, str]]:
    return [(error.line, error.message) for error in parsed.errors]


def only_error(parsed: Parsed) -> RowError:
    assert len(parsed.errors) == 1, parsed.errors
    return parsed.errors[0]


def ist(*args: int) -> datetime:
    return datetime(*args, tzinfo=IST)


# --------------------------------------------------------------------------- sample files

# NSE's header really has a space after each comma.
EQUITY_HEADER = (
    "SYMBOL,NAME OF COMPANY, SERIES, DATE OF LISTING, PAID UP VALUE, MARKET LOT, ISIN NUMBER,"
    " FACE VALUE"
)
RELIANCE_LISTED = "RELIANCE,Reliance Industries Limited,EQ,29-NOV-1995,10,1,INE002A01018,10"
INFY_LISTED = "INFY,Infosys Limited,EQ,08-FEB-1995,5,1,INE009A01021,5"
TCS_LISTED = "TCS,Tata Consultancy Services Limited,EQ,25-AUG-2004,1,1,INE467B01029,1"

NSE_INDEX_HEADER = "Company Name,Industry,Symbol,Series,ISIN Code"

CM_HEADER = (
    "SYMBOL,SERIES,OPEN,HIGH,LOW,CLOSE,LAST,PREVCLOSE,TOTTRDQTY,TOTTRDVAL,TIMESTAMP,"
    "TOTALTRADES,ISIN,"
)
CM_RELIANCE = (
    "RELIANCE,EQ,2590.00,2611.45,2581.00,2604.90,2605.00,2584.95,4302519,11190617262.65,"
    "01-JAN-2024,149853,INE002A01018,"
)
CM_INFY = (
    "INFY,EQ,1544.50,1558.00,1541.05,1551.50,1552.00,1542.30,2786473,4323829374.60,"
    "01-JAN-2024,96822,INE009A01021,"
)
CM_TCS = (
    "TCS,EQ,3790.00,3822.95,3775.10,3801.20,3800.00,3793.45,1167418,4437390219.25,"
    "01-JAN-2024,77210,INE467B01029,"
)

UDIFF_HEADER = (
    "TradDt,BizDt,Sgmt,Src,FinInstrmTp,FinInstrmId,ISIN,TckrSymb,SctySrs,XpryDt,"
    "FininstrmActlXpryDt,StrkPric,OptnTp,FinInstrmNm,OpnPric,HghPric,LwPric,ClsPric,LastPric,"
    "PrvsClsgPric,UndrlygPric,SttlmPric,OpnIntrst,ChngInOpnIntrst,TtlTradgVol,TtlTrfVal,"
    "TtlNbOfTxsExctd,SsnId,NewBrdLotQty,Rmks,Rsvd1,Rsvd2,Rsvd3,Rsvd4"
)
UDIFF_COLUMNS = UDIFF_HEADER.split(",")


def udiff_row(**values: str) -> str:
    """A UDiFF bhavcopy row for RELIANCE on 2024-07-08, with ``values`` overriding columns."""
    row = {
        "TradDt": "2024-07-08",
        "BizDt": "2024-07-08",
        "Sgmt": "CM",
        "Src": "NSE",
        "FinInstrmTp": "STK",
        "FinInstrmId": "2885",
        "ISIN": "INE002A01018",
        "TckrSymb": "RELIANCE",
        "SctySrs": "EQ",
        "FinInstrmNm": "RELIANCE INDUSTRIES LTD",
        "OpnPric": "3195.00",
        "HghPric": "3210.00",
        "LwPric": "3170.25",
        "ClsPric": "3188.45",
        "LastPric": "3189.00",
        "PrvsClsgPric": "3192.65",
        "SttlmPric": "3188.45",
        "TtlTradgVol": "5123456",
        "TtlTrfVal": "16332145678.90",
        "TtlNbOfTxsExctd": "210345",
        "SsnId": "F1",
        "NewBrdLotQty": "1",
    }
    unknown = set(values) - set(UDIFF_COLUMNS)
    assert not unknown, unknown
    row.update(values)
    return ",".join(row.get(column, "") for column in UDIFF_COLUMNS)


OHLCV_HEADER = "timestamp,open,high,low,close,volume"


def ohlcv_row(
    stamp: str,
    o: str = "100.00",
    h: str = "101.00",
    lo: str = "99.50",
    c: str = "100.50",
    v: str = "1200",
) -> str:
    return f"{stamp},{o},{h},{lo},{c},{v}"


# --------------------------------------------------------------------------- result types


def test_row_error_str_names_the_line() -> None:
    assert str(RowError(7, "HIGH: 'abc' is not a number")) == "line 7: HIGH: 'abc' is not a number"


def test_parsed_ok_is_false_once_there_is_an_error() -> None:
    assert Parsed(rows=[], errors=[]).ok
    assert not Parsed(rows=[], errors=[RowError(2, "x")]).ok
    assert Parsed(rows=[], errors=[]).skipped == 0


def test_import_format_error_is_a_value_error() -> None:
    assert issubclass(ImportFormatError, ValueError)


def test_module_stays_free_of_django_and_the_database() -> None:
    tree = ast.parse(Path(importers.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= {
        "csv",
        "io",
        "re",
        "collections",
        "dataclasses",
        "datetime",
        "decimal",
        "typing",
        "zoneinfo",
        "stdnum",
    }, imported


# --------------------------------------------------------------------------- equity list


def test_equity_list_happy_path() -> None:
    text = lines(
        EQUITY_HEADER,
        RELIANCE_LISTED,
        INFY_LISTED,
        TCS_LISTED,
        '"M&M","Mahindra & Mahindra Limited",EQ,14-DEC-1995,5,1,INE101A01026,5',
        "BAJAJ-AUTO,Bajaj Auto Limited,EQ,26-May-2008,10,1,INE917I01010,10",
    )
    parsed = parse_equity_list(text)
    assert parsed.ok, parsed.errors
    assert parsed.skipped == 0
    assert parsed.rows[0] == InstrumentRow(
        line=2,
        tradingsymbol="RELIANCE",
        name="Reliance Industries Limited",
        series="EQ",
        isin="INE002A01018",
        lot_size=1,
        face_value=Decimal("10"),
        listing_date=date(1995, 11, 29),
        sector="",
    )
    assert [row.tradingsymbol for row in parsed.rows] == [
        "RELIANCE",
        "INFY",
        "TCS",
        "M&M",
        "BAJAJ-AUTO",
    ]
    assert [row.line for row in parsed.rows] == [2, 3, 4, 5, 6]
    assert parsed.rows[1].face_value == Decimal("5")
    assert parsed.rows[4].listing_date == date(2008, 5, 26)  # mixed-case month accepted
    assert all(isinstance(row.face_value, Decimal) for row in parsed.rows)


def test_equity_list_keeps_quoted_commas_and_strips_values() -> None:
    text = lines(
        EQUITY_HEADER,
        ' INFY , "Infosys Limited, Bengaluru" , EQ , 08-FEB-1995 , 5 , 100 , INE009A01021 , 5 ',
    )
    parsed = parse_equity_list(text)
    assert parsed.ok, parsed.errors
    (row,) = parsed.rows
    assert row.tradingsymbol == "INFY"
    assert row.name == "Infosys Limited, Bengaluru"
    assert row.lot_size == 100
    assert row.isin == "INE009A01021"


def test_equity_list_header_without_spaces_is_accepted_too() -> None:
    parsed = parse_equity_list(lines(EQUITY_HEADER.replace(", ", ","), INFY_LISTED))
    assert [row.tradingsymbol for row in parsed.rows] == ["INFY"]


def test_equity_list_empty_optional_values_take_defaults() -> None:
    parsed = parse_equity_list(lines(EQUITY_HEADER, "INFY,Infosys Limited,EQ,,,,INE009A01021,"))
    assert parsed.ok, parsed.errors
    (row,) = parsed.rows
    assert (row.lot_size, row.face_value, row.listing_date) == (1, None, None)


def test_equity_list_missing_columns_are_named() -> None:
    header = "SYMBOL,NAME OF COMPANY, SERIES, DATE OF LISTING, PAID UP VALUE, FACE VALUE"
    with pytest.raises(ImportFormatError, match="MARKET LOT, ISIN NUMBER"):
        parse_equity_list(lines(header, "INFY,Infosys Limited,EQ,08-FEB-1995,5,5"))


def test_equity_list_rejects_an_index_file() -> None:
    with pytest.raises(ImportFormatError, match="NAME OF COMPANY"):
        parse_equity_list(lines(NSE_INDEX_HEADER, "Infosys Ltd.,IT,INFY,EQ,INE009A01021"))


def test_equity_list_invalid_isin_is_named() -> None:
    text = lines(
        EQUITY_HEADER,
        RELIANCE_LISTED,
        "INFY,Infosys Limited,EQ,08-FEB-1995,5,1,INE009A01022,5",  # wrong check digit
        TCS_LISTED,
    )
    parsed = parse_equity_list(text)
    error = only_error(parsed)
    assert error.line == 3
    assert "ISIN NUMBER" in error.message
    assert "INE009A01022" in error.message
    assert [row.tradingsymbol for row in parsed.rows] == ["RELIANCE", "TCS"]


@pytest.mark.parametrize(
    "symbol",
    ["RELI ANCE", "REL.IANCE", "RELIANCE_IND", "ABCDEFGHIJKLMNOPQRSTU", "NIFTY*", "ÄBC"],
)
def test_equity_list_rejects_bad_symbols(symbol: str) -> None:
    text = lines(EQUITY_HEADER, INFY_LISTED, f"{symbol},Some Company,EQ,,,1,INE002A01018,")
    error = only_error(parse_equity_list(text))
    assert error.line == 3
    assert error.message.startswith("SYMBOL:")
    assert repr(symbol) in error.message


def test_equity_list_accepts_twenty_character_symbols_and_upper_cases() -> None:
    text = lines(
        EQUITY_HEADER,
        "ABCDEFGHIJKLMNOPQRST,Long Name Ltd,EQ,,,1,INE002A01018,",
        "infy,Infosys Limited,eq,,,1,ine009a01021,",
    )
    parsed = parse_equity_list(text)
    assert parsed.ok, parsed.errors
    assert [(row.tradingsymbol, row.series, row.isin) for row in parsed.rows] == [
        ("ABCDEFGHIJKLMNOPQRST", "EQ", "INE002A01018"),
        ("INFY", "EQ", "INE009A01021"),
    ]


def test_equity_list_duplicate_symbol_and_series_names_the_first_line() -> None:
    text = lines(
        EQUITY_HEADER,
        INFY_LISTED,
        RELIANCE_LISTED,
        "INFY,Infosys Limited,BE,08-FEB-1995,5,1,INE009A01021,5",  # another series: fine
        INFY_LISTED,
    )
    parsed = parse_equity_list(text)
    error = only_error(parsed)
    assert error.line == 5
    assert "line 2" in error.message
    assert "INFY" in error.message
    assert [(row.tradingsymbol, row.series) for row in parsed.rows] == [
        ("INFY", "EQ"),
        ("RELIANCE", "EQ"),
        ("INFY", "BE"),
    ]


@pytest.mark.parametrize(
    ("row", "column", "fragment"),
    [
        ("INFY,Infosys Limited,EQ,08/02/1995,5,1,INE009A01021,5", "DATE OF LISTING", "08/02/1995"),
        ("INFY,Infosys Limited,EQ,31-FEB-1995,5,1,INE009A01021,5", "DATE OF LISTING", "31-FEB"),
        ("INFY,Infosys Limited,EQ,08-FOO-1995,5,1,INE009A01021,5", "DATE OF LISTING", "FOO"),
        ("INFY,Infosys Limited,EQ,08-FEB-1995,5,0,INE009A01021,5", "MARKET LOT", "'0'"),
        ("INFY,Infosys Limited,EQ,08-FEB-1995,5,1.5,INE009A01021,5", "MARKET LOT", "'1.5'"),
        ("INFY,Infosys Limited,EQ,08-FEB-1995,5,1,INE009A01021,abc", "FACE VALUE", "'abc'"),
        ("INFY,Infosys Limited,EQ,08-FEB-1995,5,1,INE009A01021,-5", "FACE VALUE", "-5"),
        ("INFY,Infosys Limited,EQUITY,08-FEB-1995,5,1,INE009A01021,5", "SERIES", "EQUITY"),
        (",Infosys Limited,EQ,08-FEB-1995,5,1,INE009A01021,5", "SYMBOL", "empty"),
        ("INFY,,EQ,08-FEB-1995,5,1,INE009A01021,5", "NAME OF COMPANY", "empty"),
        ("INFY,Infosys Limited,,08-FEB-1995,5,1,INE009A01021,5", "SERIES", "empty"),
        ("INFY,Infosys Limited,EQ,08-FEB-1995,5,1,,5", "ISIN NUMBER", "empty"),
    ],
)
def test_equity_list_value_errors(row: str, column: str, fragment: str) -> None:
    parsed = parse_equity_list(lines(EQUITY_HEADER, RELIANCE_LISTED, row))
    error = only_error(parsed)
    assert error.line == 3
    assert error.message.startswith(f"{column}:")
    assert fragment in error.message
    assert [row.tradingsymbol for row in parsed.rows] == ["RELIANCE"]


def test_equity_list_collects_every_error_of_every_row() -> None:
    text = lines(
        EQUITY_HEADER,
        "BAD SYMBOL,Some Company,EQ,32-JAN-2000,10,0,INE000000000,x",
        INFY_LISTED,
        "TCS,Tata Consultancy Services Limited,EQ,25-AUG-2004,1,1,INE467B01029",  # 7 fields
        "TCS,Tata Consultancy Services Limited,EQ,25-AUG-2004,1,1,INE467B01029,1,extra",
    )
    parsed = parse_equity_list(text)
    found = messages(parsed)
    assert [line for line, _ in found] == [2, 2, 2, 2, 2, 4, 5]
    assert [message.split(":")[0] for _, message in found[:5]] == [
        "SYMBOL",
        "ISIN NUMBER",
        "MARKET LOT",
        "FACE VALUE",
        "DATE OF LISTING",
    ]
    assert found[5][1] == "expected 8 fields, found 7"
    assert found[6][1] == "expected 8 fields, found 9"
    assert [row.line for row in parsed.rows] == [3]


@pytest.mark.parametrize("text", ["", "\n\n", "\ufeff", "  \r\n \r\n"])
def test_empty_files_raise(text: str) -> None:
    with pytest.raises(ImportFormatError, match="empty"):
        parse_equity_list(text)
    with pytest.raises(ImportFormatError, match="empty"):
        parse_index_constituents(text)
    with pytest.raises(ImportFormatError, match="empty"):
        parse_bars(text, symbol="INFY")
    with pytest.raises(ImportFormatError, match="empty"):
        detect_bar_format(text)


def test_header_only_file_has_no_rows_and_no_errors() -> None:
    parsed = parse_equity_list(lines(EQUITY_HEADER))
    assert (parsed.rows, parsed.errors, parsed.ok) == ([], [], True)


def test_bom_and_crlf_are_handled() -> None:
    text = "\ufeff" + lines(EQUITY_HEADER, RELIANCE_LISTED, INFY_LISTED, eol="\r\n")
    parsed = parse_equity_list(text)
    assert parsed.ok, parsed.errors
    assert [(row.line, row.tradingsymbol, row.face_value) for row in parsed.rows] == [
        (2, "RELIANCE", Decimal("10")),
        (3, "INFY", Decimal("5")),
    ]


def test_blank_lines_are_skipped_but_counted() -> None:
    text = lines(
        EQUITY_HEADER,
        "",
        RELIANCE_LISTED,
        "   ",
        "",
        "INFY,Infosys Limited,EQ,08-FEB-1995,5,1,INE009A01029,5",
        TCS_LISTED,
        "",
        eol="\r\n",
    )
    parsed = parse_equity_list(text)
    assert [row.line for row in parsed.rows] == [3, 7]
    assert only_error(parsed).line == 6


def test_leading_blank_lines_move_the_header_down() -> None:
    parsed = parse_equity_list("\n\n" + lines(EQUITY_HEADER, "INFY,,EQ,,,1,INE009A01021,"))
    assert only_error(parsed) == RowError(4, "NAME OF COMPANY: required value is empty")


def test_line_numbers_stay_physical_after_a_multi_line_field() -> None:
    text = lines(
        EQUITY_HEADER,
        'RELIANCE,"Reliance Industries\nLimited",EQ,29-NOV-1995,10,1,INE002A01018,10',
        "INFY,Infosys Limited,EQ,08-FEB-1995,5,1,INE009A01029,5",
    )
    parsed = parse_equity_list(text)
    assert [row.line for row in parsed.rows] == [2]
    assert parsed.rows[0].name == "Reliance Industries\nLimited"
    assert only_error(parsed).line == 4


# --------------------------------------------------------------------------- index constituents


def test_index_constituents_nse_header() -> None:
    text = lines(
        NSE_INDEX_HEADER,
        "Infosys Ltd.,Information Technology,INFY,EQ,INE009A01021",
        "Mahindra & Mahindra Ltd.,Automobile and Auto Components,M&M,EQ,INE101A01026",
        "Tata Consultancy Services Ltd.,Information Technology,TCS,EQ,INE467B01029",
    )
    parsed = parse_index_constituents(text)
    assert parsed.ok, parsed.errors
    assert parsed.rows[1] == InstrumentRow(
        line=3,
        tradingsymbol="M&M",
        name="Mahindra & Mahindra Ltd.",
        series="EQ",
        isin="INE101A01026",
        sector="Automobile and Auto Components",
    )
    assert [row.sector for row in parsed.rows] == [
        "Information Technology",
        "Automobile and Auto Components",
        "Information Technology",
    ]


def test_index_constituents_lower_case_header_with_extra_columns() -> None:
    text = lines(
        "symbol,name,industry,series,isin,reference_price,annual_volatility",
        "INFY,Infosys Ltd.,Information Technology,EQ,INE009A01021,1500,0.24",
    )
    parsed = parse_index_constituents(text)
    assert parsed.ok, parsed.errors
    assert parsed.rows == [
        InstrumentRow(
            line=2,
            tradingsymbol="INFY",
            name="Infosys Ltd.",
            series="EQ",
            isin="INE009A01021",
            sector="Information Technology",
        )
    ]


def test_index_constituents_seed_file_parses_cleanly() -> None:
    parsed = parse_index_constituents(SEED_NIFTY50.read_text(encoding="utf-8"))
    assert parsed.errors == []
    assert len(parsed.rows) == 50
    symbols = {row.tradingsymbol for row in parsed.rows}
    assert len(symbols) == 50
    assert {"RELIANCE", "INFY", "TCS", "M&M", "BAJAJ-AUTO"} <= symbols
    assert all(row.sector and row.series == "EQ" and row.isin[:2] == "IN" for row in parsed.rows)
    assert [row.line for row in parsed.rows] == list(range(2, 52))


def test_index_constituents_errors_and_duplicates() -> None:
    text = lines(
        NSE_INDEX_HEADER,
        "Infosys Ltd.,Information Technology,INFY,EQ,INE009A01021",
        "Infosys Ltd.,Information Technology,INFY,EQ,INE009A01021",
        "Wipro Ltd.,Information Technology,WIPRO,EQ,INE075A01023",
        "Tata Consultancy Services Ltd.,Information Technology,TCS,EQ",
    )
    parsed = parse_index_constituents(text)
    found = messages(parsed)
    assert [line for line, _ in found] == [3, 4, 5]
    assert "line 2" in found[0][1]
    assert found[1][1].startswith("ISIN Code:")
    assert "INE075A01023" in found[1][1]
    assert found[2][1] == "expected 5 fields, found 4"
    assert [row.tradingsymbol for row in parsed.rows] == ["INFY"]


def test_index_constituents_missing_column_is_named() -> None:
    with pytest.raises(ImportFormatError, match="ISIN Code"):
        parse_index_constituents(lines("Company Name,Industry,Symbol,Series", "A,B,C,EQ"))


# --------------------------------------------------------------------------- format detection


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (OHLCV_HEADER, "ohlcv"),
        ("Date,Open,High,Low,Close,Volume", "ohlcv"),
        ("symbol,datetime,open,high,low,close,volume,oi", "ohlcv"),
        ("TradingSymbol,Time,Open,High,Low,Close,Volume", "ohlcv"),
        (CM_HEADER, "bhavcopy-cm"),
        (CM_HEADER.rstrip(","), "bhavcopy-cm"),
        (UDIFF_HEADER, "bhavcopy-udiff"),
    ],
)
def test_detect_bar_format(header: str, expected: str) -> None:
    assert detect_bar_format(lines(header)) == expected
    assert detect_bar_format("\ufeff" + lines(header, eol="\r\n")) == expected


def test_detect_bar_format_unknown_header() -> None:
    with pytest.raises(ImportFormatError, match="no known bar format"):
        detect_bar_format(lines(EQUITY_HEADER, RELIANCE_LISTED))


def test_detect_bar_format_names_missing_columns_of_an_incomplete_header() -> None:
    with pytest.raises(ImportFormatError, match="TOTTRDQTY"):
        detect_bar_format(lines("SYMBOL,SERIES,OPEN,HIGH,LOW,CLOSE,PREVCLOSE,TIMESTAMP,ISIN"))
    with pytest.raises(ImportFormatError, match="volume"):
        detect_bar_format(lines("date,open,high,low,close"))
    with pytest.raises(ImportFormatError, match="ClsPric"):
        detect_bar_format(lines(UDIFF_HEADER.replace("ClsPric,", "")))


# --------------------------------------------------------------------------- generic OHLCV


def test_ohlcv_daily_happy_path() -> None:
    text = lines(
        "symbol,date,open,high,low,close,volume",
        "INFY,2024-07-08,1650.00,1668.90,1641.15,1662.35,5421876",
        "INFY,2024-07-09,1662.00,1675.50,1655.00,1671.80,4987123",
        "TCS,2024-07-08,4010.00,4035.00,3998.25,4021.60,1876543",
    )
    parsed = parse_bars(text)
    assert parsed.ok, parsed.errors
    assert parsed.skipped == 0
    assert parsed.rows[0] == BarRow(
        line=2,
        tradingsymbol="INFY",
        series=None,
        isin=None,
        start=ist(2024, 7, 8, 9, 15),
        open=Decimal("1650.00"),
        high=Decimal("1668.90"),
        low=Decimal("1641.15"),
        close=Decimal("1662.35"),
        volume=5421876,
    )
    assert [(row.tradingsymbol, row.start.date()) for row in parsed.rows] == [
        ("INFY", date(2024, 7, 8)),
        ("INFY", date(2024, 7, 9)),
        ("TCS", date(2024, 7, 8)),
    ]
    for row in parsed.rows:
        assert row.start.tzinfo is IST
        assert row.start.timetz() == SESSION_OPEN.replace(tzinfo=IST)
        assert all(type(value) is Decimal for value in (row.open, row.high, row.low, row.close))
        assert type(row.volume) is int
        assert row.prev_close is None


def test_ohlcv_symbol_argument_when_the_file_has_no_symbol_column() -> None:
    parsed = parse_bars(lines(OHLCV_HEADER, ohlcv_row("2024-07-08")), symbol=" infy ")
    assert [(row.tradingsymbol, row.start) for row in parsed.rows] == [
        ("INFY", ist(2024, 7, 8, 9, 15))
    ]


def test_ohlcv_without_symbol_column_or_argument_raises() -> None:
    with pytest.raises(ImportFormatError, match="symbol"):
        parse_bars(lines(OHLCV_HEADER, ohlcv_row("2024-07-08")))


def test_ohlcv_invalid_symbol_argument_raises() -> None:
    with pytest.raises(ValueError, match="not a valid trading symbol"):
        parse_bars(lines(OHLCV_HEADER, ohlcv_row("2024-07-08")), symbol="NIFTY 50")


def test_ohlcv_symbol_column_and_argument_must_agree() -> None:
    text = lines(
        "tradingsymbol,timestamp,open,high,low,close,volume",
        "INFY," + ohlcv_row("2024-07-08"),
        "TCS," + ohlcv_row("2024-07-08"),
        "infy," + ohlcv_row("2024-07-09"),
    )
    parsed = parse_bars(text, symbol="INFY")
    error = only_error(parsed)
    assert error.line == 3
    assert error.message.startswith("tradingsymbol:")
    assert "'TCS'" in error.message
    assert "'INFY'" in error.message
    assert [row.line for row in parsed.rows] == [2, 4]
    assert parsed.skipped == 0


def test_ohlcv_bad_symbol_in_column() -> None:
    text = lines("symbol," + OHLCV_HEADER, "NIFTY 50," + ohlcv_row("2024-07-08"))
    error = only_error(parse_bars(text))
    assert error.line == 2
    assert error.message.startswith("symbol: 'NIFTY 50'")


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2024-07-08T09:15:00+05:30", ist(2024, 7, 8, 9, 15)),
        ("2024-07-08 09:15:00", ist(2024, 7, 8, 9, 15)),
        ("2024-07-08 09:15", ist(2024, 7, 8, 9, 15)),
        ("2024-07-08T10:30", ist(2024, 7, 8, 10, 30)),
        ("2024-07-08T05:00:00Z", ist(2024, 7, 8, 10, 30)),
        ("2024-07-08T15:29:00+05:30", ist(2024, 7, 8, 15, 29)),
        ("2024-07-08", ist(2024, 7, 8, 9, 15)),
    ],
)
def test_ohlcv_minute_timestamps(stamp: str, expected: datetime) -> None:
    parsed = parse_bars(lines(OHLCV_HEADER, ohlcv_row(stamp)), interval="1m", symbol="INFY")
    assert parsed.ok, parsed.errors
    (row,) = parsed.rows
    assert row.start == expected
    assert row.start.utcoffset() == timedelta(hours=5, minutes=30)


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2024-07-08T15:30:00+05:30", ist(2024, 7, 8, 9, 15)),
        ("2024-07-08 23:59", ist(2024, 7, 8, 9, 15)),
        ("2024-07-07T18:30:00Z", ist(2024, 7, 8, 9, 15)),  # midnight IST on the 8th
        ("2024-07-08T00:00:00-04:00", ist(2024, 7, 8, 9, 15)),  # 09:30 IST on the 8th
        ("2024-07-08", ist(2024, 7, 8, 9, 15)),
    ],
)
def test_ohlcv_daily_bars_start_at_the_session_open(stamp: str, expected: datetime) -> None:
    parsed = parse_bars(lines(OHLCV_HEADER, ohlcv_row(stamp)), symbol="INFY")
    assert [row.start for row in parsed.rows] == [expected]


@pytest.mark.parametrize(
    ("interval", "good", "bad"),
    [
        ("1m", ["09:15", "09:16", "15:29"], ["09:14", "15:30", "16:00", "09:15:30"]),
        ("5m", ["09:15", "09:20", "15:25"], ["09:17", "09:10", "15:30", "09:20:00.5"]),
        ("15m", ["09:15", "09:30", "15:15"], ["09:20", "09:00", "15:30"]),
        ("1h", ["09:15", "10:15", "15:15"], ["09:45", "10:00", "08:15", "16:15"]),
    ],
)
def test_ohlcv_intraday_boundaries(interval: str, good: list[str], bad: list[str]) -> None:
    rows = [ohlcv_row(f"2024-07-08 {clock_time}") for clock_time in (*good, *bad)]
    parsed = parse_bars(lines(OHLCV_HEADER, *rows), interval=interval, symbol="INFY")
    assert [row.start.strftime("%H:%M") for row in parsed.rows] == [t[:5] for t in good]
    bad_lines = list(range(2 + len(good), 2 + len(good) + len(bad)))
    assert [error.line for error in parsed.errors] == bad_lines
    for error, clock_time in zip(parsed.errors, bad, strict=True):
        assert error.message.startswith("timestamp:")
        assert clock_time in error.message


def test_ohlcv_intraday_error_messages_say_why() -> None:
    text = lines(OHLCV_HEADER, ohlcv_row("2024-07-08 09:17"), ohlcv_row("2024-07-08 15:30"))
    parsed = parse_bars(text, interval="5m", symbol="INFY")
    assert messages(parsed) == [
        (2, "timestamp: '2024-07-08 09:17' (09:17:00 IST) is not on a 5m bar boundary counted "
         "from 09:15 IST"),
        (3, "timestamp: '2024-07-08 15:30' (15:30 IST) is outside the 09:15-15:30 IST session"),
    ]  # fmt: skip


def test_ohlcv_intraday_checks_the_boundary_in_ist() -> None:
    text = lines(
        OHLCV_HEADER,
        ohlcv_row("2024-07-08T03:45:00+00:00"),  # 09:15 IST
        ohlcv_row("2024-07-08T04:05Z"),  # 09:35 IST: not a 15m boundary
        ohlcv_row("2024-07-08T09:45Z"),  # 15:15 IST: the last 15m bar
        ohlcv_row("2024-07-08T09:15"),  # naive, so IST: fine
        ohlcv_row("2024-07-08T10:00Z"),  # 15:30 IST: after the session
    )
    parsed = parse_bars(text, interval="15m", symbol="INFY")
    assert [(row.line, row.start) for row in parsed.rows] == [
        (2, ist(2024, 7, 8, 9, 15)),
        (4, ist(2024, 7, 8, 15, 15)),
    ]
    found = messages(parsed)
    assert [line for line, _ in found] == [3, 5, 6]
    assert "(09:35:00 IST) is not on a 15m bar boundary" in found[0][1]
    assert "line 2" in found[1][1]  # 09:15 IST again: a duplicate of the first bar
    assert "(15:30 IST) is outside the 09:15-15:30 IST session" in found[2][1]


@pytest.mark.parametrize(
    "stamp", ["08-07-2024", "2024/07/08", "yesterday", "2024-13-01", "2024-07-08 25:00"]
)
def test_ohlcv_bad_timestamps(stamp: str) -> None:
    parsed = parse_bars(lines(OHLCV_HEADER, ohlcv_row("2024-07-05"), ohlcv_row(stamp)), symbol="X")
    error = only_error(parsed)
    assert error.line == 3
    assert error.message == f"timestamp: {stamp!r} is not an ISO 8601 date or date-time"


def test_ohlcv_split_date_and_time_columns() -> None:
    text = lines(
        "Date,Time,Open,High,Low,Close,Volume",
        "2024-07-08,09:15,100,101,99.5,100.5,10",
        "2024-07-08,09:20,100.5,101,100,100.75,12",
        "2024-07-08,,100.5,101,100,100.75,12",
    )
    parsed = parse_bars(text, interval="5m", symbol="INFY")
    assert [row.start for row in parsed.rows] == [ist(2024, 7, 8, 9, 15), ist(2024, 7, 8, 9, 20)]
    assert only_error(parsed) == RowError(4, "Time: required value is empty")


def test_ohlcv_ambiguous_time_columns_raise() -> None:
    with pytest.raises(ImportFormatError, match="several time columns"):
        parse_bars(lines("timestamp,date,open,high,low,close,volume"), symbol="INFY")


def test_ohlcv_missing_columns_are_named() -> None:
    with pytest.raises(ImportFormatError, match="high, volume"):
        parse_bars(lines("date,open,low,close"), symbol="INFY", fmt="ohlcv")
    with pytest.raises(ImportFormatError, match="timestamp or datetime or date or time"):
        parse_bars(lines("when,open,high,low,close,volume"), symbol="INFY", fmt="ohlcv")


def test_ohlcv_extra_columns_are_ignored() -> None:
    text = lines("Symbol,Timestamp,Open,High,Low,Close,Volume,OI", "INFY,2024-07-08,1,2,1,2,3,99")
    parsed = parse_bars(text)
    assert [(row.open, row.high, row.volume) for row in parsed.rows] == [
        (Decimal(1), Decimal(2), 3)
    ]


def test_interval_must_be_known() -> None:
    with pytest.raises(ValueError, match=r"1m, 5m, 15m, 1h, 1d") as caught:
        parse_bars(lines(OHLCV_HEADER, ohlcv_row("2024-07-08")), interval="1w", symbol="INFY")
    assert "'1w'" in str(caught.value)


def test_fmt_must_be_known() -> None:
    with pytest.raises(ValueError, match="ohlcv, bhavcopy-cm, bhavcopy-udiff"):
        parse_bars(lines(OHLCV_HEADER), fmt="csv", symbol="INFY")


def test_explicit_fmt_that_does_not_fit_the_file_raises() -> None:
    with pytest.raises(ImportFormatError, match="TckrSymb"):
        parse_bars(lines(CM_HEADER, CM_INFY), fmt="bhavcopy-udiff")


# --------------------------------------------------------------------------- row validation


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("open", "abc", "open: 'abc' is not a number"),
        ("high", "1,234.50", "high: '1,234.50' is not a number"),
        ("high", "1e3", "high: '1e3' is not a number"),
        ("close", "NaN", "close: 'NaN' is not a number"),
        ("close", "Infinity", "close: 'Infinity' is not a number"),
        ("low", "+99.50", "low: '+99.50' is not a number"),
        ("low", "99,50", "low: '99,50' is not a number"),
        ("low", "0", "low: 0 must be greater than 0"),
        ("low", "0.00", "low: 0.00 must be greater than 0"),
        ("low", "-99.50", "low: -99.50 must be greater than 0"),
        ("close", "100.505", "close: 100.505 has more than 2 decimal places"),
        ("high", "10000000000", "high: 10000000000 is too large for a price"),
        ("volume", "1234.0", "volume: '1234.0' is not a whole number"),
        ("volume", "1,234", "volume: '1,234' is not a whole number"),
        ("volume", "12a", "volume: '12a' is not a whole number"),
        ("volume", "1e3", "volume: '1e3' is not a whole number"),
        ("volume", "-5", "volume: -5 is negative; volume must be 0 or more"),
        ("volume", "99999999999999999999", "volume: 99999999999999999999 is too large"),
        ("open", "", "open: required value is empty"),
        ("close", "  ", "close: required value is empty"),
        ("volume", "", "volume: required value is empty"),
        ("timestamp", "", "timestamp: required value is empty"),
    ],
)
def test_bar_value_errors(column: str, value: str, expected: str) -> None:
    good = {"timestamp": "2024-07-09", "open": "100.00", "high": "101.00"}
    good |= {"low": "99.50", "close": "100.50", "volume": "1200"}
    bad = good | {column: value}
    header = list(good)
    text = lines(
        ",".join(header),
        ",".join(good[name] for name in header).replace("07-09", "07-08"),
        '"' + '","'.join(bad[name] for name in header) + '"',
    )
    parsed = parse_bars(text, symbol="INFY")
    assert [row.line for row in parsed.rows] == [2]
    error = only_error(parsed)
    assert error.line == 3
    assert error.message.startswith(expected)
    if column == "volume" and "whole number" in expected:
        assert "digits only" in error.message  # says why the rule is strict


def test_bar_prices_accept_trailing_zeros_and_short_decimals() -> None:
    text = lines(OHLCV_HEADER, ohlcv_row("2024-07-08", o="100.500", h="101", lo=".5", c="100.5"))
    parsed = parse_bars(text, symbol="INFY")
    assert parsed.ok, parsed.errors
    (row,) = parsed.rows
    assert (row.open, row.high, row.low, row.close) == (
        Decimal("100.50"),
        Decimal("101"),
        Decimal("0.5"),
        Decimal("100.5"),
    )
    assert row.open.as_tuple().exponent == -2


def test_volume_zero_is_allowed() -> None:
    parsed = parse_bars(lines(OHLCV_HEADER, ohlcv_row("2024-07-08", v="0")), symbol="INFY")
    assert [row.volume for row in parsed.rows] == [0]


OPEN_RULE = "low <= open <= high does not hold: low "
CLOSE_RULE = "low <= close <= high does not hold: low "


@pytest.mark.parametrize(
    ("o", "h", "lo", "c", "expected"),
    [
        ("98.00", "101.00", "99.50", "100.50", [OPEN_RULE + "99.50, open 98.00, high 101.00"]),
        ("101.50", "101.00", "99.50", "100.50", [OPEN_RULE + "99.50, open 101.50, high 101.00"]),
        ("100.00", "101.00", "99.50", "99.00", [CLOSE_RULE + "99.50, close 99.00, high 101.00"]),
        ("100.00", "101.00", "99.50", "101.05", [CLOSE_RULE + "99.50, close 101.05, high 101.00"]),
        (
            "100.00",
            "99.00",
            "101.00",
            "100.00",
            [
                OPEN_RULE + "101.00, open 100.00, high 99.00",
                CLOSE_RULE + "101.00, close 100.00, high 99.00",
            ],
        ),
    ],
)
def test_bar_price_order_rules(o: str, h: str, lo: str, c: str, expected: list[str]) -> None:
    text = lines(OHLCV_HEADER, ohlcv_row("2024-07-08", o=o, h=h, lo=lo, c=c))
    parsed = parse_bars(text, symbol="INFY")
    assert messages(parsed) == [(2, message) for message in expected]
    assert parsed.rows == []


def test_bar_prices_equal_to_high_and_low_are_fine() -> None:
    row = ohlcv_row("2024-07-08", o="101.00", h="101.00", lo="99.50", c="99.50")
    parsed = parse_bars(lines(OHLCV_HEADER, row), symbol="INFY")
    assert parsed.ok, parsed.errors
    assert len(parsed.rows) == 1


def test_bar_wrong_number_of_fields() -> None:
    text = lines(
        OHLCV_HEADER,
        ohlcv_row("2024-07-08"),
        "2024-07-09,100.00,101.00,99.50,100.50",
        "2024-07-10,100.00,101.00,99.50,100.50,1200,7",
        "2024-07-11,100.00,101.00,99.50,100.50,1200,,",  # trailing empty values are tolerated
    )
    parsed = parse_bars(text, symbol="INFY")
    assert messages(parsed) == [
        (3, "expected 6 fields, found 5"),
        (4, "expected 6 fields, found 7"),
    ]
    assert [row.line for row in parsed.rows] == [2, 5]


def test_bar_errors_are_all_collected() -> None:
    text = lines(
        "symbol," + OHLCV_HEADER,
        "INFY," + ohlcv_row("2024-07-08", o="abc", v="1.5"),
        "INFY," + ohlcv_row("2024-07-09"),
        "INFY," + ohlcv_row("not-a-date", c=""),
        "," + ohlcv_row("2024-07-10"),
        "TCS," + ohlcv_row("2024-07-08", lo="102.00"),
    )
    parsed = parse_bars(text)
    assert messages(parsed) == [
        (2, "open: 'abc' is not a number"),
        (2, "volume: '1.5' is not a whole number "
            "(digits only: no sign, decimal point or thousands separators)"),
        (4, "close: required value is empty"),
        (4, "timestamp: 'not-a-date' is not an ISO 8601 date or date-time"),
        (5, "symbol: required value is empty"),
        (6, "low <= open <= high does not hold: low 102.00, open 100.00, high 101.00"),
        (6, "low <= close <= high does not hold: low 102.00, close 100.50, high 101.00"),
    ]  # fmt: skip
    assert [row.line for row in parsed.rows] == [3]


def test_bar_duplicates_name_the_earlier_line() -> None:
    text = lines(
        "symbol," + OHLCV_HEADER,
        "INFY," + ohlcv_row("2024-07-08"),
        "TCS," + ohlcv_row("2024-07-08"),  # same start, other symbol: fine
        "INFY," + ohlcv_row("2024-07-09"),
        "INFY," + ohlcv_row("2024-07-08T15:30:00"),  # the same daily bar once normalised
        "infy," + ohlcv_row("2024-07-09"),
    )
    parsed = parse_bars(text)
    found = messages(parsed)
    assert [line for line, _ in found] == [5, 6]
    assert "line 2" in found[0][1]
    assert "line 4" in found[1][1]
    assert found[0][1].startswith("timestamp: INFY already has a bar starting 2024-07-08T09:15")
    assert [row.line for row in parsed.rows] == [2, 3, 4]


def test_bar_duplicates_without_a_symbol_column() -> None:
    text = lines(OHLCV_HEADER, *(ohlcv_row(f"2024-07-08 {t}") for t in ("09:15", "09:20", "09:15")))
    parsed = parse_bars(text, interval="5m", symbol="INFY")
    error = only_error(parsed)
    assert error.line == 4
    assert "line 2" in error.message


def test_bar_blank_lines_and_crlf_keep_physical_line_numbers() -> None:
    text = "\ufeff" + lines(
        "", OHLCV_HEADER, "", ohlcv_row("2024-07-08"), " ", "", ohlcv_row("2024-07-09", o="x"),
        ohlcv_row("2024-07-10"), eol="\r\n",
    )  # fmt: skip
    parsed = parse_bars(text, symbol="INFY")
    assert [row.line for row in parsed.rows] == [4, 8]
    assert messages(parsed) == [(7, "open: 'x' is not a number")]


def test_bar_quoted_values_are_unquoted() -> None:
    text = lines(
        '"timestamp","open","high","low","close","volume"', '"2024-07-08","1","2","1","2","3"'
    )
    parsed = parse_bars(text, symbol="INFY")
    assert [(row.open, row.volume) for row in parsed.rows] == [(Decimal(1), 3)]


# --------------------------------------------------------------------------- classic CM bhavcopy


def test_bhavcopy_cm_happy_path() -> None:
    text = lines(CM_HEADER, CM_RELIANCE, CM_INFY, CM_TCS, eol="\r\n")
    parsed = parse_bars(text)
    assert parsed.ok, parsed.errors
    assert parsed.skipped == 0
    assert parsed.rows[0] == BarRow(
        line=2,
        tradingsymbol="RELIANCE",
        series="EQ",
        isin="INE002A01018",
        start=ist(2024, 1, 1, 9, 15),
        open=Decimal("2590.00"),
        high=Decimal("2611.45"),
        low=Decimal("2581.00"),
        close=Decimal("2604.90"),
        volume=4302519,
        prev_close=Decimal("2584.95"),
    )
    assert [(row.tradingsymbol, row.volume, row.prev_close) for row in parsed.rows] == [
        ("RELIANCE", 4302519, Decimal("2584.95")),
        ("INFY", 2786473, Decimal("1542.30")),
        ("TCS", 1167418, Decimal("3793.45")),
    ]
    assert {row.start for row in parsed.rows} == {ist(2024, 1, 1, 9, 15)}


def test_bhavcopy_cm_without_trailing_comma_and_mixed_case_month() -> None:
    text = lines(CM_HEADER.rstrip(","), CM_INFY.rstrip(",").replace("01-JAN-2024", "1-Jan-2024"))
    parsed = parse_bars(text, fmt="bhavcopy-cm")
    assert parsed.ok, parsed.errors
    assert [row.start for row in parsed.rows] == [ist(2024, 1, 1, 9, 15)]


def test_bhavcopy_cm_series_filter_counts_skipped_rows() -> None:
    text = lines(
        CM_HEADER,
        CM_RELIANCE,
        "GOLDBEES,EQ,61.20,61.45,61.02,61.30,61.31,61.10,3400000,208000000.00,01-JAN-2024,9000,"
        "INF204KB17I5,",
        "RELIANCE,N1,1010.00,1010.00,1010.00,1010.00,1010.00,1009.00,25,25250.00,01-JAN-2024,2,"
        "INE002A01018,",
        "SGBJUN27,GB,6200.00,6230.00,6190.00,6215.00,6215.00,6195.00,120,745800.00,01-JAN-2024,40,"
        "IN0020190040,",
        CM_INFY.replace(",EQ,", ",BE,"),
        CM_TCS.replace(",EQ,", ",SM,"),
    )
    parsed = parse_bars(text)
    assert parsed.ok, parsed.errors
    assert [(row.line, row.series) for row in parsed.rows] == [
        (2, "EQ"),
        (3, "EQ"),
        (6, "BE"),
        (7, "SM"),
    ]
    assert parsed.skipped == 2

    only_eq = parse_bars(text, series=frozenset({"EQ"}))
    assert [row.line for row in only_eq.rows] == [2, 3]
    assert only_eq.skipped == 4

    everything = parse_bars(text, series=None)
    assert everything.skipped == 0
    # RELIANCE appears in EQ and N1 on the same day: one bar per (symbol, start)
    assert [error.line for error in everything.errors] == [4]
    assert "line 2" in everything.errors[0].message
    assert [row.line for row in everything.rows] == [2, 3, 5, 6, 7]


def test_bhavcopy_cm_symbol_argument_picks_one_row() -> None:
    parsed = parse_bars(lines(CM_HEADER, CM_RELIANCE, CM_INFY, CM_TCS), symbol="infy")
    assert [row.tradingsymbol for row in parsed.rows] == ["INFY"]
    assert parsed.skipped == 2
    assert parsed.ok


def test_bhavcopy_cm_row_errors() -> None:
    text = lines(
        CM_HEADER,
        CM_RELIANCE,
        CM_INFY.replace("1558.00", "abc"),
        CM_TCS.replace("01-JAN-2024", "2024-01-01"),
        CM_TCS.replace("INE467B01029", "INE467B01020"),
        CM_RELIANCE.replace("RELIANCE,EQ,", "HDFCBANK,,").replace("INE002A01018", "INE040A01034"),
        CM_INFY.replace("INFY,", "WIPRO,").replace("2786473", "2786473.5"),
        CM_TCS.replace("TCS,", "SBIN,").replace("3793.45", "0"),
        CM_RELIANCE,
    )
    parsed = parse_bars(text)
    assert messages(parsed) == [
        (3, "HIGH: 'abc' is not a number"),
        (4, "TIMESTAMP: '2024-01-01' is not a date like 01-JAN-2024"),
        (5, "ISIN: 'INE467B01020' is not a valid ISIN"),
        (6, "SERIES: required value is empty"),
        (7, "TOTTRDQTY: '2786473.5' is not a whole number "
            "(digits only: no sign, decimal point or thousands separators)"),
        (8, "PREVCLOSE: 0 must be greater than 0"),
        (9, "TIMESTAMP: RELIANCE already has a bar starting 2024-01-01T09:15:00+05:30 on line 2"),
    ]  # fmt: skip
    assert [row.line for row in parsed.rows] == [2]


def test_bhavcopy_cm_empty_prev_close_is_none() -> None:
    parsed = parse_bars(lines(CM_HEADER, CM_INFY.replace("1542.30", "")))
    assert [row.prev_close for row in parsed.rows] == [None]


@pytest.mark.parametrize("interval", ["1m", "5m", "15m", "1h"])
def test_bhavcopy_needs_the_daily_interval(interval: str) -> None:
    with pytest.raises(ValueError, match="interval must be '1d'"):
        parse_bars(lines(CM_HEADER, CM_INFY), interval=interval)
    with pytest.raises(ValueError, match="interval must be '1d'"):
        parse_bars(lines(UDIFF_HEADER, udiff_row()), interval=interval, fmt="bhavcopy-udiff")


# --------------------------------------------------------------------------- UDiFF bhavcopy


def test_bhavcopy_udiff_happy_path() -> None:
    text = lines(
        UDIFF_HEADER,
        udiff_row(),
        udiff_row(
            FinInstrmId="1594",
            ISIN="INE009A01021",
            TckrSymb="INFY",
            FinInstrmNm="INFOSYS LIMITED",
            OpnPric="1650.00",
            HghPric="1668.90",
            LwPric="1641.15",
            ClsPric="1662.35",
            PrvsClsgPric="1645.60",
            TtlTradgVol="5421876",
        ),
        udiff_row(
            FinInstrmId="11536",
            ISIN="INE467B01029",
            TckrSymb="TCS",
            FinInstrmNm="TATA CONSULTANCY SERV LT",
            OpnPric="4010.00",
            HghPric="4035.00",
            LwPric="3998.25",
            ClsPric="4021.60",
            PrvsClsgPric="4005.10",
            TtlTradgVol="1876543",
        ),
        eol="\r\n",
    )
    parsed = parse_bars(text)
    assert parsed.ok, parsed.errors
    assert parsed.rows[0] == BarRow(
        line=2,
        tradingsymbol="RELIANCE",
        series="EQ",
        isin="INE002A01018",
        start=ist(2024, 7, 8, 9, 15),
        open=Decimal("3195.00"),
        high=Decimal("3210.00"),
        low=Decimal("3170.25"),
        close=Decimal("3188.45"),
        volume=5123456,
        prev_close=Decimal("3192.65"),
    )
    assert [(row.tradingsymbol, row.close, row.volume) for row in parsed.rows] == [
        ("RELIANCE", Decimal("3188.45"), 5123456),
        ("INFY", Decimal("1662.35"), 5421876),
        ("TCS", Decimal("4021.60"), 1876543),
    ]


def test_bhavcopy_udiff_skips_other_segments_instruments_and_series() -> None:
    text = lines(
        UDIFF_HEADER,
        udiff_row(),
        udiff_row(Sgmt="FO", FinInstrmTp="STF", SctySrs="", XpryDt="2024-07-25"),
        udiff_row(Sgmt="FO", FinInstrmTp="IDO", TckrSymb="NIFTY", SctySrs="", OptnTp="CE"),
        udiff_row(FinInstrmTp="IDX", TckrSymb="NIFTY"),
        udiff_row(TckrSymb="GOLDBEES", ISIN="INF204KB17I5", SctySrs="N1"),
        udiff_row(TckrSymb="INFY", ISIN="INE009A01021", SctySrs="BE"),
    )
    parsed = parse_bars(text)
    assert parsed.ok, parsed.errors
    assert [(row.line, row.tradingsymbol, row.series) for row in parsed.rows] == [
        (2, "RELIANCE", "EQ"),
        (7, "INFY", "BE"),
    ]
    assert parsed.skipped == 4

    unfiltered = parse_bars(text, series=None)
    assert [row.line for row in unfiltered.rows] == [2, 6, 7]
    assert unfiltered.skipped == 3  # non-equity rows are skipped whatever the series filter


def test_bhavcopy_udiff_row_errors() -> None:
    text = lines(
        UDIFF_HEADER,
        udiff_row(TradDt="08-07-2024"),
        udiff_row(TckrSymb="INFY", ISIN="INE009A01021", LwPric="3200.00"),
        udiff_row(TckrSymb="TCS", ISIN="INE467B01029", TtlTradgVol=""),
        udiff_row(TckrSymb="WIPRO", ISIN="INE075A01022", OpnPric="512.123"),
        udiff_row()[:-3],  # a truncated row
    )
    parsed = parse_bars(text)
    assert messages(parsed) == [
        (2, "TradDt: '08-07-2024' is not a date like 2024-07-08"),
        (3, "LwPric <= OpnPric <= HghPric does not hold: "
            "LwPric 3200.00, OpnPric 3195.00, HghPric 3210.00"),
        (3, "LwPric <= ClsPric <= HghPric does not hold: "
            "LwPric 3200.00, ClsPric 3188.45, HghPric 3210.00"),
        (4, "TtlTradgVol: required value is empty"),
        (5, "OpnPric: 512.123 has more than 2 decimal places"),
        (6, "expected 34 fields, found 31"),
    ]  # fmt: skip
    assert parsed.rows == []
