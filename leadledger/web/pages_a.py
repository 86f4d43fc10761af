"""Dashboard pages Overview, Funnel & conversion, Money and Plan.

Every number comes from the façade called with the CLI's parameters; the pages only pick rows
(the current period, the funnel stages) and round for display. Each table links to the API's
CSV of the very same call.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from leadledger.errors import InvalidArgument, LeadledgerError
from leadledger.formatting import period_label
from leadledger.report import Report, display, plain
from leadledger.service import Workspace
from leadledger.web.app import Read
from leadledger.web.charts import (
    bar_chart,
    funnel_chart,
    heatmap_chart,
    sourced_chart,
    stacked_chart,
    trend_chart,
)
from leadledger.web.common import (
    Filters,
    api_link,
    chart,
    companion_tables,
    filters,
    records,
    render,
    table,
)

router = APIRouter(include_in_schema=False)

#: The stages of the Overview's KPI cards (seed 000: lead, MQL, SQL, customer), when defined.
KPI_STAGES = (("lead", "Leads"), ("mql", "MQLs"), ("sql", "SQLs"), ("customer", "Customers"))
ROI_KEYS = ("channel", "campaign")
COST_KEYS = ("channel", "campaign", "persona", "category")


# -- helpers (pure: they pick and format, never compute a metric) ----------------------------------
def current_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of the last period in a per-period report (the current period)."""
    if frame.empty or "period" not in frame:
        return frame.iloc[0:0]
    return frame[frame["period"] == frame["period"].max()]


def kpi_cards(stages: Report, pace: Report | None, stage_keys: list[str]) -> list[dict[str, Any]]:
    """Cards for the current period of the ``stages`` report (no breakdown): count, per working
    day, change vs the previous period, and the goal's pace when ``pace`` covers it."""
    now = current_rows(stages.frame)
    paced = {}
    if pace is not None and not pace.frame.empty:
        paced = {str(r["stage"]): r for r in pace.frame.to_dict(orient="records")}
    cards = []
    for key, label in KPI_STAGES:
        if key not in stage_keys:
            continue
        rows = now[now["stage"] == key].to_dict(orient="records")
        if not rows:
            continue
        r = rows[0]
        change = plain(r.get("change_per_working_day"))
        lines = [
            {
                "text": f"{display(r['per_working_day'], 'per_working_day')} per working day",
                "key": "per_working_day",
                "value": plain(r["per_working_day"]),
            },
            {
                "text": "no previous period to compare"
                if change is None
                else f"{display(change, 'change_rate')} per working day vs previous period",
                "key": "change_per_working_day",
                "value": change,
                "cls": "" if change is None else ("up" if change >= 0 else "down"),
            },
        ]
        g = paced.get(key)
        if g is not None:
            share = plain(g["projected_share"])
            behind = plain(g["behind"])
            lines.append(
                {
                    "text": f"goal {display(g['target'], 'target')}: "
                    + ("no pace yet" if share is None else f"{display(share, 'share')} of it")
                    + (" projected" if plain(g["working_days_left"]) else ""),
                    "key": "projected_share",
                    "value": share,
                    "cls": "" if behind is None else ("down" if behind else "up"),
                }
            )
        cards.append(
            {
                "key": key,
                "label": label,
                "value": display(r["entered"], "entered"),
                "raw": plain(r["entered"]),
                "lines": lines,
            }
        )
    return cards


def _pace(ws: Workspace, as_of: Any, period: str) -> tuple[Report | None, str | None]:
    """The pace of the goal covering ``as_of`` for ``period``; else the reason there is none."""
    try:
        return ws.report("pace", as_of=as_of, period=period), None
    except LeadledgerError as exc:
        return None, f"vs goal: {exc.message}" + (f" ({exc.hint})" if exc.hint else "")


