"""The money reports on real data: the Olist marketing funnel (8,000 MQLs, 842 won deals with
the seller's declared monthly revenue as amount), loaded by examples/olist/load.sh, against plain
pandas on the raw CSV files.

Olist's origins are all marketing channels (examples/olist/project.yaml); a blank origin is a lead
without a channel, and Olist's files have no touches, so such a lead's source is unknown: its
deals are in the denominator only. Won deals are dated by ``won_date`` (São Paulo time), which is
also the deal's creation date in the example's mapping, so pipeline = revenue per quarter.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from leadledger.service import Workspace
from tests.conftest import DATASETS

DATA = DATASETS / "olist-marketing-funnel"
MQL_FILE = "olist_marketing_qualified_leads_dataset.csv"
DEALS_FILE = "olist_closed_deals_dataset.csv"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "olist"
BIN = Path(sys.executable).parent

pytestmark = [
    pytest.mark.real,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (DATA / MQL_FILE).is_file() or not (DATA / DEALS_FILE).is_file(),
        reason=f"dataset not found in {DATA} (set LEADLEDGER_DATASETS)",
    ),
]


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    folder = tmp_path_factory.mktemp("olist-money") / "project"
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    run = subprocess.run(
        ["bash", str(EXAMPLE / "load.sh"), str(DATA), str(folder)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    if run.returncode != 0:
        pytest.fail(f"load.sh failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
    with Workspace(folder) as w:
        yield w


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    mql = pd.read_csv(DATA / MQL_FILE, dtype=str, keep_default_na=False)
    deals = pd.read_csv(DATA / DEALS_FILE, dtype=str, keep_default_na=False)
    j = deals.merge(mql[["mql_id", "origin"]], on="mql_id", how="left", validate="one_to_one")
    j["amount"] = pd.to_numeric(j["declared_monthly_revenue"]).fillna(0.0)
    won = pd.to_datetime(j["won_date"])
    j["quarter"] = won.dt.to_period("Q").dt.start_time.dt.date.astype(str)
    j["year"] = won.dt.year.astype(str) + "-01-01"
    j["marketing"] = j["origin"].fillna("") != ""
    return j


def test_sourced_share_of_revenue_and_pipeline(ws: Workspace, raw: pd.DataFrame) -> None:
    r = ws.report("sourced", start="2017-01-01", end="2018-12-31", period="quarter")
    got = {row["period"]: row for row in r.as_dict()["rows"]}
    want = raw.groupby("quarter").agg(
        customers=("mql_id", "size"),
        revenue=("amount", "sum"),
        marketing_revenue=("amount", lambda a: a[raw.loc[a.index, "marketing"]].sum()),
        marketing_customers=("marketing", "sum"),
    )
    assert set(got) == set(want.index)
    assert raw["amount"].sum() > 0 and (~raw["marketing"]).any()  # the checks are not vacuous
    for q, w in want.iterrows():
        row = got[q]
        assert row["customers"] == w["customers"]
        assert row["marketing_sourced"] == w["marketing_customers"]
        assert row["revenue"] == pytest.approx(w["revenue"])
        assert row["pipeline"] == pytest.approx(w["revenue"])
        assert row["marketing_revenue"] == pytest.approx(w["marketing_revenue"])
        share = w["marketing_revenue"] / w["revenue"] if w["revenue"] else None
        assert row["revenue_share"] == (pytest.approx(share) if share is not None else None)
        assert row["sales_revenue"] == 0  # no sales-sourced channel in Olist


def test_customers_and_revenue_by_persona(ws: Workspace, raw: pd.DataFrame) -> None:
    """MQLs and customers by persona (lead_behaviour_profile); no costs: cost per persona empty,
    the persona's won revenue and payback basis still there."""
    r = ws.report("costs", by="persona", start="2018-01-01", end="2018-12-31", period="year")
    got = {row["persona"]: row for row in r.as_dict()["rows"]}
    y = raw[raw["year"] == "2018-01-01"]
    persona = y["lead_behaviour_profile"].where(y["lead_behaviour_profile"] != "", None)
    want = y.assign(persona=persona).groupby("persona", dropna=False)
    counts = want.size()
    revenue = want["amount"].sum()
    for p, n in counts.items():
        key = None if pd.isna(p) else p
        assert got[key]["customers"] == n, p
        assert got[key]["won_deals"] == n, p
        assert got[key]["revenue"] == pytest.approx(revenue[p]), p
        assert got[key]["cac"] is None and got[key]["spend"] == 0
    # every MQL of 2018 with a persona is a closed lead's: the persona's MQLs are its leads
    assert (
        sum(row["mqls"] for row in got.values())
        == (pd.read_csv(DATA / MQL_FILE, dtype=str)["first_contact_date"].str[:4] == "2018").sum()
    )
