"""Costs: spend per period and key, untagged spend allocated, counts per stage, cost per stage.

A cost row is a dated amount (``period_start`` = ``period_end``) or a period amount: a month's
spend is spread evenly over the calendar days of its period, so a window (a report period, the
range of a report) gets amount × overlapping days ÷ days of the cost's period. Spend is keyed
by the cost's own tags:

- ``channel``: the cost's channel. Costs without a channel (salaries, tools) follow
  ``costs.untagged``: ``unallocated`` keeps them in a row ``(unallocated)``; ``even`` splits each
  period's untagged spend equally over the configured channels; ``by_leads`` splits it over the
  channels by their share of the period's new leads (leads with a channel; a period with untagged
  spend and no such lead keeps it in ``(unallocated)``). Allocation moves money between rows,
  never creates or loses it.
- ``campaign``: the cost's campaign; costs without one are shown apart as ``(no campaign)``.
- ``category``: media, staff, technology, agency, other.
- ``persona``: the persona a campaign targets (``costs.campaign_personas``); other spend is shown
  apart as ``(no persona)``.

Counts are keyed by the lead's own attribute (``channel``, ``campaign``, ``persona``); a lead
without one is a group of its own (key NULL), never merged into a spend label. Inquiries are
touches of the configured kinds keyed by the touch's own channel / campaign (the lead's persona).

Every function is a metric: Ibis tables (+ settings) in, an Ibis expression out.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import pandas as pd

from leadledger.config.models import ProjectConfig
from leadledger.ledger.derived import (
    Tables,
    current_costs,
    current_leads,
    deal_credits,
    in_local_days,
    journeys,
    period_of,
    reached_col,
    with_fields,
)
from leadledger.metrics.funnel import stage_reached_long
from leadledger.metrics.grid import left_join_on_keys, merge_on_keys
from leadledger.workdays import next_period_start, period_start

UNALLOCATED = "(unallocated)"
NO_CAMPAIGN = "(no campaign)"
NO_PERSONA = "(no persona)"
#: The views of ``report costs``.
COST_KEYS = ("channel", "campaign", "category", "persona")
#: Count columns of the cost report → the stage they count (None: the first stage / inquiries).
STAGE_COLUMNS = {
    "leads": None,
    "mqls": "mql",
    "sqls": "sql",
    "opportunities": "opportunity",
    "customers": "customer",
}
#: Count column → its cost-per column.
COST_PER = {
    "inquiries": "cost_per_inquiry",
    "leads": "cost_per_lead",
    "mqls": "cost_per_mql",
    "sqls": "cost_per_sql",
    "opportunities": "cost_per_opportunity",
    "customers": "cac",
}


def periods_table(start: dt.date, end: dt.date, period: str) -> ir.Table:
    """The periods overlapping [start, end]: ``period`` (first day of the period), ``first`` and
    ``last`` (the period's days inside the range)."""
    rows = []
    cursor = period_start(start, period)
    while cursor <= end:
        nxt = next_period_start(cursor, period)
        rows.append(
            {
                "period": cursor,
                "first": max(cursor, start),
                "last": min(nxt - dt.timedelta(days=1), end),
            }
        )
        cursor = nxt
    frame = pd.DataFrame(rows, columns=["period", "first", "last"])
    return ibis.memtable(frame, schema={"period": "date", "first": "date", "last": "date"})


def spread(costs: ir.Table, first: ir.DateValue, last: ir.DateValue) -> ir.Table:
    """The part of each cost row that falls in the days [first, last] (columns or literals):
    amount × overlapping days ÷ days of the cost's period, as ``part``. Rows without overlap are
    dropped."""
    lo = ibis.greatest(costs.period_start, first)
    hi = ibis.least(costs.period_end, last)
    overlap = (hi.delta(lo, unit="day") + 1).cast("float64")
    days = (costs.period_end.delta(costs.period_start, unit="day") + 1).cast("float64")
    return costs.filter(hi >= lo).mutate(part=costs.amount * overlap / days)


def spend_parts(tables: Tables, *, start: dt.date, end: dt.date, period: str) -> ir.Table:
    """Each current cost's part in each period of [start, end].
    Columns: period, channel, campaign, category, part."""
    c = current_costs(tables)
    p = periods_table(start, end, period)
    x = c.cross_join(p)
    x = spread(x, x["first"], x["last"])
    return x.select("period", "channel", "campaign", "category", "part")


def new_leads_share(
    tables: Tables, cfg: ProjectConfig, *, start: dt.date, end: dt.date, period: str
) -> ir.Table:
    """Per period, each channel's share of the period's new leads (leads with a channel created
    on a day in [start, end]). Columns: period, channel, share."""
    leads = current_leads(tables)
    leads = leads.filter(leads.channel.notnull() & in_local_days(leads.created_at, start, end))
    leads = leads.mutate(period=period_of(leads.created_at, period))
    n = leads.group_by(["period", "channel"]).agg(n=leads.count())
    total = n.group_by("period").agg(total=n.n.sum())
    j = n.inner_join(total, "period")
    return j.select("period", "channel", share=j.n.cast("float64") / j.total.cast("float64"))


def spend_by(
    tables: Tables,
    cfg: ProjectConfig,
    *,
    by: str,
    start: dt.date,
    end: dt.date,
    period: str,
    untagged: str | None = None,
) -> ir.Table:
    """Spend per period and key in [start, end], untagged spend allocated as configured
    (``untagged`` overrides ``cfg.costs.untagged``). Columns: period, <by>, spend, allocated
    (the part of ``spend`` that came from untagged costs)."""
    if by not in COST_KEYS:
        raise ValueError(f"cannot key spend by '{by}'")
    parts = spend_parts(tables, start=start, end=end, period=period)
    if by == "category":
        out = parts.group_by(["period", "category"]).agg(spend=parts.part.sum())
        return out.mutate(allocated=ibis.literal(0.0))
    if by == "campaign":
        keyed = parts.mutate(campaign=parts.campaign.fill_null(NO_CAMPAIGN))
        out = keyed.group_by(["period", "campaign"]).agg(spend=keyed.part.sum())
        return out.mutate(allocated=ibis.literal(0.0))
    if by == "persona":
        mapping = cfg.costs.campaign_personas
        persona = (
            ibis.cases(*[(parts.campaign == k, v) for k, v in mapping.items()], else_=NO_PERSONA)
            if mapping
            else ibis.literal(NO_PERSONA)
        )
        keyed = parts.mutate(persona=persona)
        out = keyed.group_by(["period", "persona"]).agg(spend=keyed.part.sum())
        return out.mutate(allocated=ibis.literal(0.0))
    # by channel: tagged spend, plus the untagged spend allocated by the rule
    rule = untagged or cfg.costs.untagged
    tagged = parts.filter(parts.channel.notnull())
    tagged = tagged.group_by(["period", "channel"]).agg(
        spend=tagged.part.sum(), allocated=ibis.literal(0.0)
    )
    loose = parts.filter(parts.channel.isnull())
    loose = loose.group_by("period").agg(untagged=loose.part.sum())
    keys = [c.key for c in cfg.channels]
    if rule == "even" and keys:
        chans = ibis.memtable(pd.DataFrame({"channel": keys}), schema={"channel": "string"})
        x = loose.cross_join(chans)
        share = x.untagged / float(len(keys))
        moved = x.select("period", "channel", spend=share, allocated=share)
    elif rule == "by_leads":
        shares = new_leads_share(tables, cfg, start=start, end=end, period=period)
        j = loose.left_join(shares, loose.period == shares.period)
        amount = ibis.cases((j.share.notnull(), j.untagged * j.share), else_=j.untagged)
        moved = j.select(
            period=j.period,
            channel=j.channel.fill_null(UNALLOCATED),
            spend=amount,
            allocated=amount,
        )
    else:
        moved = loose.select(
            "period",
            channel=ibis.literal(UNALLOCATED),
            spend=loose.untagged,
            allocated=ibis.literal(0.0),
        )
    both = ibis.union(tagged, moved.select(*tagged.columns), distinct=False)
    return both.group_by(["period", "channel"]).agg(
        spend=both.spend.sum(), allocated=both.allocated.sum()
    )


def stage_counts(
    tables: Tables,
    cfg: ProjectConfig,
    *,
    by: str | None,
    start: dt.date,
    end: dt.date,
    period: str,
) -> ir.Table:
    """Leads entering the first stage, mql, sql, opportunity and customer per period (first
    entry, local days in [start, end], skipped stages as the project says), keyed by the lead's
    ``by`` attribute. Columns: period, <by>, leads, mqls, sqls, opportunities, customers (0 for a
    stage the project does not have)."""
    fields = [by] if by else []
    stages = {col: (stage or cfg.stage_keys[0]) for col, stage in STAGE_COLUMNS.items()}
    present = [s for s in dict.fromkeys(stages.values()) if s in cfg.stage_keys]
    j = journeys(tables, cfg, fields=fields, side_states=False)
    long = stage_reached_long(j, cfg, fields, present)
    long = long.filter(in_local_days(long.at, start, end))
    long = long.mutate(period=period_of(long.at, period))
    aggs = {
        col: (long.count(where=long.stage == stage) if stage in present else ibis.literal(0))
        for col, stage in stages.items()
    }
    return long.group_by(["period", *fields]).agg(**aggs)


def inquiries(
    tables: Tables,
    cfg: ProjectConfig,
    *,
    by: str | None,
    start: dt.date,
    end: dt.date,
    period: str,
) -> ir.Table:
    """Touches of the inquiry kinds (``costs.inquiry_kinds``) on a day in [start, end], keyed
    by the touch's channel or campaign (``persona``: the touch's lead's persona).
    Columns: period, <by>, inquiries."""
    t = tables["touches"]
    kinds = list(cfg.costs.inquiry_kinds)
    t = t.filter(t.kind.isin(kinds) & in_local_days(t.at, start, end)) if kinds else t.limit(0)
    t = t.mutate(period=period_of(t.at, period))
    if by == "persona":
        leads = current_leads(tables).select("lead_id", "persona")
        joined = t.left_join(leads, t.lead_id == leads.lead_id)
        t = joined.select(period=t.period, persona=leads.persona)
    keys = ["period", *([by] if by else [])]
    return t.group_by(keys).agg(inquiries=t.count())


def won_by(
    tables: Tables,
    cfg: ProjectConfig,
    *,
    by: str | None,
    start: dt.date,
    end: dt.date,
    period: str,
) -> ir.Table:
    """Won deals closed on a day in [start, end] per period, keyed by the ``by`` attribute of
    the deal's contacts (a deal without one: NULL). A deal with several contacts shares its
    revenue among them (``deal_contacts.credit``) and is counted once, under its counted
    (primary) contact. Columns: period, <by>, won_deals, revenue."""
    d = deal_credits(tables, cfg)
    d = d.filter((d.status == "won") & in_local_days(d.closed_at, start, end))
    d = d.select("deal_id", "lead_id", "amount", "counted", period=period_of(d.closed_at, period))
    fields = [by] if by else []
    if fields:
        d = with_fields(d, tables, cfg, fields)
    return d.group_by(["period", *fields]).agg(
        won_deals=d.counted.sum().cast("int64"), revenue=d.amount.sum()
    )


def _ratio(num: ir.NumericValue, den: ir.NumericValue) -> ir.FloatingValue:
    """num ÷ den, NULL where den is 0 (never inf)."""
    return ibis.cases((den > 0, num / den.cast("float64")), else_=ibis.null().cast("float64"))


def _cost_per(spend: ir.NumericValue, count: ir.NumericValue) -> ir.FloatingValue:
    """spend ÷ count, NULL where the count is 0 or no spend is recorded for the row (a key
    with no tagged cost has an unknown cost per stage, not a free one)."""
    return ibis.cases(
        ((count > 0) & (spend > 0), spend / count.cast("float64")),
        else_=ibis.null().cast("float64"),
    )


COUNT_COLUMNS = ("inquiries", *STAGE_COLUMNS, "won_deals")


def cost_per_stage(
    tables: Tables,
    cfg: ProjectConfig,
    *,
    by: str,
    start: dt.date,
    end: dt.date,
    period: str,
    untagged: str | None = None,
) -> ir.Table:
    """Spend, counts and cost per stage per period and key.

    Columns: period, <by>, spend, allocated_spend, inquiries, leads, mqls, sqls, opportunities,
    customers, won_deals, revenue, cost_per_inquiry, cost_per_lead, cost_per_mql, cost_per_sql,
    cost_per_opportunity, cac, monthly_margin_per_customer, payback_months.

    ``by="category"``: the counts are the period's totals (every lead), repeated on each
    category's row: cost per stage then says what each category costs per lead, MQL, …
    """
    spend = spend_by(
        tables, cfg, by=by, start=start, end=end, period=period, untagged=untagged
    ).rename(allocated_spend="allocated")
    count_by = None if by == "category" else by
    parts = [
        stage_counts(tables, cfg, by=count_by, start=start, end=end, period=period),
        inquiries(tables, cfg, by=count_by, start=start, end=end, period=period),
        won_by(tables, cfg, by=count_by, start=start, end=end, period=period),
    ]
    if by == "category":
        counts = merge_on_keys(parts, ["period"])
        t = left_join_on_keys(spend, counts, ["period"])
    else:
        t = merge_on_keys([spend, *parts], ["period", by])
    t = t.mutate(
        spend=t.spend.fill_null(0.0),
        allocated_spend=t.allocated_spend.fill_null(0.0),
        revenue=t.revenue.fill_null(0.0),
        **{c: t[c].fill_null(0) for c in COUNT_COLUMNS},
    )
    t = cost_ratios(t, cfg)
    return t.select("period", by, *COST_COLUMNS).order_by(["period", by])


#: The columns summed over periods (:func:`cost_totals`); the ratios are recomputed from them.
SUMMED_COLUMNS = ("spend", "allocated_spend", *COUNT_COLUMNS, "revenue")
#: The columns of :func:`cost_per_stage` after its period and key.
COST_COLUMNS = (
    *SUMMED_COLUMNS,
    *COST_PER.values(),
    "monthly_margin_per_customer",
    "payback_months",
)


def cost_ratios(t: ir.Table, cfg: ProjectConfig) -> ir.Table:
    """Cost per stage, monthly margin per customer and payback months of a table with the
    columns ``spend``, the counts (``COUNT_COLUMNS``) and ``revenue``:

    - ``cost_per_<stage>`` (``cac`` for customers) = spend ÷ count, NULL where the count is 0 or
      no spend is recorded;
    - ``monthly_margin_per_customer`` = revenue ÷ won deals × gross margin ÷ contract months,
      NULL without a won deal;
    - ``payback_months`` = cac ÷ monthly margin per customer, NULL where either is missing."""
    t = t.mutate(**{per: _cost_per(t.spend, t[count]) for count, per in COST_PER.items()})
    margin = _ratio(t.revenue, t.won_deals) * (cfg.costs.gross_margin / cfg.costs.contract_months)
    t = t.mutate(monthly_margin_per_customer=margin)
    return t.mutate(payback_months=_ratio(t.cac, t.monthly_margin_per_customer))


def cost_totals(per_period: ir.Table, cfg: ProjectConfig, *, by: str) -> ir.Table:
    """The rows of :func:`cost_per_stage` summed over their periods, per key, the ratios
    recomputed from the sums (:func:`cost_ratios`): a total's cost per lead is the range's spend
    ÷ its leads, never a mean of the periods' ratios. Columns: <by>, then ``COST_COLUMNS``."""
    t = per_period.group_by(by).agg(**{c: per_period[c].sum() for c in SUMMED_COLUMNS})
    return cost_ratios(t, cfg).select(by, *COST_COLUMNS)


def spend_total_by(
    tables: Tables,
    cfg: ProjectConfig,
    *,
    by: str,
    start: dt.date,
    end: dt.date,
    untagged: str | None = None,
) -> ir.Table:
    """Spend in [start, end] per key: :func:`spend_by` per month (untagged spend allocated month
    by month, as the rule says), summed over the months. Columns: <by>, spend."""
    s = spend_by(tables, cfg, by=by, start=start, end=end, period="month", untagged=untagged)
    return s.group_by(by).agg(spend=s.spend.sum())


#: The money columns :func:`roi_ratios` reads.
ROI_INPUTS = (
    "spend",
    "attributed_opportunities",
    "attributed_pipeline",
    "attributed_customers",
    "attributed_revenue",
)


def roi_ratios(t: ir.Table) -> ir.Table:
    """Return on spend of a table with ``ROI_INPUTS`` (Salesforce's campaign ROI form):

    - ``roi`` = (attributed_revenue − spend) ÷ spend;
    - ``roas`` = attributed_revenue ÷ spend;
    - ``cac`` = spend ÷ attributed customers;
    - ``pipeline_per_spend`` = attributed_pipeline ÷ spend.

    NULL where the spend is 0 (no cost recorded: unknown, never infinite), and ``cac`` also
    where no customer is credited."""
    return t.mutate(
        roi=_ratio(t.attributed_revenue - t.spend, t.spend),
        roas=_ratio(t.attributed_revenue, t.spend),
        cac=_cost_per(t.spend, t.attributed_customers),
        pipeline_per_spend=_ratio(t.attributed_pipeline, t.spend),
    )


def attainment(t: ir.Table) -> ir.Table:
    """Goals against actual, of a table with ``planned``, ``planned_to_date`` and ``actual``:
    ``attainment`` = actual ÷ planned_to_date (NULL while nothing is planned to date),
    ``remaining`` = planned − actual."""
    return t.mutate(attainment=_ratio(t.actual, t.planned_to_date), remaining=t.planned - t.actual)


def goal_spend(
    tables: Tables,
    *,
    start: dt.date,
    end: dt.date,
    channel: str | None = None,
    campaign: str | None = None,
) -> ir.Table:
    """Spend in [start, end] of the costs tagged with the goal's channel and/or campaign (all
    costs when the goal has neither); untagged costs are not in a goal's budget.
    Columns: spend (one row)."""
    c = current_costs(tables)
    if channel is not None:
        c = c.filter(c.channel == channel)
    if campaign is not None:
        c = c.filter(c.campaign == campaign)
    c = spread(c, ibis.literal(start, type="date"), ibis.literal(end, type="date"))
    return c.agg(spend=c.part.sum())


def deal_buckets(
    tables: Tables,
    cfg: ProjectConfig,
    *,
    stage: str,
    start: dt.date,
    end: dt.date,
) -> ir.Table:
    """Where the money of the deals table goes, for reconciling attributed money with it.

    ``stage="customer"``: won deals, dated by ``closed_at``; any other stage (``opportunity``):
    every deal, dated by ``created_at``. Attribution dates money by the lead's first real entry
    into ``stage`` instead (a lead's deals count when the lead converts in range; skipped stages
    are not conversions). One row per bucket
    (amounts of deals without an amount count 0):

    - ``deals_table``: deals dated in [start, end];
    - ``converted_in_range``: deals of leads that reached ``stage`` in range (what attribution
      splits, whatever the deal's own date);
    - ``dated_outside_range``: of those, the deals dated outside the range;
    - ``no_lead``: deals dated in range whose lead is empty or not in the ledger;
    - ``lead_not_converted``: deals dated in range whose lead never reached ``stage``;
    - ``converted_outside_range``: deals dated in range whose lead reached ``stage`` outside it.

    deals_table = converted_in_range − dated_outside_range + no_lead + lead_not_converted +
    converted_outside_range. Columns: bucket, deals, amount.
    """
    d = deal_credits(tables, cfg)
    won_only = stage == "customer"
    if won_only:
        d = d.filter(d.status == "won")
    dated = d.closed_at if won_only else d.created_at
    d = d.select(
        "lead_id",
        "counted",
        amount=d.amount.fill_null(0.0),
        _in=in_local_days(dated, start, end),
    )
    # the first real entry, as attribution counts a conversion (a lead that skipped the stage
    # did not convert into it here)
    j = journeys(tables, cfg, side_states=False, count_skipped=False)
    j = j.select(_lead=j.lead_id, _at=j[reached_col(stage)])
    x = d.left_join(j, d.lead_id == j._lead)
    x = x.mutate(
        _known=x._lead.notnull(),
        _conv=in_local_days(x._at, start, end),
    )
    buckets = {
        "deals_table": x._in,
        "converted_in_range": x._conv,
        "dated_outside_range": x._conv & ~x._in,
        "no_lead": x._in & ~x._known,
        "lead_not_converted": x._in & x._known & x._at.isnull(),
        "converted_outside_range": x._in & x._at.notnull() & ~x._conv,
    }
    parts = []
    for name, cond in buckets.items():
        f = x.filter(cond)
        agg = f.agg(
            deals=f.counted.sum().cast("int64").fill_null(0), amount=f.amount.sum().fill_null(0.0)
        )
        parts.append(agg.select(bucket=ibis.literal(name), deals=agg.deals, amount=agg.amount))
    return ibis.union(*parts, distinct=False)
