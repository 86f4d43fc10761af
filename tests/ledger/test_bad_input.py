"""Bad rows are quarantined with file, spreadsheet row, column, value and what was expected,
in quarantine.csv beside report.json; read = accepted + rejected + skipped, always."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import write_csv

GOOD_LEAD = {"lead_id": "L1", "created_at": "2024-03-04 09:00", "email": "a@example.com"}
GOOD_DEAL = {
    "deal_id": "D1",
    "lead_id": "L1",
    "created_at": "2024-03-04",
    "closed_at": "",
    "status": "open",
    "amount": "1000",
    "currency": "EUR",
}
GOOD_STAGE = {"lead_id": "L1", "stage": "mql", "entered_at": "2024-03-05 10:00"}

CASES = {
    "missing required value": (
        "leads",
        GOOD_LEAD,
        {"lead_id": "", "created_at": "2024-03-04", "email": "x@example.com"},
        "lead_id",
        "",
        "a value (required)",
    ),
    "unparseable date": (
        "leads",
        GOOD_LEAD,
        {"lead_id": "L2", "created_at": "2024-13-45", "email": ""},
        "created_at",
        "2024-13-45",
        "a date like ISO 8601",
    ),
    "impossible date": (
        "leads",
        GOOD_LEAD,
        {"lead_id": "L2", "created_at": "3000-01-01", "email": ""},
        "created_at",
        "3000-01-01",
        "a date between 1900 and 2200",
    ),
    "non-numeric amount": (
        "deals",
        GOOD_DEAL,
        {**GOOD_DEAL, "deal_id": "D2", "amount": "12.5k"},
        "amount",
        "12.5k",
        "a number (like 1234.56)",
    ),
    "wrong currency": (
        "deals",
        GOOD_DEAL,
        {**GOOD_DEAL, "deal_id": "D2", "currency": "USD"},
        "currency",
        "USD",
        "EUR (one currency per project)",
    ),
    "unknown stage": (
        "stages",
        GOOD_STAGE,
        {**GOOD_STAGE, "stage": "mqll"},
        "stage",
        "mqll",
        "did you mean 'mql'?",
    ),
}


def quarantine(result) -> pd.DataFrame:
    assert result.quarantine_path is not None
    assert result.quarantine_path.parent == result.report_path.parent
    return pd.read_csv(result.quarantine_path, dtype=str, keep_default_na=False)


@pytest.mark.parametrize("case", list(CASES))
def test_each_bad_row_is_quarantined_with_its_place_and_reason(make_project, tmp_path, case):
    kind, good, bad, column, value, expected = CASES[case]
    ws = make_project()
    f = write_csv(tmp_path / f"{kind}.csv", [good, bad, {**good}])  # row 4 repeats row 2
    r = ws.import_files(kind, [f])
    assert (r.read, r.accepted, r.rejected, r.skipped) == (3, 1, 1, 1)
    q = quarantine(r)
    assert len(q) == 1
    row = q.iloc[0]
    assert row["_file"] == str(f)
    assert row["_row"] == "3"  # the header is row 1, the bad record is the second one
    assert row["_column"] == column
    assert row["_value"] == value
    assert expected in row["_expected"]
    # the rejected row itself travels with it, column by column, to be fixed and re-imported
    for k, v in bad.items():
        assert row[k] == v
    report = json.loads(r.report_path.read_text(encoding="utf-8"))
    assert (report["read"], report["accepted"], report["rejected"], report["skipped"]) == (
        3,
        1,
        1,
        1,
    )
    assert report["files"][0]["rejections_by_column"] == {column: 1}
    assert report["quarantine"] == str(r.quarantine_path)


def test_mixed_currencies_keep_the_projects_and_reject_the_others(make_project, tmp_path):
    ws = make_project()
    rows = [
        {**GOOD_DEAL, "deal_id": f"D{i}", "currency": c}
        for i, c in enumerate(["EUR", "eur", "USD", "", "GBP"])
    ]
    r = ws.import_files("deals", [write_csv(tmp_path / "d.csv", rows)])
    assert (r.accepted, r.rejected) == (3, 2)  # a blank currency is the project's
    assert set(quarantine(r)["_value"]) == {"USD", "GBP"}
    assert set(ws.store.execute(ws.store.table("deals").currency).dropna()) == {"EUR"}


def test_a_ragged_row_is_quarantined_whole(make_project, tmp_path):
    ws = make_project()
    f = tmp_path / "leads.csv"
    f.write_text(
        "lead_id,created_at,email,company\n"
        "L1,2024-03-04,a@example.com,Acme\n"
        "L2,2024-03-05,b@example.com,Acme, Inc.\n"  # unquoted comma: one field too many
        "L3,2024-03-06,c@example.com,Initech\n",
        encoding="utf-8",
    )
    r = ws.import_files("leads", [f])
    assert (r.read, r.accepted, r.rejected, r.skipped) == (3, 2, 1, 0)
    row = quarantine(r).iloc[0]
    assert (row["_file"], row["_row"], row["_column"]) == (str(f), "3", "(record)")
    assert row["_value"] == "L2,2024-03-05,b@example.com,Acme, Inc."
    assert row["_expected"] == "expected 4 fields, found 5"
    assert r.files[0].rejections_by_column == {"(record)": 1}


def test_several_problems_in_one_row_are_listed_together(make_project, tmp_path):
    ws = make_project()
    rows = [
        GOOD_DEAL,
        {**GOOD_DEAL, "deal_id": "D2", "amount": "n/a", "currency": "USD", "status": "wonn"},
    ]
    r = ws.import_files("deals", [write_csv(tmp_path / "d.csv", rows)])
    assert (r.read, r.accepted, r.rejected) == (2, 1, 1)
    row = quarantine(r).iloc[0]
    assert set(row["_column"].split(";")) == {"amount", "currency", "status"}
    assert "did you mean 'won'?" in row["_expected"]


def test_problems_in_several_files_name_their_file(make_project, tmp_path):
    ws = make_project()
    a = write_csv(
        tmp_path / "a.csv", [GOOD_LEAD, {**GOOD_LEAD, "lead_id": "L2", "created_at": "yesterday"}]
    )
    b = write_csv(tmp_path / "b.csv", [{**GOOD_LEAD, "lead_id": "L3", "created_at": "1899-12-31"}])
    r = ws.import_files("leads", [a, b])
    assert (r.read, r.accepted, r.rejected) == (3, 1, 2)
    q = quarantine(r)
    assert list(zip(q["_file"], q["_row"], q["_column"], strict=True)) == [
        (str(a), "3", "created_at"),
        (str(b), "2", "created_at"),
    ]
    for f in r.files:
        assert f.accepted + f.rejected + f.skipped == f.read


def test_a_file_that_cannot_be_mapped_stops_before_anything_is_written(make_project, tmp_path):
    from leadledger.errors import MappingError

    ws = make_project()
    f = write_csv(tmp_path / "x.csv", [{"id": "L1", "created": "2024-03-04"}])
    with pytest.raises(MappingError, match="no column for required field"):
        ws.import_files("leads", [f])
    assert ws.store.execute(ws.store.table("imports").count()) == 0
    assert not (Path(ws.project_dir) / "imports").exists()
    m = tmp_path / "m.yaml"
    m.write_text("columns: {lead_id: Idd, created_at: Created}\n", encoding="utf-8")
    with pytest.raises(MappingError, match=r"'Idd' \(for lead_id") as exc:
        ws.import_files("leads", [f], mapping=m)
    assert exc.value.hint == "did you mean 'id'?"
    # matching a mapped column ignores case when that is unambiguous
    m.write_text("columns: {lead_id: ID, created_at: Created}\n", encoding="utf-8")
    r = ws.import_files("leads", [f], mapping=m)
    assert (r.accepted, r.rejected) == (1, 0)
    assert ws.store.execute(ws.store.table("imports").count()) == 1


def test_a_deals_crm_stage_is_kept_as_written(make_project, tmp_path):
    """Only stages imports map `stage` to the funnel; a deal's stage is the CRM's own text."""
    ws = make_project()
    rows = [
        {**GOOD_DEAL, "deal_id": "D1", "stage": "Engaging"},
        {**GOOD_DEAL, "deal_id": "D2", "stage": "Won", "status": "won", "closed_at": "2024-04-01"},
    ]
    r = ws.import_files("deals", [write_csv(tmp_path / "d.csv", rows)])
    assert (r.accepted, r.rejected) == (2, 0), r.sample_rejections
    d = ws.store.execute(ws.store.table("deals").order_by("deal_id"))
    assert list(d["stage"]) == ["Engaging", "Won"]
