"""``report costs`` on the money story (tests/money/story.py), both engines, every number worked
out by hand from the story."""

from __future__ import annotations

from typing import Any

import pytest

from leadledger.errors import ConfigError, InvalidArgument, UnknownField
from tests.conftest import rows_by
from tests.money.story import load_money, money_config

RANGE = {"start": "2025-01-01", "end": "2025-02-28"}
CHANNELS = 9  # the default config's channels


@pytest.fixture
def ws(make_project: Any, engine: str) -> Any:
    w = make_project(engine, text=money_config(engine))
    load_money(w)
    return w


def costs(ws: Any, **params: Any) -> Any:
    return ws.report("costs", **{**RANGE, **params})


def test_month_by_channel_unallocated(ws: Any) -> None:
    r = costs(ws, period="month", by="channel")
    rows = rows_by(r, "period", "channel")
    jan_ps = rows[("2025-01-01", "paid_search")]
    # 3,000 of Google Ads; L1 and L2 entered lead and mql in January, L1 sql and opportunity
    assert jan_ps["spend"] == pytest.approx(3000)
    assert (jan_ps["leads"], jan_ps["mqls"], jan_ps["sqls"]) == (2, 2, 1)
    assert (jan_ps["opportunities"], jan_ps["customers"]) == (1, 0)
    assert jan_ps["cost_per_lead"] == pytest.approx(1500)
    assert jan_ps["cost_per_mql"] == pytest.approx(1500)
    assert jan_ps["cost_per_sql"] == pytest.approx(3000)
    assert jan_ps["cost_per_opportunity"] == pytest.approx(3000)
    assert jan_ps["cac"] is None  # no customer: empty, never inf
    # inquiries: T2 (L1's form) and T4 (anonymous form), both paid_search
    assert jan_ps["inquiries"] == 2
    assert jan_ps["cost_per_inquiry"] == pytest.approx(1500)
    # untagged staff cost kept apart
    un = rows[("2025-01-01", "(unallocated)")]
    assert un["spend"] == pytest.approx(620)
    assert un["leads"] == 0 and un["cost_per_lead"] is None
    # the lead without a channel is its own group (key null), with no spend
    blank = rows[("2025-01-01", None)]
    assert (blank["leads"], blank["spend"], blank["cost_per_lead"]) == (1, 0, None)
    # February: L6 (paid_social) all the way to customer; L1 became a customer (paid_search)
    feb_so = rows[("2025-02-01", "paid_social")]
    assert feb_so["spend"] == pytest.approx(500)
    assert (feb_so["leads"], feb_so["mqls"], feb_so["sqls"], feb_so["customers"]) == (1, 1, 1, 1)
    assert feb_so["cac"] == pytest.approx(500)
    # payback: D6 12,000 won in February ÷ 12 months × 1 = 1,000 a month → 0.5 months
    assert feb_so["won_deals"] == 1 and feb_so["revenue"] == pytest.approx(12000)
    assert feb_so["monthly_margin_per_customer"] == pytest.approx(1000)
    assert feb_so["payback_months"] == pytest.approx(0.5)
    feb_ps = rows[("2025-02-01", "paid_search")]
    # a customer but no spend in February: cac unknown, not free
    assert (feb_ps["spend"], feb_ps["customers"], feb_ps["cac"]) == (0, 1, None)
    assert rows[("2025-02-01", "email")]["spend"] == pytest.approx(280)
    # the deal without a lead (D7) is won revenue of the blank group
    assert rows[("2025-02-01", None)]["revenue"] == pytest.approx(5000)
    assert sum(row["spend"] for row in r.as_dict()["rows"]) == pytest.approx(4400)


