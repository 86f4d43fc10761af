"""Dashboard pages Pipeline health, Scoring, Experiments, Data and the Executive report (with its
HTML and PDF downloads), and the read-only API call behind its own table (``/api/v1/executive``;
``/api/v1/score/distribution`` is the registry's, ``leadledger.web.api.reports``).

Every number comes from the façade called with the CLI's parameters (``sla``, ``decay``,
``alerts``, ``score backtest``/``explain``, ``experiment report``, ``check``, the imports
listing, ``export report``); the pages pick and round for display only, and each table links to
the API's CSV of the very same call. Nothing here writes: alerts are listed, never sent, and the
score distribution reads the last ``leadledger score`` run instead of scoring again.
"""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from leadledger.errors import InvalidArgument, LeadledgerError
from leadledger.report import Report, display, plain
from leadledger.service import Workspace
from leadledger.web import executive
from leadledger.web.app import Read
from leadledger.web.charts import (
    decay_chart,
    histogram_chart,
    lift_chart,
    rate_chart,
    tradeoff_chart,
)
from leadledger.web.common import (
    Filters,
    api_link,
    companion_tables,
    filters,
    render,
    table,
)

router = APIRouter()
F = Annotated[Filters, Depends(filters)]
AsOfQ = Annotated[
    str | None,
    Query(description="Evaluate as of this time (date or timestamp; default now), like --as-of."),
]
QUARANTINE_ROWS = 10
#: Open SLA breaches shown per page of /health (the CSV link has all of them).
BREACHES_PER_PAGE = 50
PageQ = Annotated[int, Query(ge=1, le=1_000_000, description="Page of the open-breaches table.")]


