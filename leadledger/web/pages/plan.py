"""Plan: the reverse funnel of a revenue target, the goal's pace over the filters' range and the
what-if levers (``plan``, ``pace``, ``whatif``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from leadledger.errors import LeadledgerError
from leadledger.reports.funnel import StagesParams
from leadledger.reports.planning import PlanParams, WhatifParams
from leadledger.service import Workspace
from leadledger.web.app import Read
from leadledger.web.charts import bar_chart, pace_chart
from leadledger.web.common import Filters, api_link, companion_tables, filters, render, table
from leadledger.web.pages._shared import Page, api_path, blank, pace_of, pace_table, resolved

PAGE = Page(path="/plan", title="Plan", order=40)
router = APIRouter(include_in_schema=False)

PLAN_FIELDS = ("revenue", "deal_size", "close_rate", "mql_to_sql", "lead_to_mql", "visit_to_lead")


@router.get(PAGE.path, response_class=HTMLResponse)
def plan(
    request: Request,
    st: Read,
    f: Filters = Depends(filters),
    revenue: str | None = Query(None, description="revenue target of the plan"),
    deal_size: str | None = Query(None),
    close_rate: str | None = Query(None),
    mql_to_sql: str | None = Query(None),
    lead_to_mql: str | None = Query(None),
    visit_to_lead: str | None = Query(None),
    plan_from: str | None = Query(None, description="first day of the plan"),
    plan_to: str | None = Query(None, description="last day of the plan"),
    set_: list[str] = Query([], alias="set", description="what-if lever KEY=VALUE"),
) -> Response:
    form = {
        "revenue": blank(revenue),
        "deal_size": blank(deal_size),
        "close_rate": blank(close_rate),
        "mql_to_sql": blank(mql_to_sql),
        "lead_to_mql": blank(lead_to_mql),
        "visit_to_lead": blank(visit_to_lead),
    }
    dates = {"start": blank(plan_from), "end": blank(plan_to)}
    levers = [s for s in (x.strip() for x in set_) if s]

    def build(ws: Workspace) -> dict[str, Any]:
        out: dict[str, Any] = {"error": None, "plan": None}
        # the pace up to the end of the filters' range: the range the funnel reports resolve
        as_of = resolved(ws, StagesParams(start=f.start, end=f.end, period=f.period)).end
        out["as_of"] = as_of
        out["pace"], out["why"] = pace_of(ws, as_of, f.period)
        out["goals"] = [(g.name, g.start, g.end, g.revenue) for g in ws.cfg.goals]
        if form["revenue"]:
            try:
                out["plan"] = ws.run(PlanParams(**form, **dates))
            except LeadledgerError as exc:
                out["error"] = exc
        out["whatif_error"] = None
        try:
            out["whatif"] = ws.run(WhatifParams(overrides=levers))
        except LeadledgerError as exc:
            out["whatif"] = None
            if levers:  # a bad lever is the user's input; no history is only a note
                out["error"] = out["error"] or exc
            else:
                out["whatif_error"] = f"what-if: {exc.message}"
        return out

    d = st.call(build)
    notes = []
    plan_report, pace, wi = d["plan"], d["pace"], d["whatif"]
    if not form["revenue"]:
        notes.append("enter a revenue target to compute the reverse funnel")
    if d["why"]:
        notes.append(d["why"])
    if d["whatif_error"]:
        notes.append(d["whatif_error"])
    plan_q = {k: v for k, v in {**form, "from": dates["start"], "to": dates["end"]}.items() if v}
    plan_api, whatif_api = api_path(PlanParams), api_path(WhatifParams)
    tables, charts = [], []
    if plan_report is not None:
        tables.append(
            table(
                plan_report,
                title=plan_report.title or "Plan",
                csv=api_link(plan_api, None, **plan_q, format="csv"),
                columns=plan_report.table_columns,
                table_id="plan",
            )
        )
        tables += companion_tables(plan_report, plan_api, "plan", **plan_q)
        rows = plan_report.frame
        charts.append(
            bar_chart(
                rows[rows["stage"] != "visitor"],
                x="stage",
                y="per_working_day",
                chart_id="plan",
                title="Needed per working day",
            )
        )
    if pace is not None:
        tables.append(pace_table(pace, d["as_of"], f.period))
        charts.append(pace_chart(pace.frame))
    if wi is not None:
        wq = {"set": levers} if levers else {}
        tables.append(
            table(
                wi,
                title=wi.title or "What if",
                csv=api_link(whatif_api, None, **wq, format="csv"),
                columns=wi.table_columns,
                table_id="whatif",
            )
        )
        tables += companion_tables(wi, whatif_api, "whatif", **wq)
        notes.extend(wi.notes[:1])
    resp = render(
        request,
        "plan.html",
        title=PAGE.title,
        vega=PAGE.charts,
        f=f,
        notes=notes,
        tables=tables,
        charts=charts,
        form=form,
        plan_from=dates["start"] or "",
        plan_to=dates["end"] or "",
        levers=levers,
        goals=d["goals"],
        error=d["error"],
        breakdowns=[],
    )
    if d["error"] is not None:
        resp.status_code = 400
    return resp
