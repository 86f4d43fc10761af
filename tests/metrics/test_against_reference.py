"""Random journeys: leadledger's Ibis metrics equal an independent pandas reference, and the
funnel invariants hold (hypothesis)."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadledger.config.models import ProjectConfig
from leadledger.ledger.derived import journeys, reached_col
from leadledger.ledger.schema import kinds
from leadledger.metrics import cohort_conversion, entries_by_period, median_time_in_stage
from tests import reference as ref

CFG = ProjectConfig(timezone="Europe/Madrid")
STAGES = CFG.stage_keys
TZ = CFG.timezone
START = pd.Timestamp("2025-01-01T00:00:00Z")


@pytest.fixture(scope="module")
def con():
    c = ibis.duckdb.connect()
    c.raw_sql(f"SET TimeZone = '{TZ}'")
    return c


def tables_from(leads: pd.DataFrame, events: pd.DataFrame) -> dict[str, ibis.Table]:
    """Ledger tables as memtables with the real schema (no store needed: metrics take tables)."""
    out = {}
    frames = {"leads": leads, "stages": events}
    for name, kind in kinds(CFG).items():
        schema = kind.schema()
        df = frames.get(name, pd.DataFrame())
        full = pd.DataFrame(
            {
                c: df[c] if c in df.columns else pd.Series([None] * len(df), dtype=object)
                for c in schema.names
            }
        )
        for c in ("batch_no", "row_no"):
            full[c] = range(len(full))
        out[kind.table] = ibis.memtable(full, schema=schema)
    return out


journey = st.tuples(
    st.integers(0, 24 * 120),  # created: hours after START
    st.lists(
        st.tuples(st.sampled_from([*STAGES[1:], "disqualified"]), st.integers(-48, 24 * 90)),
        max_size=6,
    ),
    st.sampled_from(["paid_search", "email", "events"]),
)


def frames(js: list) -> tuple[pd.DataFrame, pd.DataFrame]:
    leads, events = [], []
    for i, (created, evs, channel) in enumerate(js):
        c = START + pd.Timedelta(hours=created)
        leads.append({"lead_id": f"L{i}", "created_at": c, "channel": channel})
        for stage, delta in evs:
            events.append(
                {"lead_id": f"L{i}", "stage": stage, "entered_at": c + pd.Timedelta(hours=delta)}
            )
    ld = pd.DataFrame(leads)
    ev = pd.DataFrame(events, columns=["lead_id", "stage", "entered_at"])
    ev["entered_at"] = pd.to_datetime(ev["entered_at"], utc=True)
    return ld, ev


SETTINGS = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(st.lists(journey, min_size=1, max_size=25))
def test_stage_counts_equal_reference(con, js):
    leads, events = frames(js)
    t = tables_from(leads, events)
    expr = entries_by_period(
        t,
        CFG,
        period="month",
        start=pd.Timestamp("2024-12-01").date(),
        end=pd.Timestamp("2025-12-31").date(),
    )
    got = {
        (pd.Timestamp(r.period).date().isoformat(), r.stage): int(r.entered)
        for r in con.execute(expr).itertuples()
    }
    first = ref.first_entries(leads, events, STAGES)
    want = ref.stage_counts(
        ref.reached(first, STAGES), STAGES, TZ, "month", "2024-12-01", "2025-12-31"
    )
    assert got == want


@SETTINGS
@given(st.lists(journey, min_size=1, max_size=25), st.sampled_from([None, 3.0, 30.0]))
def test_cohort_conversion_equals_reference(con, js, window):
    leads, events = frames(js)
    t = tables_from(leads, events)
    as_of = pd.Timestamp("2025-06-01T00:00:00Z")
    expr = cohort_conversion(
        t,
        CFG,
        from_stage="mql",
        to_stage="customer",
        period="month",
        start=pd.Timestamp("2025-01-01").date(),
        end=pd.Timestamp("2025-12-31").date(),
        as_of=as_of,
        window_days=window,
    )
    df = con.execute(expr)
    got = {
        str(r.period)[:10]: (int(r.entered), int(r.converted)) for r in df.itertuples() if r.entered
    }
    # as of a time, the ledger is what it was then: later events do not exist yet
    known_leads, known_events = ref.as_of(leads, events, as_of)
    reach = ref.reached(ref.first_entries(known_leads, known_events, STAGES), STAGES)
    want = ref.cohort_conversion(
        reach, "mql", "customer", TZ, "month", "2025-01-01", "2025-12-31", as_of, window
    )
    assert got == want


@SETTINGS
@given(st.lists(journey, min_size=1, max_size=25))
def test_median_time_in_stage_equals_reference(con, js):
    leads, events = frames(js)
    t = tables_from(leads, events)
    df = con.execute(median_time_in_stage(t, CFG, as_of=pd.Timestamp("2026-01-01T00:00:00Z")))
    got = dict(zip(df["stage"], df["median_days"], strict=True))
    want = ref.median_days_in_stage(ref.first_entries(leads, events, STAGES), STAGES)
    assert got.keys() == want.keys()
    for k in want:
        assert got[k] == pytest.approx(want[k], abs=1e-9)


@SETTINGS
@given(st.lists(journey, min_size=1, max_size=25))
def test_reached_counts_never_grow_down_the_funnel(con, js):
    leads, events = frames(js)
    j = journeys(tables_from(leads, events), CFG)
    counts = con.execute(j.aggregate(**{s: j[reached_col(s)].count() for s in STAGES}))
    values = [int(counts[s].iloc[0]) for s in STAGES]
    assert values == sorted(values, reverse=True)


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
@SETTINGS
@given(st.lists(journey, min_size=1, max_size=25), st.floats(0, 60), st.floats(0, 60))
def test_a_wider_window_never_lowers_conversion(con, js, a, b):
    leads, events = frames(js)
    t = tables_from(leads, events)
    narrow, wide = sorted([a, b])

    def converted(window):
        expr = cohort_conversion(
            t,
            CFG,
            from_stage="lead",
            to_stage="sql",
            period="year",
            start=pd.Timestamp("2024-01-01").date(),
            end=pd.Timestamp("2026-12-31").date(),
            as_of=pd.Timestamp("2027-01-01T00:00:00Z"),
            window_days=window,
        )
        return int(con.execute(expr)["converted"].sum())

    assert converted(narrow) <= converted(wide) <= converted(None)
