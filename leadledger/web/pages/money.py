"""Money: spend and cost per stage, ROI on one attribution model and every model side by side
(``report costs``, ``report roi``, ``attribution --compare``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from leadledger.errors import InvalidArgument
from leadledger.reports.attribution import AttributionParams
from leadledger.reports.money import CostsParams, RoiParams
from leadledger.service import Workspace
from leadledger.web.app import Read
from leadledger.web.charts import bar_chart, heatmap_chart, stacked_chart
from leadledger.web.common import Filters, api_link, filters, render, table
from leadledger.web.pages._shared import Page, api_path, blank

PAGE = Page(path="/money", title="Money", order=30)
router = APIRouter(include_in_schema=False)

ROI_KEYS = ("channel", "campaign")
COST_KEYS = ("channel", "campaign", "persona", "category")


@router.get(PAGE.path, response_class=HTMLResponse)
def money(
    request: Request,
    st: Read,
    f: Filters = Depends(filters),
    model: str | None = Query(None, description="attribution model of the ROI"),
) -> Response:
    from leadledger.attribution import MODELS

    if f.by and f.by not in COST_KEYS:
        raise InvalidArgument(f"money: cannot break down by '{f.by}'", hint=", ".join(COST_KEYS))
    cost_by = f.by or "channel"
    roi_by = f.by if f.by in ROI_KEYS else "channel"
    model = blank(model)

    def build(ws: Workspace) -> dict[str, Any]:
        return {
            "costs": ws.run(CostsParams(start=f.start, end=f.end, period=f.period, by=cost_by)),
            "roi": ws.run(RoiParams(model=model, by=roi_by, start=f.start, end=f.end)),
            "compare": ws.run(AttributionParams(compare=True, by=roi_by, start=f.start, end=f.end)),
        }

    d = st.call(build)
    costs, roi, compare = d["costs"], d["roi"], d["compare"]
    chosen = roi.params.get("model") or model
    notes = list(costs.notes[:2])
    if roi_by != cost_by:
        notes.append(f"ROI and attribution credit channels or campaigns: shown by {roi_by}")
    charts = []
    if not costs.frame.empty:
        charts.append(
            stacked_chart(
                costs.frame,
                x="period",
                y="spend",
                color=cost_by,
                chart_id="spend",
                title=f"Spend by {cost_by}",
            )
        )
    if not roi.frame.empty:
        charts.append(
            bar_chart(
                roi.frame,
                x=roi_by,
                y="attributed_revenue",
                chart_id="roi",
                title=f"Attributed revenue by {roi_by} ({chosen})",
            )
        )
    if not compare.frame.empty:
        charts.append(
            heatmap_chart(
                compare.frame,
                roi_by,
                chart_id="compare",
                title="Credited customers: every model side by side",
            )
        )
    base = {"from": f.start, "to": f.end}
    costs_api = api_path(CostsParams)
    tables = []
    totals = costs.extra.get("totals")
    if totals is not None:
        tables.append(
            table(
                totals[1],
                title=f"Cost per stage, {totals[0][0].lower()}{totals[0][1:]}",
                csv=api_link(costs_api, f, by=cost_by, table="totals", format="csv"),
                table_id="cost-totals",
            )
        )
    tables += [
        table(
            costs,
            title=costs.title or "Costs",
            csv=api_link(costs_api, f, by=cost_by, format="csv"),
            columns=costs.table_columns,
            table_id="costs",
        ),
        table(
            roi,
            title=roi.title or "ROI",
            csv=api_link(api_path(RoiParams), None, **base, by=roi_by, model=chosen, format="csv"),
            columns=roi.table_columns,
            table_id="roi",
        ),
        table(
            compare,
            title=compare.title or "Attribution models",
            csv=api_link(
                api_path(AttributionParams),
                None,
                **base,
                by=roi_by,
                compare="true",
                format="csv",
            ),
            table_id="compare",
        ),
    ]
    return render(
        request,
        "money.html",
        title=PAGE.title,
        vega=PAGE.charts,
        f=f,
        notes=notes,
        charts=charts,
        tables=tables,
        models=list(MODELS),
        model=chosen,
        breakdowns=list(COST_KEYS),
    )
