"""Marketing-sourced share of pipeline and closed-won revenue (seed 004) beside the customer
share, on the money story (tests/money/story.py), both engines, by hand."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import rows_by
from tests.money.story import load_money, money_config


@pytest.fixture
def ws(make_project: Any, engine: str) -> Any:
    w = make_project(engine, text=money_config(engine))
    load_money(w)
    return w


def test_pipeline_and_revenue_shares(ws: Any) -> None:
    r = ws.report("sourced", start="2025-01-01", end="2025-06-30", period="quarter")
    rows = rows_by(r, "period")
    q1 = rows["2025-01-01"]
    # customers: L1, L6 (marketing), L7 (sdr_outbound: sales)
    assert (q1["customers"], q1["marketing_sourced"], q1["sales_sourced"]) == (3, 2, 1)
    assert q1["marketing_share"] == pytest.approx(2 / 3)
    # deals created in Q1: D1 24,000 + D11 1,000 + D6 12,000 + D8 8,000 + D9 3,000 marketing,
    # D10 6,000 sales, D7 5,000 without a lead (denominator only)
    assert q1["pipeline"] == pytest.approx(59000)
    assert q1["marketing_pipeline"] == pytest.approx(48000)
    assert q1["sales_pipeline"] == pytest.approx(6000)
    assert q1["pipeline_share"] == pytest.approx(48000 / 59000)
    # won deals closed in Q1: D1, D6, D9, D12 (L8 referral) marketing; D10 sales; D7 no lead
    assert q1["revenue"] == pytest.approx(52000)
    assert q1["marketing_revenue"] == pytest.approx(41000)
    assert q1["sales_revenue"] == pytest.approx(6000)
    assert q1["revenue_share"] == pytest.approx(41000 / 52000)
    # Q2: D11 (L1) closed 2025-04-02, no new customer: money share without a customer share
    q2 = rows["2025-04-01"]
    assert (q2["customers"], q2["marketing_share"], q2["band_status"]) == (0, None, None)
    assert (q2["revenue"], q2["revenue_share"], q2["pipeline"], q2["pipeline_share"]) == (
        pytest.approx(1000),
        pytest.approx(1),
        0,
        None,
    )


def test_by_month_and_field(ws: Any) -> None:
    r = ws.report("sourced", start="2025-02-01", end="2025-02-28", period="month")
    feb = rows_by(r, "period")["2025-02-01"]
    assert feb["pipeline"] == pytest.approx(26000)  # D6, D7, D9, D10
    assert feb["marketing_pipeline"] == pytest.approx(15000)
    by = ws.report("sourced", start="2025-01-01", end="2025-03-31", by="persona")
    cfo = rows_by(by, "period", "persona")[("2025-01-01", "cfo")]
    # cfo: L1 (D1, D11) and L6 (D6)
    assert cfo["pipeline"] == pytest.approx(37000)
    assert cfo["revenue"] == pytest.approx(36000)
    assert cfo["customers"] == 2
