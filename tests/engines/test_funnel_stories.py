"""Funnel stories: six hand-written journeys, every number computed by hand below.

Runs once per engine (embedded DuckDB and a real PostgreSQL). Time zone Europe/Madrid (CET,
UTC+1 in Jan–Mar 2025), calendar ES-MD: January 2025 has 23 weekdays minus New Year (Wed 1) and
Epiphany (Mon 6) = 21 working days; February 2025 has 20 weekdays and no holiday = 20.
"""

from __future__ import annotations

import pytest

from tests.conftest import config_text, load_journeys, rows_by

STORY = {
    # a clean journey, all the way to customer in March
    "L1": {
        "created": "2025-01-06 10:00",
        "channel": "paid_search",
        "persona": "cfo",
        "stages": [
            ("mql", "2025-01-08 12:00"),
            ("sal", "2025-01-09"),
            ("sql", "2025-02-03 10:00"),
            ("opportunity", "2025-02-10"),
            ("customer", "2025-03-03"),
        ],
    },
    # rejected by sales: disqualified, no budget
    "L2": {
        "created": "2025-01-15",
        "channel": "organic_search",
        "persona": "cto",
        "stages": [("mql", "2025-01-20"), ("disqualified", "2025-01-22", "no_budget")],
    },
    # created 23:30 local on Jan 31 (22:30 UTC); jumps lead -> sql (skips mql and sal)
    "L3": {
        "created": "2025-01-31 23:30",
        "channel": "paid_search",
        "persona": "cfo",
        "stages": [("sql", "2025-02-05")],
    },
    # recycled back to nurture
    "L4": {
        "created": "2025-02-03",
        "channel": "organic_search",
        "persona": "cto",
        "stages": [("mql", "2025-02-04"), ("recycled", "2025-02-06", "bad_timing")],
    },
    # sales-sourced, fast customer
    "L5": {
        "created": "2025-02-10",
        "channel": "sdr_outbound",
        "persona": "cfo",
        "stages": [
            ("mql", "2025-02-11"),
            ("sal", "2025-02-12"),
            ("sql", "2025-02-14"),
            ("opportunity", "2025-02-20"),
            ("customer", "2025-02-28"),
        ],
    },
    # 00:30 local on Feb 1 is Jan 31 23:30 UTC: a February lead in Madrid
    "L6": {"created": "2025-02-01 00:30", "channel": "direct", "persona": "cto"},
}
AS_OF = "2030-01-01"


@pytest.fixture
def ws(engine, make_project):
    w = make_project(engine)
    load_journeys(w, STORY)
    return w


def test_stages_per_month_count_skipped_stages(ws):
    r = ws.report("stages", start="2025-01-01", end="2025-03-31", period="month")
    got = rows_by(r, "period", "stage")
    expected = {
        "2025-01-01": {"lead": 3, "mql": 2, "sal": 1, "sql": 0, "opportunity": 0, "customer": 0},
        "2025-02-01": {"lead": 3, "mql": 3, "sal": 2, "sql": 3, "opportunity": 2, "customer": 1},
        "2025-03-01": {"lead": 0, "mql": 0, "sal": 0, "sql": 0, "opportunity": 0, "customer": 1},
    }
    for period, stages in expected.items():
        for stage, n in stages.items():
            assert got[(period, stage)]["entered"] == n, (period, stage)
    jan, feb = got[("2025-01-01", "lead")], got[("2025-02-01", "lead")]
    assert jan["working_days"] == 21 and feb["working_days"] == 20
    assert jan["per_working_day"] == pytest.approx(3 / 21)
    assert feb["per_working_day"] == pytest.approx(3 / 20)
    assert feb["prev_entered"] == 3
    assert feb["change_per_working_day"] == pytest.approx((3 / 20) / (3 / 21) - 1)
    assert feb["needed_per_working_day"] == pytest.approx(3 / 20)
    assert r.as_dict()["report"] == "stages"
    assert {"period", "stage", "entered", "working_days", "per_working_day"} <= set(r.columns)


def test_stages_without_skipped_stages(engine, make_project):
    w = make_project(
        engine, config_text(engine, **{"count_skipped_stages: true": "count_skipped_stages: false"})
    )
    load_journeys(w, STORY)
    got = rows_by(w.report("stages", start="2025-02-01", end="2025-02-28"), "period", "stage")
    assert got[("2025-02-01", "mql")]["entered"] == 2  # L4, L5 (not L3)
    assert got[("2025-02-01", "sal")]["entered"] == 1  # L5


