"""Maven Analytics' CRM pipeline (8,800 opportunities of a fictitious company), loaded by
examples/maven-crm/load.sh, checked with Ibis on the ledger's deals table against plain pandas
on the raw CSV.

What the example does with rows that do not fit (see examples/maven-crm/pipeline-deals.yaml):
the 500 Prospecting rows have no engage_date and are rejected (created_at), quarantined with
their row and column; the 1,589 Engaging rows have no close_value and are imported as open deals
whose amount is not known yet (an amount is required only for won and lost deals).
accepted + rejected = read = 8,800.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from ruamel.yaml import YAML

from leadledger.ledger.derived import current_deals
from leadledger.service import Workspace, init_project
from tests.conftest import DATASETS

DATA = DATASETS / "maven-crm-sales-opportunities"
PIPELINE = DATA / "sales_pipeline.csv"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "maven-crm"
BIN = Path(sys.executable).parent  # the venv's bin: leadledger sits beside python

pytestmark = [
    pytest.mark.real,
    pytest.mark.skipif(
        not PIPELINE.is_file(), reason=f"dataset not found in {DATA} (set LEADLEDGER_DATASETS)"
    ),
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("maven") / "project"
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
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
    return folder


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_csv(PIPELINE, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def deals(project: Path) -> pd.DataFrame:
    with Workspace(project) as ws:
        return ws.store.execute(current_deals(ws.store.tables(), ws.cfg))


def test_every_row_accepted_or_quarantined(project: Path, raw: pd.DataFrame) -> None:
    """8,800 read = accepted + rejected; the rejected rows are exactly those without a
    creation date (Prospecting); each is in quarantine.csv with its spreadsheet row and
    column. The Engaging rows are open deals without an amount."""
    with Workspace(project) as ws:
        imports = ws.store.execute(ws.store.table("imports"))
    assert len(imports) == 1
    imp = imports.iloc[0]
    assert imp["read"] == len(raw) == 8800
    assert imp["accepted"] + imp["rejected"] == imp["read"] and imp["skipped"] == 0

    quarantine = list((project / "imports").glob("*/quarantine.csv"))
    assert len(quarantine) == 1
    q = pd.read_csv(quarantine[0], dtype=str, keep_default_na=False)
    assert len(q) == imp["rejected"]
    rejected = set(q["opportunity_id"])
    no_date = set(raw.loc[raw["engage_date"] == "", "opportunity_id"])
    engaging = set(raw.loc[raw["deal_stage"] == "Engaging", "opportunity_id"])
    assert (len(no_date), len(engaging)) == (500, 1589)  # SOURCE.md
    assert set(raw.loc[raw["engage_date"] == "", "deal_stage"]) == {"Prospecting"}
    assert no_date <= rejected
    assert rejected == no_date
    assert imp["accepted"] == 8800 - 500
    assert engaging.isdisjoint(rejected)
    by_id = q.set_index("opportunity_id")
    assert by_id.loc[list(no_date), "_column"].str.contains("created_at").all()
    rows = raw.reset_index().set_index("opportunity_id")["index"] + 2  # header = row 1
    assert (by_id["_row"].astype(int) == rows[by_id.index]).all()


def test_won_lost_win_rate_and_revenue(
    deals: pd.DataFrame, raw: pd.DataFrame, project: Path
) -> None:
    """Ibis on the ledger's deals table vs pandas on the raw CSV: won 4,238, lost 2,473,
    win rate 63.15 %, won revenue 10,005,534 (SOURCE.md), by close quarter and by owner."""
    with Workspace(project) as ws:
        d = current_deals(ws.store.tables(), ws.cfg)
        by_status = ws.store.execute(
            d.group_by("status").agg(n=d.count(), revenue=d.amount.sum()).order_by("status")
        ).set_index("status")
        won = d.filter(d.status == "won")
        by_quarter = ws.store.execute(
            won.group_by(q=won.closed_at.truncate("Q").date())
            .agg(n=won.count(), revenue=won.amount.sum())
            .order_by("q")
        )
        by_owner = ws.store.execute(won.group_by("owner").agg(revenue=won.amount.sum())).set_index(
            "owner"
        )["revenue"]

    value = pd.to_numeric(raw["close_value"])
    want = (
        raw.assign(value=value)
        .groupby("deal_stage")
        .agg(n=("value", "size"), revenue=("value", "sum"))
    )
    for status, stage in (("won", "Won"), ("lost", "Lost")):
        assert by_status.loc[status, "n"] == want.loc[stage, "n"]
        assert by_status.loc[status, "revenue"] == want.loc[stage, "revenue"]
    assert (by_status.loc["won", "n"], by_status.loc["lost", "n"]) == (4238, 2473)
    assert by_status.loc["won", "revenue"] == 10_005_534
    assert by_status.loc["lost", "revenue"] == 0
    n_won, n_lost = by_status.loc["won", "n"], by_status.loc["lost", "n"]
    assert round(100 * n_won / (n_won + n_lost), 2) == 63.15
    if "open" in by_status.index:  # once open deals without a value are accepted
        assert by_status.loc["open", "n"] == (raw["deal_stage"] == "Engaging").sum()

    w = raw[raw["deal_stage"] == "Won"].assign(value=value)
    quarters = pd.PeriodIndex(w["close_date"], freq="Q")
    pq = w.groupby(quarters).agg(n=("value", "size"), revenue=("value", "sum"))
    assert [str(p) for p in pq.index] == ["2017Q1", "2017Q2", "2017Q3", "2017Q4"]
    assert by_quarter["n"].tolist() == pq["n"].tolist() == [531, 1254, 1257, 1196]
    assert by_quarter["revenue"].tolist() == pq["revenue"].tolist()
    assert pq["revenue"].tolist() == [1_134_672, 3_086_111, 2_982_255, 2_802_496]
    po = w.groupby("sales_agent")["value"].sum()
    pd.testing.assert_series_equal(
        by_owner.sort_index(), po.sort_index().astype(float), check_names=False
    )


def test_deal_fields(deals: pd.DataFrame, raw: pd.DataFrame) -> None:
    """Dates, currency, and the columns kept in properties (product, account)."""
    r = raw.set_index("opportunity_id").loc[deals["deal_id"]]
    assert (deals["created_at"].dt.strftime("%Y-%m-%d").to_numpy() == r["engage_date"]).all()
    closed = deals["status"] != "open"
    assert (
        deals.loc[closed, "closed_at"].dt.strftime("%Y-%m-%d").to_numpy()
        == r.loc[closed.to_numpy(), "close_date"]
    ).all()
    assert set(deals["currency"]) == {"USD"}
    assert (deals["owner"].to_numpy() == r["sales_agent"]).all()
    props = deals["properties"].map(json.loads)
    assert (props.map(lambda p: p.get("product")).to_numpy() == r["product"]).all()
    assert (props.map(lambda p: p.get("account", "")).to_numpy() == r["account"]).all()
    days = (deals.loc[closed, "closed_at"] - deals.loc[closed, "created_at"]).dt.days
    closed_raw = raw[raw["deal_stage"].isin(["Won", "Lost"])]
    want = (
        pd.to_datetime(closed_raw["close_date"]) - pd.to_datetime(closed_raw["engage_date"])
    ).dt.days
    assert days.median() == want.median() == 45  # SOURCE.md


def test_deal_stage_is_kept_as_written(tmp_path: Path, raw: pd.DataFrame) -> None:
    folder = tmp_path / "p"
    init_project(folder, config_text=(EXAMPLE / "project.yaml").read_text(encoding="utf-8"))
    data = YAML(typ="safe").load((EXAMPLE / "pipeline-deals.yaml").read_text(encoding="utf-8"))
    data["columns"]["stage"] = "deal_stage"
    path = tmp_path / "with-stage.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")  # JSON is YAML
    with Workspace(folder) as ws:
        result = ws.import_files("deals", [PIPELINE], mapping=path)
        d = ws.store.execute(current_deals(ws.store.tables(), ws.cfg))
    assert "stage" not in result.files[0].rejections_by_column
    r = raw.set_index("opportunity_id").loc[d["deal_id"], "deal_stage"]
    assert (d["stage"].to_numpy() == r.to_numpy()).all()
