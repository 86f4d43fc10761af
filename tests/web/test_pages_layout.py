"""What every dashboard page shares: the navigation derived from the pages' declarations, the
Vega scripts only on pages that draw charts, the CSV links from the report registry, and a
project's own templates overriding the package's by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from leadledger.reports.experiments import ExperimentReportParams
from leadledger.reports.funnel import StagesParams
from leadledger.reports.scoring import ExplainParams
from leadledger.web import common
from leadledger.web.app import create_app
from leadledger.web.pages import NAV, PAGES
from leadledger.web.pages._shared import api_path

HTML = {"accept": "text/html"}
VEGA = '<script src="/static/vendor/vega-embed.min.js"></script>'
MARKER = "a page of the project's own (templates/overview.html)"


def test_the_navigation_is_derived_from_the_pages() -> None:
    assert NAV == [
        ("/overview", "Overview"),
        ("/funnel", "Funnel & conversion"),
        ("/money", "Money"),
        ("/plan", "Plan"),
        ("/health", "Pipeline health"),
        ("/scoring", "Scoring"),
        ("/experiments", "Experiments"),
        ("/data", "Data"),
        ("/executive", "Executive report"),
    ]
    assert common.NAV == NAV  # the templates' navigation is the same list
    assert [p.order for p in PAGES] == sorted(p.order for p in PAGES)


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_each_page_is_served_under_its_declared_path_and_title(client: TestClient) -> None:
    for page in PAGES:
        r = client.get(page.path, headers=HTML)
        assert r.status_code == 200, (page.path, r.text[:300])
        assert f"<h1>{page.title.replace('&', '&amp;')}</h1>" in r.text, page.path
        assert f'href="{page.path}' in r.text  # in the navigation


def test_vega_scripts_only_on_pages_with_charts(client: TestClient) -> None:
    assert {p.path for p in PAGES if not p.charts} == {"/data", "/executive"}
    for page in PAGES:
        text = client.get(page.path, headers=HTML).text
        assert (VEGA in text) == page.charts, page.path
        if not page.charts:  # no Vega-Lite spec the page would need the scripts for
            assert "data-spec-for=" not in text, page.path
    assert VEGA not in client.get("/login", headers=HTML).text


def test_api_paths_come_from_the_registry() -> None:
    assert api_path(StagesParams) == "/reports/stages"
    assert api_path(ExperimentReportParams, name="ab") == "/experiments/ab"
    assert api_path(ExplainParams, lead_id="L-1") == "/score/explain/L-1"


def _overview(project: Path, ws: Any) -> str:
    with TestClient(create_app(project, auth=False, ws=ws)) as c:
        r = c.get("/overview", headers=HTML)
    assert r.status_code == 200, r.text[:300]
    return r.text


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_a_project_template_overrides_the_package_page(make_project: Any) -> None:
    ws = make_project()
    package_page = _overview(ws.project_dir, ws)
    assert MARKER not in package_page and 'data-kpi="marketing_share"' not in package_page

    other = make_project(name="branded")
    (other.project_dir / "templates").mkdir()
    (other.project_dir / "templates" / "overview.html").write_text(
        '{% extends "base.html" %}\n'
        '{% block content %}<p id="marker">' + MARKER + "</p>"
        '{% for t in tables %}<p data-table-id="{{ t.id }}">{{ t.title }}</p>{% endfor %}'
        "{% endblock %}\n",
        encoding="utf-8",
    )
    text = _overview(other.project_dir, other)
    assert MARKER in text
    # the package's layout around it (base.html is not overridden), and the page's own data
    assert "<h1>Overview</h1>" in text and 'href="/funnel' in text
    assert 'data-table-id="stages"' in text
    # the package's page is not the project's
    assert MARKER not in _overview(ws.project_dir, ws)


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_a_project_template_brands_the_executive_export(make_project: Any) -> None:
    """``templates/executive_report.html`` of the project is the exported board report, from
    the dashboard's download and from ``leadledger export report`` alike."""
    from leadledger.cli.main import main

    ws = make_project(name="board")
    (ws.project_dir / "templates").mkdir()
    (ws.project_dir / "templates" / "executive_report.html").write_text(
        '{% from "_executive.html" import executive_body %}<!doctype html><html><body>'
        '<p id="brand">ACME board pack · {{ project }}</p>{{ executive_body(e) }}</body></html>\n',
        encoding="utf-8",
    )
    with TestClient(create_app(ws.project_dir, auth=False, ws=ws)) as c:
        r = c.get("/executive/report.html")
    assert r.status_code == 200, r.text[:300]
    assert f'<p id="brand">ACME board pack · {ws.cfg.name}</p>' in r.text
    assert 'class="kpis"' in r.text or "kpi" in r.text  # the package's blocks inside it

    target = ws.project_dir / "out.html"
    rc = main(
        [
            "export",
            "report",
            "--project",
            str(ws.project_dir),
            "--format",
            "html",
            "-o",
            str(target),
        ]
    )
    assert rc == 0
    exported = target.read_text(encoding="utf-8")
    assert f'<p id="brand">ACME board pack · {ws.cfg.name}</p>' in exported