def test_a_month_of_cost_over_weeks(ws: Any) -> None:
    """3,000 over 30 days is 100 a day: 5 days of the week of 2024-12-30 inside the range, then
    7, 7, 7 and the 4 days of the week of 01-27 up to 01-30."""
    r = costs(ws, period="week", by="channel", end="2025-01-31")
    ps = {
        k[0]: v["spend"]
        for k, v in rows_by(r, "period", "channel").items()
        if k[1] == "paid_search"
    }
    assert ps == pytest.approx(
        {
            "2024-12-30": 500,
            "2025-01-06": 700,
            "2025-01-13": 700,
            "2025-01-20": 700,
            "2025-01-27": 400,
        }
    )
    un = {
        k[0]: v["spend"]
        for k, v in rows_by(r, "period", "channel").items()
        if k[1] == "(unallocated)"
    }
    assert un == pytest.approx(
        {
            "2024-12-30": 100,
            "2025-01-06": 140,
            "2025-01-13": 140,
            "2025-01-20": 140,
            "2025-01-27": 100,
        }
    )
    wk = rows_by(r, "period", "channel")[("2025-01-06", "paid_search")]
    assert (wk["leads"], wk["mqls"], wk["cost_per_lead"]) == (2, 2, pytest.approx(350))


@pytest.mark.parametrize("rule", ["unallocated", "even", "by_leads"])
def test_allocation_moves_money_never_makes_it(ws: Any, rule: str) -> None:
    r = costs(ws, period="month", by="channel", untagged=rule)
    rows = rows_by(r, "period", "channel")
    assert sum(row["spend"] for row in rows.values()) == pytest.approx(4400)
    jan = {k[1]: v for k, v in rows.items() if k[0] == "2025-01-01"}
    if rule == "even":  # 620 ÷ 9 configured channels
        assert jan["paid_search"]["spend"] == pytest.approx(3000 + 620 / CHANNELS)
        assert jan["events"]["spend"] == pytest.approx(620 / CHANNELS)
        assert jan["events"]["allocated_spend"] == pytest.approx(620 / CHANNELS)
        assert "(unallocated)" not in jan
    elif rule == "by_leads":
        # January's new leads with a channel: paid_search 2, email 1, organic_search 1,
        # sdr_outbound 1 (L7) → 620 × 2/5, 1/5, 1/5, 1/5; L5 (no channel) takes no share
        assert jan["paid_search"]["spend"] == pytest.approx(3000 + 248)
        assert jan["paid_search"]["allocated_spend"] == pytest.approx(248)
        assert jan["email"]["spend"] == pytest.approx(124)
        assert jan["organic_search"]["spend"] == pytest.approx(124)
        assert jan["sdr_outbound"]["spend"] == pytest.approx(124)
        assert jan["organic_search"]["cost_per_lead"] == pytest.approx(124)
        assert "(unallocated)" not in jan
    else:
        assert jan["(unallocated)"]["spend"] == pytest.approx(620)
    assert r.params["untagged"] == rule
    assert any(f"untagged: {rule}" in n for n in r.notes)


def test_by_campaign_category_and_persona(ws: Any) -> None:
    camp = rows_by(costs(ws, period="month", by="campaign"), "period", "campaign")
    assert camp[("2025-01-01", "brand")]["spend"] == pytest.approx(3000)
    assert camp[("2025-01-01", "brand")]["cost_per_lead"] == pytest.approx(1500)
    assert camp[("2025-01-01", "(no campaign)")]["spend"] == pytest.approx(620)
    assert camp[("2025-02-01", "(no campaign)")]["spend"] == pytest.approx(280)
    assert camp[("2025-02-01", "cfo_ads")]["cac"] == pytest.approx(500)

    cat = rows_by(costs(ws, period="month", by="category"), "period", "category")
    # each category's row carries the period's totals: January 6 new leads (L1–L5, L7)
    media = cat[("2025-01-01", "media")]
    assert (media["spend"], media["leads"]) == (pytest.approx(3000), 6)
    assert media["cost_per_lead"] == pytest.approx(500)
    assert cat[("2025-01-01", "staff")]["cost_per_lead"] == pytest.approx(620 / 6)
    # February: 500 of media, 280 of technology; customers L1 and L6
    assert cat[("2025-02-01", "technology")]["cac"] == pytest.approx(140)
    assert cat[("2025-02-01", "media")]["cac"] == pytest.approx(250)

    per = rows_by(costs(ws, period="quarter", by="persona"), "period", "persona")
    cfo = per[("2025-01-01", "cfo")]
    # cfo spend = cfo_ads (campaign_personas); cfo leads L1, L3, L6; MQLs L1, L3, L6;
    # customers L1 and L6
    assert cfo["spend"] == pytest.approx(500)
    assert (cfo["leads"], cfo["mqls"], cfo["customers"]) == (3, 3, 2)
    assert cfo["cost_per_mql"] == pytest.approx(500 / 3)
    assert cfo["cac"] == pytest.approx(250)
    assert per[("2025-01-01", "(no persona)")]["spend"] == pytest.approx(3900)
    cto = per[("2025-01-01", "cto")]
    assert (cto["mqls"], cto["spend"], cto["cost_per_mql"]) == (1, 0, None)


