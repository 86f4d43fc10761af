"""Pacing: actual vs required per working day for the current period of a goal."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from leadledger.cli.main import main
from leadledger.errors import GoalNotFound, InvalidArgument
from leadledger.service import Workspace
from tests.conftest import config_text
from tests.planning.test_plan import load_story

# March 2026 in Madrid: 22 working days (no holiday; Holy week falls in April), 5 of them from
# the 2nd to the 6th, 17 from the 9th to the 31st.
GOALS = """goals:
  - name: march
    start: 2026-03-01
    end: 2026-03-31
    counts: {visitor: 8000, lead: 40, mql: 20, customer: 2}
  - name: q2
    start: 2026-04-01
    end: 2026-06-30
    counts: {lead: 300}
  - name: paid
    start: 2026-03-01
    end: 2026-05-31
    channel: paid_search
    counts: {lead: 66}
"""


@pytest.fixture
def ws(engine: str, make_project: Any) -> Workspace:
    text = config_text(engine).replace("goals: []\n", GOALS)
    w = make_project(engine, text=text)
    load_story(w)
    return w


def test_pace_of_the_current_month(ws: Workspace) -> None:
    r = ws.report("pace", goal="march", as_of="2026-03-06")
    rows = {row["stage"]: row for row in r.as_dict()["rows"]}
    assert list(rows) == ["visitor", "lead", "mql", "customer"]  # down the funnel
    lead = rows["lead"]
    assert (lead["working_days"], lead["working_days_elapsed"], lead["working_days_left"]) == (
        22,
        5,
        17,
    )
    # leads P1–P4 entered from the 2nd to the 5th
    assert lead["target"] == 40 and lead["actual"] == 4
    assert lead["required_per_working_day"] == pytest.approx(40 / 22)
    assert lead["actual_per_working_day"] == pytest.approx(4 / 5)
    assert lead["projected"] == pytest.approx(4 + 4 / 5 * 17)
    assert lead["needed_per_remaining_working_day"] == pytest.approx(36 / 17)
    assert rows["mql"]["actual"] == 3  # P1, P2, P3
    assert rows["customer"]["actual"] == 0
    # 300 visits on the 2nd: 300 + 60 × 17 = 1,320 < 8,000
    assert rows["visitor"]["actual"] == 300
    assert rows["visitor"]["projected"] == pytest.approx(1320)
    assert all(row["behind"] for row in rows.values())
    assert [s for s, row in rows.items() if row["first_behind"]] == ["visitor"]
    assert r.notes[0].startswith("visitor is behind first")


def test_on_pace_and_the_first_stage_behind(ws: Workspace) -> None:
    # to the 25th: 6 leads, 4 MQLs, 2 customers in 18 working days, 4 left
    r = ws.report("pace", goal="march", as_of="2026-03-25")
    rows = {row["stage"]: row for row in r.as_dict()["rows"]}
    assert rows["customer"]["actual"] == 2
    assert rows["customer"]["projected"] == pytest.approx(2 + 2 / 18 * 4)
    assert rows["customer"]["behind"] is False
    assert rows["lead"]["behind"] is True
    assert [s for s, row in rows.items() if row["first_behind"]] == ["visitor"]


def test_a_goal_spread_over_months_and_one_channel(ws: Workspace) -> None:
    # paid: 66 leads over March (22 working days), April (20: Holy Thursday and Good Friday
    # are holidays) and May, in proportion to their working days
    cal = ws.calendar

    weights = [
        cal.working_days(dt.date(2026, 3, 1), dt.date(2026, 3, 31)),
        cal.working_days(dt.date(2026, 4, 1), dt.date(2026, 4, 30)),
        cal.working_days(dt.date(2026, 5, 1), dt.date(2026, 5, 31)),
    ]
    assert weights[0] == 22 and weights[1] == 20
    r = ws.report("pace", goal="paid", as_of="2026-03-31")
    (row,) = r.as_dict()["rows"]
    # 66 × 22/62 = 23.42, 66 × 20/62 = 21.29 twice: floors 23 + 21 + 21 = 65, and the largest
    # remainder (March's .42) takes the spare unit → 24
    assert weights[2] == 20  # 1 May is a holiday
    assert row["target"] == 24
    assert row["actual"] == 4  # the organic leads are not in this goal
    assert row["working_days_left"] == 0 and row["needed_per_remaining_working_day"] is None


def test_which_goal(ws: Workspace) -> None:
    with pytest.raises(GoalNotFound, match="2 goals cover"):
        ws.report("pace", as_of="2026-03-10")
    assert ws.report("pace", as_of="2026-06-10").params["goal"] == "q2"
    with pytest.raises(GoalNotFound, match="no goal covers"):
        ws.report("pace", as_of="2027-01-10")
    with pytest.raises(GoalNotFound, match="no goal 'nope'"):
        ws.report("pace", goal="nope", as_of="2026-03-10")
    with pytest.raises(InvalidArgument, match="outside goal"):
        ws.report("pace", goal="march", as_of="2026-04-10")


def test_pace_cli(ws: Workspace, capsys) -> None:
    folder = str(ws.project_dir)
    ws.close()
    rc = main(["pace", "--goal", "march", "--as-of", "2026-03-06", "-p", folder, "-f", "json"])
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    assert data["report"] == "pace" and data["params"]["goal"] == "march"
    assert {r["stage"] for r in data["rows"]} == {"visitor", "lead", "mql", "customer"}
    assert main(["pace", "--goal", "nope", "-p", folder]) == 1
    assert "goal_not_found" in capsys.readouterr().err


def test_no_pace_before_the_first_working_day(ws: Workspace) -> None:
    r = ws.report("pace", goal="march", as_of="2026-03-01")  # a Sunday
    rows = r.as_dict()["rows"]
    assert all(row["behind"] is None and not row["first_behind"] for row in rows)
    assert r.notes[0].startswith("no working day of the month has passed")
