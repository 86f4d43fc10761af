"""Pipeline health, Scoring, Experiments, Data and the Executive report: every number on the
page is the façade's for the same parameters (read back from ``data-value``), the score
distribution and the executive report are checked against plain-pandas references, and the
exported report is one self-contained file (HTML) or a real PDF."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from leadledger.cli.main import main as cli_main
from leadledger.reports.result import Report, plain
from leadledger.service import Workspace
from leadledger.web import executive
from leadledger.web.app import create_app
from tests.conftest import config_text, load_journeys, write_csv

HTML = {"accept": "text/html"}
HAS_CHROMIUM = executive.find_chromium() is not None


class Page(HTMLParser):
    """Tables (``data-table``) → rows of {data-key: data-value}; KPI cards → their value; the
    CSV links."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[dict[str, str]]] = {}
        self.kpis: dict[str, str] = {}
        self.links: list[str] = []
        self._table: str | None = None
        self._card: str | None = None
        self._value = False
        self._text: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "table" and "data-table" in a:
            self._table = a["data-table"]
            self.tables[self._table] = []
        elif tag == "tbody" and self._table is not None:
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append({})
        elif tag == "td" and self._table is not None and "data-key" in a:
            self.tables[self._table][-1][a["data-key"]] = a.get("data-value", "")
        elif tag == "div" and "data-kpi" in a:
            if "data-value" in a:  # the executive report's cards carry the raw value
                self.kpis[a["data-kpi"]] = a["data-value"]
            self._card = a["data-kpi"]
        elif tag == "div" and a.get("class") == "value" and self._card:
            self._value = True
        elif tag == "a":
            self.links.append(a.get("href", ""))

    def handle_data(self, data: str) -> None:
        if self._value and self._card:
            self._text[self._card] = data.strip()
            self._value = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            if self._table is not None:
                self.tables[self._table] = [r for r in self.tables[self._table] if r]
            self._table = None


def get(client: TestClient, url: str, status: int = 200) -> Page:
    r = client.get(url, headers=HTML)
    assert r.status_code == status, r.text[:500]
    p = Page()
    p.feed(r.text)
    return p


def cell(value: Any) -> str:
    """What the template writes in ``data-value`` for a report value."""
    v = plain(value)
    return "" if v is None else str(v)


def assert_table(rows: list[dict[str, str]], frame: pd.DataFrame, columns: list[str]) -> None:
    assert len(rows) == len(frame), (len(rows), len(frame))
    for got, want in zip(rows, frame[columns].to_dict(orient="records"), strict=True):
        for c in columns:
            v = plain(want[c])
            if isinstance(v, float) and not isinstance(v, bool):
                # the same sum in another run may differ in its last bits (attribution credit)
                assert float(got[c]) == pytest.approx(v, rel=1e-9, abs=1e-12), (c, got[c], v)
            else:
                assert got[c] == cell(want[c]), (c, got[c], want[c])


def last_day(ws: Workspace) -> str:
    return str(ws.report("stages").params["to"])


# -- every page renders, with and without filters ----------------------------------------------
PAGES = ["/health", "/scoring", "/experiments", "/data", "/executive"]
FILTERS = ["", "?from=2026-01-01&to=2026-06-30&period=quarter&by=channel"]


@pytest.mark.parametrize("query", FILTERS)
@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders(client: TestClient, path: str, query: str) -> None:
    r = client.get(path + query, headers=HTML)
    assert r.status_code == 200, r.text[:500]
    assert 'id="filters"' in r.text  # the filter bar
    assert "Traceback" not in r.text


def test_pages_refuse_a_bad_filter(client: TestClient) -> None:
    for path in PAGES:
        r = client.get(path + "?from=yesterday", headers=HTML)
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_argument"