def test_totals_and_payback_settings(make_project: Any) -> None:
    w = make_project(
        text=money_config().replace(
            "  untagged: unallocated\n",
            "  untagged: unallocated\n  contract_months: 24\n  gross_margin: 0.5\n",
        )
    )
    load_money(w)
    r = costs(w, period="month", by="channel")
    so = rows_by(r, "period", "channel")[("2025-02-01", "paid_social")]
    # 12,000 ÷ 24 × 0.5 = 250 a month; cac 500 → 2 months
    assert so["monthly_margin_per_customer"] == pytest.approx(250)
    assert so["payback_months"] == pytest.approx(2)
    totals = {row["channel"]: row for row in r.as_dict()["totals"]}
    ps = totals["paid_search"]
    # two months summed: 3,000 spend, 2 leads, 1 customer (L1 in February) → cac 3,000;
    # D1 24,000 ÷ 24 × 0.5 = 500 a month → payback 6 months
    assert (ps["spend"], ps["leads"], ps["customers"]) == (pytest.approx(3000), 2, 1)
    assert ps["cac"] == pytest.approx(3000)
    assert ps["payback_months"] == pytest.approx(6)
    assert sum(t["spend"] for t in totals.values()) == pytest.approx(4400)


def test_planned_vs_actual(ws: Any) -> None:
    r = costs(ws, period="month")
    rows = {row["measure"]: row for row in r.as_dict()["planned"]}
    spend = rows["spend"]
    # Q1 has 90 days; through 2025-02-28 is 59 of them
    assert spend["through"] == "2025-02-28"
    assert spend["planned"] == 9000
    assert spend["planned_to_date"] == pytest.approx(9000 * 59 / 90)
    assert spend["actual"] == pytest.approx(3000)
    assert spend["attainment"] == pytest.approx(3000 / 5900)
    assert spend["remaining"] == pytest.approx(6000)
    cal = ws.calendar
    import datetime as dt

    share = cal.working_days(dt.date(2025, 1, 1), dt.date(2025, 2, 28)) / cal.working_days(
        dt.date(2025, 1, 1), dt.date(2025, 3, 31)
    )
    lead = rows["lead"]
    assert lead["planned_to_date"] == pytest.approx(10 * share)
    assert lead["actual"] == 2  # L1, L2: paid_search leads
    assert rows["mql"]["actual"] == 2
    assert lead["attainment"] == pytest.approx(2 / (10 * share))


def test_bad_parameters(ws: Any) -> None:
    with pytest.raises(UnknownField, match="--by 'chanel'") as exc:
        costs(ws, by="chanel")
    assert "channel" in (exc.value.hint or "")
    with pytest.raises(InvalidArgument, match="--untagged"):
        costs(ws, untagged="spread")
    with pytest.raises(InvalidArgument, match="--period"):
        costs(ws, period="fortnight")


def test_persona_needs_the_attribute(make_project: Any) -> None:
    # without the persona attribute, mapping campaigns to personas is a config error …
    no_persona = money_config(**{"attributes: [persona, segment]": "attributes: [segment]"})
    with pytest.raises(ConfigError, match="persona"):
        make_project(text=no_persona)
    # … and without the mapping, --by persona names what is missing
    w = make_project(text=no_persona.replace("  campaign_personas: {cfo_ads: cfo}\n", ""))
    with pytest.raises(UnknownField, match="persona"):
        costs(w, by="persona")
