"""Lead decay in money (seed 003): what an SQL is worth, and how much of it neglect costs.

- **Value per SQL** = customer value × SQL→customer rate ($100k × 10/40 = $25k).
- **Delay** of an SQL: from its entry into the decay stage to the first sales touch (a kind in
  ``sales_touch_kinds``) at or after it, or, when it was not followed up, to its exit (won stage
  reached, or a side state entered) or to the as-of time when it is still open. Measured in
  business days for the curve's buckets and in calendar days against the time limit.
- **Decay curve**: the SQLs of the history window by first-follow-up delay bucket (``buckets``
  in business days, ``(previous, bound]``, one bucket for longer delays, one for no follow-up),
  each with its conversion to the won stage and a 95 % Wilson interval.
- **Remaining share** of a bucket = its conversion ÷ the conversion of the fastest followed-up
  bucket with at least ``min_per_bucket`` SQLs (the reference), capped at 1. A bucket with fewer
  SQLs (or no reference at all) falls back to the configured time limit, SQL by SQL: remaining 1
  while the calendar delay is within the SQL's limit (the first ``limits`` entry whose ``where``
  matches, else ``limit_days``), 0 after it.
- **Value lost** = Σ value per SQL × (1 − remaining share at the SQL's delay), over the SQLs that
  entered in the period; **value at risk now** = the same over the open SQLs (won stage not
  reached, no side state since the entry) with no follow-up yet, at their current untouched
  delay. An SQL's delay is placed in the followed-up buckets, so an untouched SQL counts as if
  it were followed up now.

Pure: expressions over the ledger tables and plain arithmetic; ``leadledger.reports.protection``
runs them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from leadledger.config.models import Decay, ProjectConfig
from leadledger.ledger.clock import DAY
from leadledger.ledger.derived import Tables, journeys, match_where, reached_col, stage_entries
from leadledger.planning.business_time import elapsed_seconds
from leadledger.planning.sla import first_sales_touch

#: z of a two-sided 95 % interval (the normal quantile at 0.975).
Z95 = 1.959963984540054
NO_FOLLOW_UP = "no_follow_up"


# -- the standalone arithmetic -------------------------------------------------------------------
def decay_arithmetic(
    *, customer_value: float, sqls: int, customers: int, neglected: int
) -> dict[str, float | int]:
    """Seed 003's example, exactly: ``sqls`` SQLs gave ``customers`` customers worth
    ``customer_value`` each; ``neglected`` of the SQLs go cold (lose all their value).

    value_per_sql = customer_value × customers ÷ sqls; expected_customers = (sqls − neglected) ×
    customers ÷ sqls; expected_revenue = expected_customers × customer_value; value_lost =
    neglected × value_per_sql; customers_lost = neglected × customers ÷ sqls."""
    rate = customers / sqls
    value_per_sql = customer_value * customers / sqls
    expected = (sqls - neglected) * customers / sqls
    return {
        "customer_value": float(customer_value),
        "sqls": sqls,
        "customers": customers,
        "neglected": neglected,
        "sql_to_customer_rate": rate,
        "value_per_sql": value_per_sql,
        "expected_customers": expected,
        "customers_lost": neglected * customers / sqls,
        "expected_revenue": expected * customer_value,
        "value_lost": neglected * value_per_sql,
    }


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """The Wilson score interval of a proportion (NULLs for n = 0): unlike the normal
    approximation it stays inside [0, 1] and is usable for small buckets."""
    if n <= 0:
        return None, None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


# -- buckets -------------------------------------------------------------------------------------
def bucket_labels(bounds: Sequence[float]) -> list[str]:
    """Labels of the followed-up buckets and the no-follow-up one: 0-1, 1-2, …, 20+,
    no_follow_up (business days)."""
    labels, low = [], 0.0
    for b in bounds:
        labels.append(f"{low:g}-{b:g}")
        low = b
    return [*labels, f"{low:g}+", NO_FOLLOW_UP]


def delay_bucket(delay_bd: ir.FloatingValue, bounds: Sequence[float]) -> ir.IntegerValue:
    """Index of the followed-up bucket holding a delay in business days: i for
    (bounds[i−1], bounds[i]], len(bounds) for longer."""
    branches = [(delay_bd <= b, ibis.literal(i)) for i, b in enumerate(bounds)]
    return ibis.cases(*branches, else_=ibis.literal(len(bounds))).cast("int64")


def limit_days(t: ir.Table, decay: Decay) -> ir.FloatingValue:
    """Each SQL's time limit in days: the first ``limits`` entry whose ``where`` matches, else
    ``limit_days``."""
    branches = [(match_where(t, lim.where), ibis.literal(float(lim.days))) for lim in decay.limits]
    default = ibis.literal(float(decay.limit_days))
    return ibis.cases(*branches, else_=default) if branches else default


def limit_fields(decay: Decay) -> list[str]:
    """Lead fields the segment limits filter on."""
    return list(dict.fromkeys(f for lim in decay.limits for f in lim.where))


# -- per SQL -------------------------------------------------------------------------------------
def sql_delays(
    tables: Tables,
    cfg: ProjectConfig,
    *,
    as_of: object,
    days: ir.Table,
    business_day_seconds: float,
    fields: Sequence[str] = (),
) -> ir.Table:
    """One row per lead that reached the decay stage by ``as_of``.

    Columns: lead_id, fields…, sql_at, first_follow_up_at (NULL when not followed up before its
    exit), exit_at (first won-stage or side-state entry at or after sql_at), won, open,
    followed_up, delay_business_days, delay_days, limit_days, within_limit, bucket (followed-up
    bucket of the delay), curve_bucket (bucket, or the no-follow-up one)."""
    d = cfg.decay
    wanted = list(dict.fromkeys([*fields, *limit_fields(d)]))
    j = journeys(tables, cfg, fields=wanted, side_states=False, as_of=as_of)
    sql_at = j[reached_col(d.stage)]
    won_at = j[reached_col(d.won_stage)]
    sqls = j.filter(sql_at.notnull()).select(
        "lead_id",
        *wanted,
        sql_at=sql_at,
        won=won_at.notnull(),
        _won_at=ibis.cases((won_at >= sql_at, won_at), else_=None),
    )
    entries = stage_entries(tables, cfg, as_of=as_of)
    entries = entries.filter(
        entries.stage.isin(cfg.side_state_keys) & (entries.entered_at <= as_of)
    )
    ej = entries.join(sqls.select("lead_id", _s=sqls.sql_at), "lead_id")
    ej = ej.filter(ej.entered_at >= ej._s)
    side = ej.group_by("lead_id").agg(_side_at=ej.entered_at.min())
    touch = first_sales_touch(tables, cfg, sqls.select("lead_id", _s=sqls.sql_at), as_of)
    t = sqls.left_join(side, sqls.lead_id == side.lead_id).select(
        *[sqls[c] for c in sqls.columns], side._side_at
    )
    t = t.left_join(touch, t.lead_id == touch.lead_id).select(
        *[t[c] for c in t.columns], touch.first_touch_at
    )
    as_of_lit = ibis.literal(as_of).cast(t.sql_at.type())
    exit_at = ibis.cases(
        (t._won_at.isnull(), t._side_at),
        (t._side_at.isnull(), t._won_at),
        (t._won_at <= t._side_at, t._won_at),
        else_=t._side_at,
    )
    t = t.mutate(exit_at=exit_at)
    followed = t.first_touch_at.notnull() & (t.exit_at.isnull() | (t.first_touch_at <= t.exit_at))
    t = t.mutate(
        followed_up=followed,
        open=~t.won & t._side_at.isnull(),
        first_follow_up_at=ibis.cases((followed, t.first_touch_at), else_=None),
        _end=ibis.cases((followed, t.first_touch_at), else_=t.exit_at.coalesce(as_of_lit)),
    )
    t = elapsed_seconds(t, "sql_at", "_end", business=True, days=days, name="_bs")
    t = elapsed_seconds(t, "sql_at", "_end", business=False, name="_cs")
    t = t.mutate(
        delay_business_days=t._bs / business_day_seconds,
        delay_days=t._cs / DAY,
        limit_days=limit_days(t, d),
    )
    t = t.mutate(
        # seconds, rounded: a limit of 1 day must not fail at 86400.0000001 s
        within_limit=t._cs <= (t.limit_days * DAY).round(6),
        bucket=delay_bucket(t.delay_business_days, d.buckets),
    )
    t = t.mutate(
        curve_bucket=ibis.cases((t.followed_up, t.bucket), else_=ibis.literal(len(d.buckets) + 1))
    )
    return t.select(
        "lead_id",
        *wanted,
        "sql_at",
        "first_follow_up_at",
        "exit_at",
        "won",
        "open",
        "followed_up",
        "delay_business_days",
        "delay_days",
        "limit_days",
        "within_limit",
        "bucket",
        "curve_bucket",
    )


def curve_counts(delays: ir.Table) -> ir.Table:
    """Per curve bucket of ``delays`` (already restricted to the history window): sqls,
    customers (won), limit_share (share within their time limit)."""
    return delays.group_by("curve_bucket").agg(
        sqls=delays.count(),
        customers=delays.won.sum().cast("int64"),
        # a CASE, not a cast: PostgreSQL cannot cast a boolean to a float
        limit_share=ibis.cases((delays.within_limit, 1.0), else_=0.0).mean(),
    )


def decay_curve(counts: pd.DataFrame, decay: Decay) -> pd.DataFrame:
    """The decay curve from the bucket counts: one row per bucket (every bucket, empty ones
    too). Columns: bucket, from_business_days, to_business_days, sqls, customers, rate, ci_low,
    ci_high, remaining_share, source (``reference``, ``history`` or ``limit``)."""
    labels = bucket_labels(decay.buckets)
    n_follow = len(decay.buckets) + 1
    by_index = {int(r["curve_bucket"]): r for r in counts.to_dict(orient="records")}
    rows: list[dict[str, Any]] = []
    bounds = [0.0, *decay.buckets]
    for i, label in enumerate(labels):
        rec = by_index.get(i, {})
        n = int(rec.get("sqls") or 0)
        won = int(rec.get("customers") or 0)
        low, high = wilson_interval(won, n)
        rows.append(
            {
                "bucket": label,
                "from_business_days": bounds[i] if i < n_follow else None,
                "to_business_days": decay.buckets[i] if i < len(decay.buckets) else None,
                "sqls": n,
                "customers": won,
                "rate": won / n if n else None,
                "ci_low": low,
                "ci_high": high,
                "_limit_share": rec.get("limit_share"),
            }
        )
    ref = next(
        (r for r in rows[:n_follow] if r["sqls"] >= decay.min_per_bucket and r["rate"]), None
    )
    for r in rows:
        limit_share = r.pop("_limit_share")
        if ref is not None and r["sqls"] >= decay.min_per_bucket:
            r["remaining_share"] = min(1.0, r["rate"] / ref["rate"])
            r["source"] = "reference" if r is ref else "history"
        else:  # thin: the time limit decides; shown as the share of its SQLs within their limit
            r["remaining_share"] = None if pd.isna(limit_share) else float(limit_share)
            r["source"] = "limit"
    return pd.DataFrame(rows)


def bucket_shares(curve: pd.DataFrame, decay: Decay) -> pd.DataFrame:
    """bucket index → measured remaining share, for the followed-up buckets whose share comes
    from the history (the others are NULL: the time limit decides, SQL by SQL)."""
    n_follow = len(decay.buckets) + 1
    head = curve.iloc[:n_follow]
    share = [
        float(s) if src != "limit" else None
        for s, src in zip(head["remaining_share"], head["source"], strict=True)
    ]
    return pd.DataFrame({"bucket": list(range(n_follow)), "measured_share": share})


def valued_sqls(delays: ir.Table, shares: ir.Table, value_per_sql: float) -> ir.Table:
    """``delays`` plus remaining_share (the measured share of its bucket, else 1 within its
    time limit and 0 past it), share_source (``history`` or ``limit``) and value_lost =
    value_per_sql × (1 − remaining_share)."""
    j = delays.left_join(shares, delays.bucket == shares.bucket)
    j = j.select(*[delays[c] for c in delays.columns], shares.measured_share)
    fallback = ibis.cases((j.within_limit, 1.0), else_=0.0)
    remaining = j.measured_share.coalesce(fallback)
    return j.mutate(
        remaining_share=remaining,
        share_source=ibis.cases((j.measured_share.notnull(), "history"), else_="limit"),
        value_lost=ibis.literal(float(value_per_sql)) * (1 - remaining),
    ).drop("measured_share")


def shares_table(shares: pd.DataFrame) -> ir.Table:
    return ibis.memtable(shares, schema={"bucket": "int64", "measured_share": "float64"})
