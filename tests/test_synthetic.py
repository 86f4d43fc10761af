"""The synthetic company generator: deterministic, internally consistent, realistic enough to
drive the demo and the benchmarks, and importable without a single rejected row."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import holidays
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from leadledger.config.loader import validate_config
from leadledger.config.models import ProjectConfig
from leadledger.demo import DEFAULT_END, KINDS, Company, generate_company, write_company
from leadledger.errors import InvalidArgument
from leadledger.ledger.schema import kinds
from leadledger.service import Workspace, init_project

TZ = "Europe/Madrid"
ORDERED = ("mql", "sal", "sql", "opportunity", "customer")
COLUMNS = {
    "leads": [
        "lead_id",
        "created_at",
        "email",
        "name",
        "company",
        "title",
        "channel",
        "campaign",
        "landing_page",
        "owner",
        "country",
        "source_system",
        "persona",
        "segment",
    ],
    "stages": ["lead_id", "stage", "entered_at", "reason", "owner"],
    "touches": ["touch_id", "lead_id", "anonymous_id", "at", "channel", "campaign", "kind", "page"],
    "deals": [
        "deal_id",
        "lead_id",
        "created_at",
        "closed_at",
        "status",
        "amount",
        "currency",
        "owner",
    ],
    "costs": [
        "period_start",
        "period_end",
        "channel",
        "campaign",
        "category",
        "amount",
        "currency",
        "description",
    ],
    "traffic": ["day", "channel", "landing_page", "campaign", "visits", "unique_visitors"],
}
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$")


@pytest.fixture(scope="module")
def company() -> Company:
    return generate_company(leads=20_000, seed=5)


@pytest.fixture(scope="module")
def small() -> Company:
    return generate_company(leads=3_000, seed=9)


@pytest.fixture(scope="module")
def cfg(company: Company, tmp_path_factory: pytest.TempPathFactory) -> ProjectConfig:
    path = tmp_path_factory.mktemp("cfg") / "leadledger.yaml"
    path.write_text(company.config_text, encoding="utf-8")
    config, issues = validate_config(path)
    assert config is not None, [i.render() for i in issues]
    assert not [i for i in issues if i.severity == "error"]
    return config


@pytest.fixture(scope="module")
def first_entries(company: Company) -> pd.DataFrame:
    """One row per lead: created_at and the first entry into each stage / side state."""
    s = company.stages
    wide = s.pivot_table(index="lead_id", columns="stage", values="entered_at", aggfunc="min")
    return company.leads.set_index("lead_id")[["channel", "created_at"]].join(wide)


def _local_dates(ts: pd.Series) -> pd.Series:
    return ts.dt.tz_convert(TZ).dt.date


# -- determinism ---------------------------------------------------------------------------------
def test_same_seed_gives_identical_frames() -> None:
    a = generate_company(leads=4_000, seed=21)
    b = generate_company(leads=4_000, seed=21)
    for kind in KINDS:
        pd.testing.assert_frame_equal(getattr(a, kind), getattr(b, kind), obj=kind)
    assert a.config_text == b.config_text
    assert a.end == b.end == DEFAULT_END


def test_different_seed_gives_different_frames() -> None:
    a = generate_company(leads=4_000, seed=21)
    b = generate_company(leads=4_000, seed=22)
    for kind in ("leads", "stages", "touches", "deals", "costs", "traffic"):
        assert not getattr(a, kind).equals(getattr(b, kind)), kind


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(InvalidArgument):
        generate_company(leads=0, seed=1)
    with pytest.raises(InvalidArgument):
        generate_company(leads=100, seed=1, years=0)


def test_end_and_years_bound_the_data() -> None:
    c = generate_company(leads=2_000, seed=3, end=dt.date(2025, 6, 30), years=1)
    created = _local_dates(c.leads.created_at)
    assert created.min() >= dt.date(2024, 7, 1)
    assert created.max() <= dt.date(2025, 6, 30)
    assert _local_dates(c.stages.entered_at).max() <= dt.date(2025, 6, 30)
    assert c.start == dt.date(2024, 7, 1)


# -- config ----------------------------------------------------------------------------------------
def test_config_text_validates_and_describes_the_data(company: Company, cfg: ProjectConfig) -> None:
    assert cfg.engine == "duckdb:///leadledger.duckdb"
    assert cfg.timezone == TZ
    assert cfg.currency == "EUR"
    assert (cfg.calendar.country, cfg.calendar.subdivision) == ("ES", "MD")
    assert cfg.attributes == ["persona", "segment"]
    keys = {c.key for c in cfg.channels}
    assert keys == set(company.leads.channel.unique())
    assert set(company.touches.channel.unique()) <= keys
    sourced = {c.key: c.sourced for c in cfg.channels}
    assert sourced["sdr_outbound"] == "sales"
    assert {"direct", "sdr_outbound"} <= keys
    assert 8 <= len(keys) <= 10
    assert set(company.stages.stage.unique()) <= set(cfg.stage_keys + cfg.side_state_keys)


def test_columns_are_the_ledger_fields(company: Company, cfg: ProjectConfig) -> None:
    schema = kinds(cfg)
    for kind in KINDS:
        frame = getattr(company, kind)
        assert list(frame.columns) == COLUMNS[kind], kind
        assert set(frame.columns) <= set(schema[kind].field_names), kind
        required = {f.name for f in schema[kind].fields if f.required}
        assert required <= set(frame.columns), kind
        assert frame[[c for c in frame.columns if c in required]].notna().all().all(), kind
    for kind, col in (
        ("leads", "created_at"),
        ("stages", "entered_at"),
        ("touches", "at"),
        ("deals", "created_at"),
        ("deals", "closed_at"),
    ):
        assert str(getattr(company, kind)[col].dtype) == "datetime64[us, UTC]", (kind, col)


# -- invariants ------------------------------------------------------------------------------------
def test_ids_are_unique(company: Company) -> None:
    assert company.leads.lead_id.is_unique
    assert company.touches.touch_id.is_unique
    assert company.deals.deal_id.is_unique
    assert not company.stages.duplicated(["lead_id", "stage", "entered_at"]).any()
    assert not company.costs.duplicated(
        ["period_start", "period_end", "channel", "campaign", "category"]
    ).any()
    assert not company.traffic.duplicated(["day", "channel", "landing_page", "campaign"]).any()


def test_every_event_references_a_lead(company: Company) -> None:
    ids = set(company.leads.lead_id)
    assert set(company.stages.lead_id) <= ids
    assert set(company.deals.lead_id) <= ids
    assert set(company.touches.lead_id.dropna()) <= ids
    assert company.touches[["lead_id", "anonymous_id"]].notna().any(axis=1).all()


def test_nothing_before_the_lead_except_anonymous_touches(company: Company) -> None:
    created = company.leads.set_index("lead_id").created_at
    s = company.stages
    assert (s.entered_at.to_numpy() >= created.loc[s.lead_id].to_numpy()).all()
    assert "lead" not in set(s.stage)  # creation is the entry into the first stage
    t = company.touches
    before = t["at"].to_numpy() < created.loc[t.lead_id].to_numpy()
    assert before.any()  # anonymous research before converting
    assert t.anonymous_id[before].notna().all()
    d = company.deals
    assert (d.created_at.to_numpy() >= created.loc[d.lead_id].to_numpy()).all()


def test_nothing_after_end(company: Company) -> None:
    end = company.end
    for kind, col in (
        ("leads", "created_at"),
        ("stages", "entered_at"),
        ("touches", "at"),
        ("deals", "created_at"),
    ):
        assert _local_dates(getattr(company, kind)[col]).max() <= end, kind
    assert _local_dates(company.deals.closed_at.dropna()).max() <= end
    assert company.costs.period_end.max() <= end
    assert company.traffic.day.max() <= end
    # two years of leads, ending at `end`
    created = _local_dates(company.leads.created_at)
    assert created.min() >= dt.date(end.year - 2, end.month, end.day)
    assert (end - created.max()).days <= 3


def test_stage_order_is_respected(first_entries: pd.DataFrame) -> None:
    cols = ["created_at", *ORDERED]
    times = first_entries[cols]
    for i, earlier in enumerate(cols):
        for later in cols[i + 1 :]:
            both = times[earlier].notna() & times[later].notna()
            assert (times.loc[both, later] >= times.loc[both, earlier]).all(), (earlier, later)


def test_deals_won_iff_customer(company: Company, first_entries: pd.DataFrame) -> None:
    d = company.deals
    won = set(d.lead_id[d.status == "won"])
    customers = set(company.stages.lead_id[company.stages.stage == "customer"])
    assert won == customers
    assert set(d.status) == {"open", "won", "lost"}
    assert d.lead_id.is_unique
    opp = first_entries.loc[d.lead_id, "opportunity"].to_numpy()
    assert (d.created_at.to_numpy() == opp).all()  # created at opportunity entry
    closed = d.status.isin(["won", "lost"])
    assert d.closed_at[closed].notna().all() and d.closed_at[~closed].isna().all()
    assert (d.closed_at[closed] >= d.created_at[closed]).all()
    assert (d.amount > 0).all() and set(d.currency) == {"EUR"}
    by_segment = d.merge(company.leads[["lead_id", "segment"]]).groupby("segment").amount.median()
    assert by_segment["smb"] < by_segment["mid_market"] < by_segment["enterprise"]


def test_lead_to_customer_rate_is_realistic(company: Company, first_entries: pd.DataFrame) -> None:
    rate = first_entries.customer.notna().mean()
    assert 0.01 <= rate <= 0.08, rate
    by_channel = first_entries.customer.notna().groupby(first_entries.channel).mean()
    assert by_channel.max() > 3 * by_channel.min()  # channels differ in quality


def test_sourcing_and_attributes(company: Company, cfg: ProjectConfig) -> None:
    sales = {c.key for c in cfg.channels if c.sourced == "sales"}
    assert company.leads.channel.isin(sales).sum() > 0
    volume = company.leads.channel.value_counts(normalize=True)
    assert volume.max() > 3 * volume.min()
    assert 3 <= company.leads.persona.nunique() <= 5
    assert set(company.leads.segment) == {"smb", "mid_market", "enterprise"}
    web = company.leads[~company.leads.channel.isin(["events", "sdr_outbound"])]
    assert web.landing_page.notna().all()
    paid = company.leads[company.leads.channel.isin(["paid_search", "paid_social"])]
    assert paid.campaign.notna().all() and paid.groupby("channel").campaign.nunique().min() >= 2


def test_funnel_shapes(company: Company, first_entries: pd.DataFrame, cfg: ProjectConfig) -> None:
    f = first_entries
    s = company.stages
    # stage skipping (lead -> sql)
    assert (f.sql.notna() & f.mql.isna()).sum() > 0
    # rejections with valid reason codes, and recycling
    codes = {c for st in cfg.side_states for c in st.reason_codes}
    dq = s[s.stage == "disqualified"]
    assert len(dq) and dq.reason.notna().all() and set(dq.reason) <= codes
    assert set(s.reason.dropna()) <= codes
    assert (s.stage == "recycled").sum() > 0
    # SQLs that went cold: lost long after SQL without an opportunity
    cold = f[f.sql.notna() & f.opportunity.isna() & f.lost.notna()]
    assert ((cold.lost - cold.sql).dt.days >= 60).sum() > 0
    # right-censoring: recent leads are still open
    end = pd.Timestamp(company.end, tz=TZ)
    recent = f[f.created_at >= end - pd.Timedelta(days=30)]
    assert len(recent) and recent[list(ORDERED)].isna().all(axis=1).mean() > 0.5
    # delays differ by stage: sales accepts within days, deals take weeks
    to_sal = (f.sal - f.mql).dropna().dt.total_seconds().median() / 86400
    to_close = (f.customer - f.opportunity).dropna().dt.total_seconds().median() / 86400
    assert to_sal < 5 < 15 < to_close


def test_seasonality_and_holidays(company: Company) -> None:
    local = company.leads.created_at.dt.tz_convert(TZ)
    per_day = local.dt.date.value_counts()
    weekday = pd.Series(pd.to_datetime(per_day.index).day_of_week, index=per_day.index)
    weekdays = per_day[weekday < 5].mean()
    assert per_day[weekday >= 5].mean() < 0.5 * weekdays
    months = local.dt.month.value_counts()
    assert months[8] < 0.7 * months[9]
    assert months[12] < months[11]
    public = holidays.country_holidays("ES", subdiv="MD", years=range(2024, 2027))
    on_holidays = per_day[[d in public and d.weekday() < 5 for d in per_day.index]]
    assert on_holidays.mean() < 0.4 * weekdays
    # sales work on working days only
    sales = company.stages[company.stages.stage.isin(["sal", "opportunity", "customer"])]
    days = _local_dates(sales.entered_at)
    assert not any(d in public or d.weekday() >= 5 for d in set(days))


def test_touches(company: Company) -> None:
    t = company.touches
    assert 2.5 <= len(t) / len(company.leads) <= 6
    assert {"visit", "ad_click", "form", "email_click", "meeting"} <= set(t.kind)
    campaigns = t.dropna(subset=["campaign"]).groupby("channel").campaign.nunique()
    assert campaigns["paid_search"] >= 2 and campaigns["email"] >= 2
    first = t.sort_values("at").groupby("lead_id").channel.first()
    leads = company.leads.set_index("lead_id").channel
    assert (first != leads.loc[first.index]).mean() > 0.05  # journeys cross channels


def test_costs(company: Company, cfg: ProjectConfig) -> None:
    c = company.costs
    assert set(c.category) <= {"media", "staff", "technology", "agency"}
    assert set(c.category) == {"media", "staff", "technology", "agency"}
    assert set(c.currency) == {"EUR"} and (c.amount > 0).all()
    assert c.channel.isna().any()  # untagged costs
    assert set(c.channel.dropna()) <= {ch.key for ch in cfg.channels}
    media = c[c.category == "media"]
    assert {"paid_search", "paid_social", "events"} <= set(media.channel)
    assert "organic_search" not in set(media.channel)
    months = pd.to_datetime(c.period_start).dt.to_period("M").nunique()
    assert months == 24
    assert (c.period_end >= c.period_start).all()


def test_traffic(company: Company) -> None:
    tr = company.traffic
    assert (tr.visits > 0).all() and (tr.unique_visitors <= tr.visits).all()
    assert (tr.unique_visitors >= 0).all()
    web = company.leads[company.leads.landing_page.notna()]
    rate = len(web) / tr.visits.sum()
    assert 0.005 < rate < 0.10, rate
    keys = ["channel", "landing_page"]
    assert set(map(tuple, web[keys].drop_duplicates().to_numpy())) <= set(
        map(tuple, tr[keys].drop_duplicates().to_numpy())
    )
    days = pd.to_datetime(tr.groupby("day").visits.sum().index)
    assert len(days) >= 700


# -- files ---------------------------------------------------------------------------------------
def test_write_company_csv_round_trip(small: Company, tmp_path: Path) -> None:
    paths = write_company(small, tmp_path / "csv")
    assert list(paths) == list(KINDS)
    for kind, path in paths.items():
        assert path == tmp_path / "csv" / f"{kind}.csv" and path.is_file()
        back = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame = getattr(small, kind)
        assert list(back.columns) == list(frame.columns)
        assert len(back) == len(frame)
        for col in frame.columns:
            values = frame[col]
            if isinstance(values.dtype, pd.DatetimeTZDtype):
                text = back[col][values.notna().to_numpy()]
                assert text.str.match(ISO_UTC).all(), (kind, col)
                parsed = pd.to_datetime(back[col].replace("", None), utc=True, format="ISO8601")
                assert (
                    parsed.fillna(pd.Timestamp(0, tz="UTC")).to_numpy()
                    == values.fillna(pd.Timestamp(0, tz="UTC")).to_numpy()
                ).all()
            elif pd.api.types.is_float_dtype(values):
                np.testing.assert_allclose(back[col].astype(float), values)
            elif pd.api.types.is_integer_dtype(values):
                assert (back[col].astype(np.int64).to_numpy() == values.to_numpy()).all()
            else:
                expected = values.map(lambda v: "" if pd.isna(v) else str(v))
                assert (back[col].to_numpy() == expected.to_numpy()).all(), (kind, col)


def test_write_company_parquet_round_trip(small: Company, tmp_path: Path) -> None:
    paths = write_company(small, tmp_path / "pq", "parquet")
    assert list(paths) == list(KINDS)
    for kind, path in paths.items():
        assert path.suffix == ".parquet"
        back = pq.read_table(path).to_pandas()
        frame = getattr(small, kind)
        pd.testing.assert_frame_equal(back, frame, check_dtype=False, obj=kind)
        for col in frame.columns:
            if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
                assert str(back[col].dt.tz) == "UTC", (kind, col)


def test_write_company_refuses_unknown_format(small: Company, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument):
        write_company(small, tmp_path, "xlsx")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_files_import_without_rejections(small: Company, tmp_path: Path, fmt: str) -> None:
    paths = write_company(small, tmp_path / "data", fmt)
    folder = tmp_path / "project"
    init_project(folder, config_text=small.config_text)
    with Workspace(folder) as ws:
        for kind in KINDS:
            result = ws.import_files(kind, [paths[kind]])
            assert result.rejected == 0, (kind, result.sample_rejections)
            assert result.accepted == len(getattr(small, kind)), kind
        checks = ws.report("check").frame
    found = set(checks["check"].dropna()) if "check" in checks else set()
    # duplicates are deliberate (leads disqualified as `duplicate` repeat an identity)
    assert found <= {"duplicate_identity"}, checks