# -- Pipeline health ---------------------------------------------------------------------------
@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_health_numbers_are_the_facades(
    client: TestClient, demo_ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leadledger.planning import alerts as delivery

    def never(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("the dashboard must not send alerts")

    monkeypatch.setattr(delivery, "send_alerts", never)
    as_of = f"{last_day(demo_ws)} 18:00"
    r = client.get(f"/health?as_of={as_of}&period=quarter", headers=HTML)
    assert r.status_code == 200, r.text[:500]
    page = Page()
    page.feed(r.text)
    breaches = demo_ws.report("sla", view="breaches", period="quarter", as_of=as_of)
    assert len(breaches.frame) > 0, "the demo should have open breaches"
    first_page = breaches.frame.head(50)  # one page of at most 50, in the façade's order
    assert_table(page.tables["sla-breaches"], first_page, breaches.table_columns or [])
    for b in ("owner", "channel"):
        rates = demo_ws.report("sla", view="rates", period="quarter", by=b, as_of=as_of)
        cols = rates.table_columns or list(rates.frame.columns)
        assert_table(page.tables[f"sla-rates-{b}"], rates.frame, cols)
    decay = demo_ws.report("decay", as_of=as_of)
    assert_table(page.tables["decay"], decay.frame, decay.table_columns or list(decay.frame))
    for key, (_title, frame) in decay.extra.items():
        assert_table(page.tables[f"decay-{key}"], frame, list(frame.columns))
    alerts = demo_ws.report("alerts", as_of=as_of)
    assert len(alerts.frame) > 0 and set(alerts.frame["status"]) == {"new"}
    # the page shows the first 50 alerts in the report's order (the CSV has them all)
    assert_table(page.tables["alerts"], alerts.frame.head(50), alerts.table_columns or [])
    # the decay curve chart carries its interval; every table has its CSV link
    assert 'data-chart="decay-curve"' in r.text and '"ci_high"' in r.text
    csv = [x for x in page.links if x.startswith("/api/v1/")]
    assert len([x for x in csv if "format=csv" in x]) == len(page.tables)
    breach_csv = next(x for x in csv if x.startswith("/api/v1/sla?") and "view=breaches" in x)
    assert any(x.startswith("/api/v1/decay?") and "table=curve" in x for x in csv)
    got = client.get(breach_csv)
    if got.status_code != 404:  # GET /api/v1/sla is the API's (tests/web/test_api_reports.py)
        assert got.status_code == 200
        body = pd.read_csv(io.StringIO(got.text))
        assert len(body) == len(breaches.frame)  # the CSV has every breach, not one page
        assert list(body["lead_id"])[:50] == [row["lead_id"] for row in page.tables["sla-breaches"]]


class Pager(HTMLParser):
    """The open-breaches pager: its data attributes, text and links."""

    def __init__(self) -> None:
        super().__init__()
        self.attrs: dict[str, str] = {}
        self.text = ""
        self.links: list[str] = []
        self._in = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "nav" and a.get("data-pager") == "sla-breaches":
            self.attrs, self._in = a, True
        elif tag == "a" and self._in:
            self.links.append(a.get("href", ""))

    def handle_data(self, data: str) -> None:
        if self._in:
            self.text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav":
            self._in = False


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_health_breaches_are_paged_most_late_first(client: TestClient, demo_ws: Workspace) -> None:
    """At most 50 breaches per page, in the CLI's order (per SLA, the most late first), with
    "showing a–b of N", page links that keep the filters, and the CSV link with all of them."""
    as_of = f"{last_day(demo_ws)} 18:00"
    breaches = demo_ws.report("sla", view="breaches", period="quarter", as_of=as_of).frame
    n = len(breaches)
    assert n > 100, "the demo should have more than two pages of open breaches"
    # the CLI's order, checked in plain pandas: by SLA, then late_by descending, then lead id
    want = breaches.sort_values(
        ["sla", "late_by", "lead_id"], ascending=[True, False, True], kind="stable"
    )
    assert list(want["lead_id"]) == list(breaches["lead_id"])
    pages = -(-n // 50)
    base = f"/health?as_of={as_of}&period=quarter&by=owner"
    for number, first in ((1, 0), (2, 50), (pages, (pages - 1) * 50)):
        r = client.get(base + (f"&page={number}" if number > 1 else ""), headers=HTML)
        assert r.status_code == 200, r.text[:300]
        page, nav = Page(), Pager()
        page.feed(r.text)
        nav.feed(r.text)
        shown = page.tables["sla-breaches"]
        rows = breaches.iloc[first : first + 50]
        assert len(shown) == len(rows) == min(50, n - first)
        assert [x["lead_id"] for x in shown] == list(rows["lead_id"])
        assert nav.attrs["data-page"] == str(number)
        assert nav.attrs["data-pages"] == str(pages)
        assert f"showing {first + 1:,}–{first + len(rows):,} of {n:,}" in nav.text
        # every page link keeps the filters; the CSV link (all breaches) sits beside them
        pages_links = [x for x in nav.links if x.startswith("/health?")]
        assert pages_links and all(
            "period=quarter" in x and "by=owner" in x and "as_of=" in x for x in pages_links
        )
        breach_csv = [x for x in page.links if x.startswith("/api/v1/sla?") and "view=breach" in x]
        assert len(breach_csv) == 1 and "format=csv" in breach_csv[0]
        assert "page" not in breach_csv[0]  # the CSV is every breach, whatever the page
        if number < pages:
            assert any(f"page={number + 1}" in x for x in pages_links)
    # the card counts every breach, not the page
    assert page._text["open_breaches"] == f"{n:,}"
    assert get(client, base + "&page=9999").tables["sla-breaches"][-1]["lead_id"] == str(
        breaches["lead_id"].iloc[-1]
    )  # past the last page: the last page
    assert client.get(base + "&page=0", headers=HTML).status_code == 422


# -- Scoring -----------------------------------------------------------------------------------
def reference_scores(ws: Workspace) -> tuple[pd.Timestamp, pd.Series]:
    """Plain pandas: the latest run's Σ points per lead, 0 for leads without ledger rows."""
    ev = ws.store.execute(ws.store.table("score_events"))
    as_of = pd.Timestamp(ev["as_of"].max())
    run = ev[ev["as_of"] == as_of]
    leads = ws.store.execute(ws.store.table("leads"))
    created = pd.to_datetime(leads.groupby("lead_id")["created_at"].min(), utc=True)
    ids = created[created <= as_of].index
    scores = run.groupby("lead_id")["points"].sum().reindex(ids, fill_value=0.0)
    return as_of, scores


def test_score_distribution_matches_a_pandas_reference(demo_ws: Workspace) -> None:
    as_of, scores = reference_scores(demo_ws)
    rep = demo_ws.report("score_distribution", bin_width=5)
    assert rep.params["as_of"] == as_of
    assert rep.params["leads"] == len(scores) > 0
    bins = (np.floor(scores / 5) * 5).value_counts().sort_index()
    got = rep.frame.set_index("bin_from")["leads"]
    assert dict(got) == {float(k): int(v) for k, v in bins.items()}
    assert rep.frame["share"].sum() == pytest.approx(1.0)
    thr = demo_ws.cfg.scoring.threshold  # type: ignore[union-attr]
    assert rep.params["over_threshold"] == int((scores >= thr).sum())
    assert rep.params["median"] == pytest.approx(float(scores.median()))
    # a lead's score is the one `score explain` shows for the same run
    for lead in list(scores.sort_values().index[[0, len(scores) // 2, -1]]):
        ex = demo_ws.report("score_explain", lead_id=lead)
        assert ex.params["score"] == pytest.approx(float(scores[lead]), abs=1e-6)


def test_scoring_page(client: TestClient, demo_ws: Workspace) -> None:
    dist = demo_ws.report("score_distribution")
    bt = demo_ws.report("score_backtest")
    page = get(client, "/scoring")
    assert_table(page.tables["score-distribution"], dist.frame, list(dist.frame.columns))
    assert_table(page.tables["score-backtest"], bt.frame, list(bt.frame.columns))
    deciles = bt.extra["deciles"][1]
    assert_table(page.tables["score-backtest-deciles"], deciles, list(deciles.columns))
    assert "score-explain" not in page.tables
    assert "/api/v1/score/distribution?format=csv" in page.links
    csv = client.get("/api/v1/score/distribution?format=csv")
    assert csv.status_code == 200
    assert pd.read_csv(io.StringIO(csv.text))["leads"].tolist() == list(dist.frame["leads"])


def test_one_leads_explanation(client: TestClient, demo_ws: Workspace) -> None:
    _, scores = reference_scores(demo_ws)
    lead = str(scores.idxmax())
    ex = demo_ws.report("score_explain", lead_id=lead)
    page = get(client, f"/scoring?lead={lead}")
    assert_table(page.tables["score-explain"], ex.frame, list(ex.frame.columns))
    assert float(page.tables["score-explain"][-1]["total"]) == pytest.approx(scores[lead])


def test_an_unknown_lead_is_a_typed_404(client: TestClient) -> None:
    r = client.get("/scoring?lead=NO-SUCH-LEAD", headers=HTML)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "lead_not_found"


# -- Experiments -------------------------------------------------------------------------------
def test_experiments_page_shows_groups_lift_and_interval(make_project: Any) -> None:
    from tests.experiments.test_story import AS_OF, EXPERIMENTS, STORY

    ws = make_project(text=config_text(**{"experiments: []": EXPERIMENTS}))
    load_journeys(ws, STORY)
    with TestClient(create_app(ws.project_dir, auth=False, ws=ws)) as c:
        page = get(c, f"/experiments?as_of={AS_OF}")
        html = c.get(f"/experiments?as_of={AS_OF}", headers=HTML).text
    for name in ("nurture", "webinar", "everyone"):
        rep = ws.report("experiment_report", name=name, as_of=AS_OF)
        assert_table(page.tables[f"experiment-{name}"], rep.frame, list(rep.frame.columns))
    # the hand-worked story (tests/experiments/test_story.py): 4 leads a group, sal 2 vs 3
    sal = next(r for r in page.tables["experiment-nurture"] if r["stage"] == "sal")
    assert (sal["control_leads"], sal["test_leads"]) == ("4", "4")
    assert (sal["control_converted"], sal["test_converted"]) == ("2", "3")
    assert 'data-chart="lift-nurture"' in html and '"ci_low"' in html


# -- Data --------------------------------------------------------------------------------------
def test_data_page_numbers_are_the_facades(client: TestClient, demo_ws: Workspace) -> None:
    page = get(client, "/data")
    imports = demo_ws.report("imports")
    assert_table(page.tables["imports"], imports.frame, list(imports.frame.columns))
    totals = imports.extra["quarantine"][1]
    assert_table(page.tables["imports-quarantine"], totals, list(totals.columns))
    check = demo_ws.report("check")
    cols = check.table_columns or list(check.frame.columns)
    assert_table(page.tables["check"], check.frame, cols)
    assert "/api/v1/check?format=csv" in page.links


def test_data_page_shows_quarantined_rows(make_project: Any, tmp_path: Path) -> None:
    ws = make_project()
    good = {"lead_id": "A", "created_at": "2025-01-07 10:00", "channel": "paid_search"}
    bad = {"lead_id": "B", "created_at": "not a date", "channel": "paid_search"}
    leads = write_csv(tmp_path / "leads.csv", [good, bad])
    result = ws.import_files("leads", [leads])
    assert (result.accepted, result.rejected) == (1, 1)
    with TestClient(create_app(ws.project_dir, auth=False, ws=ws)) as c:
        page = get(c, "/data")
        batch = int(ws.report("imports").frame["batch_no"].iloc[0])
        rows = page.tables[f"quarantine-{batch}"]
        assert len(rows) == 1 and rows[0]["_value"] == "not a date"
        assert rows[0]["lead_id"] == "B"
        r = c.get(f"/data/quarantine/{batch}.csv")
        assert r.status_code == 200
        assert "not a date" in r.text
        assert c.get("/data/quarantine/999.csv").status_code == 400
    assert page.tables["imports"][0]["rejected"] == "1"


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_an_empty_project_gets_notes_not_crashes(make_project: Any) -> None:
    ws = make_project()
    with TestClient(create_app(ws.project_dir, auth=False, ws=ws)) as c:
        texts = {}
        for path in PAGES:
            r = c.get(path, headers=HTML)
            assert r.status_code == 200, (path, r.text[:300])
            texts[path] = r.text
    assert "no experiment configured" in texts["/experiments"]
    if ws.cfg.scoring is None:
        assert "no scoring rules" in texts["/scoring"]
    else:
        assert "no scoring run recorded yet" in texts["/scoring"]
        rep = ws.report("score_distribution")
        assert rep.frame.empty and rep.params["leads"] == 0
    assert "no quarantined rows" in texts["/data"]
    rep = ws.report("executive")
    assert len(rep.frame) == 7
    html = executive.document(rep, project="empty", currency="EUR")
    assert "no data in this range" in html
    assert all(math.isnan(v) or v == 0 for v in rep.frame["total"].astype(float))


# -- Executive report --------------------------------------------------------------------------
def run_cli(*args: str) -> int:
    return cli_main(list(args))


def exec_query(ws: Workspace) -> dict[str, str]:
    """Six whole months ending on the demo's last day with data."""
    end = dt.date.fromisoformat(last_day(ws))
    month = end.year * 12 + end.month - 1 - 5
    start = dt.date(month // 12, month % 12 + 1, 1)
    return {"from": start.isoformat(), "to": end.isoformat()}


@pytest.fixture(scope="module")
def exec_report(demo_ws: Workspace) -> tuple[dict[str, str], Report]:
    """The façade's executive report of six months of the demo (computed once)."""
    q = exec_query(demo_ws)
    return q, demo_ws.report("executive", start=q["from"], end=q["to"])


def same_rows(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    """JSON rows equal; floats to 1e-9 (sums over attribution credit may differ in the last
    bits between two runs)."""
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.keys() == w.keys()
        for k in w:
            if isinstance(w[k], float) and isinstance(g[k], float):
                assert g[k] == pytest.approx(w[k], rel=1e-9), k
            else:
                assert g[k] == w[k], k


def kpi_values(rep: Report) -> dict[str, Any]:
    """The value each card shows: ``latest`` or ``total`` as the card says (data-field)."""
    return {str(r["key"]): r for r in rep.frame.to_dict(orient="records")}


def test_executive_keys_are_the_cli_reports(
    demo_ws: Workspace, exec_report: tuple[dict[str, str], Report]
) -> None:
    q, rep = exec_report
    keys = kpi_values(rep)
    assert list(keys) == [
        "lead_goal",
        "traffic",
        "leads_per_working_day",
        "marketing_customers",
        "mqls_by_persona",
        "lead_to_customer",
        "roi",
    ]
    common = {"start": q["from"], "end": q["to"], "period": "month"}
    # traffic: visits per month, from the traffic file itself (plain pandas)
    traffic = pd.read_csv(demo_ws.project_dir / "traffic.csv")
    day = pd.to_datetime(traffic["day"]).dt.date
    inside = traffic[
        (day >= dt.date.fromisoformat(q["from"])) & (day <= dt.date.fromisoformat(q["to"]))
    ]
    assert keys["traffic"]["total"] == inside["visits"].sum()
    last_month = inside[pd.to_datetime(inside["day"]).dt.to_period("M") == pd.Period(q["to"], "M")]
    assert keys["traffic"]["latest"] == last_month["visits"].sum()
    # leads per working day: report stages
    st = demo_ws.report("stages", **common).frame
    lead = st[st["stage"] == "lead"]
    assert keys["leads_per_working_day"]["latest"] == pytest.approx(
        lead["per_working_day"].iloc[-1]
    )
    assert keys["leads_per_working_day"]["total"] == pytest.approx(
        lead["entered"].sum() / lead["working_days_elapsed"].sum()
    )
    # customers from marketing: report sourced
    so = demo_ws.report("sourced", **common).frame
    assert keys["marketing_customers"]["total"] == so["marketing_sourced"].sum()
    assert keys["marketing_customers"]["latest"] == so["marketing_sourced"].iloc[-1]
    # MQLs by persona: report stages --by persona, and every MQL is in one persona row
    per = rep.extra["personas"][1]
    mql = st[st["stage"] == "mql"]["entered"].sum()
    assert per["mqls"].sum() == mql == keys["mqls_by_persona"]["total"]
    by = demo_ws.report("stages", by="persona", **common).frame
    by = by[by["stage"] == "mql"].groupby("persona")["entered"].sum()
    assert dict(zip(per["persona"], per["mqls"], strict=True)) == dict(by)
    # lead → customer: report conversion
    cv = demo_ws.report("conversion", from_stage="lead", to_stage="customer", **common).frame
    assert keys["lead_to_customer"]["total"] == pytest.approx(
        cv["converted"].sum() / cv["entered"].sum()
    )
    # ROI: report roi over the same range
    roi = demo_ws.report("roi", start=q["from"], end=q["to"]).frame
    spend, revenue = roi["spend"].sum(), roi["attributed_revenue"].sum()
    assert keys["roi"]["total"] == pytest.approx((revenue - spend) / spend)
    assert rep.params["roi"] == pytest.approx((revenue - spend) / spend)


def test_export_report_html_is_one_self_contained_file(
    exec_report: tuple[dict[str, str], Report], demo_source: Path, tmp_path: Path
) -> None:
    q, rep = exec_report
    out = tmp_path / "board.html"
    code = run_cli(
        "export", "report", "--project", str(demo_source), "--format", "html",
        "--output", str(out), "--from", q["from"], "--to", q["to"],
    )  # fmt: skip
    assert code == 0 and out.is_file()
    html = out.read_text(encoding="utf-8")
    low = html.lower()
    # nothing to fetch: no script, no stylesheet link, no external image or font
    assert "<script" not in low and "<link" not in low and "@import" not in low
    assert "src=" not in low and "url(" not in low
    for scheme in ("http://", "https://"):
        rest = low.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert scheme not in rest
    assert low.count("<svg") >= 6  # six charts inline
    page = Page()
    page.feed(html)
    keys = kpi_values(rep)
    assert set(page.kpis) == set(keys)
    for key, row in keys.items():
        field = (
            "latest"
            if key in ("traffic", "marketing_customers", "mqls_by_persona")
            else ("latest" if key == "lead_goal" else "total")
        )
        want = plain(row[field])
        got = page.kpis[key]
        if want is None:
            assert got == ""
        else:
            assert float(got) == pytest.approx(float(want)), key
    assert set(page.kpis) >= {"traffic", "leads_per_working_day", "marketing_customers"}
    assert {"mqls_by_persona", "lead_to_customer", "roi", "lead_goal"} <= set(page.kpis)


def test_export_report_json_is_the_facades(
    exec_report: tuple[dict[str, str], Report],
    demo_source: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    q, rep = exec_report
    code = run_cli(
        "export", "report", "--project", str(demo_source), "--format", "json",
        "--from", q["from"], "--to", q["to"],
    )  # fmt: skip
    assert code == 0
    body = json.loads(capsys.readouterr().out)
    want = rep.as_dict()
    same_rows(body["rows"], want["rows"])
    assert set(body) >= {"rows", "params"}


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_executive_page_and_api_agree(
    client: TestClient, exec_report: tuple[dict[str, str], Report]
) -> None:
    q, rep = exec_report
    query = f"from={q['from']}&to={q['to']}"
    page = get(client, f"/executive?{query}")
    assert_table(page.tables["executive"], rep.frame, list(rep.frame.columns))
    assert f"/executive/report.html?{query}&period=month" in page.links
    assert f"/executive/report.pdf?{query}&period=month" in page.links
    api = client.get(f"/api/v1/executive?{query}")
    assert api.status_code == 200
    same_rows(api.json()["rows"], rep.as_dict()["rows"])
    html = client.get(f"/executive/report.html?{query}")
    assert html.status_code == 200 and "attachment" in html.headers["content-disposition"]
    assert "<script" not in html.text.lower()


# -- Executive report: maturing cohorts and the change as a ratio -----------------------------
#: Four monthly cohorts (Europe/Madrid): lead → customer 2 of 4 (Jan), 1 of 4 (Feb), 1 of 2
#: (Mar), 0 of 4 (Apr); MQLs entered 2, 1, 2, 3. Every customer is an MQL first, so skipped
#: stages move nothing between months.
C, M = "customer", "mql"
MATURITY_STORY: dict[str, dict[str, Any]] = {
    "L01": {"created": "2025-01-08 10:00", "stages": [(M, "2025-01-10"), (C, "2025-02-15")]},
    "L02": {"created": "2025-01-09 10:00", "stages": [(M, "2025-01-12"), (C, "2025-03-01")]},
    "L03": {"created": "2025-01-15 10:00"},
    "L04": {"created": "2025-01-20 10:00"},
    "L05": {"created": "2025-02-03 10:00", "stages": [(M, "2025-02-05"), (C, "2025-04-10")]},
    "L06": {"created": "2025-02-04 10:00"},
    "L07": {"created": "2025-02-10 10:00"},
    "L08": {"created": "2025-02-20 10:00"},
    "L09": {"created": "2025-03-03 10:00", "stages": [(M, "2025-03-05"), (C, "2025-04-20")]},
    "L10": {"created": "2025-03-04 10:00", "stages": [("mql", "2025-03-06")]},
    "L11": {"created": "2025-04-01 10:00", "stages": [("mql", "2025-04-02")]},
    "L12": {"created": "2025-04-02 10:00", "stages": [("mql", "2025-04-03")]},
    "L13": {"created": "2025-04-03 10:00", "stages": [("mql", "2025-04-04")]},
    "L14": {"created": "2025-04-07 10:00"},
}  # fmt: skip
RANGE = {"start": "2025-01-01", "end": "2025-04-30"}


@pytest.fixture(scope="module")
def story_ws(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from leadledger.service import init_project

    folder = tmp_path_factory.mktemp("maturity") / "acme"
    init_project(folder, config_text=config_text())
    ws = Workspace(folder)
    load_journeys(ws, MATURITY_STORY)
    yield ws
    ws.close()


def keyed(rep: Report) -> dict[str, dict[str, Any]]:
    return {r["key"]: r for r in rep.as_dict()["rows"]}


def test_the_maturity_window_is_the_projects_customer_outcome_window() -> None:
    from leadledger.reports.executive import MATURITY_DAYS
    from leadledger.scoring.model_store import DEFAULTS

    assert DEFAULTS["target"] == "customer"
    assert MATURITY_DAYS == DEFAULTS["window_days"] == 180


def test_a_maturing_last_cohort_shows_no_fall(story_ws: Workspace) -> None:
    """as of 15 May with a 30-day maturity: Jan–Mar are mature (their last day + 30 days is
    2 Mar, 30 Mar, 30 Apr), April (30 May) is maturing: its 0 % is no −100 %."""
    rep = story_ws.report("executive", **RANGE, as_of="2025-05-15", maturity="30d")
    conv = rep.as_dict()["conversion"]
    assert [(c["period"], c["entered"], c["converted"]) for c in conv] == [
        ("2025-01-01", 4, 2),
        ("2025-02-01", 4, 1),
        ("2025-03-01", 2, 1),
        ("2025-04-01", 4, 0),
    ]
    assert [c["rate"] for c in conv] == [0.5, 0.25, 0.5, 0.0]
    assert [c["matures_on"] for c in conv] == [
        "2025-03-02",
        "2025-03-30",
        "2025-04-30",
        "2025-05-30",
    ]
    assert [c["mature"] for c in conv] == [True, True, True, False]
    row = keyed(rep)["lead_to_customer"]
    assert (row["latest"], row["previous"]) == (0.0, 0.5)
    assert row["change_rel"] is None and row["maturing"] is True
    assert row["total"] == pytest.approx(4 / 14)  # converted ÷ entered over every cohort
    assert rep.params["maturity_days"] == 30
    assert any("1 of 4 cohort(s) are still maturing (2025-04-01)" in n for n in rep.notes)
    # every other key's change is a plain ratio: MQLs 3 in April vs 2 in March → +50 %
    mqls = keyed(rep)["mqls_by_persona"]
    assert (mqls["latest"], mqls["previous"], mqls["change_rel"]) == (3.0, 2.0, 0.5)
    assert mqls["maturing"] is False and mqls["total"] == 8.0
    # the HTML: "cohort maturing" on the conversion card instead of a change; +50.0 % on MQLs
    html = executive.document(rep, project="acme", currency="EUR")
    card = html.split('data-kpi="lead_to_customer"')[1].split('<div class="kpi"')[0]
    assert "Apr 25 cohort maturing" in card and "%</span>" not in card
    mql_card = html.split('data-kpi="mqls_by_persona"')[1].split('<div class="kpi"')[0]
    assert '<span class="up">+50.0 %</span> vs previous month' in mql_card
    chart = html.split('data-chart="conversion"')[1].split("</section>")[0]
    # the chart draws the maturing cohort apart (its bar and its legend entry)
    assert "period: Apr 25; value: 0.0%; series: maturing" in chart


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_once_mature_the_same_cohort_is_a_real_change(story_ws: Workspace) -> None:
    """as of 30 May April's cohort is mature too: its change vs March is 0 ÷ 0.5 − 1 = −100 %."""
    rep = story_ws.report("executive", **RANGE, as_of="2025-05-30", maturity="30d")
    assert all(c["mature"] for c in rep.as_dict()["conversion"])
    row = keyed(rep)["lead_to_customer"]
    assert row["change_rel"] == -1.0 and row["maturing"] is False
    assert any("every cohort of the range is mature" in n for n in rep.notes)
    html = executive.document(rep, project="acme", currency="EUR")
    card = html.split('data-kpi="lead_to_customer"')[1].split('<div class="kpi"')[0]
    assert '<span class="down">-100.0 %</span>' in card and "maturing" not in card
    # the default window, 180 days: as of 15 May no cohort of January–April is mature yet
    rep = story_ws.report("executive", **RANGE, as_of="2025-05-15")
    assert rep.params["maturity_days"] == 180
    assert rep.as_dict()["conversion"][0]["matures_on"] == "2025-07-30"  # 31 Jan + 180 days
    assert not any(c["mature"] for c in rep.as_dict()["conversion"])
    assert keyed(rep)["lead_to_customer"]["maturing"] is True


def test_a_cohort_cut_by_the_range_matures_from_the_ranges_last_day() -> None:
    from leadledger.reports.executive import cohort_maturity

    cohorts = pd.DataFrame({"period": [dt.date(2025, 1, 1), dt.date(2025, 4, 1)]})
    got = cohort_maturity(
        cohorts, period="quarter", end=dt.date(2025, 5, 10), as_of_day=dt.date(2025, 5, 1), days=10
    )
    # Q1 ends 31 Mar (+10 → 10 Apr, mature by 1 May); Q2 is cut on 10 May (+10 → 20 May)
    assert list(got["matures_on"]) == [dt.date(2025, 4, 10), dt.date(2025, 5, 20)]
    assert list(got["mature"]) == [True, False]


def test_executive_page_shows_the_change_as_a_percentage(story_ws: Workspace) -> None:
    """The page's table: change_rel as "+50.0 %" (raw ratio 0.5 in data-value), maturing as
    yes/no; as of now every 2025 cohort has had 180 days."""
    with TestClient(create_app(story_ws.project_dir, auth=False, ws=story_ws)) as c:
        r = c.get("/executive?from=2025-01-01&to=2025-04-30", headers=HTML)
        api = c.get("/api/v1/executive?from=2025-01-01&to=2025-04-30").json()
    assert r.status_code == 200, r.text[:300]
    page = Page()
    page.feed(r.text)
    rows = {x["key"]: x for x in page.tables["executive"]}
    assert rows["mqls_by_persona"]["change_rel"] == "0.5"
    assert rows["lead_to_customer"]["change_rel"] == "-1.0"
    assert rows["lead_to_customer"]["maturing"] == "False"
    assert 'data-value="0.5">+50.0 %</td>' in r.text
    assert 'data-value="-1.0">-100.0 %</td>' in r.text
    assert {x["key"]: x["change_rel"] for x in api["rows"]}["mqls_by_persona"] == 0.5


@pytest.mark.slow
@pytest.mark.skipif(not HAS_CHROMIUM, reason="no headless Chromium (apt-get install chromium)")
def test_export_report_pdf(demo_source: Path, tmp_path: Path, client: TestClient) -> None:
    out = tmp_path / "board.pdf"
    code = run_cli(
        "export", "report", "--project", str(demo_source), "--format", "pdf", "--output", str(out)
    )
    assert code == 0
    assert out.read_bytes()[:5] == b"%PDF-"
    r = client.get("/executive/report.pdf")
    assert r.status_code == 200 and r.content[:5] == b"%PDF-"
    assert r.headers["content-type"] == "application/pdf"


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_pdf_without_chromium_is_a_typed_error(
    demo_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("LEADLEDGER_CHROMIUM", str(tmp_path / "no-such-chromium"))
    code = run_cli(
        "export", "report", "--project", str(demo_source), "--format", "pdf",
        "--output", str(tmp_path / "x.pdf"),
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code != 0
    assert "chromium_not_found" in err or "Chromium" in err
    assert "apt-get install chromium" in err
    assert "Traceback" not in err
    assert not (tmp_path / "x.pdf").exists()
    assert shutil.which("no-such-chromium") is None


def test_export_rejects_an_unknown_format(demo_source: Path, capsys: Any) -> None:
    code = run_cli("export", "report", "--project", str(demo_source), "--format", "docx")
    err = capsys.readouterr().err
    assert code != 0 and "docx" in err and "Traceback" not in err


def test_a_long_table_shows_its_first_rows_and_says_how_many():
    """``common.table(limit=)``: the first rows in the report's order, the total, the CSV link."""
    import pandas as pd

    from leadledger.web.common import table

    frame = pd.DataFrame({"lead_id": [f"L{i}" for i in range(120)], "late_by": range(120)})
    t = table(frame, title="Alerts", csv="/api/v1/alerts?format=csv", limit=50)
    assert t["total"] == 120 and len(t["rows"]) == 50
    assert [r[0]["value"] for r in t["rows"]] == [f"L{i}" for i in range(50)]
    whole = table(frame, title="Alerts")
    assert whole["total"] == len(whole["rows"]) == 120


def test_the_alerts_table_is_capped_and_its_csv_has_every_row(client):
    body = client.get("/health").text
    csv = client.get("/api/v1/alerts", params={"format": "csv"}).text
    n = len(csv.strip().splitlines()) - 1
    section = body.split('data-table="alerts"')[1].split("</section>")[0]
    assert section.count("<tr>") - 1 == min(n, 50)  # the header row is the other one
    if n > 50:
        assert f'data-total="{n}"' in section
