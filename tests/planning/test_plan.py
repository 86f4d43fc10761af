"""The reverse funnel: exact arithmetic, rates measured from a hand-counted story, saved goals."""

from __future__ import annotations

import json
import math
from decimal import Decimal, getcontext
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadledger.cli.main import main
from leadledger.config import validate_config
from leadledger.errors import InvalidArgument, NotEnoughHistory
from leadledger.planning.reverse_funnel import (
    Rate,
    exact,
    reverse_funnel,
    spread_by_working_days,
)
from leadledger.reports import Ctx, get
from leadledger.reports.result import Report
from leadledger.service import Workspace
from tests.conftest import load_journeys, write_csv

# A month of a small company (March 2026). In the 12-month window ending on the last day with
# data (2026-03-25): 6 leads, 4 MQLs, 3 SQLs, 2 customers; 400 visits; deals won 50,000 and
# 30,000; spend 3,100 (paid search, March) + 620 (staff, untagged, March), 25 of March's 31
# days inside the window.
STORY: dict[str, dict[str, Any]] = {
    "P1": {
        "created": "2026-03-02 10:00",
        "channel": "paid_search",
        "stages": [
            ("mql", "2026-03-03 10:00"),
            ("sql", "2026-03-05 10:00"),
            ("customer", "2026-03-20 10:00"),
        ],
    },
    "P2": {
        "created": "2026-03-03 10:00",
        "channel": "paid_search",
        "stages": [("mql", "2026-03-04 10:00"), ("sql", "2026-03-06 10:00")],
    },
    "P3": {
        "created": "2026-03-04 10:00",
        "channel": "paid_search",
        "stages": [("mql", "2026-03-05 10:00")],
    },
    "P4": {"created": "2026-03-05 10:00", "channel": "paid_search"},
    "O1": {
        "created": "2026-03-09 10:00",
        "channel": "organic_search",
        "stages": [
            ("mql", "2026-03-10 10:00"),
            ("sql", "2026-03-11 10:00"),
            ("customer", "2026-03-25 10:00"),
        ],
    },
    "O2": {"created": "2026-03-10 10:00", "channel": "organic_search"},
}


def plan_without_project(**params: Any) -> Report:
    """``leadledger plan`` where no project is found: every rate given, Monday–Friday."""
    spec = get("plan")
    return spec.run(Ctx(None), spec.params.model_validate(params))


def load_story(ws: Workspace) -> None:
    load_journeys(ws, STORY)
    folder = ws.project_dir
    imports = {
        "traffic": [
            {"day": "2026-03-02", "channel": "paid_search", "visits": 300},
            {"day": "2026-03-09", "channel": "organic_search", "visits": 100},
        ],
        "deals": [
            {
                "deal_id": "D1",
                "lead_id": "P1",
                "created_at": "2026-03-10 10:00",
                "closed_at": "2026-03-20 10:00",
                "status": "won",
                "amount": 50000,
            },
            {
                "deal_id": "D2",
                "lead_id": "O1",
                "created_at": "2026-03-12 10:00",
                "closed_at": "2026-03-25 10:00",
                "status": "won",
                "amount": 30000,
            },
        ],
        "costs": [
            {
                "period_start": "2026-03-01",
                "period_end": "2026-03-31",
                "channel": "paid_search",
                "category": "media",
                "amount": 3100,
            },
            {
                "period_start": "2026-03-01",
                "period_end": "2026-03-31",
                "category": "staff",
                "amount": 620,
            },
        ],
    }
    for kind, rows in imports.items():
        result = ws.import_files(kind, [write_csv(folder / f"{kind}.csv", rows)])
        assert result.rejected == 0, result.sample_rejections


@pytest.fixture
def story(engine: str, make_project: Any) -> Workspace:
    ws = make_project(engine)
    load_story(ws)
    return ws


def by_stage(report: Any) -> dict[str, dict[str, Any]]:
    return {r["stage"]: r for r in report.as_dict()["rows"]}


