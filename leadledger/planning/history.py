"""What the ledger says about a window of history: entries per stage, visits, spend, won deals.

The reverse funnel, pacing and what-if take their measured rates from here. Every function is a
metric: Ibis tables in, an Ibis expression out, on any engine. ``where`` restricts to leads (and
traffic, costs) of some channels or campaigns: ``{"channel": ["paid_search"]}``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import ibis
import ibis.expr.types as ir

from leadledger.config.models import ProjectConfig
from leadledger.ledger.derived import (
    Tables,
    current_costs,
    current_deals,
    current_leads,
    current_traffic,
    in_local_days,
    journeys,
    match_where,
)
from leadledger.metrics.costs import spread
from leadledger.metrics.funnel import stage_reached_long

Where = Mapping[str, Sequence[str]]
#: Fields that traffic and costs carry too, so a plan per channel or campaign can be measured.
SHARED_FIELDS = ("channel", "campaign")


def entries_by_stage(
    tables: Tables,
    cfg: ProjectConfig,
    *,
    start: dt.date,
    end: dt.date,
    where: Where | None = None,
    by: Sequence[str] = (),
) -> ir.Table:
    """Leads entering each stage in [start, end] (local days), first entry, skipped stages as
    the project says. Columns: stage, by…, entered."""
    where = dict(where or {})
    fields = list(dict.fromkeys([*where, *by]))
    j = journeys(tables, cfg, fields=fields, side_states=False)
    j = j.filter(match_where(j, where))
    long = stage_reached_long(j, cfg, list(by))
    long = long.filter(in_local_days(long.at, start, end))
    return long.group_by(["stage", *by]).agg(entered=long.count())


def visits(
    tables: Tables,
    *,
    start: dt.date,
    end: dt.date,
    where: Where | None = None,
    by: Sequence[str] = (),
) -> ir.Table:
    """Visits (traffic counts) in [start, end]. Columns: by…, visits, days_with_traffic."""
    t = current_traffic(tables)
    t = t.filter((t.day >= start) & (t.day <= end) & match_where(t, where or {}))
    aggs = {"visits": t.visits.sum().cast("int64"), "days_with_traffic": t.day.nunique()}
    return t.group_by(list(by)).agg(**aggs) if by else t.agg(**aggs)


def spend(
    tables: Tables,
    *,
    start: dt.date,
    end: dt.date,
    where: Where | None = None,
    by: Sequence[str] = (),
) -> ir.Table:
    """Spend in [start, end]: a cost's amount is spread evenly over the days of its period, so
    the window gets amount × overlapping days ÷ period days. Columns: by…, spend.

    With ``where``, only costs tagged with those values count (untagged costs — salaries,
    tools — cannot be placed in a channel; they are left out and ``unallocated`` says so)."""
    c = current_costs(tables)
    c = c.filter(match_where(c, where or {}))
    c = spread(c, ibis.literal(start, type="date"), ibis.literal(end, type="date"))
    c = c.mutate(_untagged=c.channel.isnull() & c.campaign.isnull())
    aggs = {"spend": c.part.sum(), "unallocated": c.part.sum(where=c._untagged)}
    return c.group_by(list(by)).agg(**aggs) if by else c.agg(**aggs)


def won_deals(
    tables: Tables,
    *,
    start: dt.date,
    end: dt.date,
    where: Where | None = None,
    by: Sequence[str] = (),
) -> ir.Table:
    """Deals won in [start, end] (by the local day they closed), by the lead fields ``by`` of
    the deal's lead. Columns: by…, won, revenue (one row without ``by``)."""
    d = current_deals(tables)
    d = d.filter((d.status == "won") & in_local_days(d.closed_at, start, end))
    fields = list(dict.fromkeys([*(where or {}), *by]))
    if fields:
        leads = current_leads(tables).select("lead_id", *fields)
        d = d.inner_join(leads, d.lead_id == leads.lead_id)
        d = d.filter(match_where(d, where or {}))
    aggs = {"won": d.count(), "revenue": d.amount.sum()}
    return d.group_by(list(by)).agg(**aggs) if by else d.agg(**aggs)
