"""Time in stage: from entering a stage to entering the next stage the lead reached.

Only leads that left the stage count (median, mean, p90 in days); leads still in it are reported
apart with their age. A lead "still in" a stage entered it, reached no later stage, and is not in
a side state entered after it.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from leadledger.config.models import ProjectConfig
from leadledger.ledger.clock import DAY, days_between, seconds_between
from leadledger.ledger.derived import Tables, at_col, in_local_days, journeys, period_of


def next_stage_at(j: ir.Table, keys: Sequence[str], i: int) -> ir.TimestampValue:
    """First entry into the next stage the lead reached after ``keys[i]`` (in funnel order)."""
    later = [j[at_col(s)] for s in keys[i + 1 :]]
    return ibis.coalesce(*later) if len(later) > 1 else later[0]


def time_in_stage_long(
    j: ir.Table, cfg: ProjectConfig, *, as_of: object, fields: Sequence[str] = ()
) -> ir.Table:
    """One row per (lead, stage entered): stage, entered_at, left_at, days (left), age (open),
    status ('left', 'open', 'closed' — in a side state, or 'out_of_order')."""
    keys = cfg.stage_keys
    parts = []
    for i, stage in enumerate(keys[:-1]):
        s_at = j[at_col(stage)]
        next_at = next_stage_at(j, keys, i)
        side_after = ibis.literal(False)
        for state in cfg.side_state_keys:
            if f"{state}_last_at" not in j.columns:  # journeys(side_states=False)
                continue
            last = j[f"{state}_last_at"]
            side_after |= last.notnull() & (last >= s_at)
        secs = seconds_between(s_at, next_at)
        status = ibis.cases(
            (next_at.notnull() & (next_at >= s_at), "left"),
            (next_at.notnull(), "out_of_order"),
            (side_after, "closed"),
            else_="open",
        )
        parts.append(
            j.filter(s_at.notnull()).select(
                "lead_id",
                *fields,
                stage=ibis.literal(stage),
                stage_rank=ibis.literal(i),
                entered_at=s_at,
                status=status,
                days=ibis.cases((next_at >= s_at, secs / DAY), else_=None),
                age_days=days_between(s_at, ibis.literal(as_of).cast(s_at.type())),
            )
        )
    return ibis.union(*parts, distinct=False)


def time_in_stage(
    tables: Tables,
    cfg: ProjectConfig,
    *,
    start: object,
    end: object,
    as_of: object,
    period: str | None = None,
    fields: Sequence[str] = (),
) -> ir.Table:
    """Columns: [period,] stage, fields…, left, median_days, mean_days, p90_days, open,
    open_median_age_days, open_p90_age_days, closed, out_of_order."""
    j = journeys(tables, cfg, fields=fields, as_of=as_of)
    long = time_in_stage_long(j, cfg, as_of=as_of, fields=fields)
    long = long.filter(in_local_days(long.entered_at, start, end))
    keys = ["stage_rank", "stage", *fields]
    if period:
        long = long.mutate(period=period_of(long.entered_at, period))
        keys = ["period", *keys]
    is_left = long.status == "left"
    is_open = long.status == "open"
    agg = long.group_by(keys).agg(
        entered=long.count(),
        left=is_left.sum().cast("int64"),
        median_days=long.days.quantile(0.5, where=is_left),
        mean_days=long.days.mean(where=is_left),
        p90_days=long.days.quantile(0.9, where=is_left),
        open=is_open.sum().cast("int64"),
        open_median_age_days=long.age_days.quantile(0.5, where=is_open),
        open_p90_age_days=long.age_days.quantile(0.9, where=is_open),
        closed=(long.status == "closed").sum().cast("int64"),
        out_of_order=(long.status == "out_of_order").sum().cast("int64"),
    )
    return agg.order_by(keys).drop("stage_rank")


def median_time_in_stage(tables: Tables, cfg: ProjectConfig, *, as_of: object) -> ir.Table:
    """The benchmark's core query: median days in each stage of the leads that left it.

    The same definition as ``time_in_stage`` (time to the first entry into the next stage
    reached, leads that left only), without the statuses and ages that only the full report
    needs."""
    j = journeys(tables, cfg, side_states=False, as_of=as_of)
    keys = cfg.stage_keys
    parts = []
    for i, stage in enumerate(keys[:-1]):
        s_at = j[at_col(stage)]
        next_at = next_stage_at(j, keys, i)
        left = j.filter(s_at.notnull() & (next_at >= s_at))
        parts.append(left.select(stage=ibis.literal(stage), days=days_between(s_at, next_at)))
    long = ibis.union(*parts, distinct=False)
    return long.group_by("stage").agg(median_days=long.days.quantile(0.5))
