"""Report parameters: --from mid-period, --as-of in the project's time zone, default stages,
reports that need named stages, init over an existing project."""

from __future__ import annotations

import pytest

from leadledger.errors import InvalidArgument, ProjectExists, UnknownStage
from leadledger.service import init_project
from tests.conftest import config_text, load_journeys, rows_by, write_csv
from tests.engines.test_funnel_stories import STORY


@pytest.fixture
def ws(make_project):
    w = make_project()
    load_journeys(w, STORY)
    return w


def test_from_mid_period_counts_whole_periods(ws):
    """--from 2025-01-16 with months: January is counted whole (3 leads over its 21 working
    days), never 3 leads over the 12 working days left after the 16th."""
    r = ws.report("stages", start="2025-01-16", end="2025-02-28", period="month")
    jan = rows_by(r, "period", "stage")[("2025-01-01", "lead")]
    assert jan["entered"] == 3
    assert jan["working_days_elapsed"] == 21
    assert jan["per_working_day"] == pytest.approx(3 / 21)
    assert any("moved to the start of its month" in n for n in r.notes)


def test_as_of_without_offset_is_project_local_time(ws):
    """L1 became a customer on 2025-03-03 00:00 Madrid = 2025-03-02 23:00 UTC."""

    def converted(as_of: str) -> int:
        r = ws.report(
            "conversion",
            from_stage="lead",
            to_stage="customer",
            start="2025-01-01",
            end="2025-01-31",
            as_of=as_of,
        )
        return rows_by(r, "period")["2025-01-01"]["converted"]

    assert converted("2025-03-02T23:30") == 0  # 22:30 UTC: not yet
    assert converted("2025-03-03T00:30") == 1
    assert converted("2025-03-02") == 0  # a bare date is the end of that local day
    assert converted("2025-03-03") == 1
    assert converted("2025-03-02T23:30:00+00:00") == 1  # an explicit offset is kept


@pytest.mark.parametrize("bad", ["NaT", " ", "soon"])
def test_as_of_that_is_no_time_is_a_typed_error(ws, bad):
    """pandas reads 'NaT' and a blank as a missing time: refused like any non-date, not passed on
    to crash in a comparison (sla, alerts, decay)."""
    with pytest.raises(InvalidArgument, match="is not a date or time"):
        ws.report("sla", as_of=bad)


def test_conversion_defaults_to_the_last_stage_and_visitor_to_lead(ws, tmp_path):
    r = ws.report("conversion", start="2025-01-01", end="2025-01-31", as_of="2030-01-01")
    assert r.params["to_stage"] == "customer"
    traffic = write_csv(
        tmp_path / "traffic.csv",
        [
            {"day": "2025-01-10", "channel": "email", "visits": 120},
            {"day": "2025-01-11", "channel": "email", "visits": 30},
        ],
    )
    ws.import_files("traffic", [traffic])
    v = ws.report(
        "conversion", from_stage="visitor", start="2025-01-01", end="2025-01-31", period="month"
    )
    assert v.params["to_stage"] == "lead"
    row = rows_by(v, "period")["2025-01-01"]
    assert (row["entered"], row["converted"]) == (150, 3)  # 3 January leads ÷ 150 visits
    assert row["rate"] == pytest.approx(3 / 150)


def test_reports_that_need_named_stages_say_so(make_project):
    text = (
        config_text()
        .replace("  - key: sal\n", "  - key: accepted_by_sales\n")
        .replace(
            "source_values: [sales accepted lead, accepted]", "source_values: [sales accepted lead]"
        )
    )
    w = make_project(text=text)
    with pytest.raises(UnknownStage) as info:
        w.report("acceptance")
    assert "needs the stage(s) sal" in info.value.message
    assert "accepted_by_sales" in (info.value.hint or "")


def test_init_over_an_existing_project(tmp_path):
    init_project(tmp_path / "p")
    with pytest.raises(ProjectExists) as info:
        init_project(tmp_path / "p")
    assert info.value.code == "project_exists"
    init_project(tmp_path / "p", force=True)


def test_a_pql_stands_in_for_an_mql_only_where_the_project_says_so(make_project, tmp_path):
    rows = [{"lead_id": "L1", "stage": "PQL", "entered_at": "2025-01-08"}]
    default = make_project(name="default")
    load_journeys(default, {"L1": {"created": "2025-01-07"}})
    result = default.import_files("stages", [write_csv(tmp_path / "pql.csv", rows)])
    assert (result.accepted, result.rejected) == (0, 1)
    text = config_text().replace(
        "source_values: [marketingqualifiedlead, marketing qualified lead]",
        "source_values: [marketingqualifiedlead, marketing qualified lead, pql]",
    )
    opted = make_project(text=text, name="opted_in")
    load_journeys(opted, {"L1": {"created": "2025-01-07"}})
    result = opted.import_files("stages", [write_csv(tmp_path / "pql.csv", rows)])
    assert (result.accepted, result.rejected) == (1, 0)
    got = rows_by(opted.report("stages", start="2025-01-01", end="2025-01-31"), "stage")
    assert got["mql"]["entered"] == 1
