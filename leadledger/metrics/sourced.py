"""Marketing-sourced share of new customers (seed 000, key 4).

A new customer in a period is a lead that reached ``customer`` in it. Its originating source is
the lead's ``channel`` (its original source), else its first touch's channel. A channel is
marketing- or sales-sourced per the project config; anything else is ``unknown`` and stays in the
denominator (all new customers), so an unmapped channel lowers the share visibly instead of
vanishing.

Seed 004's two money shares use the same originating-source rule on the deal's lead: marketing
share of pipeline = amount of the deals *created* in the period whose lead is marketing-sourced
÷ amount of all deals created in it; of closed-won revenue = the same over the deals *won* (closed)
in the period. A deal without a lead (or whose lead has no known source) is in the denominator
only. A deal without an amount (an open deal not priced yet) counts 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from leadledger.config.models import BANDS, ProjectConfig
from leadledger.ledger.derived import (
    Tables,
    deal_credits,
    in_local_days,
    journeys,
    period_of,
    reached_col,
    with_fields,
)
from leadledger.metrics.grid import merge_on_keys


def origin_channel(j: ir.Table) -> ir.StringValue:
    return j.channel.fill_null(j.first_touch_channel)


def sourced_share(
    tables: Tables,
    cfg: ProjectConfig,
    *,
    period: str,
    start: object,
    end: object,
    fields: Sequence[str] = (),
    stage: str = "customer",
) -> ir.Table:
    """Columns: period, fields…, customers, marketing_sourced, sales_sourced, unknown_source,
    marketing_share, band_low, band_high, band_status, pipeline, marketing_pipeline,
    sales_pipeline, revenue, marketing_revenue, sales_revenue, pipeline_share, revenue_share.

    A period with deals but no new customer has ``customers`` 0 and an empty share and band."""
    need = list(dict.fromkeys(["channel", "first_touch_channel", *fields]))
    j = journeys(tables, cfg, fields=need, side_states=False)
    at = j[reached_col(stage)]
    j = j.filter(in_local_days(at, start, end))
    origin = origin_channel(j)
    marketing = [c.key for c in cfg.channels if c.sourced == "marketing"]
    sales = [c.key for c in cfg.channels if c.sourced == "sales"]
    j = j.mutate(
        period=period_of(at, period),
        _mkt=origin.isin(marketing) if marketing else ibis.literal(False),
        _sales=origin.isin(sales) if sales else ibis.literal(False),
    )
    keys = ["period", *fields]
    out = j.group_by(keys).agg(
        customers=j.count(),
        marketing_sourced=j._mkt.sum().cast("int64"),
        sales_sourced=j._sales.sum().cast("int64"),
    )
    money = [
        _deal_amounts(tables, cfg, "pipeline", period=period, start=start, end=end, fields=fields),
        _deal_amounts(tables, cfg, "revenue", period=period, start=start, end=end, fields=fields),
    ]
    out = merge_on_keys([out, *money], keys)
    out = out.mutate(
        customers=out.customers.fill_null(0),
        marketing_sourced=out.marketing_sourced.fill_null(0),
        sales_sourced=out.sales_sourced.fill_null(0),
        **{c: out[c].fill_null(0.0) for c in MONEY_COLUMNS},
    )
    low, high, _ = BANDS[cfg.sourced_share.band]
    share = ibis.cases(
        (out.customers > 0, out.marketing_sourced / out.customers.cast("float64")),
        else_=ibis.null().cast("float64"),
    )
    out = out.mutate(
        unknown_source=out.customers - out.marketing_sourced - out.sales_sourced,
        marketing_share=share,
        band_low=ibis.literal(low),
        band_high=ibis.literal(high),
        band_status=ibis.cases(
            (share.isnull(), ibis.null().cast("string")),
            (share < low, "below"),
            (share > high, "above"),
            else_="within",
        ),
        pipeline_share=_share(out.marketing_pipeline, out.pipeline),
        revenue_share=_share(out.marketing_revenue, out.revenue),
    )
    return out.select(
        *keys,
        "customers",
        "marketing_sourced",
        "sales_sourced",
        "unknown_source",
        "marketing_share",
        "band_low",
        "band_high",
        "band_status",
        *MONEY_COLUMNS,
        "pipeline_share",
        "revenue_share",
    ).order_by(keys)


#: The money columns of the sourced report (seed 004).
MONEY_COLUMNS = (
    "pipeline",
    "marketing_pipeline",
    "sales_pipeline",
    "revenue",
    "marketing_revenue",
    "sales_revenue",
)


def _share(part: ir.NumericValue, whole: ir.NumericValue) -> ir.FloatingValue:
    return ibis.cases((whole > 0, part / whole), else_=ibis.null().cast("float64"))


def _deal_amounts(
    tables: Tables,
    cfg: ProjectConfig,
    what: str,
    *,
    period: str,
    start: object,
    end: object,
    fields: Sequence[str] = (),
) -> ir.Table:
    """``what="pipeline"``: amounts of the deals created in each period (any status);
    ``"revenue"``: amounts of the deals won, by the period they closed. Split by the deal's
    lead's originating source. Columns: period, fields…, <what>, marketing_<what>,
    sales_<what>."""
    d = deal_credits(tables, cfg)  # a deal's amount shared among its contacts
    if what == "revenue":
        d = d.filter(d.status == "won")
        at = d.closed_at
    else:
        at = d.created_at
    d = d.filter(in_local_days(at, start, end))
    d = d.select("lead_id", amount=d.amount.fill_null(0.0), period=period_of(at, period))
    need = list(dict.fromkeys(["channel", "first_touch_channel", *fields]))
    d = with_fields(d, tables, cfg, need)
    origin = origin_channel(d)
    marketing = [c.key for c in cfg.channels if c.sourced == "marketing"]
    sales = [c.key for c in cfg.channels if c.sourced == "sales"]
    mkt = origin.isin(marketing) if marketing else ibis.literal(False)
    sls = origin.isin(sales) if sales else ibis.literal(False)
    zero = ibis.literal(0.0)
    d = d.mutate(
        _m=ibis.cases((mkt, d.amount), else_=zero), _s=ibis.cases((sls, d.amount), else_=zero)
    )
    return d.group_by(["period", *fields]).agg(
        **{what: d.amount.sum(), f"marketing_{what}": d._m.sum(), f"sales_{what}": d._s.sum()}
    )