def test_stages_by_channel(ws):
    r = ws.report("stages", start="2025-02-01", end="2025-02-28", by="channel")
    got = rows_by(r, "stage", "channel")
    assert got[("mql", "paid_search")]["entered"] == 1  # L3, implied by its sql
    assert got[("mql", "organic_search")]["entered"] == 1
    assert got[("mql", "sdr_outbound")]["entered"] == 1
    assert got[("lead", "direct")]["entered"] == 1
    assert got[("sql", "paid_search")]["entered"] == 2  # L1, L3


def test_cohort_conversion_lead_to_customer(ws):
    r = ws.report(
        "conversion",
        from_stage="lead",
        to_stage="customer",
        start="2025-01-01",
        end="2025-02-28",
        as_of=AS_OF,
    )
    got = rows_by(r, "period")
    assert (got["2025-01-01"]["entered"], got["2025-01-01"]["converted"]) == (3, 1)
    assert (got["2025-02-01"]["entered"], got["2025-02-01"]["converted"]) == (3, 1)
    assert got["2025-01-01"]["rate"] == pytest.approx(1 / 3)
    # L1: Jan 6 10:00 -> Mar 3 00:00 = 55 days 14 hours
    assert got["2025-01-01"]["median_days_to_convert"] == pytest.approx(55 + 14 / 24)


def test_cohort_conversion_mql_to_sql_window_and_flow(ws):
    base = dict(from_stage="mql", to_stage="sql", start="2025-01-01", end="2025-02-28", as_of=AS_OF)
    got = rows_by(ws.report("conversion", **base), "period")
    assert (got["2025-01-01"]["entered"], got["2025-01-01"]["converted"]) == (2, 1)
    assert (got["2025-02-01"]["entered"], got["2025-02-01"]["converted"]) == (3, 2)
    assert got["2025-01-01"]["flow_ratio"] == 0  # no sql entered in January
    assert got["2025-02-01"]["flow_entered"] == 3  # L1, L3, L5
    assert got["2025-02-01"]["flow_ratio"] == pytest.approx(1.0)
    # cumulative: Jan leads L1 L2 L3 → sql reached by L1 and L3
    assert got["2025-01-01"]["cumulative_entered"] == 3
    assert got["2025-01-01"]["cumulative_converted"] == 2
    w7 = rows_by(ws.report("conversion", window="7d", **base), "period")
    assert w7["2025-01-01"]["converted"] == 0  # L1 took 26 days
    assert w7["2025-02-01"]["converted"] == 2  # L3 (0 days), L5 (3 days)


def test_cohort_conversion_by_channel(ws):
    r = ws.report(
        "conversion",
        from_stage="mql",
        to_stage="sql",
        start="2025-02-01",
        end="2025-02-28",
        by="channel",
        as_of=AS_OF,
    )
    got = rows_by(r, "channel")
    assert (got["organic_search"]["entered"], got["organic_search"]["converted"]) == (1, 0)
    assert (got["sdr_outbound"]["entered"], got["sdr_outbound"]["converted"]) == (1, 1)
    assert (got["paid_search"]["entered"], got["paid_search"]["converted"]) == (1, 1)


def test_conversion_as_of_before_the_conversion(ws):
    r = ws.report(
        "conversion",
        from_stage="lead",
        to_stage="customer",
        start="2025-02-01",
        end="2025-02-28",
        as_of="2025-02-15",
    )
    assert rows_by(r, "period")["2025-02-01"]["converted"] == 0


def test_velocity(ws):
    r = ws.report("velocity", start="2025-01-01", end="2025-03-31", as_of=AS_OF)
    got = rows_by(r, "stage")
    lead = got["lead"]
    # L1 2d2h, L2 5d, L3 4d30min (to its sql), L4 1d, L5 1d; L6 is open
    days = sorted([2 + 2 / 24, 5, 4 + 0.5 / 24, 1, 1])
    assert lead["left"] == 5 and lead["open"] == 1
    assert lead["median_days"] == pytest.approx(days[2])
    assert lead["mean_days"] == pytest.approx(sum(days) / 5)
    mql = got["mql"]
    assert (mql["left"], mql["closed"], mql["open"]) == (2, 2, 0)
    assert mql["median_days"] == pytest.approx((0.5 + 1) / 2)
    sal = got["sal"]
    assert sal["median_days"] == pytest.approx((25 + 10 / 24 + 2) / 2)
    assert (got["sql"]["left"], got["sql"]["open"]) == (2, 1)
    assert got["opportunity"]["median_days"] == pytest.approx((21 + 8) / 2)