def _blank(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def _try(fn: Any) -> tuple[Report | None, str | None]:
    """Run a façade call; a typed error becomes a note on the page (empty data, no crash)."""
    try:
        return fn(), None
    except LeadledgerError as exc:
        return None, exc.message + (f" ({exc.hint})" if exc.hint else "")


def _cards(items: list[tuple[str, str, Any, str, str]]) -> list[dict[str, Any]]:
    """KPI cards: (key, label, raw value, column for display, sub line)."""
    return [
        {
            "key": key,
            "label": label,
            "value": display(value, column),
            "raw": plain(value),
            "lines": [{"text": sub}] if sub else [],
        }
        for key, label, value, column, sub in items
    ]


def _rows(frame: pd.DataFrame, columns: list[str] | None) -> list[str] | None:
    return [c for c in columns if c in frame.columns] if columns else None


# -- charts ------------------------------------------------------------------------------------
# -- Pipeline health ---------------------------------------------------------------------------
def breaches_page(
    frame: pd.DataFrame, page: int, per_page: int = BREACHES_PER_PAGE
) -> tuple[pd.DataFrame, int, int]:
    """Rows of page ``page`` (1-based; past the last page: the last) of ``frame`` in its own
    order, the page shown and the number of pages."""
    pages = max(1, -(-len(frame) // per_page))
    page = min(page, pages)
    return frame.iloc[(page - 1) * per_page : page * per_page], page, pages


def pager(
    f: Filters, page: int, pages: int, total: int, shown: int, **extra: Any
) -> dict[str, Any]:
    """'showing a–b of N' and links to the first, last and nearby pages, the filters kept."""
    first = (page - 1) * BREACHES_PER_PAGE + 1

    def link(n: int) -> str:
        return f"/health?{f.query(**extra, page=n if n > 1 else None)}#table-sla-breaches"

    near = sorted({1, pages, *range(max(1, page - 3), min(pages, page + 3) + 1)})
    return {
        "text": (
            f"showing {first:,}–{first + shown - 1:,} of {total:,}"
            if shown
            else f"showing 0 of {total:,}"
        ),
        "page": page,
        "pages": pages,
        "prev": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if page < pages else None,
        "links": [{"n": n, "href": link(n), "current": n == page} for n in near]
        if pages > 1
        else [],
    }


@router.get("/health", include_in_schema=False, response_class=HTMLResponse)
def health_page(request: Request, st: Read, f: F, as_of: AsOfQ = None, page: PageQ = 1) -> Response:
    as_of = _blank(as_of)
    rates_by = [b for b in (f.by, "owner", "channel") if b]
    rates_by = list(dict.fromkeys(rates_by))[:2]

    def build(ws: Workspace) -> dict[str, Any]:
        common = {"start": f.start, "end": f.end, "as_of": as_of}
        out: dict[str, Any] = {
            "breaches": _try(lambda: ws.report("sla", view="breaches", period=f.period, **common)),
            "rates": [
                (
                    b,
                    _try(
                        lambda b=b: ws.report("sla", view="rates", period=f.period, by=b, **common)  # type: ignore[misc]
                    ),
                )
                for b in rates_by
            ],
            "decay": _try(lambda: ws.report("decay", **common)),
            "alerts": _try(lambda: ws.report("alerts", as_of=as_of)),
        }
        return out

    got = st.call(build)
    notes: list[str] = []
    cards: list[dict[str, Any]] = []
    charts: list[dict[str, Any]] = []
    tables: list[dict[str, Any]] = []
    extra = {"as_of": as_of}
    breaches, err = got["breaches"]
    if breaches is not None:
        notes += breaches.notes[:1]
        cards += _cards(
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
            columns=_rows(breaches.frame, breaches.table_columns),
            csv=api_link("sla", f, view="breaches", format="csv", **extra),
        )
        shown["pager"] = pager(f, page, pages, len(breaches.frame), len(rows), **extra)
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
                columns=_rows(rates.frame, rates.table_columns),
                csv=api_link("sla", f, view="rates", by=b, format="csv", **extra),
            )
        )
    decay, err = got["decay"]
    if decay is not None and len(decay.frame):
        row = decay.frame.iloc[0]
        cards += _cards(
            [
                (
                    "value_at_risk",
                    "Value at risk now",
                    row.get("value_at_risk"),
                    "value_at_risk",
                    f"{display(row.get('open_sqls'), 'open_sqls')} open SQLs not followed up",
                ),
                (
                    "value_lost",
                    "Value lost in range",
                    row.get("value_lost"),
                    "value_lost",
                    f"{display(row.get('neglected'), 'neglected')} of "
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
                columns=_rows(decay.frame, decay.table_columns),
                csv=api_link("decay", None, format="csv", **dparams, **extra),
            )
        )
        if "curve" in decay.extra and len(decay.extra["curve"][1]):
            charts.append(decay_chart(decay.extra["curve"][1]))
        tables += companion_tables(decay, "decay", "decay", **dparams, **extra)
    else:
        notes.append(f"lead decay: {err or 'no SQLs in the history window'}")
    alerts, err = got["alerts"]
    if alerts is not None:
        cards += _cards(
            [("alerts", "Alerts", len(alerts.frame), "count", "listed here, never sent")]
        )
        tables.append(
            table(
                alerts,
                title="Alerts (read-only: nothing is sent from here)",
                table_id="alerts",
                columns=_rows(alerts.frame, alerts.table_columns),
                csv=api_link("alerts", None, format="csv", **extra),
                limit=50,
            )
        )
    else:
        notes.append(f"alerts: {err}")
    return render(
        request,
        "health.html",
        title="Pipeline health",
        f=f,
        notes=notes,
        cards=cards,
        charts=charts,
        tables=tables,
        as_of=as_of,
        breakdowns=["owner", "channel", "campaign", "persona", "segment"],
    )


# -- Scoring -----------------------------------------------------------------------------------
@router.get("/scoring", include_in_schema=False, response_class=HTMLResponse)
def scoring_page(
    request: Request,
    st: Read,
    f: F,
    lead: Annotated[str | None, Query(description="Explain this lead's score.")] = None,
    outcome: Annotated[str, Query(description="Backtest outcome stage.")] = "sql",
    window: Annotated[str, Query(description="Backtest outcome window, e.g. 90d.")] = "90d",
) -> Response:
    lead = _blank(lead)
    if st.ws.cfg.scoring is None:
        return render(
            request,
            "scoring.html",
            title="Scoring",
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
            "dist": _try(lambda: ws.report("score_distribution")),
            "backtest": _try(lambda: ws.report("score_backtest", outcome=outcome, window=window)),
            # an unknown lead is the typed 404 (lead_not_found), not a note
            "explain": ws.report("score_explain", lead_id=lead) if lead else None,
        }

    got = st.call(build)
    notes: list[str] = []
    cards: list[dict[str, Any]] = []
    charts: list[dict[str, Any]] = []
    tables: list[dict[str, Any]] = []
    dist, err = got["dist"]
    if dist is not None:
        notes += dist.notes[:1]
        if len(dist.frame):
            p = dist.params
            cards += _cards(
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
                csv=api_link("score/distribution", None, format="csv"),
            )
        )
    else:
        notes.append(f"score distribution: {err}")
    bt, err = got["backtest"]
    bparams = {"outcome": outcome, "window": window}
    if bt is not None:
        notes += bt.notes[:1]
        if len(bt.frame):
            charts.append(tradeoff_chart(bt.frame))
        tables.append(
            table(
                bt,
                title=bt.title or "Backtest",
                table_id="score-backtest",
                csv=api_link("score/backtest", None, format="csv", **bparams),
            )
        )
        tables += companion_tables(bt, "score/backtest", "score-backtest", **bparams)
    else:
        notes.append(f"threshold trade-off: {err}")
    explain: dict[str, Any] | None = None
    ex = got["explain"]
    if ex is not None:
        explain = {
            "title": ex.title,
            "score": plain(ex.params.get("score")),
            "notes": ex.notes,
            "table": table(
                ex,
                title=ex.title or f"Score of {lead}",
                table_id="score-explain",
                csv=api_link(f"score/explain/{lead}", None, format="csv"),
            ),
        }
    return render(
        request,
        "scoring.html",
        title="Scoring",
        f=f,
        notes=notes,
        cards=cards,
        charts=charts,
        tables=tables,
        explain=explain,
        lead=lead,
        outcome=outcome,
        window=window,
    )


# -- Experiments -------------------------------------------------------------------------------
@router.get("/experiments", include_in_schema=False, response_class=HTMLResponse)
def experiments_page(request: Request, st: Read, f: F, as_of: AsOfQ = None) -> Response:
    as_of = _blank(as_of)
    names = [e.name for e in st.ws.cfg.experiments]

    def build(ws: Workspace) -> list[tuple[str, tuple[Report | None, str | None]]]:
        return [
            (n, _try(lambda n=n: ws.report("experiment_report", name=n, as_of=as_of)))  # type: ignore[misc]
            for n in names
        ]

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
            section["tables"].append(
                table(
                    rep,
                    title=rep.title or exp.name,
                    table_id=f"experiment-{exp.name}",
                    csv=api_link(f"experiments/{exp.name}", None, format="csv", as_of=as_of),
                )
            )
            section["tables"] += companion_tables(
                rep, f"experiments/{exp.name}", f"experiment-{exp.name}", as_of=as_of
            )
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
        request, "experiments.html", title="Experiments", f=f, notes=notes, sections=sections
    )


