"""Bad ranges are refused by the core's parsers, so every surface gets the same typed error:
dates outside 1900–2100 (``--from``/``--to``/``--as-of``), windows longer than a century
(``--window``, ``--history``, ``--lookback``, ``--cohort``), ``--limit`` outside 0–1,000,000.
Before, these reached period arithmetic, pandas or DuckDB and came out as tracebacks (the API
had its own guards; the CLI had none)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from leadledger.cli.main import app, main
from leadledger.errors import InvalidArgument
from leadledger.reports.attribution import AttributionParams
from leadledger.reports.data import CheckParams, ImportsParams
from leadledger.reports.funnel import ConversionParams
from leadledger.reports.params import (
    FIRST_YEAR,
    LARGEST_LIMIT,
    LAST_YEAR,
    LONGEST_WINDOW_DAYS,
    parse_day,
)
from leadledger.reports.planning import WhatifParams
from leadledger.service import Workspace, init_project
from tests.conftest import config_text, load_journeys

runner = CliRunner()

#: Two leads, one a customer: enough for every report below to run.
STORY = {
    "A": {
        "created": "2025-01-07 10:00",
        "channel": "paid_search",
        "stages": [("mql", "2025-01-09 10:00"), ("sql", "2025-01-20"), ("customer", "2025-02-10")],
    },
    "B": {"created": "2025-02-03 10:00", "channel": "email", "stages": [("mql", "2025-02-04")]},
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("guards") / "acme"
    init_project(folder, config_text=config_text())
    ws = Workspace(folder)
    load_journeys(ws, STORY)
    yield folder, ws
    ws.close()


def cli(folder: Path, *argv: str) -> Any:
    return runner.invoke(app, [*argv, "--project", str(folder), "--format", "json"])


def refused(capsys: pytest.CaptureFixture[str], folder: Path, argv: list[str], *words: str) -> None:
    """``leadledger …`` (the entry point) prints ``error [invalid_argument]: …`` naming the
    option and the value, then a hint, exits non-zero, never a traceback."""
    code = main([*argv, "--project", str(folder), "--format", "json"])
    out, err = capsys.readouterr()
    text = " ".join(err.split())  # the console wraps long lines
    assert code != 0, (out, err)
    assert text.startswith("error [invalid_argument]: "), err
    assert "Traceback" not in err and not out
    for w in words:
        assert w in text, (w, text)
    assert "hint:" in text
    # through Typer's test runner the same typed error comes out of the command
    result = cli(folder, *argv)
    assert result.exit_code != 0 and isinstance(result.exception, InvalidArgument)


# -- the CLI ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "words"),
    [
        # dates: period arithmetic overflowed (OverflowError / ValueError year 10000)
        (["report", "stages", "--from", "0001-01-01"], ["--from", "0001-01-01", "1900–2100"]),
        (["report", "stages", "--to", "9999-12-31"], ["--to", "9999-12-31", "1900–2100"]),
        (["report", "conversion", "--as-of", "0001-01-01"], ["--as-of", "0001-01-01"]),
        (["report", "velocity", "--as-of", "2999-12-31T10:00"], ["--as-of", "2999-12-31T10:00"]),
        (["report", "roi", "--from", "1899-12-31"], ["--from", "1899-12-31"]),
        (["attribution", "--to", "2101-01-01"], ["--to", "2101-01-01"]),
        (["sla", "--as-of", "0001-01-01"], ["--as-of", "0001-01-01"]),
        (["pace", "--as-of", "9999-01-01"], ["--as-of", "9999-01-01"]),
        (["plan", "--revenue", "100000", "--from", "9999-01-01"], ["--from", "9999-01-01"]),
        (["plan", "--revenue", "100000", "--to", "0001-06-01"], ["--to", "0001-06-01"]),
        (["score", "backtest", "--as-of", "2500-01-01"], ["--as-of", "2500-01-01"]),
        # windows: ValueError in _months_back, OverflowError / OutOfBoundsTimedelta
        (["whatif", "--history", "99999y"], ["--history", "99999y", "a century"]),
        (["plan", "--revenue", "100000", "--history", "1201m"], ["--history", "1201m"]),
        (["report", "conversion", "--window", "36526d"], ["--window", "36526d", "36,525 days"]),
        (["score", "backtest", "--window", "99999999d"], ["--window", "99999999d"]),
        (["decay", "--history", "99999999d"], ["--history", "99999999d"]),
        (["attribution", "--lookback", "9999999999d"], ["--lookback", "9999999999d"]),
        # limits: DuckDB's INT64 conversion error, negative LIMIT binder error
        (["check", "--limit", str(2**63)], ["--limit", str(2**63), "0 to 1,000,000"]),
        (["check", "--limit", "-1"], ["--limit", "-1"]),
    ],
    ids=lambda v: " ".join(v) if v and isinstance(v[0], str) and not v[0].startswith("-") else "",
)
def test_the_cli_refuses_out_of_range_values_with_one_typed_line(
    project: Any, capsys: pytest.CaptureFixture[str], argv: list[str], words: list[str]
) -> None:
    folder, _ws = project
    refused(capsys, folder, argv, *words)


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "stages", "--from", f"{FIRST_YEAR}-01-01", "--period", "year"],
        ["report", "stages", "--to", f"{LAST_YEAR}-12-31", "--period", "quarter"],
        ["report", "conversion", "--as-of", f"{LAST_YEAR}-12-31", "--window", "36525d"],
        ["report", "velocity", "--as-of", f"{FIRST_YEAR}-01-01T00:00+14:00"],
        ["whatif", "--history", "100y"],
        [
            "plan",
            "--revenue",
            "100000",
            "--from",
            f"{LAST_YEAR}-06-01",
            "--history",
            "1200m",
            "--deal-size",
            "1000",
        ],
        ["sla", "--as-of", f"{LAST_YEAR}-12-31"],
        ["check", "--limit", str(LARGEST_LIMIT)],
        ["check", "--limit", "0"],
    ],
)
def test_the_bounds_themselves_are_accepted(project: Any, argv: list[str]) -> None:
    folder, _ws = project
    result = cli(folder, *argv)
    assert result.exit_code == 0, result.output


# -- the façade (what the API and the pages call) ----------------------------------------------
def test_the_facade_raises_the_same_typed_errors(project: Any) -> None:
    _folder, ws = project
    cases = [
        (lambda: ws.report("stages", start="0001-01-01"), "--from '0001-01-01'"),
        (lambda: ws.report("stages", end=dt.date(9999, 12, 31)), "--to '9999-12-31'"),
        (lambda: ws.report("conversion", as_of="0001-01-01"), "--as-of '0001-01-01'"),
        (lambda: ws.report("whatif", history="99999y"), "--history '99999y'"),
        (lambda: ws.report("conversion", window="99999999999d"), "--window '99999999999d'"),
        (lambda: ws.report("conversion", window=float("inf")), "--window 'inf'"),
        (lambda: ws.report("check", limit=2**63), "--limit '9223372036854775808'"),
        (lambda: ws.report("check", limit=-1), "--limit '-1'"),
        (lambda: ws.report("check", limit=2.5), "--limit '2.5'"),
        (lambda: ws.report("sla", as_of=pd.Timestamp("2262-01-01")), "--as-of"),
        (lambda: ws.report("pace", as_of="0001-01-01"), "--as-of '0001-01-01'"),
        (lambda: ws.report("executive", start="0001-01-01"), "--from '0001-01-01'"),
    ]
    for call, message in cases:
        with pytest.raises(InvalidArgument) as err:
            call()
        assert message in err.value.message, err.value.message
        assert err.value.code == "invalid_argument" and err.value.hint


def test_the_facade_accepts_the_bounds(project: Any) -> None:
    _folder, ws = project
    r = ws.report("stages", start=f"{FIRST_YEAR}-01-01", end="2025-02-28", period="year")
    assert r.params["from"] == dt.date(FIRST_YEAR, 1, 1)
    # the two leads counted once each, whatever the range's start
    assert int(r.frame.loc[r.frame["stage"] == "lead", "entered"].sum()) == 2
    c = ws.report("conversion", as_of=f"{LAST_YEAR}-12-31", window=LONGEST_WINDOW_DAYS)
    assert c.params["window_days"] == LONGEST_WINDOW_DAYS
    assert int(c.frame["converted"].sum()) == 1  # A became a customer, within the window
    assert len(ws.report("check", limit=LARGEST_LIMIT).frame) >= 0


# -- the parsers, unit by unit ---------------------------------------------------------------------
def test_parse_date_bounds() -> None:
    assert parse_day(f"{FIRST_YEAR}-01-01", "--from") == dt.date(FIRST_YEAR, 1, 1)
    assert parse_day(f"{LAST_YEAR}-12-31", "--to") == dt.date(LAST_YEAR, 12, 31)
    assert parse_day(dt.datetime(2025, 3, 2, 23, 30), "--to") == dt.date(2025, 3, 2)
    assert parse_day(None, "--to") is None
    for bad in ("1899-12-31", "2101-01-01", dt.date(1, 1, 1)):
        with pytest.raises(InvalidArgument, match="outside the supported years"):
            parse_day(bad, "--from")
    with pytest.raises(InvalidArgument, match="--from '2025-13-01' is not a date"):
        ConversionParams(start="2025-13-01")


def test_parse_window_bounds() -> None:
    def days(text: object) -> float | None:
        window = ConversionParams(window=text).window
        return None if window is None else window.days

    assert days("36525d") == LONGEST_WINDOW_DAYS == 36_525
    assert days("5217w") == 5217 * 7
    assert days("876600h") == pytest.approx(36_525)  # a century in hours
    assert days(None) is None
    for bad in ("36526d", "5218w", "876601h", 36_525.5, float("nan")):
        with pytest.raises(InvalidArgument):
            days(bad)
    with pytest.raises(InvalidArgument, match="--lookback '40000d'"):
        AttributionParams(lookback="40000d")


def test_parse_history_bounds() -> None:
    """--history of plan and whatif: whole units, a century at most in each unit."""
    longest = {"d": 36_525, "w": 5_217, "m": 1_200, "y": 100}
    for unit, most in longest.items():
        history = WhatifParams(history=f"{most}{unit}").history
        assert (history.n, history.unit) == (most, unit)
        with pytest.raises(InvalidArgument, match="longer than the longest supported window") as e:
            WhatifParams(history=f"{most + 1}{unit}")
        assert f"a century ({most:,}{unit})" in e.value.message
    for bad in ("12q", "12", "0m", "1.5m", "", 12):
        with pytest.raises(InvalidArgument, match="is not a window"):
            WhatifParams(history=bad)


def test_parse_limit_bounds() -> None:
    import numpy as np

    assert CheckParams(limit=0).limit == 0
    assert CheckParams(limit="20").limit == 20
    assert CheckParams(limit=np.int64(7)).limit == 7
    assert CheckParams(limit=LARGEST_LIMIT).limit == LARGEST_LIMIT == 1_000_000
    assert ImportsParams(limit=1).limit == 1
    for bad in (-1, LARGEST_LIMIT + 1, 2**63, 2.0, "2.5", "lots", None, True):
        with pytest.raises(InvalidArgument):
            CheckParams(limit=bad)
    with pytest.raises(InvalidArgument):
        ImportsParams(limit=0)


def test_the_option_is_named_and_the_reason_kept_everywhere(tmp_path):
    """Parsers that used to swap the core's message for "is not a duration" now pass it on,
    naming their own option; decay and model predict bound --limit like check does."""
    from leadledger.errors import InvalidArgument
    from leadledger.service import Workspace, init_project
    from tests.conftest import config_text

    init_project(tmp_path / "p", config_text=config_text())
    with Workspace(tmp_path / "p") as ws:
        cases = [
            (lambda: ws.report("roi", lookback="99999y"), "--lookback", "not a duration"),
            (lambda: ws.report("roi", lookback="40000d"), "--lookback", "a century"),
            (lambda: ws.report("attribution", lookback="40000d"), "--lookback", "a century"),
            (lambda: ws.report("decay", history="40000d"), "--history", "a century"),
            (lambda: ws.report("decay", limit=2**63), "--limit", "whole number"),
            (lambda: ws.report("score_backtest", cohort="40000d"), "--cohort", "a century"),
        ]
        for call, option, reason in cases:
            with pytest.raises(InvalidArgument) as err:
                call()
            assert option in err.value.message and reason in err.value.message, err.value.message