def _blank(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def _stage_order(ws: Workspace) -> list[str]:
    return ["visitor", *ws.cfg.stage_keys]


# -- charts --------------------------------------------------------------------------------------
# -- Overview ------------------------------------------------------------------------------------
@router.get("/overview", response_class=HTMLResponse)
def overview(request: Request, st: Read, f: Filters = Depends(filters)) -> Response:
    def build(ws: Workspace) -> dict[str, Any]:
        stages = ws.report("stages", start=f.start, end=f.end, period=f.period)
        sourced = ws.report("sourced", start=f.start, end=f.end, period=f.period)
        split_by = f.by or ("persona" if "persona" in ws.cfg.breakdown_fields else None)
        split = (
            ws.report("stages", start=f.start, end=f.end, period=f.period, by=split_by)
            if split_by and "mql" in ws.cfg.stage_keys
            else None
        )
        pace, why = _pace(ws, stages.params["to"], f.period)
        return {
            "stages": stages,
            "sourced": sourced,
            "split": split,
            "split_by": split_by,
            "pace": pace,
            "why": why,
            "order": _stage_order(ws),
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
            csv=api_link("reports/stages", f, by=None, format="csv"),
            columns=stages.table_columns,
            table_id="stages",
        )
    ]
    if pace is not None:
        tables.append(
            table(
                pace,
                title=pace.title or "Pace",
                csv=api_link(
                    "pace", None, as_of=plain(stages.params["to"]), period=f.period, format="csv"
                ),
                columns=pace.table_columns,
                table_id="pace",
            )
        )
    tables.append(
        table(
            sourced,
            title="Marketing-sourced share",
            csv=api_link("reports/sourced", f, by=None, format="csv"),
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
        title="Overview",
        f=f,
        notes=notes,
        period_name=label,
        cards=cards,
        charts=charts,
        tables=tables,
    )


# -- Funnel & conversion -------------------------------------------------------------------------
@router.get("/funnel", response_class=HTMLResponse)
def funnel(
    request: Request,
    st: Read,
    f: Filters = Depends(filters),
    from_stage: str = Query("lead", description="cohort stage"),
    to_stage: str = Query("customer", description="stage the cohort converts to"),
) -> Response:
    def build(ws: Workspace) -> dict[str, Any]:
        return {
            "stages": ws.report("stages", **f.params()),
            "conversion": ws.report(
                "conversion", from_stage=from_stage, to_stage=to_stage, **f.params()
            ),
            "velocity": ws.report("velocity", start=f.start, end=f.end, by=f.by),
            "order": _stage_order(ws),
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
            csv=api_link("reports/stages", f, format="csv"),
            columns=stages.table_columns,
            table_id="stages",
        ),
        table(
            conv,
            title=conv.title or "Conversion",
            csv=api_link("reports/conversion", f, **extra, format="csv"),
            columns=conv.table_columns,
            table_id="conversion",
        ),
        table(
            vel,
            title=vel.title or "Time in stage",
            csv=api_link("reports/velocity", f, period=None, format="csv"),
            columns=vel.table_columns,
            table_id="velocity",
        ),
    ]
    return render(
        request,
        "funnel.html",
        title="Funnel & conversion",
        f=f,
        notes=stages.notes[:1],
        charts=charts,
        tables=tables,
        stage_keys=d["stage_keys"],
        from_stage=from_stage,
        to_stage=to_stage,
    )


