"""Stage entries per period and per working day.

A metric is a function from Ibis tables (+ settings) to an Ibis expression; it never holds a
connection. Working days come in as a small table of periods built from the project calendar.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from leadledger.config.models import ProjectConfig
from leadledger.ledger.derived import (
    Tables,
    deal_stage_entries,
    in_local_days,
    journeys,
    period_of,
    reached_col,
    stage_entries,
)
from leadledger.metrics.grid import left_join_on_keys


def stage_reached_long(
    j: ir.Table, cfg: ProjectConfig, fields: Sequence[str] = (), stages: Sequence[str] = ()
) -> ir.Table:
    """One row per (lead, stage reached): lead_id, fields…, stage, at."""
    stages = list(stages or cfg.stage_keys)
    # a union of one select per stage, not pivot_longer: Ibis's pivot_longer goes through JSONB on
    # PostgreSQL, which cannot cast back to a timestamp
    parts = [
        j.select("lead_id", *fields, stage=ibis.literal(stage), at=j[reached_col(stage)])
        for stage in stages
    ]
    long = ibis.union(*parts, distinct=False)
    return long.filter(long.at.notnull())


def entries_by_period(
    tables: Tables,
    cfg: ProjectConfig,
    *,
    period: str,
    start: ibis.Value | object,
    end: ibis.Value | object,
    fields: Sequence[str] = (),
    stages: Sequence[str] = (),
) -> ir.Table:
    """Leads entering each stage per period (local time), in [start, end] (local dates).

    "Entering" is the first entry; when the project counts skipped stages as reached, a lead that
    skipped a stage enters it when it first entered a later one.
    Columns: period, stage, fields…, entered.
    """
    j = journeys(tables, cfg, fields=fields, side_states=False)
    long = stage_reached_long(j, cfg, fields, stages)
    long = long.filter(in_local_days(long.at, start, end))
    long = long.mutate(period=period_of(long.at, period))
    # one row per (lead, stage): a count, not a distinct count
    return long.group_by(["period", "stage", *fields]).agg(entered=long.count())


def stages_per_working_day(
    counts: ir.Table,
    periods: ir.Table,
    stage_order: ir.Table,
    fields: Sequence[str] = (),
) -> ir.Table:
    """Complete the grid periods × stages (× groups), add working days and the pace columns.

    ``periods``: period, working_days, working_days_elapsed, working_days_left.
    ``stage_order``: stage, stage_rank.
    Columns: period, stage, fields…, entered, working_days, working_days_elapsed,
    per_working_day, prev_entered, prev_per_working_day, change_per_working_day,
    needed_per_working_day, needed_per_remaining_working_day.
    """
    grid = periods.cross_join(stage_order)
    if fields:
        groups = counts.select(*fields).distinct()
        grid = grid.cross_join(groups)
    keys = ["period", "stage", *fields]
    joined = left_join_on_keys(grid, counts, keys)
    joined = joined.mutate(entered=joined.entered.fill_null(0))
    w = ibis.window(group_by=[joined.stage, *[joined[f] for f in fields]], order_by=joined.period)
    prev_entered = joined.entered.lag().over(w)
    prev_wd = joined.working_days.lag().over(w)
    t = joined.mutate(prev_entered=prev_entered, prev_working_days=prev_wd)
    pace_days = t.working_days_elapsed
    per_wd = ibis.cases((pace_days > 0, t.entered / pace_days.cast("float64")), else_=None)
    prev_per_wd = ibis.cases(
        (t.prev_working_days > 0, t.prev_entered / t.prev_working_days.cast("float64")),
        else_=None,
    )
    t = t.mutate(per_working_day=per_wd, prev_per_working_day=prev_per_wd)
    change = ibis.cases(
        (t.prev_per_working_day > 0, t.per_working_day / t.prev_per_working_day - 1.0),
        else_=None,
    )
    needed = ibis.cases(
        (t.working_days > 0, t.prev_entered / t.working_days.cast("float64")), else_=None
    )
    remaining = ibis.cases(
        (
            t.working_days_left > 0,
            ibis.greatest(t.prev_entered - t.entered, 0) / t.working_days_left.cast("float64"),
        ),
        else_=None,
    )
    t = t.mutate(
        change_per_working_day=change,
        needed_per_working_day=needed,
        needed_per_remaining_working_day=remaining,
    )
    return t.order_by(["period", "stage_rank", *fields]).select(
        "period",
        "stage",
        *fields,
        "entered",
        "working_days",
        "working_days_elapsed",
        "per_working_day",
        "prev_entered",
        "prev_per_working_day",
        "change_per_working_day",
        "needed_per_working_day",
        "working_days_left",
        "needed_per_remaining_working_day",
    )


def entries_from_deals(
    tables: Tables, cfg: ProjectConfig, *, start: object, end: object
) -> ir.Table | None:
    """Of the first entries into each stage in [start, end] (local days), how many the deals
    made: the lead's first entry into the stage is a deal's date (no stage event before it).
    Columns: stage, entered, from_deals. None when deals enter no stage in this project."""
    deals = deal_stage_entries(tables, cfg)
    if deals is None:
        return None
    all_e = stage_entries(tables, cfg)
    first = all_e.group_by(["lead_id", "stage"]).agg(at=all_e.entered_at.min())
    by_deal = deals.group_by(["lead_id", "stage"]).agg(deal_at=deals.entered_at.min())
    j = first.left_join(
        by_deal, (first.lead_id == by_deal.lead_id) & (first.stage == by_deal.stage)
    )
    j = j.select(stage=first.stage, at=first.at, deal_at=by_deal.deal_at)
    j = j.filter(in_local_days(j.at, start, end) & j.stage.isin(cfg.stage_keys))
    return j.group_by("stage").agg(
        entered=j.count(), from_deals=(j.deal_at.notnull() & (j.deal_at <= j.at)).sum()
    )
