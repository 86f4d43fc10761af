"""The Olist marketing funnel (8,000 real MQLs, 842 won deals), loaded by examples/olist/load.sh,
checked against an independent plain-pandas computation from the raw CSV files.

Conventions of the pandas side (each one is what the product defines, computed without
leadledger):

- ``first_contact_date`` is a day: the lead is created, and enters ``lead`` and ``mql``, at the
  start of that day in America/Sao_Paulo. On 2017-10-15 Brazil's DST began at midnight, so that
  day started at 01:00 (``nonexistent="shift_forward"``).
- ``won_date`` is a São Paulo wall time; durations are elapsed time between instants
  (tz-aware subtraction), not wall-clock differences: a lead created 2017-10-01 00:00 and won
  2017-11-01 00:00 took 30 days 23 hours.
- Months, years and working days are those of the local dates as written in the files.
- The one deal won 1.18 days *before* its first contact (lead b91cf881…) is kept as it is:
  unordered cohort conversion counts it as converted with −1.18 days (so it is in the median);
  ``--ordered`` conversion and time in stage (velocity) do not count it; ``leadledger check``
  lists it.
- The 60 blank origins are leads without a channel: never mapped to ``unknown`` (which is an
  origin Olist itself writes); they form their own group with ``channel`` null (JSON ``null``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import holidays
import numpy as np
import pandas as pd
import pytest

from leadledger.ledger.derived import current_deals, current_leads
from leadledger.service import Workspace
from tests.conftest import DATASETS

DATA = DATASETS / "olist-marketing-funnel"
MQL_FILE = "olist_marketing_qualified_leads_dataset.csv"
DEALS_FILE = "olist_closed_deals_dataset.csv"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "olist"
BIN = Path(sys.executable).parent  # the venv's bin: leadledger sits beside python
TZ = "America/Sao_Paulo"
START, END = "2017-06-01", "2018-05-31"  # the MQL window (first contacts 2017-06-14..2018-05-31)
ONE_SECOND = 1 / 86400  # tolerance for durations in days
CONVERSION_BY_CHANNEL = (
    *("report", "conversion", "--from-stage", "mql", "--to-stage", "customer"),
    *("--period", "year", "--by", "channel", "--from", START, "--to", END),
)

pytestmark = [
    pytest.mark.real,
    pytest.mark.skipif(
        not (DATA / MQL_FILE).is_file() or not (DATA / DEALS_FILE).is_file(),
        reason=f"dataset not found in {DATA} (set LEADLEDGER_DATASETS)",
    ),
]


# -- fixtures ----------------------------------------------------------------------------------
def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "200"
    return env


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project built by the example's own script, once for the module."""
    folder = tmp_path_factory.mktemp("olist") / "project"
    run = subprocess.run(
        ["bash", str(EXAMPLE / "load.sh"), str(DATA), str(folder)],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
        timeout=300,
    )
    if run.returncode != 0:
        pytest.fail(f"load.sh failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
    return folder


@pytest.fixture
def ws(project: Path) -> Iterator[Workspace]:
    """A workspace, closed after each test (DuckDB lets one process hold the file: the CLI
    tests run the command in another process)."""
    with Workspace(project) as w:
        yield w


def cli(project: Path, *args: str) -> Any:
    """Run the installed ``leadledger`` command with --format json and parse stdout."""
    run = subprocess.run(
        [str(BIN / "leadledger"), *args, "--project", str(project), "--format", "json"],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@pytest.fixture(scope="module")
def raw() -> dict[str, pd.DataFrame]:
    """The raw files, read as text (a blank stays ""), and the pandas-side journeys."""
    mql = pd.read_csv(DATA / MQL_FILE, dtype=str, keep_default_na=False)
    deals = pd.read_csv(DATA / DEALS_FILE, dtype=str, keep_default_na=False)
    mql["created"] = pd.to_datetime(mql["first_contact_date"], format="%Y-%m-%d").dt.tz_localize(
        TZ, nonexistent="shift_forward", ambiguous="raise"
    )
    deals["won"] = pd.to_datetime(deals["won_date"], format="%Y-%m-%d %H:%M:%S").dt.tz_localize(
        TZ, nonexistent="raise", ambiguous="raise"
    )
    j = mql.merge(deals, on="mql_id", how="left", validate="one_to_one")
    j["converted"] = j["won"].notna()
    j["days"] = (j["won"] - j["created"]).dt.total_seconds() / 86400
    j["year"] = j["first_contact_date"].str[:4]
    return {"mql": mql, "deals": deals, "journeys": j}


def working_days(first: dt.date, last: dt.date) -> int:
    """Mon–Fri minus Brazil + São Paulo state public holidays, computed here."""
    off = holidays.country_holidays("BR", subdiv="SP", years=range(first.year, last.year + 1))
    days = pd.date_range(first, last, freq="D")
    return sum(1 for d in days if d.weekday() < 5 and d.date() not in off)


def months(start: str, end: str) -> list[dt.date]:
    return [p.to_timestamp().date() for p in pd.period_range(start, end, freq="M")]


# -- imports -------------------------------------------------------------------------------------
def test_import_counts(ws: Workspace, raw: dict[str, pd.DataFrame]) -> None:
    """Python API: every row of both files accepted, none rejected; what the ledger holds."""
    imports = ws.store.execute(ws.store.table("imports").order_by("batch_no"))
    got = [
        (r.kind, Path(r.file).name, r.read, r.accepted, r.rejected, r.skipped)
        for r in imports.itertuples()
    ]
    n_mql, n_deals = len(raw["mql"]), len(raw["deals"])
    assert (n_mql, n_deals) == (8000, 842)  # SOURCE.md
    assert got == [
        ("leads", MQL_FILE, n_mql, n_mql, 0, 0),
        ("stages", DEALS_FILE, n_deals, n_deals, 0, 0),
        ("leads", DEALS_FILE, n_deals, n_deals, 0, 0),
        ("deals", DEALS_FILE, n_deals, n_deals, 0, 0),
    ]
    t = ws.store.tables()
    events = ws.store.execute(t["stage_events"].stage.value_counts())
    assert dict(zip(events["stage"], events["stage_count"], strict=True)) == {
        "mql": n_mql,
        "customer": n_deals,
    }
    assert ws.store.execute(current_leads(t).count()) == raw["mql"]["mql_id"].nunique()
    assert ws.store.execute(current_deals(t, ws.cfg).count()) == raw["deals"]["mql_id"].nunique()


def test_reimport_changes_nothing(project: Path, tmp_path: Path) -> None:
    """CLI JSON: importing the same files again (MQL file, then the partial lead update)
    accepts nothing and adds no stage event — on a copy of the project."""
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    for mapping, file in (
        ("mql-leads.yaml", MQL_FILE),
        ("closed-deals-leads.yaml", DEALS_FILE),
        ("mql-leads.yaml", MQL_FILE),
    ):
        out = cli(copy, "import", "leads", str(DATA / file), "--mapping", str(EXAMPLE / mapping))
        assert (out["accepted"], out["rejected"], out["skipped"]) == (0, 0, out["read"]), (
            mapping,
            out,
        )
        assert out["stage_events_new"] == 0


def test_leads_take_the_closed_deal_attributes(ws: Workspace, raw: dict[str, pd.DataFrame]) -> None:
    """Python API: the closed-deals file updates the 842 leads field by field; creation date,
    channel and landing page stay those of the MQL file; the other leads have no attributes."""
    leads = ws.store.execute(current_leads(ws.store.tables())).set_index("lead_id").sort_index()
    j = raw["journeys"].set_index("mql_id").sort_index()
    assert list(leads.index) == list(j.index)

    def text(s: pd.Series) -> pd.Series:
        return s.where(s.notna() & (s != ""), None).astype(object)

    def same(a: pd.Series, b: pd.Series) -> bool:
        a, b = text(a), text(b)
        return bool(((a == b) | (a.isna() & b.isna())).all())

    for field, column in [
        ("channel", "origin"),
        ("landing_page", "landing_page_id"),
        ("segment", "business_segment"),
        ("lead_type", "lead_type"),
        ("persona", "lead_behaviour_profile"),
        ("business_type", "business_type"),
        ("owner", "sr_id"),
    ]:
        assert same(leads[field], j[column]), field
    assert (leads["created_at"] == j["created"].dt.tz_convert("UTC")).all()
    assert leads["channel"].isna().sum() == (j["origin"] == "").sum() == 60  # SOURCE.md
    won = j["converted"]
    assert leads.loc[~won, ["segment", "persona", "lead_type", "owner"]].isna().all().all()
    assert leads.loc[won, "segment"].notna().sum() == (j.loc[won, "business_segment"] != "").sum()


def test_deals(ws: Workspace, raw: dict[str, pd.DataFrame]) -> None:
    """Python API: 842 won BRL deals, closed at won_date, amount = declared monthly revenue."""
    deals = (
        ws.store.execute(current_deals(ws.store.tables(), ws.cfg)).set_index("deal_id").sort_index()
    )
    d = raw["deals"].set_index("mql_id").sort_index()
    assert list(deals.index) == list(d.index)
    assert (deals["lead_id"] == deals.index).all()
    assert set(deals["status"]) == {"won"} and set(deals["currency"]) == {"BRL"}
    assert (deals["closed_at"] == d["won"].dt.tz_convert("UTC")).all()
    assert (deals["created_at"] == deals["closed_at"]).all()
    amount = d["declared_monthly_revenue"].astype(float)
    np.testing.assert_array_equal(deals["amount"].to_numpy(), amount.to_numpy())
    assert deals["amount"].sum() == amount.sum() == 61_784_006  # SOURCE.md
    assert (deals["amount"] > 0).sum() == 45


# -- stages per month and per working day ----------------------------------------------------------
def test_stages_per_month_and_working_day(project: Path, raw: dict[str, pd.DataFrame]) -> None:
    """CLI JSON: `report stages` — MQLs (and leads) per month and per working day, customers per
    month; skipped stages (sal, sql, opportunity) are reached when the customer stage is."""
    out = cli(project, "report", "stages", "--from", START, "--to", END, "--period", "month")
    rows = {(r["period"], r["stage"]): r for r in out["rows"]}
    mql_month = raw["mql"]["first_contact_date"].str[:7].value_counts()
    won_month = raw["deals"]["won_date"].str[:7].value_counts()
    periods = months(START, END)
    assert {p for p, _ in rows} == {p.isoformat() for p in periods}
    prev: tuple[int, int] | None = None
    for first in periods:
        last = (pd.Timestamp(first) + pd.offsets.MonthEnd(0)).date()
        wd = working_days(first, last)
        n = int(mql_month.get(first.strftime("%Y-%m"), 0))
        won = int(won_month.get(first.strftime("%Y-%m"), 0))
        key = first.isoformat()
        for stage in ("lead", "mql"):
            r = rows[(key, stage)]
            assert (r["entered"], r["working_days"], r["working_days_elapsed"]) == (n, wd, wd), r
            assert r["per_working_day"] == pytest.approx(n / wd)
        for stage in ("sal", "sql", "opportunity", "customer"):
            assert rows[(key, stage)]["entered"] == won, (key, stage)
        change = rows[(key, "mql")]["change_per_working_day"]
        if prev and prev[0]:
            assert change == pytest.approx((n / wd) / (prev[0] / prev[1]) - 1)
        else:
            assert change is None
        prev = (n, wd)
    assert sum(rows[(p.isoformat(), "mql")]["entered"] for p in periods) == 8000


# -- cohort conversion -------------------------------------------------------------------------
def _pandas_cohorts(j: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return j.groupby(keys).agg(entered=("mql_id", "size"), converted=("converted", "sum"))


def test_conversion_mql_to_customer_by_channel(project: Path, raw: dict[str, pd.DataFrame]) -> None:
    """CLI JSON: cohort conversion MQL → customer per year and origin (the named channels; the
    blank origin is the next test)."""
    out = cli(project, *CONVERSION_BY_CHANNEL)
    j = raw["journeys"]
    want = _pandas_cohorts(j[j["origin"] != ""], ["year", "origin"])
    got = {(r["period"][:4], r["channel"]): r for r in out["rows"] if r["channel"] is not None}
    assert set(got) == set(want.index)
    for key, w in want.iterrows():
        r = got[key]
        assert (r["entered"], r["converted"]) == (w["entered"], w["converted"]), key
        assert r["rate"] == pytest.approx(w["converted"] / w["entered"])
    # the same table over both years, against SOURCE.md's conversion by origin
    by_origin = want.groupby(level="origin").sum()
    assert by_origin.loc["organic_search"].tolist() == [2296, 271]
    assert by_origin.loc["unknown"].tolist() == [1099, 179]


def test_blank_origin_is_its_own_group(project: Path, raw: dict[str, pd.DataFrame]) -> None:
    """CLI JSON: the 60 leads without an origin are the rows with channel null, in cohort
    conversion (14 converted) and in MQLs per month."""
    out = cli(project, *CONVERSION_BY_CHANNEL)
    j = raw["journeys"]
    blank = j[j["origin"] == ""]
    want = _pandas_cohorts(blank, ["year"])
    got = {
        r["period"][:4]: (r["entered"], r["converted"]) for r in out["rows"] if r["channel"] is None
    }
    assert got == {y: (w["entered"], w["converted"]) for y, w in want.iterrows()}
    assert (sum(v[0] for v in got.values()), sum(v[1] for v in got.values())) == (60, 14)
    out = cli(project, "report", "stages", "--from", START, "--to", END, "--by", "channel")
    got_months = {
        r["period"][:7]: r["entered"]
        for r in out["rows"]
        if r["stage"] == "mql" and r["channel"] is None and r["entered"]
    }
    assert got_months == blank["first_contact_date"].str[:7].value_counts().to_dict()


def test_conversion_totals_and_median_days(ws: Workspace, raw: dict[str, pd.DataFrame]) -> None:
    """Python API: cohort conversion per year without breakdown (8,000 → 842, 10.53 %), and the
    median days to convert, unordered (the deal won before its first contact counts, at
    −1.18 days) and --ordered (it does not)."""
    j = raw["journeys"]
    for ordered in (False, True):
        rep = ws.report(
            "conversion",
            from_stage="mql",
            to_stage="customer",
            start=START,
            end=END,
            period="year",
            ordered=ordered,
        )
        got = {r["period"][:4]: r for r in rep.as_dict()["rows"]}
        counted = j["converted"] & ((j["days"] >= 0) if ordered else True)
        for year, cohort in j.groupby("year"):
            r = got[year]
            c = counted[cohort.index]
            assert (r["entered"], r["converted"]) == (len(cohort), int(c.sum())), (ordered, year)
            assert r["out_of_order"] == int((cohort["days"] < 0).sum())
            assert r["median_days_to_convert"] == pytest.approx(
                cohort.loc[c, "days"].median(), abs=ONE_SECOND
            ), (ordered, year)
        total_entered = sum(r["entered"] for r in got.values())
        total_converted = sum(r["converted"] for r in got.values())
        assert total_entered == 8000
        assert total_converted == (841 if ordered else 842)
        if not ordered:
            assert round(100 * total_converted / total_entered, 2) == 10.53  # SOURCE.md


def test_velocity_days_in_mql(ws: Workspace, raw: dict[str, pd.DataFrame]) -> None:
    """Python API: time in stage. MQL → next stage reached (customer) over the 841 leads that
    left MQL forwards; the out-of-order one is counted apart, never as a negative duration.
    SOURCE.md's 14.7-day median counts it (naive wall times); here it is not counted."""
    rep = ws.report("velocity", start=START, end=END)
    rows = {r["stage"]: r for r in rep.as_dict()["rows"]}
    j = raw["journeys"]
    left = j.loc[j["converted"] & (j["days"] >= 0), "days"]
    r = rows["mql"]
    assert (r["entered"], r["left"], r["out_of_order"]) == (8000, len(left), 1)
    assert r["open"] == 8000 - 842
    assert r["median_days"] == pytest.approx(left.median(), abs=ONE_SECOND)
    assert r["mean_days"] == pytest.approx(left.mean(), abs=ONE_SECOND)
    assert r["p90_days"] == pytest.approx(left.quantile(0.9), abs=ONE_SECOND)
    # lead and mql are entered at the same instant
    assert (rows["lead"]["left"], rows["lead"]["median_days"]) == (8000, 0)


# -- anomalies ---------------------------------------------------------------------------------
def test_check_lists_the_deal_won_before_first_contact(
    project: Path, raw: dict[str, pd.DataFrame]
) -> None:
    """CLI JSON: `leadledger check` lists the one deal won before the lead's first contact,
    and the same lead as a stage moved backwards and a stage entered before creation; nothing
    is flagged for the blank origins or the links between files."""
    j = raw["journeys"]
    early = j.loc[j["days"] < 0, "mql_id"].tolist()
    assert len(early) == 1
    assert j.loc[j["days"] < 0, "days"].round(2).tolist() == [-1.18]  # SOURCE.md
    out = cli(project, "check")
    found = {(r["check"], r["id"]): r for r in out["rows"]}
    # the deal makes the lead an opportunity at its creation, which Olist dates at the won date
    # (the file has no creation date): mql comes after both opportunity and customer
    totals = {"deal_won_before_first_contact": 1, "stage_backwards": 2, "stage_before_created": 1}
    for code, total in totals.items():
        assert (code, early[0]) in found, (code, out["notes"])
        assert found[(code, early[0])]["total"] == total, code
    backwards = {r["detail"] for r in out["rows"] if r["check"] == "stage_backwards"}
    assert {d.split(" (")[0] for d in backwards} == {
        "mql entered after opportunity",
        "mql entered after customer",
    }
    codes = {r["check"] for r in out["rows"]}
    assert not codes & {
        "unknown_channel",
        "orphan_stage_event",
        "orphan_deal",
        "deal_closed_before_created",
        "duplicate_identity",
        "future_date",
    }
