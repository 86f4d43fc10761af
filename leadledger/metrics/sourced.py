"""Marketing-sourced share of new customers (seed 000, key 4).

A new customer in a period is a lead that reached ``customer`` in it. Its originating source is
the lead's ``channel`` (its original source), else its first touch's channel. A channel is
marketing- or sales-sourced per the project config; anything else is ``unknown`` and stays in the
denominator (all new customers), so an unmapped channel lowers the share visibly instead of
vanishing.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from leadledger.config.models import BANDS, ProjectConfig
from leadledger.ledger.derived import (
    Tables,
    in_local_days,
    journeys,
    period_of,
    reached_col,
)


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
    marketing_share, band_low, band_high, band_status."""
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
    low, high, _ = BANDS[cfg.sourced_share.band]
    share = out.marketing_sourced / out.customers.cast("float64")
    out = out.mutate(
        unknown_source=out.customers - out.marketing_sourced - out.sales_sourced,
        marketing_share=share,
        band_low=ibis.literal(low),
        band_high=ibis.literal(high),
        band_status=ibis.cases((share < low, "below"), (share > high, "above"), else_="within"),
    )
    return out.order_by(keys)
