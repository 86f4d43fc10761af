"""What the ledger says about a window of history: entries per stage, visits, spend, won deals.

The reverse funnel, pacing and what-if take their measured rates from here. The first functions
are metrics: Ibis tables in, an Ibis expression out, on any engine. ``where`` restricts to leads
(and traffic, costs) of some channels or campaigns: ``{"channel": ["paid_search"]}``. The last
ones (``measured``, ``baseline``) count a window with them, through ``run`` (the caller's way
to run an expression on its engine, e.g. ``Ctx.execute``), and turn the counts into rates.

Measured rates are flow ratios over the window (entered T ÷ entered S): a plan is about volumes
per period, and unlike a cohort rate a flow ratio does not sag for cohorts too young to have
converted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any, TypedDict

import ibis
import ibis.expr.types as ir
import pandas as pd

from leadledger.config.models import ProjectConfig
from leadledger.errors import NotEnoughHistory
from leadledger.ledger.derived import (
    Tables,
    current_costs,
    current_leads,
    current_traffic,
    deal_credits,
    in_local_days,
    journeys,
    match_where,
)
from leadledger.metrics.costs import spread
from leadledger.metrics.funnel import stage_reached_long
from leadledger.planning import whatif as wi
from leadledger.planning.reverse_funnel import RATE_STEPS, Rate

Where = Mapping[str, Sequence[str]]
#: Runs an expression on the project's engine and answers its rows (``Ctx.execute``).
Run = Callable[[ir.Expr], Any]
#: Fields that traffic and costs carry too, so a plan per channel or campaign can be measured.
SHARED_FIELDS = ("channel", "campaign")
#: Stages a measured plan (and the what-if baseline) needs in the project's funnel.
PLAN_FUNNEL = ("lead", "mql", "sql", "customer")
#: The what-if group of leads without a channel.
NO_CHANNEL = "(none)"


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
    cfg: ProjectConfig,
    *,
    start: dt.date,
    end: dt.date,
    where: Where | None = None,
    by: Sequence[str] = (),
) -> ir.Table:
    """Deals won in [start, end] (by the local day they closed), by the lead fields ``by`` of
    the deal's contacts. Columns: by…, won, deals, revenue (one row without ``by``). A deal
    with several contacts shares its revenue among them (``deal_contacts.credit``); ``won``
    counts it once, under its counted (primary) contact, and ``deals`` by the same shares as the
    revenue (revenue ÷ deals is a mean deal size even when a deal's contacts are in different
    groups)."""
    d = deal_credits(tables, cfg)
    d = d.filter((d.status == "won") & in_local_days(d.closed_at, start, end))
    fields = list(dict.fromkeys([*(where or {}), *by]))
    if fields:
        leads = current_leads(tables).select("lead_id", *fields)
        d = d.inner_join(leads, d.lead_id == leads.lead_id)
        d = d.filter(match_where(d, where or {}))
    aggs = {
        "won": d.counted.sum().cast("int64"),
        "deals": d.weight.sum(),
        "revenue": d.amount.sum(),
    }
    return d.group_by(list(by)).agg(**aggs) if by else d.agg(**aggs)


# -- measuring a window ---------------------------------------------------------------------------
class Measured(TypedDict):
    """The counts of a history window (``measured``)."""

    #: Stage → leads that entered it in the window.
    entered: dict[str, int]
    visits: int
    spend: float
    #: Spend not tagged to any channel or campaign (salaries, tools).
    unallocated: float
    won: int
    revenue: float


def measured(
    tables: Tables,
    cfg: ProjectConfig,
    start: dt.date,
    end: dt.date,
    where: Where,
    run: Run,
) -> Measured:
    """Counts of the window [start, end]: entered per stage, visits, spend, won deals."""
    entered = run(entries_by_stage(tables, cfg, start=start, end=end, where=where))
    counts = {str(r.stage): int(r.entered) for r in entered.itertuples()}
    v = run(visits(tables, start=start, end=end, where=where))
    s = run(spend(tables, start=start, end=end, where=where))
    w = run(won_deals(tables, cfg, start=start, end=end, where=where))
    if where:  # costs not tagged at all cannot be placed in a channel: say how much
        everything = run(spend(tables, start=start, end=end))
        s = s.assign(unallocated=everything["unallocated"].to_numpy())

    def one(frame: pd.DataFrame, col: str) -> float:
        if frame.empty or pd.isna(frame[col].iloc[0]):
            return 0.0
        return float(frame[col].iloc[0])

    return {
        "entered": counts,
        "visits": int(one(v, "visits")),
        "spend": one(s, "spend"),
        "unallocated": one(s, "unallocated"),
        "won": int(one(w, "won")),
        "revenue": one(w, "revenue"),
    }


def measured_rate(name: str, m: Mapping[str, Any], window: str) -> Rate:
    """The rate ``name`` (``close_rate``, ``mql_to_sql``, …) as the flow ratio of the counts
    ``m`` (``measured``); unavailable, with the reason, when it is 0, above 1 or has no
    denominator. ``window`` names the window in the detail."""
    src, dst = RATE_STEPS[name]
    den = m["visits"] if src == "visitor" else m["entered"].get(src, 0)
    num = m["entered"].get(dst, 0)
    if den == 0:
        what = "no traffic imported" if src == "visitor" else f"no lead entered {src}"
        return Rate(None, "unavailable", f"{what} in {window}")
    label = "visits" if src == "visitor" else f"entered {src}"
    detail = f"{num:,} entered {dst} ÷ {den:,} {label}, {window}"
    if num == 0:
        return Rate(None, "unavailable", f"{detail}: a rate of 0 cannot be planned backwards")
    if num > den:
        # a flow ratio above 1: a short window, or stages entered out of order; never used
        return Rate(
            None,
            "unavailable",
            f"{detail} = {num / den:.2f} > 1: widen --history or give the rate",
        )
    return Rate(Fraction(num, den), "measured", detail)


def baseline(
    tables: Tables, cfg: ProjectConfig, start: dt.date, end: dt.date, run: Run
) -> tuple[pd.DataFrame, float, list[str]]:
    """The what-if baseline: one row per lead channel over the window (leads, measured flow
    ratios, deal size, spend; ``whatif.BASELINE_COLUMNS``), the spend not tagged to a channel
    (fixed overhead), and notes. The project's funnel must have the stages of PLAN_FUNNEL."""
    e = run(entries_by_stage(tables, cfg, start=start, end=end, by=["channel"]))
    # leads without a channel are a group of their own, never dropped
    e["channel"] = e["channel"].astype(object).where(e["channel"].notna(), NO_CHANNEL)
    wide = e.pivot_table(index="channel", columns="stage", values="entered", aggfunc="sum")
    wide = wide.reindex(columns=list(PLAN_FUNNEL)).fillna(0)
    spent = run(spend(tables, start=start, end=end, by=["channel"]))
    won = run(won_deals(tables, cfg, start=start, end=end))
    total_won = 0 if won.empty or pd.isna(won["won"].iloc[0]) else int(won["won"].iloc[0])
    mean_deal = float(won["revenue"].iloc[0]) / total_won if total_won else 0.0
    notes: list[str] = []
    rows = []
    by_channel: dict[Any, float] = {
        r.channel: float(r.spend) for r in spent.itertuples() if not pd.isna(r.spend)
    }
    deal_by = deal_size_by_channel(tables, cfg, start, end, run)
    for channel, r in wide.iterrows():
        if r["lead"] == 0:
            continue
        rows.append(
            {
                "channel": str(channel),
                "leads": float(r["lead"]),
                "lead_to_mql": r["mql"] / r["lead"],
                "mql_to_sql": r["sql"] / r["mql"] if r["mql"] else 0.0,
                "close_rate": r["customer"] / r["sql"] if r["sql"] else 0.0,
                "deal_size": deal_by.get(str(channel), mean_deal),
                "cost": by_channel.get(channel, 0.0),
            }
        )
    overhead = sum(v for k, v in by_channel.items() if k is None or pd.isna(k))
    overhead += sum(
        v for k, v in by_channel.items() if k is not None and not pd.isna(k) and k not in wide.index
    )
    if not rows:
        raise NotEnoughHistory(
            f"no lead entered the funnel from {start} to {end}",
            hint="import leads, or widen --history",
        )
    missing_deal = [r["channel"] for r in rows if str(r["channel"]) not in deal_by]
    if missing_deal and mean_deal:
        notes.append(
            f"no won deal of {', '.join(missing_deal)} in the window: their deal size is the "
            f"overall mean, {mean_deal:,.2f}"
        )
    return pd.DataFrame(rows, columns=list(wi.BASELINE_COLUMNS)), overhead, notes


def deal_size_by_channel(
    tables: Tables, cfg: ProjectConfig, start: dt.date, end: dt.date, run: Run
) -> dict[str, float]:
    """Mean won deal per configured channel (one query; channels without a won deal absent)."""
    w = run(won_deals(tables, cfg, start=start, end=end, by=["channel"]))
    configured = {c.key for c in cfg.channels}
    return {
        str(r.channel): float(r.revenue) / float(r.deals)
        for r in w.itertuples()
        if r.channel in configured and r.deals
    }
