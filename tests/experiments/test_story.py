"""Experiments end to end on both engines: a hash holdout and an imported membership, with the
expected counts worked out by hand from the story below."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from leadledger.errors import ExperimentNotFound, ImportFileError, InvalidArgument, RejectedRows
from leadledger.experiments import stats
from leadledger.reports.context import Ctx
from leadledger.reports.experiments import (
    ExperimentAssignParams,
    ExperimentImportParams,
    ExperimentReportParams,
    ExperimentSizeParams,
)
from leadledger.reports.registry import get
from leadledger.reports.result import Report
from tests.conftest import config_text, load_journeys, rows_by, write_csv

EXPERIMENTS = """experiments:
  - name: nurture
    stage: mql
    control_share: 0.3
    start: 2025-01-06
    end: 2025-01-31
    where: {channel: [paid_search]}
  - {name: webinar, assignment: imported, stage: mql}
  - {name: everyone, stage: lead}"""

# nurture, control_share 0.3: hash values P1 .144, P2 .100, P6 .191, P8 .146 → control;
# P3 .446, P4 .343, P5 .954, P7 .353 → test (pinned in test_assignment.py)
PAID = "paid_search"
STORY: dict[str, dict[str, Any]] = {
    # control
    "P1": {
        "created": "2025-01-06 09:00",
        "channel": PAID,
        "email": "p1@example.com",
        "stages": [("mql", "2025-01-08"), ("sql", "2025-01-20"), ("customer", "2025-02-15")],
    },
    "P2": {
        "created": "2025-01-07",
        "channel": PAID,
        "stages": [("mql", "2025-01-09"), ("sql", "2025-01-25")],
    },
    "P6": {"created": "2025-01-07", "channel": PAID, "stages": [("mql", "2025-01-15")]},
    # entered mql at 23:30 on the last day, Madrid time (22:30 UTC): in
    "P8": {"created": "2025-01-30", "channel": PAID, "stages": [("mql", "2025-01-31 23:30")]},
    # test
    "P3": {
        "created": "2025-01-06",
        "channel": PAID,
        "stages": [("mql", "2025-01-10"), ("sql", "2025-01-22"), ("customer", "2025-02-20")],
    },
    "P4": {
        "created": "2025-01-06",
        "channel": PAID,
        "stages": [("mql", "2025-01-12"), ("sql", "2025-01-28")],
    },
    # reaches sql only after the as-of date of the report
    "P5": {
        "created": "2025-01-08",
        "channel": PAID,
        "stages": [("mql", "2025-01-13"), ("sql", "2025-03-10")],
    },
    # skips mql (counts as reached on 2025-01-20); customer after the as-of date
    "P7": {
        "created": "2025-01-08",
        "channel": PAID,
        "stages": [("sql", "2025-01-20"), ("customer", "2025-03-05")],
    },
    # not in the population: mql in February, another channel, 00:30 on 1 February local time
    "X1": {
        "created": "2025-01-20",
        "channel": PAID,
        "stages": [("mql", "2025-02-03"), ("sql", "2025-02-10")],
    },
    "X2": {
        "created": "2025-01-08",
        "channel": "organic_search",
        "stages": [("mql", "2025-01-10"), ("sql", "2025-01-15")],
    },
    "X3": {"created": "2025-01-30", "channel": PAID, "stages": [("mql", "2025-02-01 00:30")]},
}
AS_OF = "2025-03-01"


def size(**params: Any) -> Report:
    """``experiment size``, which needs no project."""
    return get("experiment_size").run(Ctx(None), ExperimentSizeParams(**params))


@pytest.fixture
def ws(engine: str, make_project: Any) -> Any:
    ws = make_project(engine, config_text(engine, **{"experiments: []": EXPERIMENTS}))
    load_journeys(ws, STORY)
    return ws


def test_hash_experiment_story(ws: Any) -> None:
    r = ws.run(ExperimentReportParams(name="nurture", as_of=AS_OF))
    assert r.name == "experiment_report"
    rows = rows_by(r, "stage")
    assert list(rows) == ["sal", "sql", "opportunity", "customer"]
    expected = {  # (control converted, test converted) of 4 leads each, by 2025-03-01
        "sal": (2, 3),  # skipped stages count: P1, P2 | P3, P4, P7
        "sql": (2, 3),
        "opportunity": (1, 1),  # P1 | P3 (customer skips opportunity)
        "customer": (1, 1),
    }
    for stage, (c, t) in expected.items():
        row = rows[stage]
        assert (row["control_leads"], row["test_leads"]) == (4, 4), stage
        assert (row["control_converted"], row["test_converted"]) == (c, t), stage
        ref = stats.compare(c, 4, t, 4)
        assert row["p_value"] == pytest.approx(ref.p_value)
        assert row["test_used"] == "fisher"  # 4 leads a group: exact test
        assert row["lift_abs"] == pytest.approx(t / 4 - c / 4)
    assert r.as_dict()["params"]["population"] == 8
    assert any("sample ratio: 4 control of 8" in n for n in r.notes)

    # later, P5's sql and P7's customer count
    now = rows_by(ws.run(ExperimentReportParams(name="nurture")), "stage")
    assert (now["sql"]["test_converted"], now["customer"]["test_converted"]) == (4, 2)

    only = ws.run(ExperimentReportParams(name="nurture", stage="sql", as_of=AS_OF))
    assert only.frame["stage"].tolist() == ["sql"]


def test_hash_assignment_export(ws: Any) -> None:
    a = ws.run(ExperimentAssignParams(name="nurture", as_of=AS_OF))
    groups = dict(zip(a.frame["lead_id"], a.frame["group"], strict=True))
    assert groups == {
        "P1": "control",
        "P2": "control",
        "P6": "control",
        "P8": "control",
        "P3": "test",
        "P4": "test",
        "P5": "test",
        "P7": "test",
    }
    p8 = a.frame.set_index("lead_id").loc["P8"]
    assert pd.Timestamp(p8["entered_at"]) == pd.Timestamp("2025-01-31 22:30", tz="UTC")
    assert a.frame.set_index("lead_id").loc["P1", "email"] == "p1@example.com"
    held_out = ws.run(ExperimentAssignParams(name="nurture", group="control"))
    assert sorted(held_out.frame["lead_id"]) == ["P1", "P2", "P6", "P8"]
    csv = held_out.to_csv().splitlines()
    assert csv[0] == "lead_id,group,entered_at,email,hash_value,in_ledger"
    assert len(csv) == 5
    with pytest.raises(InvalidArgument):
        ws.run(ExperimentAssignParams(name="nurture", group="holdout"))


def test_population_from_the_first_stage(ws: Any) -> None:
    # stage lead, no dates, no filter: every lead; the report starts at the next stage
    r = ws.run(ExperimentReportParams(name="everyone", as_of=AS_OF))
    assert r.frame["stage"].tolist()[0] == "mql"
    total = int(r.frame["control_leads"].iloc[0] + r.frame["test_leads"].iloc[0])
    assert total == len(STORY)


def test_unknown_experiment_and_stage(ws: Any) -> None:
    with pytest.raises(ExperimentNotFound) as exc:
        ws.run(ExperimentReportParams(name="nurtur"))
    assert exc.value.hint and "nurture" in exc.value.hint
    with pytest.raises(InvalidArgument):
        ws.run(
            ExperimentReportParams(name="nurture", stage="lead")
        )  # before the population's stage
    with pytest.raises(Exception) as exc2:
        ws.run(ExperimentReportParams(name="nurture", stage="sqll"))
    assert getattr(exc2.value, "code", None) == "unknown_stage"
    with pytest.raises(InvalidArgument):
        ws.run(
            ExperimentImportParams(name="nurture", file=ws.project_dir / "x.csv")
        )  # a hash experiment


def members_csv(folder: Path, name: str, rows: list[tuple[str, str]]) -> Path:
    return write_csv(folder / name, [{"lead_id": i, "group": g} for i, g in rows])


def groups_rows(ws: Any) -> int:
    return int(ws.store.execute(ws.store.table("experiment_groups").count()))


def test_imported_experiment_story(ws: Any) -> None:
    folder = ws.project_dir
    good = members_csv(
        folder,
        "webinar.csv",
        [("P1", "control"), ("P2", "Control"), ("P3", "test"), ("P4", " test "), ("GHOST", "test")],
    )
    first = ws.run(ExperimentImportParams(name="webinar", file=good)).as_dict()["rows"][0]
    assert (first["read"], first["added"], first["already_imported"]) == (5, 5, 0)
    assert (first["control_members"], first["test_members"], first["not_in_ledger"]) == (2, 3, 1)
    assert groups_rows(ws) == 5

    # the same file again: nothing added
    again = ws.run(ExperimentImportParams(name="webinar", file=good)).as_dict()["rows"][0]
    assert (again["added"], again["already_imported"]) == (0, 5)
    assert groups_rows(ws) == 5

    r = ws.run(ExperimentReportParams(name="webinar", as_of=AS_OF))
    rows = rows_by(r, "stage")
    assert list(rows) == ["mql", "sal", "sql", "opportunity", "customer"]
    assert (rows["mql"]["control_leads"], rows["mql"]["test_leads"]) == (2, 2)  # GHOST is out
    assert (rows["mql"]["control_converted"], rows["mql"]["test_converted"]) == (2, 2)
    assert (rows["sql"]["control_converted"], rows["sql"]["test_converted"]) == (2, 2)
    assert (rows["customer"]["control_converted"], rows["customer"]["test_converted"]) == (1, 1)
    assert any("1 imported member(s) are not in the ledger" in n for n in r.notes)

    a = ws.run(ExperimentAssignParams(name="webinar")).frame.set_index("lead_id")
    assert a.loc["GHOST", "in_ledger"] == False  # noqa: E712
    assert a.loc["P2", "group"] == "control"


def test_imported_bad_rows_reject_the_whole_file(ws: Any) -> None:
    folder = ws.project_dir
    bad = members_csv(
        folder,
        "bad.csv",
        [("P1", "control"), ("P2", "treatment"), ("", "test"), ("P3", "test"), ("P3", "control")],
    )
    with pytest.raises(RejectedRows) as exc:
        ws.run(ExperimentImportParams(name="webinar", file=bad))
    msg = exc.value.message
    assert "bad.csv" in msg and "3 row(s) rejected, nothing imported" in msg
    assert "row 3 column group: got 'treatment', expected test or control" in msg
    assert "row 4 column lead_id" in msg
    assert "row 6 column group" in msg and "in row 5" in msg
    assert groups_rows(ws) == 0

    # a clearly mapped value is fine; the in-file conflict is fixed
    fixed = members_csv(folder, "fixed.csv", [("P1", "control"), ("P2", "treatment")])
    res = ws.run(ExperimentImportParams(name="webinar", file=fixed, group_map=["treatment=test"]))
    assert res.frame["added"].iloc[0] == 2
    # a lead never changes group across imports
    moved = members_csv(folder, "moved.csv", [("P2", "control"), ("P6", "control")])
    with pytest.raises(RejectedRows, match=r"row 2 column group.*imported in test before"):
        ws.run(ExperimentImportParams(name="webinar", file=moved))
    assert groups_rows(ws) == 2
    with pytest.raises(InvalidArgument):
        ws.run(ExperimentImportParams(name="webinar", file=fixed, group_map=["treatment=variant"]))


def test_imported_file_problems(ws: Any) -> None:
    folder = ws.project_dir
    no_group = write_csv(folder / "nogroup.csv", [{"lead_id": "P1", "variant": "test"}])
    with pytest.raises(ImportFileError, match="no 'group' column"):
        ws.run(ExperimentImportParams(name="webinar", file=no_group))
    with pytest.raises(ImportFileError, match="no such file"):
        ws.run(ExperimentImportParams(name="webinar", file=folder / "missing.csv"))
    parquet = folder / "members.parquet"
    pd.DataFrame({"Lead_ID": ["P1", "P3", "P3"], "Group": ["control", "test", "test"]}).to_parquet(
        parquet
    )
    row = ws.run(ExperimentImportParams(name="webinar", file=parquet)).as_dict()["rows"][0]
    assert (row["added"], row["duplicate_rows"]) == (2, 1)


def test_size_report() -> None:
    r = size(baseline=0.05, mde=0.1, relative=True)  # 0.05 → 0.055
    row = r.as_dict()["rows"][0]
    assert row["target_rate"] == pytest.approx(0.055)
    assert row["control_leads"] == stats.sample_size(0.05, 0.055).control_leads
    holdout = size(baseline=0.05, mde=0.01, control_share=0.1).as_dict()["rows"][0]
    assert holdout["test_leads"] > 8 * holdout["control_leads"]
    for bad in ({"baseline": 0.05, "mde": 0}, {"baseline": 0.99, "mde": 0.02}):
        with pytest.raises(InvalidArgument):
            size(**bad)
