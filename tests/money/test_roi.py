"""``report roi`` on the money story (tests/money/story.py), both engines: spend, attributed
pipeline and revenue, ROI/ROAS/CAC, and the reconciliation with the deals table, by hand."""

from __future__ import annotations

from typing import Any

import pytest

from leadledger.errors import UnknownField
from tests.money.story import load_money, money_config

Q1 = {"start": "2025-01-01", "end": "2025-03-31"}


@pytest.fixture
def ws(make_project: Any, engine: str) -> Any:
    w = make_project(engine, text=money_config(engine))
    load_money(w)
    return w


def by_key(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {r[key]: r for r in rows}


def test_first_touch_roi_by_channel(ws: Any) -> None:
    r = ws.report("roi", model="first_touch", **Q1)
    rows = by_key(r.as_dict()["rows"], "channel")
    # customers entering in Q1: L1 (first touch organic_search; D1 24,000 + D11 1,000),
    # L6 (paid_social; 12,000), L7 (no touch: not credited)
    org = rows["organic_search"]
    assert org["attributed_revenue"] == pytest.approx(25000)
    assert org["attributed_customers"] == pytest.approx(1)
    assert (org["spend"], org["roi"], org["roas"], org["cac"]) == (0, None, None, None)
    so = rows["paid_social"]
    assert so["spend"] == pytest.approx(500)
    assert so["attributed_revenue"] == pytest.approx(12000)
    assert so["roi"] == pytest.approx((12000 - 500) / 500)
    assert so["roas"] == pytest.approx(24)
    assert so["cac"] == pytest.approx(500)
    # spend with no credit: roi −100 %
    ps = rows["paid_search"]
    assert (ps["spend"], ps["attributed_revenue"], ps["roi"]) == (
        pytest.approx(3000),
        0,
        pytest.approx(-1),
    )
    assert rows["(unallocated)"]["spend"] == pytest.approx(620)
    assert rows["(unallocated)"]["roi"] == pytest.approx(-1)
    assert rows["email"]["roi"] == pytest.approx(-1)
    # pipeline: only L1 entered opportunity (L6 and L7 skipped it): its deals D1 + D11
    assert org["attributed_pipeline"] == pytest.approx(25000)
    assert org["attributed_opportunities"] == pytest.approx(1)
    assert sum(row["spend"] for row in rows.values()) == pytest.approx(4400)
    assert any("no cost" in n for n in r.notes)
    assert any("roi −100 %" in n for n in r.notes)


def test_reconciliation_with_the_deals_table(ws: Any) -> None:
    r = ws.report("roi", model="linear", **Q1)
    rec = {(x["measure"], x["bucket"]): x for x in r.as_dict()["reconciliation"]}
    # won deals closed in Q1: D1 24,000, D6 12,000, D7 5,000, D9 3,000, D10 6,000, D12 2,000
    assert rec[("revenue", "deals_table")]["amount"] == pytest.approx(52000)
    assert rec[("revenue", "deals_table")]["deals"] == 6
    assert rec[("revenue", "attributed")]["amount"] == pytest.approx(37000)  # L1 25,000 + L6
    assert rec[("revenue", "no_touch_in_window")]["amount"] == pytest.approx(6000)  # L7
    assert rec[("revenue", "dated_outside_range")]["amount"] == pytest.approx(-1000)  # D11
    assert rec[("revenue", "no_lead")]["amount"] == pytest.approx(5000)  # D7
    assert rec[("revenue", "lead_not_converted")]["amount"] == pytest.approx(3000)  # D9 (L4)
    assert rec[("revenue", "converted_outside_range")]["amount"] == pytest.approx(2000)  # D12
    for measure in ("revenue", "pipeline"):
        parts = sum(x["amount"] for (m, b), x in rec.items() if m == measure and b != "deals_table")
        assert parts == pytest.approx(rec[(measure, "deals_table")]["amount"])
    # pipeline: deals created in Q1 = 59,000; L1's 25,000 attributed; D7 without a lead; D6, D8,
    # D9, D10 of leads that never entered opportunity
    assert rec[("pipeline", "deals_table")]["amount"] == pytest.approx(59000)
    assert rec[("pipeline", "attributed")]["amount"] == pytest.approx(25000)
    assert rec[("pipeline", "lead_not_converted")]["amount"] == pytest.approx(29000)
    # linear: L1's 25,000 over organic_search, paid_search, email; L6's 12,000 to paid_social
    rows = by_key(r.as_dict()["rows"], "channel")
    for ch in ("organic_search", "paid_search", "email"):
        assert rows[ch]["attributed_revenue"] == pytest.approx(25000 / 3)
    assert rows["paid_search"]["cac"] == pytest.approx(3000 / (1 / 3))
    assert sum(x["attributed_revenue"] for x in rows.values()) == pytest.approx(37000)
    assert any("= attributed 37,000.00" in n for n in r.notes)


def test_by_campaign_and_allocation(ws: Any) -> None:
    r = ws.report("roi", model="first_touch", by="campaign", **Q1)
    rows = by_key(r.as_dict()["rows"], "campaign")
    assert rows["brand"]["spend"] == pytest.approx(3000)
    assert rows["cfo_ads"]["attributed_revenue"] == pytest.approx(12000)
    assert rows["cfo_ads"]["roi"] == pytest.approx(23)
    # untagged spend can be allocated in ROI by channel too: totals never change
    even = ws.report("roi", model="first_touch", untagged="even", **Q1)
    spend = {x["channel"]: x["spend"] for x in even.as_dict()["rows"]}
    assert "(unallocated)" not in spend
    assert sum(spend.values()) == pytest.approx(4400)
    assert spend["paid_social"] == pytest.approx(500 + 620 / 9)
    with pytest.raises(UnknownField):
        ws.report("roi", by="persona", **Q1)
