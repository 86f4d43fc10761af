"""Spend per period and channel against an independent plain-pandas reference (each cost spread
day by day), under hypothesis: random costs, periods and allocation rules. The metric runs on an
in-memory DuckDB from memtables (no project, fast enough for many examples)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import ibis
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadledger.config.models import Channel, Costs, ProjectConfig
from leadledger.metrics import costs as mc
from leadledger.workdays import period_start

CHANNELS = ["a", "b", "c"]
DAY0 = dt.date(2025, 1, 1)


@pytest.fixture(scope="module")
def con() -> ibis.BaseBackend:
    c = ibis.duckdb.connect()
    c.raw_sql("SET TimeZone = 'UTC'")
    return c


cost_rows = st.lists(
    st.tuples(
        st.integers(0, 120),  # start offset
        st.integers(0, 70),  # length - 1
        st.sampled_from([None, *CHANNELS, "z"]),  # "z": a channel not configured
        st.floats(1, 10_000, allow_nan=False),
    ),
    min_size=1,
    max_size=8,
)
lead_rows = st.lists(
    st.tuples(st.integers(0, 150), st.sampled_from([None, *CHANNELS])), max_size=12
)


def tables(costs: list[tuple[int, int, str | None, float]], leads: list[tuple[int, str | None]]):
    c = pd.DataFrame(
        {
            "cost_id": [f"k{i}" for i in range(len(costs))],
            "period_start": [DAY0 + dt.timedelta(days=o) for o, _, _, _ in costs],
            "period_end": [DAY0 + dt.timedelta(days=o + n) for o, n, _, _ in costs],
            "channel": [ch for _, _, ch, _ in costs],
            "campaign": [None] * len(costs),
            "category": ["media"] * len(costs),
            "amount": [a for _, _, _, a in costs],
            "description": [None] * len(costs),
            "batch_no": [1] * len(costs),
            "row_no": list(range(len(costs))),
        }
    )
    created = [
        pd.Timestamp(DAY0 + dt.timedelta(days=o), tz="UTC") + pd.Timedelta(hours=12)
        for o, _ in leads
    ]
    ld = pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(len(leads))],
            "created_at": pd.Series(created, dtype="datetime64[ns, UTC]"),
            "channel": pd.Series([ch for _, ch in leads], dtype=object),
            "row_id": [f"r{i}" for i in range(len(leads))],
            "batch_no": [1] * len(leads),
            "row_no": list(range(len(leads))),
            "imported_at": pd.Series(created, dtype="datetime64[ns, UTC]"),
        }
    )
    schema_c = {
        "cost_id": "string",
        "period_start": "date",
        "period_end": "date",
        "channel": "string",
        "campaign": "string",
        "category": "string",
        "amount": "float64",
        "description": "string",
        "batch_no": "int64",
        "row_no": "int64",
    }
    schema_l = {
        "lead_id": "string",
        "created_at": "timestamp('UTC')",
        "channel": "string",
        "row_id": "string",
        "batch_no": "int64",
        "row_no": "int64",
        "imported_at": "timestamp('UTC')",
    }
    return {
        "costs": ibis.memtable(c, schema=schema_c),
        "leads": ibis.memtable(ld, schema=schema_l),
    }


def reference(costs, leads, start, end, period, rule) -> dict[tuple[dt.date, str], float]:
    """Day by day: each cost's daily amount to the period of the day, then the untagged
    spend of each period moved by the rule."""
    tagged: dict[tuple[dt.date, str], float] = defaultdict(float)
    loose: dict[dt.date, float] = defaultdict(float)
    for o, n, ch, amount in costs:
        for k in range(n + 1):
            day = DAY0 + dt.timedelta(days=o + k)
            if start <= day <= end:
                p = period_start(day, period)
                if ch is None:
                    loose[p] += amount / (n + 1)
                else:
                    tagged[(p, ch)] += amount / (n + 1)
    new: dict[dt.date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for o, ch in leads:
        day = DAY0 + dt.timedelta(days=o)
        if ch is not None and start <= day <= end:
            new[period_start(day, period)][ch] += 1
    out = defaultdict(float, tagged)
    for p, amount in loose.items():
        if rule == "even":
            for ch in CHANNELS:
                out[(p, ch)] += amount / len(CHANNELS)
        elif rule == "by_leads" and new[p]:
            total = sum(new[p].values())
            for ch, k in new[p].items():
                out[(p, ch)] += amount * k / total
        else:
            out[(p, mc.UNALLOCATED)] += amount
    return dict(out)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    costs=cost_rows,
    leads=lead_rows,
    period=st.sampled_from(["day", "week", "month", "quarter"]),
    rule=st.sampled_from(["unallocated", "even", "by_leads"]),
    window=st.tuples(st.integers(0, 100), st.integers(0, 100)),
)
def test_spend_matches_the_daily_reference(con, costs, leads, period, rule, window) -> None:
    start = DAY0 + dt.timedelta(days=window[0])
    end = start + dt.timedelta(days=window[1])
    cfg = ProjectConfig(channels=[Channel(key=k) for k in CHANNELS], costs=Costs(untagged=rule))
    expr = mc.spend_by(tables(costs, leads), cfg, by="channel", start=start, end=end, period=period)
    got = con.execute(expr)
    got_map = {(pd.Timestamp(r.period).date(), r.channel): float(r.spend) for r in got.itertuples()}
    want = reference(costs, leads, start, end, period, rule)
    want = {k: v for k, v in want.items() if abs(v) > 1e-9}
    got_map = {k: v for k, v in got_map.items() if abs(v) > 1e-9}
    assert got_map.keys() == want.keys()
    for k, v in want.items():
        assert got_map[k] == pytest.approx(v, rel=1e-9, abs=1e-6), k
    # allocation moves money, never creates or loses it
    assert sum(got_map.values()) == pytest.approx(sum(want.values()), rel=1e-9, abs=1e-6)
