"""The Overview: the current period's KPI cards (stage entries per working day, the goal's pace,
the marketing-sourced share), the funnel, the trends and the MQLs by persona.

Every number comes from the façade called with the CLI's parameters (``report stages``,
``report sourced``, ``pace``); the page only picks the current period and rounds for display.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from leadledger.formatting import display, period_label
from leadledger.reports.funnel import SourcedParams, StagesParams
from leadledger.reports.result import plain
from leadledger.service import Workspace
from leadledger.web.app import Read
from leadledger.web.charts import funnel_chart, sourced_chart, stacked_chart, trend_chart
from leadledger.web.common import Filters, api_link, filters, render, table
from leadledger.web.pages._shared import (
    Page,
    api_path,
    current_rows,
    kpi_cards,
    pace_of,
    pace_table,
    stage_order,
)

PAGE = Page(path="/overview", title="Overview", order=10)
router = APIRouter(include_in_schema=False)


@router.get(PAGE.path, response_class=HTMLResponse)
def overview(request: Request, st: Read, f: Filters = Depends(filters)) -> Response:
    def build(ws: Workspace) -> dict[str, Any]:
        stages = ws.run(StagesParams(start=f.start, end=f.end, period=f.period))
        sourced = ws.run(SourcedParams(start=f.start, end=f.end, period=f.period))
        split_by = f.by or ("persona" if "persona" in ws.cfg.breakdown_fields else None)
        split = (
            ws.run(StagesParams(start=f.start, end=f.end, period=f.period, by=split_by))
            if split_by and "mql" in ws.cfg.stage_keys
            else None
        )
        pace, why = pace_of(ws, stages.params["to"], f.period)
        return {
            "stages": stages,
            "sourced": sourced,
            "split": split,
            "split_by": split_by,
            "pace": pace,
            "why": why,
            "order": stage_order(ws),
            "stage_keys": list(ws.cfg.stage_keys),
        }

    d = st.call(build)
    stages, sourced, pace, order = d["stages"], d["sourced"], d["pace"], d["order"]
    now = current_rows(stages.frame)
    notes = list(stages.notes[:1])
    label = None
    if now.empty:
        notes.append("no stage entries in this range: import leads and stages, or widen the dates")
    else:
        first = now.iloc[0]
        label = period_label(first["period"], f.period)
        if plain(first["working_days_left"]):
            label += f" (to {stages.params['to']})"
    if d["why"]:
        notes.append(d["why"])
    charts = []
    if not now.empty:
        charts.append(funnel_chart(now, order, f"Funnel, {label}"))
        charts.append(
            trend_chart(stages.frame, order, chart_id="trends", title="Per working day, by stage")
        )
    if not sourced.frame.empty:
        charts.append(sourced_chart(sourced.frame))
    split = d["split"]
    if split is not None and not split.frame.empty:
        mql = split.frame[split.frame["stage"] == "mql"]
        charts.append(
            stacked_chart(
                mql,
                x="period",
                y="entered",
                color=d["split_by"],
                chart_id="split",
                title=f"MQLs by {d['split_by']}",
            )
        )
    tables = [
        table(
            stages,
            title="Leads entering each stage",
            csv=api_link(api_path(StagesParams), f, by=None, format="csv"),
            columns=stages.table_columns,
            table_id="stages",
        )
    ]
    if pace is not None:
        tables.append(pace_table(pace, stages.params["to"], f.period))
    tables.append(
        table(
            sourced,
            title="Marketing-sourced share",
            csv=api_link(api_path(SourcedParams), f, by=None, format="csv"),
            columns=sourced.table_columns,
            table_id="sourced",
        )
    )
    share_card = None
    if not sourced.frame.empty:
        last = sourced.frame.iloc[-1]
        share_card = {
            "key": "marketing_share",
            "label": "Customers from marketing",
            "value": display(last["marketing_share"], "marketing_share"),
            "raw": plain(last["marketing_share"]),
            "lines": [
                {
                    "text": f"{plain(last['marketing_sourced'])} of "
                    f"{plain(last['customers'])} new customers, "
                    f"{period_label(last['period'], f.period)}",
                    "key": "marketing_sourced",
                    "value": plain(last["marketing_sourced"]),
                },
                {
                    "text": f"band {display(last['band_low'], 'band_share')}–"
                    f"{display(last['band_high'], 'band_share')}: {plain(last['band_status'])}",
                    "key": "band_status",
                    "value": plain(last["band_status"]),
                    "cls": "up" if plain(last["band_status"]) != "below" else "down",
                },
            ],
        }
    cards = kpi_cards(stages, pace, d["stage_keys"]) + ([share_card] if share_card else [])
    return render(
        request,
        "overview.html",
        title=PAGE.title,
        vega=PAGE.charts,
        f=f,
        notes=notes,
        period_name=label,
        cards=cards,
        charts=charts,
        tables=tables,
    )
