"""Funnel & conversion: stage entries per working day, cohort conversion between two stages and
the time in each stage (``report stages``, ``report conversion``, ``report velocity``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from leadledger.reports.funnel import ConversionParams, StagesParams, VelocityParams
from leadledger.service import Workspace
from leadledger.web.app import Read
from leadledger.web.charts import bar_chart, chart, records, stacked_chart, trend_chart
from leadledger.web.common import Filters, api_link, filters, render, table
from leadledger.web.pages._shared import Page, api_path, stage_order

PAGE = Page(path="/funnel", title="Funnel & conversion", order=20)
router = APIRouter(include_in_schema=False)


@router.get(PAGE.path, response_class=HTMLResponse)
def funnel(
    request: Request,
    st: Read,
    f: Filters = Depends(filters),
    from_stage: str = Query("lead", description="cohort stage"),
    to_stage: str = Query("customer", description="stage the cohort converts to"),
) -> Response:
    def build(ws: Workspace) -> dict[str, Any]:
        return {
            "stages": ws.run(StagesParams(**f.params())),
            "conversion": ws.run(
                ConversionParams(from_stage=from_stage, to_stage=to_stage, **f.params())
            ),
            "velocity": ws.run(VelocityParams(start=f.start, end=f.end, by=f.by)),
            "order": stage_order(ws),
            "stage_keys": list(ws.cfg.stage_keys),
        }

    d = st.call(build)
    stages, conv, vel = d["stages"], d["conversion"], d["velocity"]
    group = f.by.split(",")[0] if f.by else None
    charts = []
    if not conv.frame.empty:
        cf = conv.frame.copy()
        spec: dict[str, Any] = {
            "data": {"values": records(cf[["period", "rate", *([group] if group else [])]])},
            "mark": {"type": "line", "point": True},
            "encoding": {
                "x": {"field": "period", "type": "temporal", "title": "cohort"},
                "y": {
                    "field": "rate",
                    "type": "quantitative",
                    "axis": {"format": "%"},
                    "title": f"{from_stage} → {to_stage}",
                },
                "tooltip": [
                    {"field": "period", "type": "temporal"},
                    {"field": "rate", "format": ".1%"},
                ],
            },
        }
        if group:
            spec["encoding"]["color"] = {"field": group, "type": "nominal"}
        charts.append(
            chart(spec, chart_id="conversion", title=f"Conversion {from_stage} → {to_stage}")
        )
    if not stages.frame.empty:
        if group:
            leads = stages.frame[stages.frame["stage"] == d["stage_keys"][0]]
            charts.append(
                stacked_chart(
                    leads,
                    x="period",
                    y="entered",
                    color=group,
                    chart_id="entries",
                    title=f"New {d['stage_keys'][0]}s by {group}",
                )
            )
        else:
            charts.append(
                trend_chart(stages.frame, d["order"], chart_id="entries", title="Per working day")
            )
    if not vel.frame.empty and not group:
        charts.append(
            bar_chart(
                vel.frame, x="stage", y="median_days", chart_id="velocity", title="Median days"
            )
        )
    extra = {"from_stage": from_stage, "to_stage": to_stage}
    tables = [
        table(
            stages,
            title="Leads entering each stage",
            csv=api_link(api_path(StagesParams), f, format="csv"),
            columns=stages.table_columns,
            table_id="stages",
        ),
        table(
            conv,
            title=conv.title or "Conversion",
            csv=api_link(api_path(ConversionParams), f, **extra, format="csv"),
            columns=conv.table_columns,
            table_id="conversion",
        ),
        table(
            vel,
            title=vel.title or "Time in stage",
            csv=api_link(api_path(VelocityParams), f, period=None, format="csv"),
            columns=vel.table_columns,
            table_id="velocity",
        ),
    ]
    return render(
        request,
        "funnel.html",
        title=PAGE.title,
        vega=PAGE.charts,
        f=f,
        notes=stages.notes[:1],
        charts=charts,
        tables=tables,
        stage_keys=d["stage_keys"],
        from_stage=from_stage,
        to_stage=to_stage,
    )
