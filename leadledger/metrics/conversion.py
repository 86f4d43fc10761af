"""Conversion: cohort (next-step), cumulative, flow ratio, and visitor → lead from traffic.

- **Cohort conversion S→T**: of the leads that entered S in a period, the share that reached T
  (by the as-of time, optionally within a window after entering S; ``ordered`` counts only T
  reached at or after S).
- **Cumulative conversion**: of the leads that entered the first stage in the period, the share
  that reached T.
- **Flow ratio**: leads entering T in the period ÷ leads entering S in the same period (pacing).
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from leadledger.config.models import ProjectConfig
from leadledger.ledger.clock import days_between, seconds_between
from leadledger.ledger.derived import (
    Tables,
    current_leads,
    current_traffic,
    in_local_days,
    journeys,
    period_of,
    reached_col,
)
from leadledger.metrics.grid import merge_on_keys


def converted_flag(
    j: ir.Table,
    from_stage: str,
    to_stage: str,
    *,
    as_of: object,
    window_days: float | None = None,
    ordered: bool = False,
) -> ir.BooleanValue:
    s_at = j[reached_col(from_stage)]
    t_at = j[reached_col(to_stage)]
    cond = t_at.notnull() & (t_at <= as_of)
    if ordered:
        cond &= t_at >= s_at
    if window_days is not None:
        # in seconds, rounded: a window of 71h must not become 255599.99999999997 s
        cond &= seconds_between(s_at, t_at) <= round(window_days * 86400, 6)
    return cond


def cohort_conversion(
    tables: Tables,
    cfg: ProjectConfig,
    *,
    from_stage: str,
    to_stage: str,
    period: str,
    start: object,
    end: object,
    as_of: object,
    fields: Sequence[str] = (),
    window_days: float | None = None,
    ordered: bool = False,
) -> ir.Table:
    """Columns: period, fields…, entered, converted, rate, out_of_order, median_days_to_convert,
    cumulative_entered, cumulative_converted, cumulative_rate, flow_entered, flow_ratio."""
    first = cfg.stage_keys[0]
    j = journeys(tables, cfg, fields=fields, side_states=False, as_of=as_of)
    s_at = j[reached_col(from_stage)]
    t_at = j[reached_col(to_stage)]
    conv = converted_flag(
        j, from_stage, to_stage, as_of=as_of, window_days=window_days, ordered=ordered
    )
    days = days_between(s_at, t_at)
    keys = ["period", *fields]

    cohort = j.filter(in_local_days(s_at, start, end)).mutate(
        period=period_of(s_at, period),
        _conv=conv,
        _days=days,
        _ooo=t_at.notnull() & (t_at < s_at),
    )
    main = cohort.group_by(keys).agg(
        entered=cohort.count(),  # one row per lead
        converted=cohort._conv.sum().cast("int64"),
        out_of_order=cohort._ooo.sum().cast("int64"),
        median_days_to_convert=cohort._days.quantile(0.5, where=cohort._conv),
    )
    # cumulative: cohort of the first stage, reached T
    cum_conv = converted_flag(
        j, first, to_stage, as_of=as_of, window_days=window_days, ordered=ordered
    )
    cum = j.filter(in_local_days(j[reached_col(first)], start, end)).mutate(
        period=period_of(j[reached_col(first)], period), _conv=cum_conv
    )
    cum = cum.group_by(keys).agg(
        cumulative_entered=cum.count(),
        cumulative_converted=cum._conv.sum().cast("int64"),
    )
    # flow: entered T in the period
    flow = j.filter(in_local_days(t_at, start, end)).mutate(period=period_of(t_at, period))
    flow = flow.group_by(keys).agg(flow_entered=flow.count())

    out = merge_on_keys([main, cum, flow], keys)
    zero = ibis.literal(0, type="int64")
    out = out.mutate(
        entered=out.entered.fill_null(zero),
        converted=out.converted.fill_null(zero),
        out_of_order=out.out_of_order.fill_null(zero),
        cumulative_entered=out.cumulative_entered.fill_null(zero),
        cumulative_converted=out.cumulative_converted.fill_null(zero),
        flow_entered=out.flow_entered.fill_null(zero),
    )
    return (
        out.mutate(
            rate=_ratio(out.converted, out.entered),
            cumulative_rate=_ratio(out.cumulative_converted, out.cumulative_entered),
            flow_ratio=_ratio(out.flow_entered, out.entered),
        )
        .select(
            *keys,
            "entered",
            "converted",
            "rate",
            "out_of_order",
            "median_days_to_convert",
            "cumulative_entered",
            "cumulative_converted",
            "cumulative_rate",
            "flow_entered",
            "flow_ratio",
        )
        .order_by(keys)
    )


def _ratio(num: ir.NumericValue, den: ir.NumericValue) -> ir.FloatingValue:
    return ibis.cases((den > 0, num.cast("float64") / den.cast("float64")), else_=None)


TRAFFIC_FIELDS = ("channel", "landing_page", "campaign")


def visitor_to_lead(
    tables: Tables,
    cfg: ProjectConfig,
    *,
    period: str,
    start: object,
    end: object,
    fields: Sequence[str] = (),
) -> ir.Table:
    """Visits (traffic counts) and leads created per period: a flow ratio, because visitors are
    anonymous. Breakdowns only by fields both sides have (channel, landing_page, campaign).
    Columns: period, fields…, entered (visits), converted (new leads), rate."""
    traffic = current_traffic(tables)
    traffic = traffic.filter((traffic.day >= start) & (traffic.day <= end))
    unit = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}[period]
    traffic = traffic.mutate(period=traffic.day.truncate(unit))
    keys = ["period", *fields]
    visits = traffic.group_by(keys).agg(entered=traffic.visits.sum().cast("int64"))
    leads = current_leads(tables)
    leads = leads.filter(in_local_days(leads.created_at, start, end)).mutate(
        period=period_of(leads.created_at, period)
    )
    new = leads.group_by(keys).agg(converted=leads.count())  # current: one row per lead
    out = merge_on_keys([visits, new], keys)
    zero = ibis.literal(0, type="int64")
    out = out.mutate(entered=out.entered.fill_null(zero), converted=out.converted.fill_null(zero))
    return out.mutate(rate=_ratio(out.converted, out.entered)).order_by(keys)
