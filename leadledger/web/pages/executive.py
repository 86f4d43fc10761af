"""The Executive report page and its downloads (``/executive/report.html``, ``.pdf``): seed
000's six keys and the ROI (the ``executive`` report, laid out by :mod:`leadledger.web.executive`;
its charts are static SVG, so the page loads no Vega script).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from leadledger.reports.executive import ExecutiveParams
from leadledger.reports.result import Report
from leadledger.service import Workspace
from leadledger.web import executive
from leadledger.web.app import AppState, Read
from leadledger.web.common import Filters, api_link, render, table
from leadledger.web.pages._shared import F, Page, api_path

PAGE = Page(path="/executive", title="Executive report", order=90, charts=False)
router = APIRouter(include_in_schema=False)


def _executive(st: AppState, f: Filters) -> tuple[Report, str, str, Path]:
    """The report, the project's name, currency and folder (whose ``templates/`` may hold its
    own ``executive_report.html`` or ``_executive.html``)."""

    def build(ws: Workspace) -> tuple[Report, str, str, Path]:
        rep = ws.run(ExecutiveParams(start=f.start, end=f.end, period=f.period))
        return rep, ws.cfg.name, ws.cfg.currency, ws.project_dir

    return st.call(build)


@router.get(PAGE.path, response_class=HTMLResponse)
def executive_page(request: Request, st: Read, f: F) -> Response:
    rep, _name, currency, folder = _executive(st, f)
    q = f.query(by=None)
    csv = api_link(api_path(ExecutiveParams), f, format="csv", by=None)
    return render(
        request,
        "executive.html",
        title=PAGE.title,
        vega=PAGE.charts,
        f=f,
        notes=[],
        body=executive.body(rep, currency=currency, project_dir=folder),
        css=executive.CSS,
        html_link=f"{PAGE.path}/report.html?{q}",
        pdf_link=f"{PAGE.path}/report.pdf?{q}",
        csv_link=csv,
        table=table(rep, title="The six keys and the ROI", table_id="executive", csv=csv),
    )


def _stamp(rep: Report) -> str:
    return f"{rep.params.get('from')}_{rep.params.get('to')}"


@router.get(PAGE.path + "/report.html")
def executive_html(st: Read, f: F) -> Response:
    rep, name, currency, folder = _executive(st, f)
    return HTMLResponse(
        executive.document(rep, project=name, currency=currency, project_dir=folder),
        headers={
            "content-disposition": f'attachment; filename="executive-report-{_stamp(rep)}.html"'
        },
    )


@router.get(PAGE.path + "/report.pdf")
def executive_pdf(st: Read, f: F) -> Response:
    rep, name, currency, folder = _executive(st, f)
    html = executive.document(rep, project=name, currency=currency, project_dir=folder)
    with tempfile.TemporaryDirectory(prefix="leadledger-export-") as tmp:
        out = executive.to_pdf(html, Path(tmp) / "report.pdf")
        data = out.read_bytes()
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "content-disposition": f'attachment; filename="executive-report-{_stamp(rep)}.pdf"'
        },
    )
