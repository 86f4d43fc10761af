"""The money ratios (``metrics.costs``: cost per stage, payback, totals, ROI/ROAS/CAC, goal
attainment) on small tables against a plain-Python reference: empty, never infinite, where a
count is 0 or no spend is recorded; totals recomputed from the sums, never means of ratios."""

from __future__ import annotations

import math

import ibis
import pandas as pd
import pytest

from leadledger.config.models import ProjectConfig
from leadledger.metrics import costs as mc

CFG = ProjectConfig.model_validate({"costs": {"gross_margin": 0.5, "contract_months": 24}})


@pytest.fixture(scope="module")
def con() -> ibis.BaseBackend:
    return ibis.duckdb.connect()


def rows(con: ibis.BaseBackend, expr: ibis.Table) -> list[dict[str, object]]:
    df = con.execute(expr)
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        for r in df.to_dict("records")
    ]


def per_period() -> ibis.Table:
    counts = {c: [0, 0, 0] for c in mc.COUNT_COLUMNS}
    counts["leads"] = [4, 0, 2]
    counts["customers"] = [1, 0, 0]
    counts["won_deals"] = [1, 0, 1]
    frame = pd.DataFrame(
        {
            "period": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-01-01"]).date,
            "channel": ["a", "a", "b"],
            "spend": [1000.0, 500.0, 0.0],
            "allocated_spend": [0.0, 0.0, 0.0],
            **counts,
            "revenue": [24_000.0, 0.0, 6_000.0],
        }
    )
    return ibis.memtable(frame)


def test_cost_per_stage_and_payback(con: ibis.BaseBackend) -> None:
    got = rows(con, mc.cost_ratios(per_period(), CFG).order_by(["channel", "period"]))
    a_jan, a_feb, b_jan = got
    assert a_jan["cost_per_lead"] == 250 and a_jan["cac"] == 1000
    # 24,000 ÷ 1 deal ÷ 24 months × 0.5 = 500 a month; cac 1,000 → 2 months
    assert a_jan["monthly_margin_per_customer"] == 500 and a_jan["payback_months"] == 2
    # no lead, no customer: no cost per stage (never inf); no deal: no margin, no payback
    assert a_feb["cost_per_lead"] is None and a_feb["cac"] is None
    assert a_feb["monthly_margin_per_customer"] is None and a_feb["payback_months"] is None
    # leads but no spend recorded: unknown, not free
    assert b_jan["cost_per_lead"] is None and b_jan["payback_months"] is None


def test_totals_are_ratios_of_the_sums(con: ibis.BaseBackend) -> None:
    got = {r["channel"]: r for r in rows(con, mc.cost_totals(per_period(), CFG, by="channel"))}
    assert list(got["a"]) == ["channel", *mc.COST_COLUMNS]
    assert got["a"]["spend"] == 1500 and got["a"]["leads"] == 4
    assert got["a"]["cost_per_lead"] == 1500 / 4  # not the mean of 250 and nothing
    assert got["a"]["payback_months"] == pytest.approx(1500 / 500)
    assert got["b"]["cost_per_lead"] is None


def test_roi_roas_cac(con: ibis.BaseBackend) -> None:
    t = ibis.memtable(
        pd.DataFrame(
            {
                "spend": [500.0, 0.0, 300.0],
                "attributed_opportunities": [1.0, 1.0, 0.0],
                "attributed_pipeline": [2000.0, 900.0, 0.0],
                "attributed_customers": [0.5, 1.0, 0.0],
                "attributed_revenue": [12_000.0, 800.0, 0.0],
            }
        )
    )
    paid, free, idle = rows(con, mc.roi_ratios(t))
    assert paid["roi"] == (12_000 - 500) / 500 and paid["roas"] == 24
    assert paid["cac"] == 1000 and paid["pipeline_per_spend"] == 4
    # no spend recorded: roi, roas, cac unknown (never inf)
    assert (free["roi"], free["roas"], free["cac"], free["pipeline_per_spend"]) == (None,) * 4
    # spend and nothing credited: −100 %, no customer to divide by
    assert idle["roi"] == -1 and idle["roas"] == 0 and idle["cac"] is None


def test_attainment(con: ibis.BaseBackend) -> None:
    t = ibis.memtable(
        pd.DataFrame(
            {
                "planned": [9000.0, 10.0, 10.0],
                "planned_to_date": [5900.0, 0.0, None],
                "actual": [2950.0, 1.0, 2.0],
            }
        )
    )
    half, early, unknown = rows(con, mc.attainment(t))
    assert half["attainment"] == 0.5 and half["remaining"] == 6050
    assert early["attainment"] is None and early["remaining"] == 9
    assert unknown["attainment"] is None
