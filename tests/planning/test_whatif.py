"""What-if: overrides, the baseline from history, downstream money, the sensitivity table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from leadledger.cli.main import main
from leadledger.errors import InvalidArgument
from leadledger.planning import whatif as wi
from leadledger.service import Workspace
from tests.planning.test_plan import load_story

CHANNELS = ["paid_search", "organic_search"]


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "channel": "paid_search",
                "leads": 100.0,
                "lead_to_mql": 0.5,
                "mql_to_sql": 0.4,
                "close_rate": 0.25,
                "deal_size": 1000.0,
                "cost": 2000.0,
            },
            {
                "channel": "organic_search",
                "leads": 50.0,
                "lead_to_mql": 0.2,
                "mql_to_sql": 0.5,
                "close_rate": 0.5,
                "deal_size": 2000.0,
                "cost": 0.0,
            },
        ]
    )


@pytest.mark.parametrize(
    ("text", "key", "channel", "mode", "amount"),
    [
        ("close_rate=0.3", "close_rate", None, "set", 0.3),
        ("cost.paid_search=+20%", "cost", "paid_search", "relative", 0.2),
        ("leads=-10%", "leads", None, "relative", -0.1),
        ("lead_to_mql.organic_search=+2pt", "lead_to_mql", "organic_search", "points", 0.02),
        ("deal_size = 60000", "deal_size", None, "set", 60000.0),
    ],
)
def test_parse_override(text: str, key: str, channel: str | None, mode: str, amount: float):
    o = wi.parse_override(text, CHANNELS)
    assert (o.key, o.channel, o.mode) == (key, channel, mode)
    assert o.amount == pytest.approx(amount)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("close_rate", "KEY=VALUE"),
        ("win_rate=0.3", "not something a what-if can change"),
        ("cost.tv=+10%", "not a channel"),
        ("close_rate=abc", "not a value"),
        ("close_rate=1.5", "between 0 and 1"),
        ("deal_size=+2pt", "rates only"),
        ("leads=+5", "ambiguous"),
        ("close_rate=30%", "without a sign"),
    ],
)
def test_bad_overrides_say_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(wi.OverrideError, match=message):
        wi.parse_override(text, CHANNELS)


def test_downstream_money_by_hand() -> None:
    base = frame()
    t = wi.totals(base, overhead=500.0)
    # paid: 100 × .5 × .4 × .25 = 5 customers × 1,000; organic: 50 × .2 × .5 × .5 = 2.5 × 2,000
    assert t["customers"] == pytest.approx(7.5)
    assert t["revenue"] == pytest.approx(10_000)
    assert t["cost"] == pytest.approx(2500)
    assert t["roi"] == pytest.approx((10_000 - 2500) / 2500)
    assert t["cac"] == pytest.approx(2500 / 7.5)
    # +20 % spend on paid search buys 20 % more of its leads at 20 per lead
    s = wi.apply(base, [wi.parse_override("cost.paid_search=+20%", CHANNELS)])
    st = wi.totals(s, overhead=500.0)
    assert st["leads"] == pytest.approx(170)
    assert st["revenue"] == pytest.approx(6000 + 5000)
    assert st["cost"] == pytest.approx(2900)
    # a global rate applies to every channel
    s = wi.apply(base, [wi.parse_override("close_rate=0.5", CHANNELS)])
    assert wi.totals(s, 0.0)["customers"] == pytest.approx(10 + 2.5)
    with pytest.raises(wi.OverrideError, match="between 0 and 1"):
        wi.apply(base, [wi.parse_override("close_rate=+90pt", CHANNELS)])


def test_sensitivity_names_the_lever_that_moves_revenue_most() -> None:
    sens = wi.sensitivity(frame(), overhead=0.0).set_index("lever")
    # +1 point of close_rate: paid 20 SQLs × .01 × 1,000 + organic 5 SQLs × .01 × 2,000 = 300
    assert sens.loc["close_rate", "revenue_change_plus_1pt"] == pytest.approx(300)
    # +1 point of lead_to_mql: paid 100 × .01 × .4 × .25 × 1,000 + organic 50 × .01 × .25 × 2,000
    assert sens.loc["lead_to_mql", "revenue_change_plus_1pt"] == pytest.approx(100 + 250)
    assert sens.loc["mql_to_sql", "revenue_change_plus_1pt"] == pytest.approx(125 + 100)
    assert bool(sens.loc["lead_to_mql", "moves_revenue_most"])
    assert int(sens["moves_revenue_most"].sum()) == 1
    # +10 % of any global multiplier is +10 % revenue; +10 % of paid spend, +10 % of its revenue
    assert sens.loc["deal_size", "revenue_change_plus_10pct"] == pytest.approx(1000)
    assert sens.loc["cost.paid_search", "revenue_change_plus_10pct"] == pytest.approx(500)
    assert "cost.organic_search" not in sens.index  # no spend, nothing to scale


@pytest.fixture
def story(engine: str, make_project: Any) -> Workspace:
    ws = make_project(engine)
    load_story(ws)
    return ws


def test_baseline_gives_back_the_window_and_a_scenario(story: Workspace) -> None:
    r = story.report("whatif", overrides=["close_rate=1", "cost.paid_search=+20%"])
    rows = {row["metric"]: row for row in r.as_dict()["rows"]}
    # the window: 6 leads, 2 customers; deal size by channel: paid search won 50,000 (P1),
    # organic search 30,000 (O1)
    assert rows["leads"]["baseline"] == pytest.approx(6)
    assert rows["customers"]["baseline"] == pytest.approx(2)
    assert rows["revenue"]["baseline"] == pytest.approx(80_000)
    # spend 3,000 in the window: 2,500 paid search + 500 untagged (fixed)
    assert rows["cost"]["baseline"] == pytest.approx(3000)
    assert rows["roi"]["baseline"] == pytest.approx((80_000 - 3000) / 3000)
    # scenario: every SQL closes; paid search gets 20 % more leads (4 → 4.8):
    # paid 4.8 × 3/4 × 2/3 × 1 = 2.4 customers × 50,000; organic 2 × 1/2 × 1 × 1 = 1 × 30,000
    assert rows["customers"]["scenario"] == pytest.approx(3.4)
    assert rows["revenue"]["scenario"] == pytest.approx(120_000 + 30_000)
    assert rows["cost"]["scenario"] == pytest.approx(3500)
    assert rows["revenue"]["change_rel"] == pytest.approx(150_000 / 80_000 - 1)
    data = r.as_dict()
    assert {s["lever"] for s in data["sensitivity"]} >= {"close_rate", "cost.paid_search"}
    assert {c["channel"] for c in data["channels"]} == {"paid_search", "organic_search"}


def test_scenario_file_and_cli(story: Workspace, tmp_path: Path, capsys) -> None:
    folder = str(story.project_dir)
    story.close()
    scenario = tmp_path / "s.yaml"
    scenario.write_text("set:\n  close_rate: 1\n  cost.paid_search: '+20%'\n", encoding="utf-8")
    rc = main(["whatif", "--scenario", str(scenario), "-p", folder, "-f", "json"])
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    rows = {row["metric"]: row for row in data["rows"]}
    assert rows["revenue"]["scenario"] == pytest.approx(150_000)
    assert data["params"]["set"] == ["close_rate=1", "cost.paid_search=+20%"]
    rc = main(["whatif", "--set", "close_rate=2", "-p", folder])
    assert rc == 1
    assert "invalid_argument" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("close_rate: 1\n", encoding="utf-8")
    with pytest.raises(InvalidArgument, match="set:"):
        Workspace(Path(folder)).report("whatif", scenario=bad)


def test_leads_without_a_channel_stay_in_the_baseline(make_project: Any, tmp_path: Path) -> None:
    from tests.conftest import load_journeys

    ws = make_project()
    load_story(ws)
    load_journeys(ws, {"N1": {"created": "2026-03-11 10:00", "stages": [("mql", "2026-03-12")]}})
    r = ws.report("whatif")
    rows = {row["metric"]: row for row in r.as_dict()["rows"]}
    assert rows["leads"]["baseline"] == pytest.approx(7)
    assert "(none)" in {c["channel"] for c in r.as_dict()["channels"]}
    signed = tmp_path / "signed.yaml"
    signed.write_text("set:\n  close_rate: +0.05\n", encoding="utf-8")
    with pytest.raises(InvalidArgument, match="ambiguous"):
        ws.report("whatif", scenario=signed)
