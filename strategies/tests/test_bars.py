"""Bars from CSV: what loads, and every bad input refused naming its line."""

import numpy as np
import pytest

from strategies.bars import bars_read_csv
from strategies.base import StrategyError

HEADER = "date,open,high,low,close,volume\n"
GOOD = "2024-01-01,100,101,99,100.5,1000\n"


@pytest.fixture
def write(tmp_path):
    def write(text: str):
        path = tmp_path / "bars.csv"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def test_daily_bars_load_with_their_labels_as_written(write):
    bars = bars_read_csv(write(HEADER + GOOD + "2024-01-02,100.5,102.25,100,102,0\n\n"))
    assert len(bars) == 2  # the trailing blank line is not a bar
    assert bars.labels == ("2024-01-01", "2024-01-02")
    np.testing.assert_array_equal(
        bars.time, np.array(["2024-01-01", "2024-01-02"], "datetime64[us]")
    )
    np.testing.assert_array_equal(bars.high, [101.0, 102.25])
    np.testing.assert_array_equal(bars.volume, [1000.0, 0.0])
    assert bars.symbol == "bars"


def test_iso_times_with_offsets_are_utc_and_keep_their_text(write):
    text = HEADER + (
        "2024-01-01T09:15:00+05:30,100,101,99,100,10\n"
        "2024-01-01T03:46:00Z,100,101,99,100,10\n"
        "2024-01-01T09:17:00+05:30,100,101,99,100,10\n"
    )
    bars = bars_read_csv(write(text))
    assert bars.labels[0] == "2024-01-01T09:15:00+05:30"
    assert bars.labels[1] == "2024-01-01T03:46:00Z"
    np.testing.assert_array_equal(
        bars.time,
        np.array(["2024-01-01T03:45", "2024-01-01T03:46", "2024-01-01T03:47"], "datetime64[us]"),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "bars.csv: the file is empty"),
        (HEADER, "bars.csv: no bars after the header"),
        (
            "date,open,high,low,close\n" + "2024-01-01,1,1,1,1\n",
            "bars.csv line 1: missing column(s) volume",
        ),
        (
            "date,open,close,volume\n" + "2024-01-01,1,1,1\n",
            "bars.csv line 1: missing column(s) high, low",
        ),
        (
            HEADER + GOOD + "2024-01-02,abc,101,99,100,10\n",
            "bars.csv line 3: open 'abc' is not a finite number",
        ),
        (
            HEADER + GOOD + "2024-01-02,100,101,99,nan,10\n",
            "bars.csv line 3: close 'nan' is not a finite number",
        ),
        (
            HEADER + GOOD + GOOD.replace("01,", "02,", 1) + "2024-01-03,100,inf,99,100,10\n",
            "bars.csv line 4: high 'inf' is not a finite number",
        ),
        (HEADER + GOOD + "2024-01-02,100,101,,100,10\n", "bars.csv line 3: low is empty"),
        (HEADER + GOOD + "\n2024-01-02,100,101,99,100,10\n", "bars.csv line 3: the line is blank"),
        (
            HEADER + GOOD + "2024-01-02,100,99,101,100,10\n",
            "bars.csv line 3: high 99.0 is below low 101.0",
        ),
        (
            HEADER + GOOD + "2024-01-02,102,101,99,100,10\n",
            "bars.csv line 3: open 102.0 is outside low 99.0 to high 101.0",
        ),
        (
            HEADER + GOOD + "2024-01-02,100,101,99,98.5,10\n",
            "bars.csv line 3: close 98.5 is outside low 99.0 to high 101.0",
        ),
        (HEADER + GOOD + "2024-01-02,0,101,0,100,10\n", "bars.csv line 3: open 0.0 is not above 0"),
        (
            HEADER + GOOD + "2024-01-02,100,101,99,100,-5\n",
            "bars.csv line 3: volume -5.0 is negative",
        ),
        (
            HEADER + GOOD + GOOD,
            "bars.csv line 3: date 2024-01-01 is the same as 2024-01-01 on line 2",
        ),
        (
            HEADER + "2024-01-02,100,101,99,100,10\n" + GOOD,
            "bars.csv line 3: date 2024-01-01 is before 2024-01-02 on line 2",
        ),
        (
            HEADER + GOOD + "02/01/2024,100,101,99,100,10\n",
            "bars.csv line 3: date '02/01/2024' is not YYYY-MM-DD or ISO with an offset",
        ),
        (
            HEADER + GOOD + "2024-01-02T09:15:00,100,101,99,100,10\n",
            "bars.csv line 3: date '2024-01-02T09:15:00' is not YYYY-MM-DD",
        ),
        (
            HEADER + GOOD + "2024-02-30,100,101,99,100,10\n",
            "bars.csv line 3: date '2024-02-30' is not YYYY-MM-DD",
        ),
        (
            HEADER + GOOD + "2024-01-02,100,101,99,100,10,7\n",
            "bars.csv line 3: 7 fields where the header (line 1) has 6",
        ),
    ],
)
def test_bad_input_names_the_line_and_the_problem(write, text, message):
    with pytest.raises(StrategyError) as caught:
        bars_read_csv(write(text))
    assert str(caught.value).startswith(message)


def test_the_first_bad_line_is_reported_whatever_the_check(write):
    # Line 3 has a negative volume, line 4 a high below its low: line 3 is reported.
    text = HEADER + GOOD + "2024-01-02,100,101,99,100,-1\n" + "2024-01-03,100,98,99,100,1\n"
    with pytest.raises(StrategyError, match=r"^bars.csv line 3: volume -1.0 is negative$"):
        bars_read_csv(write(text))


def test_many_rows_load_and_a_late_bad_line_is_found(write):
    n = 200_000
    closes = np.round(100 + np.cumsum(np.random.default_rng(1).integers(-2, 3, n)) * 0.05, 2)
    closes = np.maximum(closes, 10)
    days = np.datetime64("2000-01-01") + np.arange(n)
    lines = [
        f"{d},{c},{c + 1:.2f},{c - 1:.2f},{c},5"
        for d, c in zip(days.astype(str), closes, strict=True)
    ]
    bars = bars_read_csv(write(HEADER + "\n".join(lines) + "\n"))
    assert len(bars) == n
    assert bars.labels[-1] == str(days[-1])
    lines[n - 10] = lines[n - 10].replace(",5", ",x")
    with pytest.raises(
        StrategyError, match=rf"line {n - 10 + 2}: volume 'x' is not a finite number"
    ):
        bars_read_csv(write(HEADER + "\n".join(lines) + "\n"))