# -- Data --------------------------------------------------------------------------------------
def _quarantine_file(ws: Workspace, rel: str) -> FsPath:
    root = (ws.project_dir / "imports").resolve()
    path = (ws.project_dir / rel).resolve()
    if not path.is_relative_to(root) or path.name != "quarantine.csv" or not path.is_file():
        raise InvalidArgument(f"no quarantine file {rel}")
    return path


@router.get("/data", include_in_schema=False, response_class=HTMLResponse)
def data_page(request: Request, st: Read, f: F) -> Response:
    def build(ws: Workspace) -> dict[str, Any]:
        imports = ws.report("imports")
        samples: list[dict[str, Any]] = []
        for rec in imports.frame.to_dict(orient="records"):
            rel = rec.get("quarantine")
            if (
                isinstance(rel, str)
                and rel
                and not any(s["batch_no"] == rec["batch_no"] for s in samples)
            ):
                path = _quarantine_file(ws, rel)
                head = pd.read_csv(path, nrows=QUARANTINE_ROWS, dtype=str, keep_default_na=False)
                samples.append(
                    {"batch_no": int(rec["batch_no"]), "kind": rec["kind"], "head": head}
                )
        return {"imports": imports, "samples": samples, "check": _try(lambda: ws.report("check"))}

    got = st.call(build)
    imports: Report = got["imports"]
    notes = list(imports.notes)
    tables = [
        table(
            imports,
            title="Imports",
            table_id="imports",
            csv=api_link("imports", None, format="csv"),
        )
    ]
    tables += companion_tables(imports, "imports", "imports")
    quarantined = []
    for s in got["samples"]:
        t = table(
            s["head"],
            title=f"Batch {s['batch_no']} ({s['kind']}): first {QUARANTINE_ROWS} quarantined rows",
            table_id=f"quarantine-{s['batch_no']}",
            csv=f"/data/quarantine/{s['batch_no']}.csv",
        )
        quarantined.append(t)
    if not quarantined:
        notes.append("no quarantined rows: every imported row was accepted or skipped")
    check, err = got["check"]
    if check is not None:
        notes += check.notes[:3]
        tables_check = [
            table(
                check,
                title="Anomalies (leadledger check)",
                table_id="check",
                columns=_rows(check.frame, check.table_columns),
                csv=api_link("check", None, format="csv"),
            )
        ]
    else:
        notes.append(f"anomalies: {err}")
        tables_check = []
    return render(
        request,
        "data.html",
        title="Data",
        f=f,
        notes=notes,
        tables=tables,
        quarantined=quarantined,
        checks=tables_check,
    )


