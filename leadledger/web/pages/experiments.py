"""Experiments: one section per configured experiment with its lift and tables
(``experiment report``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from leadledger.reports.experiments import ExperimentReportParams
from leadledger.reports.result import Report
from leadledger.service import Workspace
from leadledger.web.app import Read
from leadledger.web.charts import lift_chart
from leadledger.web.common import api_link, companion_tables, render, table
from leadledger.web.pages._shared import AsOfQ, F, Page, api_path, attempt, blank

PAGE = Page(path="/experiments", title="Experiments", order=70)
router = APIRouter(include_in_schema=False)


@router.get(PAGE.path, response_class=HTMLResponse)
def experiments_page(request: Request, st: Read, f: F, as_of: AsOfQ = None) -> Response:
    as_of = blank(as_of)
    names = [e.name for e in st.ws.cfg.experiments]

    def build(ws: Workspace) -> list[tuple[str, tuple[Report | None, str | None]]]:
        def one(name: str) -> tuple[Report | None, str | None]:
            return attempt(lambda: ws.run(ExperimentReportParams(name=name, as_of=as_of)))

        return [(n, one(n)) for n in names]

    got = st.call(build)
    sections = []
    for exp in st.ws.cfg.experiments:
        rep, err = dict(got)[exp.name]
        section: dict[str, Any] = {
            "name": exp.name,
            "stage": exp.stage,
            "period": f"{exp.start or '…'} to {exp.end or '…'}",
            "notes": [],
            "chart": None,
            "tables": [],
        }
        if rep is None:
            section["notes"].append(err)
        else:
            section["notes"] = rep.notes
            if len(rep.frame) and "lift_abs" in rep.frame:
                section["chart"] = lift_chart(rep.frame, exp.name)
            path = api_path(ExperimentReportParams, name=exp.name)
            section["tables"].append(
                table(
                    rep,
                    title=rep.title or exp.name,
                    table_id=f"experiment-{exp.name}",
                    csv=api_link(path, None, format="csv", as_of=as_of),
                )
            )
            section["tables"] += companion_tables(rep, path, f"experiment-{exp.name}", as_of=as_of)
        sections.append(section)
    notes = (
        []
        if sections
        else [
            "no experiment configured: add one under experiments: in leadledger.yaml "
            "(see docs/experiments.md)"
        ]
    )
    return render(
        request,
        "experiments.html",
        title=PAGE.title,
        vega=PAGE.charts,
        f=f,
        notes=notes,
        sections=sections,
    )