# -- Money ---------------------------------------------------------------------------------------
@router.get("/money", response_class=HTMLResponse)
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
    model = _blank(model)

    def build(ws: Workspace) -> dict[str, Any]:
        return {
            "costs": ws.report("costs", start=f.start, end=f.end, period=f.period, by=cost_by),
            "roi": ws.report("roi", model=model, by=roi_by, start=f.start, end=f.end),
            "compare": ws.report("attribution", compare=True, by=roi_by, start=f.start, end=f.end),
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
    tables = []
    totals = costs.extra.get("totals")
    if totals is not None:
        tables.append(
            table(
                totals[1],
                title=f"Cost per stage, {totals[0][0].lower()}{totals[0][1:]}",
                csv=api_link("reports/costs", f, by=cost_by, table="totals", format="csv"),
                table_id="cost-totals",
            )
        )
    tables += [
        table(
            costs,
            title=costs.title or "Costs",
            csv=api_link("reports/costs", f, by=cost_by, format="csv"),
            columns=costs.table_columns,
            table_id="costs",
        ),
        table(
            roi,
            title=roi.title or "ROI",
            csv=api_link("reports/roi", None, **base, by=roi_by, model=chosen, format="csv"),
            columns=roi.table_columns,
            table_id="roi",
        ),
        table(
            compare,
            title=compare.title or "Attribution models",
            csv=api_link("attribution", None, **base, by=roi_by, compare="true", format="csv"),
            table_id="compare",
        ),
    ]
    return render(
        request,
        "money.html",
        title="Money",
        f=f,
        notes=notes,
        charts=charts,
        tables=tables,
        models=list(MODELS),
        model=chosen,
        breakdowns=list(COST_KEYS),
    )


# -- Plan ----------------------------------------------------------------------------------------
PLAN_FIELDS = ("revenue", "deal_size", "close_rate", "mql_to_sql", "lead_to_mql", "visit_to_lead")


@router.get("/plan", response_class=HTMLResponse)
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
    from leadledger.reports.legacy import resolve_range

    form = {
        "revenue": _blank(revenue),
        "deal_size": _blank(deal_size),
        "close_rate": _blank(close_rate),
        "mql_to_sql": _blank(mql_to_sql),
        "lead_to_mql": _blank(lead_to_mql),
        "visit_to_lead": _blank(visit_to_lead),
    }
    dates = {"start": _blank(plan_from), "end": _blank(plan_to)}
    levers = [s for s in (x.strip() for x in set_) if s]

    def build(ws: Workspace) -> dict[str, Any]:
        out: dict[str, Any] = {"error": None, "plan": None}
        as_of = resolve_range(ws, f.start, f.end, f.period)[1]
        out["as_of"] = as_of
        out["pace"], out["why"] = _pace(ws, as_of, f.period)
        out["goals"] = [(g.name, g.start, g.end, g.revenue) for g in ws.cfg.goals]
        if form["revenue"]:
            try:
                out["plan"] = ws.report("plan", **form, **dates)
            except LeadledgerError as exc:
                out["error"] = exc
        out["whatif_error"] = None
        try:
            out["whatif"] = ws.report("whatif", overrides=levers)
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
    tables, charts = [], []
    if plan_report is not None:
        tables.append(
            table(
                plan_report,
                title=plan_report.title or "Plan",
                csv=api_link("plan", None, **plan_q, format="csv"),
                columns=plan_report.table_columns,
                table_id="plan",
            )
        )
        tables += companion_tables(plan_report, "plan", "plan", **plan_q)
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
        tables.append(
            table(
                pace,
                title=pace.title or "Pace",
                csv=api_link("pace", None, as_of=plain(d["as_of"]), period=f.period, format="csv"),
                columns=pace.table_columns,
                table_id="pace",
            )
        )
        pf = pace.frame[["stage", "required_per_working_day", "actual_per_working_day"]]
        long = pf.melt(id_vars=["stage"], var_name="measure", value_name="per_working_day")
        charts.append(
            chart(
                {
                    "data": {"values": records(long)},
                    "mark": "bar",
                    "encoding": {
                        "y": {"field": "stage", "type": "nominal", "sort": None, "title": None},
                        "yOffset": {"field": "measure"},
                        "x": {
                            "field": "per_working_day",
                            "type": "quantitative",
                            "scale": {"type": "symlog"},
                        },
                        "color": {"field": "measure", "type": "nominal"},
                    },
                },
                chart_id="pace",
                title="Pace: actual vs required per working day",
            )
        )
    if wi is not None:
        wq = {"set": levers} if levers else {}
        tables.append(
            table(
                wi,
                title=wi.title or "What if",
                csv=api_link("whatif", None, **wq, format="csv"),
                columns=wi.table_columns,
                table_id="whatif",
            )
        )
        tables += companion_tables(wi, "whatif", "whatif", **wq)
        notes.extend(wi.notes[:1])
    resp = render(
        request,
        "plan.html",
        title="Plan",
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
