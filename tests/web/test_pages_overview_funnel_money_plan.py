"""Overview, Funnel & conversion, Money and Plan pages: every number on the page is the façade's
for the same parameters (read back from the ``data-value`` attributes)."""

from __future__ import annotations

import math
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient

from leadledger.formatting import period_label
from leadledger.reports.result import Report, plain
from leadledger.service import Workspace
from leadledger.web.pages._shared import current_rows

HTML = {"accept": "text/html"}


class Cells(HTMLParser):
    """Tables (``data-table``) → rows of {key: data-value}; KPI cards (``data-kpi``) → values."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[dict[str, str]]] = {}
        self.cards: dict[str, dict[str, str]] = {}
        self.csv: list[str] = []
        self._table: str | None = None
        self._card: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "table" and "data-table" in a:
            self._table = a["data-table"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append({})
        elif tag == "td" and self._table is not None and "data-key" in a:
            self.tables[self._table][-1][a["data-key"]] = a.get("data-value", "")
        elif tag == "div" and "data-kpi" in a:
            self._card = a["data-kpi"]
            self.cards[self._card] = {}
        elif tag == "div" and self._card is not None and "data-value" in a:
            self.cards[self._card][a.get("data-key", "value")] = a["data-value"]
        elif tag == "a" and "csv" in a.get("class", ""):
            self.csv.append(a.get("href", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        if tag == "section":
            self._card = None


def parse(client: TestClient, url: str, status: int = 200) -> Cells:
    r = client.get(url, headers=HTML)
    assert r.status_code == status, r.text[:500]
    p = Cells()
    p.feed(r.text)
    for rows in p.tables.values():
        rows[:] = [row for row in rows if row]  # the header row has no cells
    return p


def same(page: str, value: Any) -> bool:
    v = plain(value)
    if v is None:
        return page in ("", "None")
    if isinstance(v, bool):
        return page == str(v)
    if isinstance(v, (int, float)):
        return math.isclose(float(page), float(v), rel_tol=1e-9, abs_tol=1e-12)
    return page == str(v)


def assert_rows(page_rows: list[dict[str, str]], report: Report | Any, columns: list[str]) -> None:
    frame = report.frame if isinstance(report, Report) else report
    expected = frame.to_dict(orient="records")
    assert len(page_rows) == len(expected) and expected
    for got, want in zip(page_rows, expected, strict=True):
        for c in columns:
            assert same(got[c], want[c]), (c, got[c], want[c])


def test_period_label_and_current_rows(demo_ws: Workspace) -> None:
    assert period_label("2026-10-01", "month") == "Oct 2026"
    assert period_label("2026-10-01", "quarter") == "Q4 2026"
    assert period_label("2026-01-01", "year") == "2026"
    assert period_label("2026-10-26", "week") == "week of 2026-10-26"
    stages = demo_ws.report("stages", period="month").frame
    now = current_rows(stages)
    assert set(now["period"]) == {stages["period"].max()}
    assert list(now["stage"]) == list(demo_ws.cfg.stage_keys)


@pytest.mark.parametrize("query", ["", "?period=quarter", "?period=month&by=channel"])
def test_overview_numbers_are_the_facades(client: TestClient, demo_ws: Workspace, query: str):
    page = parse(client, "/overview" + query)
    period = "quarter" if "quarter" in query else "month"
    stages = demo_ws.report("stages", period=period)
    assert_rows(page.tables["stages"], stages, stages.table_columns or [])
    # the cards: the last period's entries, per working day and change; the goal's pace
    now = current_rows(stages.frame).set_index("stage")
    pace = demo_ws.report("pace", as_of=stages.params["to"], period=period).frame.set_index("stage")
    for stage in ("lead", "mql", "sql", "customer"):
        card = page.cards[stage]
        assert same(card["value"], now.loc[stage, "entered"])
        assert same(card["per_working_day"], now.loc[stage, "per_working_day"])
        assert same(card["change_per_working_day"], now.loc[stage, "change_per_working_day"])
        assert same(card["projected_share"], pace.loc[stage, "projected_share"])
    sourced = demo_ws.report("sourced", period=period)
    assert_rows(page.tables["sourced"], sourced, ["period", "customers", "marketing_share"])
    assert same(page.cards["marketing_share"]["value"], sourced.frame["marketing_share"].iloc[-1])
    assert any(h.startswith("/api/v1/reports/stages?") and "format=csv" in h for h in page.csv)


def test_a_filter_changes_the_data(client: TestClient, demo_ws: Workspace) -> None:
    a = parse(client, "/overview")
    b = parse(client, "/overview?from=2026-04-01&to=2026-06-30&period=month")
    assert a.tables["stages"] != b.tables["stages"]
    assert {r["period"] for r in b.tables["stages"]} == {"2026-04-01", "2026-05-01", "2026-06-01"}
    want = demo_ws.report("stages", start="2026-04-01", end="2026-06-30", period="month")
    assert_rows(b.tables["stages"], want, ["period", "stage", "entered", "per_working_day"])


def test_funnel_page(client: TestClient, demo_ws: Workspace) -> None:
    page = parse(client, "/funnel?by=channel&from_stage=mql&to_stage=sql")
    stages = demo_ws.report("stages", period="month", by="channel")
    assert_rows(page.tables["stages"], stages, ["period", "stage", "channel", "entered"])
    conv = demo_ws.report(
        "conversion", from_stage="mql", to_stage="sql", period="month", by="channel"
    )
    assert_rows(page.tables["conversion"], conv, ["period", "channel", "entered", "rate"])
    vel = demo_ws.report("velocity", by="channel")
    assert_rows(page.tables["velocity"], vel, ["stage", "channel", "median_days"])
    plain_page = parse(client, "/funnel")
    assert len(plain_page.tables["stages"]) < len(page.tables["stages"])


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_money_page(client: TestClient, demo_ws: Workspace) -> None:
    page = parse(client, "/money?model=first_touch")
    costs = demo_ws.report("costs", period="month", by="channel")
    assert_rows(page.tables["costs"], costs, ["period", "channel", "spend", "cost_per_lead"])
    assert_rows(page.tables["cost-totals"], costs.extra["totals"][1], ["channel", "cac"])
    roi = demo_ws.report("roi", model="first_touch", by="channel")
    assert_rows(page.tables["roi"], roi, ["channel", "spend", "attributed_revenue", "roi"])
    compare = demo_ws.report("attribution", compare=True, by="channel")
    assert_rows(page.tables["compare"], compare, list(compare.frame.columns))
    linear = parse(client, "/money?model=linear")
    assert linear.tables["roi"] != page.tables["roi"]
    assert any("model=first_touch" in h for h in page.csv)


def test_plan_form_computes(client: TestClient, demo_ws: Workspace) -> None:
    url = "/plan?revenue=1000000&close_rate=0.25&plan_from=2027-01-01&set=close_rate%3D%2B2pt"
    page = parse(client, url)
    plan = demo_ws.report("plan", revenue="1000000", close_rate="0.25", start="2027-01-01")
    assert_rows(page.tables["plan"], plan, ["stage", "count", "per_working_day", "rate"])
    wi = demo_ws.report("whatif", overrides=["close_rate=+2pt"])
    assert_rows(page.tables["whatif"], wi, ["metric", "baseline", "scenario"])
    assert_rows(page.tables["whatif-sensitivity"], wi.extra["sensitivity"][1], ["lever"])
    # the demo's saved goal is paced up to the last day with data
    to = demo_ws.report("stages").params["to"]
    pace = demo_ws.report("pace", as_of=to, period="month")
    assert_rows(page.tables["pace"], pace, ["stage", "target", "actual"])
    # without a revenue target: no plan, still pacing and what-if
    empty = parse(client, "/plan")
    assert "plan" not in empty.tables and "pace" in empty.tables


def test_bad_input_is_a_typed_4xx(client: TestClient) -> None:
    for url, code in [
        ("/overview?by=nope", "unknown_field"),
        ("/funnel?from=2026-13-01", "invalid_argument"),
        ("/money?period=fortnight", "invalid_argument"),
        ("/money?model=nope", "unknown_model"),
        ("/funnel?to_stage=nope", "unknown_stage"),
    ]:
        r = client.get(url, headers=HTML)
        assert 400 <= r.status_code < 500, (url, r.status_code)
        assert r.json()["error"]["code"] == code, (url, r.json())
    r = client.get("/plan?revenue=-5", headers=HTML)
    assert r.status_code == 400 and 'data-error="invalid_argument"' in r.text


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_pages_handle_an_empty_project(make_project: Any) -> None:
    from leadledger.web.app import create_app

    ws = make_project()
    with TestClient(create_app(ws.project_dir, auth=False, ws=ws)) as c:
        for url in ("/overview", "/funnel", "/money", "/plan"):
            r = c.get(url, headers=HTML)
            assert r.status_code == 200, (url, r.status_code, r.text[:300])
            assert 'class="notes"' in r.text
        # nothing to measure the rates on: the form says so, typed, in the page
        r = c.get("/plan?revenue=100000", headers=HTML)
        assert r.status_code == 400 and "data-error=" in r.text