# -- the seed's example, and exact arithmetic ----------------------------------------------------
def test_seed_000_example_gives_200_800_4000_without_a_project(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no leadledger.yaml here or above: rates cannot be measured
    rc = main(
        [
            "plan",
            "--revenue",
            "10000000",
            "--deal-size",
            "50000",
            "--close-rate",
            "0.25",
            "--mql-to-sql",
            "0.20",
            "--format",
            "json",
        ]
    )
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    rows = {r["stage"]: r for r in data["rows"]}
    assert [r["stage"] for r in data["rows"]] == ["customer", "sql", "mql", "lead", "visitor"]
    # seed 000 prints 400 / 1,600 / 8,000: its division is wrong
    assert (rows["customer"]["count"], rows["sql"]["count"], rows["mql"]["count"]) == (
        200,
        800,
        4000,
    )
    assert rows["sql"]["rate_source"] == "given" and rows["sql"]["rate"] == 0.25
    assert rows["lead"]["count"] is None and rows["lead"]["rate_source"] == "unavailable"
    assert rows["visitor"]["count"] is None
    # per working day of next year (Monday–Friday without a project)
    wd = data["params"]["working_days"]
    assert 250 <= wd <= 262
    assert rows["mql"]["per_working_day"] == pytest.approx(4000 / wd)
    assert sum(m["mql"] for m in data["months"]) == 4000
    assert len(data["months"]) == 12


def test_counts_round_up_before_the_next_step() -> None:
    rates = {
        "close_rate": Rate(exact(0.3), "given"),
        "mql_to_sql": Rate(exact(0.3), "given"),
        "lead_to_mql": Rate(None, "unavailable"),
        "visit_to_lead": Rate(exact(0.5), "given"),
    }
    counts = dict(reverse_funnel(Fraction(1000), Fraction(300), rates))
    # 1000/300 = 3.33 → 4 customers; 4/0.3 = 13.3 → 14 SQLs; 14/0.3 = 46.7 → 47 MQLs
    assert counts == {"customer": 4, "sql": 14, "mql": 47, "lead": None, "visitor": None}


@given(
    revenue=st.integers(1, 10**9),
    deal=st.integers(1, 10**6),
    pcts=st.lists(st.integers(1, 100), min_size=4, max_size=4),
)
def test_reverse_funnel_matches_a_decimal_reference(revenue: int, deal: int, pcts: list[int]):
    getcontext().prec = 60
    names = ["close_rate", "mql_to_sql", "lead_to_mql", "visit_to_lead"]
    rates = {n: Rate(exact(f"{p / 100:.2f}"), "given") for n, p in zip(names, pcts, strict=True)}
    got = [c for _s, c in reverse_funnel(Fraction(revenue), Fraction(deal), rates)]
    want = []
    current = math.ceil(Decimal(revenue) / Decimal(deal))
    want.append(current)
    for p in pcts:
        q = Decimal(current) * 100 / Decimal(p)
        current = int(q) if q == int(q) else int(q) + 1
        want.append(current)
    assert got == want


@given(total=st.integers(0, 10**6), weights=st.lists(st.integers(0, 23), min_size=1, max_size=24))
def test_spread_adds_up_and_follows_working_days(total: int, weights: list[int]) -> None:
    parts = spread_by_working_days(total, weights)
    if sum(weights) == 0:
        assert parts == [0] * len(weights)
        return
    assert sum(parts) == total
    for part, w in zip(parts, weights, strict=True):
        assert abs(part - total * w / sum(weights)) < 1


def test_bad_arguments(make_project: Any) -> None:
    ws = make_project()
    with pytest.raises(InvalidArgument, match="rate in"):
        ws.report("plan", revenue=1000, deal_size=10, close_rate=1.5)
    with pytest.raises(InvalidArgument, match="positive"):
        ws.report("plan", revenue=-5, deal_size=10, close_rate=0.5)
    with pytest.raises(InvalidArgument, match="history"):
        ws.report("plan", revenue=1000, deal_size=10, close_rate=0.5, history="12x")
    # an empty ledger has no won deal and no SQL: say so, do not guess
    with pytest.raises(NotEnoughHistory, match="deal"):
        ws.report("plan", revenue=1000, close_rate=0.5)
    with pytest.raises(NotEnoughHistory, match="close"):
        ws.report("plan", revenue=1000, deal_size=10)


# -- measured from the project's history -----------------------------------------------------------
def test_rates_deal_size_and_budget_measured_from_history(story: Workspace) -> None:
    r = story.report("plan", revenue=400_000, start="2027-01-01", end="2027-12-31")
    rows = by_stage(r)
    p = r.params
    assert (p["history_from"], p["history_to"]) == ("2025-03-26", "2026-03-25")
    assert p["deal_size"] == 40_000 and p["deal_size_source"].startswith("measured")
    # flow ratios of the window: 2 customers / 3 SQLs, 3 SQLs / 4 MQLs, 4 MQLs / 6 leads,
    # 6 leads / 400 visits
    assert rows["sql"]["rate"] == pytest.approx(2 / 3)
    assert rows["mql"]["rate"] == pytest.approx(3 / 4)
    assert rows["lead"]["rate"] == pytest.approx(4 / 6)
    assert rows["visitor"]["rate"] == pytest.approx(6 / 400)
    assert {row["rate_source"] for s, row in rows.items() if s != "customer"} == {"measured"}
    assert rows["mql"]["rate_detail"].startswith("3 entered sql ÷ 4 entered mql")
    # 400,000 / 40,000 = 10 customers; /(2/3) = 15 SQLs; /(3/4) = 20 MQLs; /(4/6) = 30 leads;
    # /(6/400) = 2,000 visits
    assert [rows[s]["count"] for s in ("customer", "sql", "mql", "lead", "visitor")] == [
        10,
        15,
        20,
        30,
        2000,
    ]
    # spend in the window: (3,100 + 620) × 25/31 = 3,000, of which 500 untagged; 6 leads
    assert rows["lead"]["cost_per"] == pytest.approx(500)
    assert rows["customer"]["cost_per"] == pytest.approx(1500)
    assert p["budget"] == pytest.approx(30 * 500)
    assert any("500.00 of it is not tagged" in n for n in r.notes)


def test_a_given_rate_wins_and_the_plan_of_one_channel(story: Workspace) -> None:
    r = story.report(
        "plan", revenue=100_000, deal_size=50_000, close_rate=0.5, channel="paid_search"
    )
    rows = by_stage(r)
    assert rows["sql"]["rate_source"] == "given"
    # paid search alone: 3 MQLs → 2 SQLs, 4 leads → 3 MQLs, 4 leads / 300 visits
    assert rows["mql"]["rate"] == pytest.approx(2 / 3)
    assert rows["lead"]["rate"] == pytest.approx(3 / 4)
    assert rows["visitor"]["rate"] == pytest.approx(4 / 300)
    assert [rows[s]["count"] for s in ("customer", "sql", "mql", "lead", "visitor")] == [
        2,
        4,
        6,
        8,
        600,
    ]
    # only the spend tagged paid_search: 3,100 × 25/31 = 2,500 over 4 leads
    assert rows["lead"]["cost_per"] == pytest.approx(625)


# -- goals ---------------------------------------------------------------------------------------
def test_save_a_plan_as_a_goal(make_project: Any) -> None:
    ws = make_project()
    load_story(ws)
    r = ws.report("plan", revenue=400_000, start="2027-01-01", end="2027-06-30")
    path = ws.save_goal("h1_2027", r)
    text = path.read_text(encoding="utf-8")
    assert "# Saved plans" in text  # the file's comments are kept
    cfg, issues = validate_config(path)
    assert cfg is not None and not [i for i in issues if i.severity == "error"]
    (goal,) = cfg.goals
    assert goal.name == "h1_2027"
    assert goal.counts == {"customer": 10, "sql": 15, "mql": 20, "lead": 30, "visitor": 2000}
    assert str(goal.start) == "2027-01-01" and str(goal.end) == "2027-06-30"
    assert goal.budget == pytest.approx(15000)
    with pytest.raises(InvalidArgument, match="already exists"):
        ws.save_goal("h1_2027", r)
    r2 = ws.report("plan", revenue=800_000, start="2027-01-01", end="2027-06-30")
    ws.save_goal("h1_2027", r2, force=True)
    cfg2, _ = validate_config(path)
    assert cfg2 is not None and len(cfg2.goals) == 1 and cfg2.goals[0].counts["customer"] == 20


def test_plan_cli_saves_and_reports_errors(make_project: Any, capsys) -> None:
    ws = make_project()
    load_story(ws)
    folder = str(ws.project_dir)
    ws.close()
    rc = main(["plan", "--revenue", "400000", "--project", folder, "--save", "g", "-f", "csv"])
    assert rc == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("stage,count,per_working_day")
    assert Workspace(Path(folder)).cfg.goals[0].name == "g"
    rc = main(["plan", "--revenue", "400000", "--project", folder, "--close-rate", "2"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "invalid_argument" in err and "Traceback" not in err


def test_every_column_of_plan_pace_and_whatif_is_documented(story: Workspace) -> None:
    from tests.test_docs import read, sections, table_keys

    text = read("planning.md")
    reports = [
        (story.report("plan", revenue=400_000), "### `plan` "),
        (story.report("whatif"), "### `whatif` "),
    ]
    missing = []
    for report, heading in reports:
        documented: set[str] = set()
        for body in sections(text, heading):
            documented |= table_keys(body)
        cols = set(report.columns)
        for _key, (_title, frame) in report.extra.items():
            cols |= set(frame.columns)
        missing += [f"{report.name}: {c}" for c in sorted(cols - documented)]
    (pace_section,) = sections(text, "## Pacing")
    goal = story.report("plan", revenue=400_000, start="2026-03-01", end="2026-03-31")
    story.save_goal("m", goal)
    fresh = Workspace(story.project_dir)
    try:
        pace = fresh.report("pace", goal="m", as_of="2026-03-10")
    finally:
        fresh.close()
    missing += [f"pace: {c}" for c in pace.columns if c not in table_keys(pace_section)]
    assert not missing, "columns not in docs/planning.md: " + ", ".join(missing)


# -- edges found in review -----------------------------------------------------------------------
def test_a_measured_rate_of_zero_or_above_one_is_never_used() -> None:
    from leadledger.planning.history import measured_rate

    zero = measured_rate("close_rate", {"entered": {"sql": 3}, "visits": 0}, "w")
    assert zero.value is None and zero.source == "unavailable" and "rate of 0" in zero.detail
    above = measured_rate("mql_to_sql", {"entered": {"mql": 1, "sql": 2}, "visits": 0}, "w")
    assert above.value is None and "> 1" in above.detail
    fine = measured_rate("visit_to_lead", {"entered": {"lead": 6}, "visits": 400}, "w")
    assert fine.value == Fraction(6, 400) and fine.source == "measured"


def test_a_short_window_with_more_sqls_than_mqls_is_unavailable(make_project: Any) -> None:
    ws = make_project()
    load_story(ws)
    # 2026-03-06..25: 2 leads, 1 MQL, 2 SQLs, 2 customers: MQL → SQL would be 2
    r = ws.report("plan", revenue=100_000, deal_size=50_000, history="20d")
    rows = by_stage(r)
    assert rows["mql"]["rate_source"] == "unavailable" and rows["mql"]["count"] is None
    assert rows["lead"]["count"] is None and rows["visitor"]["count"] is None
    assert rows["sql"]["count"] == 2  # close rate 2 customers ÷ 2 SQLs = 1


def test_plan_periods() -> None:
    r = plan_without_project(revenue=100, deal_size=10, close_rate=0.5, start="2027-03-01")
    assert (r.params["from"], r.params["to"]) == (
        __import__("datetime").date(2027, 3, 1),
        __import__("datetime").date(2028, 2, 29),
    )
    assert len(r.extra["months"][1]) == 12
    r = plan_without_project(revenue=100, deal_size=10, close_rate=0.5, end="2026-12-31")
    assert str(r.params["from"]) == "2026-01-01"
    # one month long across two calendar months: per_month is the whole count
    r = plan_without_project(
        revenue=100, deal_size=10, close_rate=0.5, start="2027-01-15", end="2027-02-14"
    )
    customers = by_stage(r)["customer"]
    assert customers["per_month"] == pytest.approx(10 / (31 / 30.4375))
    assert sum(m["customer"] for m in r.as_dict()["months"]) == 10
    with pytest.raises(InvalidArgument, match="no working day"):
        plan_without_project(
            revenue=100, deal_size=10, close_rate=0.5, start="2026-10-03", end="2026-10-04"
        )


def test_untagged_costs_are_named_in_a_channel_plan(make_project: Any) -> None:
    ws = make_project()
    load_story(ws)
    r = ws.report("plan", revenue=100_000, deal_size=50_000, close_rate=0.5, channel="paid_search")
    assert any("500.00 more was spent untagged" in n for n in r.notes), r.notes


def test_history_windows_step_back_whole_months_weeks_and_days() -> None:
    """--history's window [start, end] by ``Duration.start_before``: the same days as the
    calendar arithmetic plan and whatif used before (months clipped to the month's end)."""
    import calendar
    import datetime as dt

    from leadledger.reports.planning import WhatifParams

    def before(end: dt.date, n: int, unit: str) -> dt.date:
        if unit == "d":
            return end - dt.timedelta(days=n - 1)
        if unit == "w":
            return end - dt.timedelta(days=7 * n - 1)
        m0 = end.year * 12 + end.month - 1 - n * (12 if unit == "y" else 1)
        y, m = divmod(m0, 12)
        back = dt.date(y, m + 1, min(end.day, calendar.monthrange(y, m + 1)[1]))
        return back + dt.timedelta(days=1)

    ends = [dt.date(2024, 2, 29), dt.date(2025, 3, 31), dt.date(2026, 10, 31), dt.date(2026, 1, 1)]
    ends += [dt.date(2023, 1, 1) + dt.timedelta(days=37 * i) for i in range(40)]
    for unit, counts in {"d": (1, 90, 365), "w": (1, 26), "m": (1, 6, 12, 13), "y": (1, 2)}.items():
        for n in counts:
            history = WhatifParams(history=f"{n}{unit}").history
            for end in ends:
                assert history.start_before(end) == before(end, n, unit), (n, unit, end)
