"""quarantine.csv reads back as written: it holds what the report counts, cell for cell
(issue 19)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadledger.ledger.imports.batch import neutralise, write_csv
from leadledger.ledger.imports.read import read_file
from tests.conftest import write_csv as write_input

META = ["_file", "_row", "_column", "_value", "_expected"]
#: Line breaks, quotes, delimiters, spaces and formula starts are what a CSV writer gets wrong.
cells = st.text(
    alphabet=st.one_of(
        st.sampled_from(["\r", "\n", ",", ";", '"', "'", " ", "\t", "=", "+", "-", "@"]),
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    ),
    max_size=12,
)
rows = st.lists(st.lists(cells, min_size=6, max_size=6), min_size=1, max_size=8)
_names = itertools.count()


def read_back(path: Path) -> pd.DataFrame:
    """The file as the project's reader reads it. The reader numbers the records itself in
    ``_row`` (the quarantine's own ``_row`` column is overwritten): the records in order are
    rows 2, 3, … when every record is read whole."""
    read = read_file(path, delimiter=",")
    assert read.bad == [] and read.blank == 0
    assert list(read.frame["_row"]) == list(range(2, len(read.frame) + 2))
    return read.frame.drop(columns=["_row"]).astype(str)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=rows)
def test_a_quarantine_reads_back_row_for_row(tmp_path: Path, rows: list[list[str]]) -> None:
    """Random cells (line breaks, quotes, delimiters, formula starts) written as a quarantine
    and read with the project's own reader: the same rows, the same cells (a text cell that
    starts like a formula with a single quote before it)."""
    frame = pd.DataFrame(
        [[r[0], n, *r[1:]] for n, r in enumerate(rows, start=2)], columns=[*META, "a", "b"]
    )
    path = tmp_path / f"q{next(_names)}.csv"
    write_csv(path, frame)
    back = read_back(path)
    expected = frame.drop(columns=["_row"]).map(neutralise).astype(str)
    assert list(back.columns) == list(expected.columns)
    assert back.to_dict(orient="records") == expected.to_dict(orient="records")


def test_a_carriage_return_in_a_rejected_row_stays_in_its_row(make_project, tmp_path: Path):
    """A cell holding a bare carriage return (an old Mac line end inside a quoted note) was
    written unquoted: the quarantine had a row more than the report said."""
    ws = make_project()
    leads = write_input(
        tmp_path / "leads.csv",
        [
            {"lead_id": "A", "created_at": "2025-01-07", "note": "fine"},
            {"lead_id": "B", "created_at": "not a date", "note": "first line\rsecond line"},
            {"lead_id": "C", "created_at": "2025-13-01", "note": "one\r\ntwo\nthree"},
        ],
    )
    result = ws.import_files("leads", [leads])
    assert (result.accepted, result.rejected) == (1, 2)
    back = read_back(result.quarantine_path)
    assert len(back) == result.rejected
    assert list(back["lead_id"]) == ["B", "C"]
    assert list(back["note"]) == ["first line\rsecond line", "one\r\ntwo\nthree"]


FORMULAS = ["=1+2", "+33 600", "-5", "@SUM(A1)", "\tx", "\rx"]


def test_formula_cells_are_neutralised_in_the_quarantine_only(make_project, tmp_path: Path):
    """OWASP's rule against CSV injection: a text cell starting with = + - @, a tab or a
    carriage return gets a single quote before it, so a spreadsheet shows it as text instead
    of running it. Only quarantine.csv (the file people open in a spreadsheet): the report and
    the CLI's sample show the values as they were."""
    ws = make_project()
    rows = [{"lead_id": "OK", "created_at": "2025-01-07", "note": "=fine, accepted"}]
    rows += [
        {"lead_id": f"L{i}", "created_at": value, "note": value} for i, value in enumerate(FORMULAS)
    ]
    leads = write_input(tmp_path / "leads.csv", rows)
    result = ws.import_files("leads", [leads])
    assert (result.accepted, result.rejected) == (1, len(FORMULAS))
    back = read_back(result.quarantine_path)
    assert list(back["note"]) == ["'" + v for v in FORMULAS]
    # the problem's value is the stripped text (a tab or CR in front is gone)
    assert list(back["_value"]) == ["'=1+2", "'+33 600", "'-5", "'@SUM(A1)", "x", "x"]
    assert list(back["created_at"]) == ["'" + v for v in FORMULAS]
    assert list(back["lead_id"]) == [f"L{i}" for i in range(len(FORMULAS))]
    # the report, the API's answers and the ledger keep the values as they were
    assert [r["value"] for r in result.sample_rejections] == [v.strip() for v in FORMULAS]
    stored = ws.store.execute(ws.store.table("leads"))
    assert list(stored["properties"]) == ['{"note": "=fine, accepted"}']


def test_the_events_quarantine_is_neutralised_too(make_project):
    ws = make_project()
    r = ws.ingest_events(
        [{"event_id": "=e1", "type": "stage", "lead_id": "-1", "stage": "@x", "entered_at": "x"}]
    )
    assert r.rejected == 1 and r.rejections[0]["value"] == "@x"
    back = read_back(ws.project_dir / r.quarantine)
    assert (back["_event_id"][0], back["lead_id"][0], back["stage"][0]) == ("'=e1", "'-1", "'@x")
