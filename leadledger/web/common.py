"""What the API and the dashboard share: report responses (JSON/CSV), the page filters kept in
the URL, tables and Vega-Lite charts for the templates.

A page never computes a number itself: it calls the same façade method as the CLI with the
same parameters, then shows the Report's rows (rounded for display only, as the terminal
does) and links each table to the API's CSV of the very same call.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any
from urllib.parse import urlencode

import pandas as pd
from fastapi import Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from leadledger import __version__
from leadledger.errors import InvalidArgument
from leadledger.formatting import display_cell, is_percent
from leadledger.reports.result import Report, plain
from leadledger.web.app import state
from leadledger.web.cache import OLDEST_SERVED, WARM_SCOPE
from leadledger.web.templating import environment
from leadledger.workdays import PERIODS

FORMATS = ("json", "csv")


def __getattr__(name: str) -> Any:
    """``NAV``: the dashboard's pages as (path, title) in the navigation's order, derived from
    the pages' own declarations (:data:`leadledger.web.pages.NAV`; loaded on first use, since
    the pages import this module)."""
    if name == "NAV":
        from leadledger.web.pages import NAV

        return NAV
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- API responses ---------------------------------------------------------------------------
def report_response(report: Report, fmt: str = "json", table: str | None = None) -> Response:
    """The CLI's JSON contract (``Report.as_dict``), or CSV of the main table (``table``: a
    companion table's key instead)."""
    if fmt not in FORMATS:
        raise InvalidArgument(f"format '{fmt}' is not one of {', '.join(FORMATS)}")
    if fmt == "csv":
        if table not in (None, "", "rows") and table not in report.extra:
            keys = ", ".join(["rows", *report.extra]) or "rows"
            raise InvalidArgument(f"report '{report.name}' has no table '{table}'", hint=keys)
        name = f"{report.name}{'-' + table if table and table != 'rows' else ''}.csv"
        return PlainTextResponse(
            report.to_csv(table),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )
    body = json.dumps(report.as_dict(), ensure_ascii=False, allow_nan=False)
    return Response(body, media_type="application/json")


FormatQ = Query("json", pattern="^(json|csv)$", description="json (the CLI's contract) or csv")
TableQ = Query(None, description="with format=csv: a companion table's key instead of rows")


# -- page filters ------------------------------------------------------------------------------
@dataclasses.dataclass
class Filters:
    """The date range, period and breakdown of a page, read from and written to the URL."""

    start: str | None = None
    end: str | None = None
    period: str = "month"
    by: str | None = None

    def params(self) -> dict[str, Any]:
        """Keyword arguments for the report functions (the CLI's ``--from/--to/--period/--by``)."""
        return {"start": self.start, "end": self.end, "period": self.period, "by": self.by}

    def query(self, **override: Any) -> str:
        """The URL query of these filters (with ``override``), empty values left out."""
        q = {"from": self.start, "to": self.end, "period": self.period, "by": self.by} | override
        return urlencode({k: v for k, v in q.items() if v not in (None, "")})


def filters(
    request: Request,
    start: str | None = Query(None, alias="from", description="first local day, YYYY-MM-DD"),
    end: str | None = Query(None, alias="to", description="last local day, YYYY-MM-DD"),
    period: str = Query("month", description="day, week, month, quarter or year"),
    by: str | None = Query(None, description="breakdown: channel, campaign, persona, …"),
) -> Filters:
    for name, value in (("from", start), ("to", end)):
        if value:
            try:
                dt.date.fromisoformat(value)
            except ValueError as exc:
                raise InvalidArgument(f"{name} '{value}' is not a date", hint="YYYY-MM-DD") from exc
    if period not in PERIODS:
        raise InvalidArgument(f"period '{period}' is not one of {', '.join(PERIODS)}")
    return Filters(start or None, end or None, period, by or None)


# -- tables and charts ---------------------------------------------------------------------------
def table(
    frame: pd.DataFrame | Report,
    *,
    title: str,
    csv: str | None = None,
    columns: list[str] | None = None,
    table_id: str | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """A table for ``_table.html``: headers, display strings (rounded as in the terminal), raw
    values in ``data-value`` for tests, and the CSV link of the same call. ``limit``: show the
    first rows only (the report's order) and say how many there are; the CSV has every row."""
    df = frame.frame if isinstance(frame, Report) else frame
    total = len(df)
    if limit is not None:
        df = df.head(limit)
    cols = [c for c in (columns or list(df.columns)) if c in df.columns]
    rows = []
    for rec in df.to_dict(orient="records"):  # all columns: a value's reason may be hidden
        rows.append(
            [
                {
                    "text": display_cell(rec, c),
                    "value": plain(rec[c]),
                    "num": isinstance(plain(rec[c]), (int, float))
                    and not isinstance(plain(rec[c]), bool),
                }
                for c in cols
            ]
        )
    return {
        "id": table_id or title.lower().replace(" ", "-"),
        "title": title,
        "columns": [c.replace("_", " ") for c in cols],
        "keys": cols,
        "percent": [is_percent(c) for c in cols],
        "rows": rows,
        "total": total,
        "csv": csv,
    }


def api_link(path: str, f: Filters | None = None, **params: Any) -> str:
    """``/api/v1/<path>?…`` with the page's filters and ``params``."""
    q = dict(f.params()) if f else {}
    q = {("from" if k == "start" else "to" if k == "end" else k): v for k, v in q.items()}
    q |= params
    query = urlencode({k: v for k, v in q.items() if v not in (None, "")}, doseq=True)
    return f"/api/v1/{path.lstrip('/')}" + (f"?{query}" if query else "")


def companion_tables(
    report: Report, path: str, table_id: str, **params: Any
) -> list[dict[str, Any]]:
    """A table per companion table of ``report`` (``report.extra``), each with the CSV of the
    same API call (``path`` with ``params`` and ``table=KEY``)."""
    return [
        table(
            frame,
            title=title,
            table_id=f"{table_id}-{key}",
            csv=api_link(path, None, **params, table=key, format="csv"),
        )
        for key, (title, frame) in report.extra.items()
    ]


def render(
    request: Request,
    template: str,
    *,
    title: str,
    f: Filters | None = None,
    vega: bool = False,
    **ctx: Any,
) -> HTMLResponse:
    """A dashboard page: navigation, the filter bar (when ``f``), notes and the page's blocks;
    ``vega``: the page draws Vega-Lite charts (it loads the Vega scripts). The template is the
    project's own when its ``templates/`` folder has one of that name
    (:func:`leadledger.web.templating.environment`), else the package's."""
    from leadledger.web.pages import NAV

    st = state(request)
    if st.warmer is not None and not request.scope.get(WARM_SCOPE):
        query = request.url.query
        st.warmer.seen(request.url.path + (f"?{query}" if query else ""))
    page = environment(st.ws.project_dir).get_template(template)
    return HTMLResponse(
        page.render(
            {
                "request": request,
                "title": title,
                "nav": NAV,
                "vega": vega,
                "path": request.url.path,
                "f": f,
                "project": st.ws.cfg.name,
                "currency": st.ws.cfg.currency,
                "version": __version__,
                "auth": st.auth,
                "data_version": st.cache.version if st.cache is not None else None,
                "served_from": OLDEST_SERVED.get(),
                **ctx,
            }
        )
    )
