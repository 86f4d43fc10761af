"""Scoring: the distribution of the last ``leadledger score`` run (read, never scored again), the
threshold trade-off of a backtest and one lead's explained score (``score backtest``,
``score explain``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from leadledger.formatting import display
from leadledger.reports.result import plain
from leadledger.reports.scoring import BacktestParams, DistributionParams, ExplainParams
from leadledger.service import Workspace
from leadledger.web.app import Read
from leadledger.web.charts import histogram_chart, tradeoff_chart
from leadledger.web.common import api_link, companion_tables, render, table
from leadledger.web.pages._shared import F, Page, api_path, attempt, blank, cards

PAGE = Page(path="/scoring", title="Scoring", order=60)
router = APIRouter(include_in_schema=False)


@router.get(PAGE.path, response_class=HTMLResponse)
def scoring_page(
    request: Request,
    st: Read,
    f: F,
    lead: Annotated[str | None, Query(description="Explain this lead's score.")] = None,
    outcome: Annotated[str, Query(description="Backtest outcome stage.")] = "sql",
    window: Annotated[str, Query(description="Backtest outcome window, e.g. 90d.")] = "90d",
) -> Response:
    lead = blank(lead)
    if st.ws.cfg.scoring is None:
        return render(
            request,
            "scoring.html",
            title=PAGE.title,
            vega=PAGE.charts,
            f=f,
            notes=["this project has no scoring rules (scoring: in leadledger.yaml)"],
            cards=[],
            charts=[],
            tables=[],
            explain=None,
            lead=lead,
            outcome=outcome,
            window=window,
        )

    def build(ws: Workspace) -> dict[str, Any]:
        return {
            "dist": attempt(lambda: ws.run(DistributionParams())),
            "backtest": attempt(lambda: ws.run(BacktestParams(outcome=outcome, window=window))),
            # an unknown lead is the typed 404 (lead_not_found), not a note
            "explain": ws.run(ExplainParams(lead_id=lead)) if lead else None,
        }

    got = st.call(build)
    notes: list[str] = []
    kpis: list[dict[str, Any]] = []
    charts: list[dict[str, Any]] = []
    tables: list[dict[str, Any]] = []
    dist, err = got["dist"]
    if dist is not None:
        notes += dist.notes[:1]
        if len(dist.frame):
            p = dist.params
            kpis += cards(
                [
                    ("scored", "Leads scored", p["leads"], "leads", f"as of {p['as_of']:%Y-%m-%d}"),
                    (
                        "over_threshold",
                        "At or over the threshold",
                        p["over_threshold"],
                        "leads",
                        f"threshold {display(p['threshold'], 'threshold')}",
                    ),
                    ("median", "Median score", p["median"], "score", ""),
                ]
            )
            charts.append(histogram_chart(dist.frame, p.get("threshold")))
        tables.append(
            table(
                dist,
                title=dist.title or "Score distribution",
                table_id="score-distribution",
                csv=api_link(api_path(DistributionParams), None, format="csv"),
            )
        )
    else:
        notes.append(f"score distribution: {err}")
    bt, err = got["backtest"]
    bparams = {"outcome": outcome, "window": window}
    backtest_api = api_path(BacktestParams)
    if bt is not None:
        notes += bt.notes[:1]
        if len(bt.frame):
            charts.append(tradeoff_chart(bt.frame))
        tables.append(
            table(
                bt,
                title=bt.title or "Backtest",
                table_id="score-backtest",
                csv=api_link(backtest_api, None, format="csv", **bparams),
            )
        )
        tables += companion_tables(bt, backtest_api, "score-backtest", **bparams)
    else:
        notes.append(f"threshold trade-off: {err}")
    explain: dict[str, Any] | None = None
    ex = got["explain"]
    if ex is not None and lead is not None:
        explain = {
            "title": ex.title,
            "score": plain(ex.params.get("score")),
            "notes": ex.notes,
            "table": table(
                ex,
                title=ex.title or f"Score of {lead}",
                table_id="score-explain",
                csv=api_link(api_path(ExplainParams, lead_id=lead), None, format="csv"),
            ),
        }
    return render(
        request,
        "scoring.html",
        title=PAGE.title,
        vega=PAGE.charts,
        f=f,
        notes=notes,
        cards=kpis,
        charts=charts,
        tables=tables,
        explain=explain,
        lead=lead,
        outcome=outcome,
        window=window,
    )
