"""Pipeline health: open SLA breaches (one page of them at a time), breach rates, lead decay in
money and the alerts (``sla``, ``decay``, ``alerts`` without ``--webhook``: listed, never sent).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from leadledger.formatting import display
from leadledger.reports.protection import AlertsParams, DecayParams, SlaParams
from leadledger.reports.result import Report
from leadledger.service import Workspace
from leadledger.web.app import Read
from leadledger.web.charts import decay_chart, rate_chart
from leadledger.web.common import api_link, companion_tables, render, table
from leadledger.web.pages._shared import (
    AsOfQ,
    F,
    Page,
    api_path,
    attempt,
    blank,
    breaches_page,
    cards,
    pager,
    shown_columns,
)

PAGE = Page(path="/health", title="Pipeline health", order=50)
router = APIRouter(include_in_schema=False)

PageQ = Annotated[int, Query(ge=1, le=1_000_000, description="Page of the open-breaches table.")]


@router.get(PAGE.path, response_class=HTMLResponse)
def health_page(request: Request, st: Read, f: F, as_of: AsOfQ = None, page: PageQ = 1) -> Response:
    as_of = blank(as_of)
    rates_by = [b for b in (f.by, "owner", "channel") if b]
    rates_by = list(dict.fromkeys(rates_by))[:2]

    def build(ws: Workspace) -> dict[str, Any]:
        common = {"start": f.start, "end": f.end, "as_of": as_of}

        def rates(b: str) -> tuple[Report | None, str | None]:
            return attempt(lambda: ws.run(SlaParams(view="rates", period=f.period, by=b, **common)))

        out: dict[str, Any] = {
            "breaches": attempt(
                lambda: ws.run(SlaParams(view="breaches", period=f.period, **common))
            ),
            "rates": [(b, rates(b)) for b in rates_by],
            "decay": attempt(lambda: ws.run(DecayParams(**common))),
            "alerts": attempt(lambda: ws.run(AlertsParams(as_of=as_of))),
        }
        return out

    got = st.call(build)
    notes: list[str] = []
    kpis: list[dict[str, Any]] = []
    charts: list[dict[str, Any]] = []
    tables: list[dict[str, Any]] = []
    extra = {"as_of": as_of}
    sla_api, decay_api = api_path(SlaParams), api_path(DecayParams)
    breaches, err = got["breaches"]
    if breaches is not None:
        notes += breaches.notes[:1]
        # a ledger without activities or sales touches: say so beside the count
        notes += [n for n in breaches.notes if n.startswith("no activity data")][:1]
        kpis += cards(
            [
                (
                    "open_breaches",
                    "Open SLA breaches",
                    len(breaches.frame),
                    "count",
                    "clocks past due",
                )
            ]
        )
        # the CLI's order (per SLA, the most late first); one page of it, the CSV has them all
        rows, page, pages = breaches_page(breaches.frame, page)
        shown = table(
            rows,
            title="Open SLA breaches",
            table_id="sla-breaches",
            columns=shown_columns(breaches.frame, breaches.table_columns),
            csv=api_link(sla_api, f, view="breaches", format="csv", **extra),
        )
        shown["pager"] = pager(
            PAGE.path,
            f"table-{shown['id']}",
            f,
            page,
            pages,
            len(breaches.frame),
            len(rows),
            **extra,
        )
        tables.append(shown)
    else:
        notes.append(f"SLA breaches: {err}")
    for b, (rates, err) in got["rates"]:
        if rates is None:
            notes.append(f"SLA breach rates by {b}: {err}")
            continue
        if len(rates.frame):
            charts.append(
                rate_chart(rates.frame, b, chart_id=f"sla-rates-{b}", title=f"Breach rate by {b}")
            )
        tables.append(
            table(
                rates,
                title=f"SLA breach rates by {b}",
                table_id=f"sla-rates-{b}",
                columns=shown_columns(rates.frame, rates.table_columns),
                csv=api_link(sla_api, f, view="rates", by=b, format="csv", **extra),
            )
        )
    decay, err = got["decay"]
    if decay is not None and len(decay.frame):
        row = decay.frame.iloc[0]
        kpis += cards(
            [
                (
                    "value_at_risk",
                    "Value at risk now",
                    row.get("value_at_risk"),
                    "value_at_risk",
                    "no data: no activity data"
                    if row.get("value_at_risk_reason")
                    else f"{display(row.get('open_sqls'), 'open_sqls')} open SQLs not followed up",
                ),
                (
                    "value_lost",
                    "Value lost in range",
                    row.get("value_lost"),
                    "value_lost",
                    "no data: no activity data"
                    if row.get("value_lost_reason")
                    else f"{display(row.get('neglected'), 'neglected')} of "
                    f"{display(row.get('sqls'), 'sqls')} SQLs neglected",
                ),
                ("value_per_sql", "Value per SQL", row.get("value_per_sql"), "value_per_sql", ""),
            ]
        )
        dparams = {"from": decay.params.get("from"), "to": decay.params.get("to")}
        tables.append(
            table(
                decay,
                title="Lead decay in money",
                table_id="decay",
                columns=shown_columns(decay.frame, decay.table_columns),
                csv=api_link(decay_api, None, format="csv", **dparams, **extra),
            )
        )
        if "curve" in decay.extra and len(decay.extra["curve"][1]):
            charts.append(decay_chart(decay.extra["curve"][1]))
        tables += companion_tables(decay, decay_api, "decay", **dparams, **extra)
    else:
        notes.append(f"lead decay: {err or 'no SQLs in the history window'}")
    alerts, err = got["alerts"]
    if alerts is not None:
        kpis += cards([("alerts", "Alerts", len(alerts.frame), "count", "listed here, never sent")])
        tables.append(
            table(
                alerts,
                title="Alerts (read-only: nothing is sent from here)",
                table_id="alerts",
                columns=shown_columns(alerts.frame, alerts.table_columns),
                csv=api_link(api_path(AlertsParams), None, format="csv", **extra),
                limit=50,
            )
        )
    else:
        notes.append(f"alerts: {err}")
    return render(
        request,
        "health.html",
        title=PAGE.title,
        vega=PAGE.charts,
        f=f,
        notes=notes,
        cards=kpis,
        charts=charts,
        tables=tables,
        as_of=as_of,
        breakdowns=["owner", "channel", "campaign", "persona", "segment"],
    )