def test_acceptance_and_sql_quality(ws):
    r = ws.report("acceptance", start="2025-01-01", end="2025-02-28")
    got = rows_by(r, "period")
    jan, feb = got["2025-01-01"], got["2025-02-01"]
    assert (jan["mqls"], jan["accepted"], jan["rejected"], jan["pending"]) == (2, 1, 1, 0)
    assert jan["acceptance_rate"] == pytest.approx(0.5)
    assert (feb["mqls"], feb["accepted"], feb["rejected"]) == (3, 2, 1)
    assert feb["acceptance_rate"] == pytest.approx(2 / 3)
    assert (feb["sqls"], feb["sqls_rejected"], feb["sql_quality"]) == (3, 0, 1.0)
    reasons = rows_by(
        ws.report("acceptance", start="2025-01-01", end="2025-02-28", by="reason"),
        "period",
        "reason",
    )
    assert reasons[("2025-01-01", "no_budget")]["rejected"] == 1
    assert reasons[("2025-02-01", "bad_timing")]["rejected"] == 1
    assert reasons[("2025-02-01", "bad_timing")]["share"] == pytest.approx(1.0)


def test_sourced_share(ws):
    r = ws.report("sourced", start="2025-01-01", end="2025-03-31", period="quarter")
    q1 = rows_by(r, "period")["2025-01-01"]
    assert (q1["customers"], q1["marketing_sourced"], q1["sales_sourced"]) == (2, 1, 1)
    assert q1["marketing_share"] == pytest.approx(0.5)
    assert (q1["band_low"], q1["band_high"], q1["band_status"]) == (0.4, 0.8, "within")


def test_durations_across_the_dst_change_are_real_elapsed_time(engine, make_project):
    """Madrid moves to summer time on Sun 30 Mar 2025: from Fri 28 Mar 12:00 (UTC+1) to
    Mon 31 Mar 12:00 (UTC+2) is 2 days 23 hours, not 3 days."""
    w = make_project(engine)
    load_journeys(
        w,
        {
            "D1": {
                "created": "2025-03-28 12:00",
                "channel": "email",
                "stages": [("mql", "2025-03-31 12:00")],
            }
        },
    )
    lead = rows_by(
        w.report("velocity", start="2025-03-01", end="2025-03-31", as_of=AS_OF), "stage"
    )["lead"]
    assert lead["median_days"] == pytest.approx(2 + 23 / 24, abs=1e-9)
    conv = rows_by(
        w.report(
            "conversion",
            from_stage="lead",
            to_stage="mql",
            start="2025-03-01",
            end="2025-03-31",
            as_of=AS_OF,
            window="71h",
        ),
        "period",
    )["2025-03-01"]
    assert conv["converted"] == 1  # 71 h elapsed: inside a 71-hour window
    assert conv["median_days_to_convert"] == pytest.approx(71 / 24, abs=1e-9)


def test_a_blank_breakdown_value_is_a_group_of_its_own(engine, make_project):
    """Two leads without a channel: they are counted under channel None, not dropped (a plain
    join on NULL keys would give them 0)."""
    w = make_project(engine)
    load_journeys(
        w,
        {
            "N1": {"created": "2025-01-07", "stages": [("mql", "2025-01-08")]},
            "N2": {"created": "2025-01-09"},
            "P1": {"created": "2025-01-10", "channel": "email", "stages": [("mql", "2025-01-13")]},
        },
    )
    stages = rows_by(
        w.report("stages", start="2025-01-01", end="2025-01-31", by="channel"), "stage", "channel"
    )
    assert stages[("lead", None)]["entered"] == 2
    assert stages[("mql", None)]["entered"] == 1
    assert stages[("mql", "email")]["entered"] == 1
    conv = rows_by(
        w.report(
            "conversion",
            from_stage="lead",
            to_stage="mql",
            start="2025-01-01",
            end="2025-01-31",
            by="channel",
            as_of=AS_OF,
        ),
        "channel",
    )
    assert (conv[None]["entered"], conv[None]["converted"]) == (2, 1)
    assert (conv["email"]["entered"], conv["email"]["converted"]) == (1, 1)
    acc = rows_by(
        w.report("acceptance", start="2025-01-01", end="2025-01-31", by="channel"), "channel"
    )
    assert acc[None]["mqls"] == 1 and acc[None]["pending"] == 1
