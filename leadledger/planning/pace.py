"""Pacing (seed 000 key 1, seed 004): is a goal on pace in its current period?

A goal's counts are spread over its periods (months, quarters, …, clipped to the goal) in
proportion to their working days (``spread_by_working_days``). For the period holding the as-of
day: actual = leads that entered the stage from the period's start to the as-of day (first
entry, local days); actual per working day = actual ÷ working days elapsed; projected = actual
+ actual per working day × working days left; behind = projected < target. The first stage
down the funnel that is behind is the one to fix first (every stage below it follows).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from leadledger.config.models import Goal, ProjectConfig
from leadledger.errors import InvalidArgument
from leadledger.ledger.derived import Tables
from leadledger.planning import history
from leadledger.planning.reverse_funnel import spread_by_working_days
from leadledger.workdays import WorkCalendar

#: Runs an expression on the project's engine (``Ctx.execute``).
Run = Callable[[ir.Expr], Any]


@dataclasses.dataclass(frozen=True)
class Pace:
    """The pace of ``goal`` in the period holding ``day``: one row per stage of its counts."""

    goal: Goal
    day: dt.date
    period: str
    period_start: dt.date
    period_end: dt.date
    working_days_elapsed: int
    #: One row per stage (the columns of ``frame`` but ``first_behind``), down the funnel.
    rows: tuple[dict[str, Any], ...]
    frame: pd.DataFrame

    @property
    def first_behind(self) -> dict[str, Any] | None:
        """The first stage down the funnel that is behind pace (fix it first), if any."""
        return next((r for r in self.rows if r["behind"]), None)


def where_of(goal: Goal) -> dict[str, list[str]]:
    """The leads a goal counts: those of its channel and/or campaign (all without either)."""
    return where(goal.channel, goal.campaign)


def where(channel: str | None, campaign: str | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if channel:
        out["channel"] = [channel]
    if campaign:
        out["campaign"] = [campaign]
    return out


def check_day_in_goal(goal: Goal, day: dt.date) -> None:
    """A day to pace must lie in the goal's period (``--as-of``)."""
    if not goal.start <= day <= goal.end:
        raise InvalidArgument(
            f"--as-of {day} is outside goal '{goal.name}' ({goal.start} to {goal.end})",
            hint="pass --as-of a day inside the goal's period",
        )


def goal_pace(
    tables: Tables,
    cfg: ProjectConfig,
    calendar: WorkCalendar,
    goal: Goal,
    day: dt.date,
    period: str,
    run: Run,
) -> Pace:
    """Actual vs required per working day, for each stage of ``goal``, in its ``period`` that
    holds ``day`` (a day of the goal)."""
    g = goal
    rows_cal = calendar.periods(g.start, g.end, period).to_dict(orient="records")
    # the goal's periods, clipped to the goal, and their working days inside it
    periods = [(max(r["period"], g.start), min(r["period_end"], g.end)) for r in rows_cal]
    weights = [int(r["working_days_in_range"]) for r in rows_cal]
    if sum(weights) == 0:
        raise InvalidArgument(
            f"goal '{g.name}' ({g.start} to {g.end}) has no working day to pace",
        )
    idx = next(i for i, (a, b) in enumerate(periods) if a <= day <= b)
    p_start, p_end = periods[idx]
    wd = weights[idx]
    elapsed = calendar.working_days(p_start, day)
    left = calendar.working_days(day + dt.timedelta(days=1), p_end)
    w = where_of(g)
    entered = run(history.entries_by_stage(tables, cfg, start=p_start, end=day, where=w))
    actual = {str(r.stage): int(r.entered) for r in entered.itertuples()}
    if "visitor" in g.counts:
        v = run(history.visits(tables, start=p_start, end=day, where=w))
        actual["visitor"] = 0 if v.empty or pd.isna(v["visits"].iloc[0]) else int(v["visits"][0])
    order = ["visitor", *cfg.stage_keys]
    rows = []
    for stage in sorted(g.counts, key=lambda st: order.index(st) if st in order else 99):
        target = spread_by_working_days(g.counts[stage], weights)[idx]
        got = actual.get(stage, 0)
        per_day = got / elapsed if elapsed else None
        projected = got + (per_day or 0.0) * left
        rows.append(
            {
                "goal": g.name,
                "period_start": p_start,
                "period_end": p_end,
                "stage": stage,
                "target": target,
                "actual": got,
                "working_days": wd,
                "working_days_elapsed": elapsed,
                "working_days_left": left,
                "required_per_working_day": target / wd if wd else None,
                "actual_per_working_day": per_day,
                "needed_per_remaining_working_day": max(target - got, 0) / left if left else None,
                "projected": projected,
                "projected_share": projected / target if target else None,
                # before the first working day there is no pace to judge
                "behind": bool(projected < target) if elapsed else None,
            }
        )
    frame = pd.DataFrame(rows)
    behind = [i for i, row in enumerate(rows) if row["behind"]]
    frame["first_behind"] = [bool(behind) and i == behind[0] for i in range(len(rows))]
    return Pace(g, day, period, p_start, p_end, elapsed, tuple(rows), frame)
