"""docs/experiments.md cannot drift from the code: every column of every experiment report is
in its table, and the worked numbers are the code's."""

from __future__ import annotations

from typing import Any

import pytest

from leadledger.reports.experiments import (
    ExperimentAssignParams,
    ExperimentImportParams,
    ExperimentReportParams,
)
from tests.conftest import config_text, load_journeys, write_csv
from tests.experiments.test_story import AS_OF, EXPERIMENTS, STORY, size
from tests.test_docs import read, sections, table_keys

DOC = "experiments.md"


def documented(heading: str) -> set[str]:
    found = sections(read(DOC), heading)
    assert found, f"docs/{DOC} has no section '{heading}'"
    return set().union(*(table_keys(body) for body in found))


@pytest.fixture
def ws(make_project: Any) -> Any:
    ws = make_project(text=config_text(**{"experiments: []": EXPERIMENTS}))
    load_journeys(ws, STORY)
    return ws


def test_every_column_is_documented(ws: Any) -> None:
    members = write_csv(ws.project_dir / "m.csv", [{"lead_id": "P1", "group": "control"}])
    reports = {
        "### `experiment report`": [
            ws.run(ExperimentReportParams(name="nurture", as_of=AS_OF)),
            ws.run(ExperimentReportParams(name="webinar", as_of=AS_OF)),
        ],
        "### `experiment size`": [size(baseline=0.05, mde=0.01)],
        "### `experiment assign`": [ws.run(ExperimentAssignParams(name="nurture"))],
        "### `experiment import`": [ws.run(ExperimentImportParams(name="webinar", file=members))],
    }
    missing = []
    for heading, runs in reports.items():
        keys = documented(heading)
        for report in runs:
            assert len(report.frame), f"{report.name}: the story gives no rows"
            missing += [f"{report.name}: {c}" for c in report.columns if c not in keys]
    assert not missing, f"columns not in docs/{DOC}: " + ", ".join(missing)


def test_worked_numbers_are_the_codes() -> None:
    text = read(DOC)
    even = size(baseline=0.05, mde=0.01).as_dict()["rows"][0]
    assert f"**{even['control_leads']:,} leads per group** ({even['total_leads']:,} in all)" in text
    holdout = size(baseline=0.05, mde=0.01, control_share=0.1).as_dict()["rows"][0]
    assert f"{holdout['control_leads']:,} control and {holdout['test_leads']:,} test" in text