@router.get("/data/quarantine/{batch_no}.csv", include_in_schema=False)
def quarantine_download(st: Read, batch_no: int) -> Response:
    """The whole quarantine file of one import batch."""

    def find(ws: Workspace) -> FsPath:
        frame = ws.report("imports").frame
        hits = frame[(frame["batch_no"] == batch_no) & frame["quarantine"].notna()]
        if hits.empty:
            raise InvalidArgument(f"import batch {batch_no} quarantined no rows")
        return _quarantine_file(ws, str(hits["quarantine"].iloc[0]))

    path = st.call(find)
    return FileResponse(
        path, media_type="text/csv; charset=utf-8", filename=f"quarantine-{batch_no}.csv"
    )


# -- Executive report --------------------------------------------------------------------------
def _executive(st: Any, f: Filters) -> tuple[Report, str, str]:
    def build(ws: Workspace) -> tuple[Report, str, str]:
        rep = ws.report("executive", start=f.start, end=f.end, period=f.period)
        return rep, ws.cfg.name, ws.cfg.currency

    return st.call(build)  # type: ignore[no-any-return]


@router.get("/executive", include_in_schema=False, response_class=HTMLResponse)
def executive_page(request: Request, st: Read, f: F) -> Response:
    rep, _name, currency = _executive(st, f)
    q = f.query(by=None)
    return render(
        request,
        "executive.html",
        title="Executive report",
        f=f,
        notes=[],
        body=executive.body(rep, currency=currency),
        css=executive.CSS,
        html_link=f"/executive/report.html?{q}",
        pdf_link=f"/executive/report.pdf?{q}",
        csv_link=api_link("executive", f, format="csv", by=None),
        table=table(
            rep,
            title="The six keys and the ROI",
            table_id="executive",
            csv=api_link("executive", f, format="csv", by=None),
        ),
    )


def _stamp(rep: Report) -> str:
    return f"{rep.params.get('from')}_{rep.params.get('to')}"


@router.get("/executive/report.html", include_in_schema=False)
def executive_html(st: Read, f: F) -> Response:
    rep, name, currency = _executive(st, f)
    return HTMLResponse(
        executive.document(rep, project=name, currency=currency),
        headers={
            "content-disposition": f'attachment; filename="executive-report-{_stamp(rep)}.html"'
        },
    )


@router.get("/executive/report.pdf", include_in_schema=False)
def executive_pdf(st: Read, f: F) -> Response:
    import tempfile

    rep, name, currency = _executive(st, f)
    html = executive.document(rep, project=name, currency=currency)
    with tempfile.TemporaryDirectory(prefix="leadledger-export-") as tmp:
        out = executive.to_pdf(html, FsPath(tmp) / "report.pdf")
        data = out.read_bytes()
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "content-disposition": f'attachment; filename="executive-report-{_stamp(rep)}.pdf"'
        },
    )


# -- the API of these pages' own tables --------------------------------------------------------
