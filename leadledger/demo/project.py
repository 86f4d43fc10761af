"""The demo project: a synthetic company imported into a fresh project, its goal, and a funnel
summary."""

from __future__ import annotations

import datetime as dt
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from leadledger.config import CONFIG_NAME
from leadledger.errors import InvalidArgument
from leadledger.reports.result import Report
from leadledger.service import Workspace, init_project

if TYPE_CHECKING:
    from leadledger.demo.company import Company

IMPORT_ORDER = ("leads", "stages", "touches", "deals", "costs", "traffic")


def build_project(
    folder: Path,
    *,
    company: Company,
    files: dict[str, Path],
    progress: Callable[[str], None] | None = None,
) -> Workspace:
    """Create (or replace) the project in ``folder`` and import the generated files."""
    say = progress or (lambda msg: None)
    config_text = company.config_text
    for leftover in folder.glob("leadledger.duckdb*"):
        leftover.unlink()
    if (folder / "imports").exists():
        shutil.rmtree(folder / "imports")
    init_project(folder, config_text=config_text, force=True)
    ws = Workspace(folder)
    for kind in IMPORT_ORDER:
        if kind in files:
            say(f"importing {kind}")
            ws.import_files(kind, [files[kind]])
    return ws


def run_demo(
    folder: Path,
    *,
    leads: int = 20000,
    seed: int = 7,
    progress: Callable[[str], None] | None = None,
) -> list[Report]:
    """Build the demo project and return the summary reports."""
    from leadledger.demo.company import generate_company
    from leadledger.demo.write import write_company

    say = progress or (lambda msg: None)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / CONFIG_NAME).exists() and not (folder / "leads.csv").exists():
        raise InvalidArgument(
            f"{folder} holds a project that is not a demo", hint="pick another folder for the demo"
        )
    say("generating a synthetic company")
    company = generate_company(leads=leads, seed=seed)
    files = write_company(company, folder, "csv")
    ws = build_project(folder, company=company, files=files, progress=say)
    say("saving the demo's goal")
    with ws:
        _demo_goal(ws)
    ws = Workspace(folder)  # reloads leadledger.yaml with the goal
    say("computing reports")
    with ws:
        last = ws.report("stages", period="month").params["to"]
        quarter_from = last.replace(month=1, day=1)
        return [
            ws.report("stages", period="quarter", start=quarter_from, end=last),
            ws.report(
                "conversion",
                from_stage="lead",
                to_stage="customer",
                period="quarter",
                start=quarter_from,
                end=last,
                by="channel",
            ),
            ws.report("velocity", start=quarter_from, end=last),
            ws.report("acceptance", period="quarter", start=quarter_from, end=last),
            ws.report("sourced", period="quarter", start=quarter_from, end=last),
            _demo_plan(ws, last),
            _demo_score(ws, last),
        ]


def _demo_goal(ws: Workspace) -> str:
    """Save this year's plan as a goal (``leadledger plan --save plan_YYYY``), so that pacing
    and the dashboard's "vs goal" have something to measure: 20 % more revenue than the last
    twelve months won, for the calendar year of the data's last day, rates measured."""
    last = ws.report("stages", period="month").params["to"]
    plan = _plan_for(ws, dt.date(last.year, 1, 1), dt.date(last.year, 12, 31))
    name = f"plan_{last.year}"
    ws.save_goal(name, plan, force=True)
    return name


def _plan_for(ws: Workspace, start: dt.date, end: dt.date | None = None) -> Report:
    """The reverse funnel of 20 % more revenue than the last twelve months won (rounded up to
    100,000), every rate and the deal size measured from the demo's own history."""
    from leadledger.planning.history import measured
    from leadledger.reports.params import Duration
    from leadledger.reports.planning import history_window

    ctx = ws.ctx
    h_start, h_end = history_window(ctx, Duration(12, "m", "12m"))
    won = measured(ctx.tables(), ctx.cfg, h_start, h_end, {}, ctx.execute)["revenue"]
    target = max(math.ceil(won * 1.2 / 100_000), 1) * 100_000
    return ws.report("plan", revenue=target, start=start, end=end)


def _demo_score(ws: Workspace, last: dt.date) -> Report:
    """Rule scoring as of the last day: the MQL handoff written as stage events; the ten
    highest scores shown (``leadledger score explain LEAD`` explains any of them)."""
    import dataclasses

    report = ws.report("score", as_of=last.isoformat())
    shown = report.frame.head(10)
    return dataclasses.replace(
        report,
        frame=shown,
        notes=[*report.notes, "the ten highest scores (leadledger score --format csv: all)"],
        extra={},
    )


def _demo_plan(ws: Workspace, last: dt.date) -> Report:
    """Next year's reverse funnel: 20 % more revenue than the last twelve months won, with every
    rate and the deal size measured from the demo's own history."""
    return _plan_for(ws, dt.date(last.year + 1, 1, 1))
