"""What the dashboard's pages share: their declaration (:class:`Page`, from which the navigation
is derived), the API link of a registered report, and pure helpers that pick and format a
report's rows (never compute a metric).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import pandas as pd
from fastapi import Depends, Query

from leadledger.errors import LeadledgerError
from leadledger.formatting import display
from leadledger.reports.params import Params
from leadledger.reports.planning import PaceParams
from leadledger.reports.registry import get, spec_for
from leadledger.reports.result import Report, plain
from leadledger.service import Workspace
from leadledger.web.common import Filters, api_link, filters, table

P = TypeVar("P", bound=Params)

#: A page's filters (the date range, period and breakdown in the URL).
F = Annotated[Filters, Depends(filters)]
#: A page's ``as_of`` field.
AsOfQ = Annotated[
    str | None,
    Query(description="Evaluate as of this time (date or timestamp; default now), like --as-of."),
]

#: Open SLA breaches shown per page of /health (the CSV link has all of them).
BREACHES_PER_PAGE = 50
#: The stages of the Overview's KPI cards (seed 000: lead, MQL, SQL, customer), when defined.
KPI_STAGES = (("lead", "Leads"), ("mql", "MQLs"), ("sql", "SQLs"), ("customer", "Customers"))


@dataclasses.dataclass(frozen=True)
class Page:
    """A page of the navigation: its path, its title (the navigation's label and the page's
    heading), its place in the navigation (``order``, ascending) and whether it draws Vega-Lite
    charts (only then does it load the Vega scripts)."""

    path: str
    title: str
    order: int
    charts: bool = True


# -- the registry ------------------------------------------------------------------------------
def api_path(params: type[Params], **path: str) -> str:
    """The API path of the report ``params`` belong to (``/reports/stages``), its path
    parameters (``/experiments/{name}``) filled in as given."""
    spec = get(params.report_name)
    if spec.api is None:
        raise ValueError(f"report {spec.name} has no API route")
    return spec.api.format(**path) if path else spec.api


def resolved(ws: Workspace, params: P) -> P:
    """``params`` with the project's defaults applied (the registry's own resolution: a range
    not given is the one the report would show)."""
    out: P = spec_for(params).resolve(ws.ctx, params).params
    return out


# -- picking and formatting --------------------------------------------------------------------
def blank(value: str | None) -> str | None:
    """A form's text field: stripped, and None when empty."""
    return value.strip() if value and value.strip() else None


def attempt(fn: Callable[[], Report]) -> tuple[Report | None, str | None]:
    """Run a façade call; a typed error becomes a note on the page (empty data, no crash)."""
    try:
        return fn(), None
    except LeadledgerError as exc:
        return None, exc.message + (f" ({exc.hint})" if exc.hint else "")


def pace_of(ws: Workspace, as_of: Any, period: str) -> tuple[Report | None, str | None]:
    """The pace of the goal covering ``as_of`` for ``period``; else the reason there is none."""
    pace, why = attempt(lambda: ws.run(PaceParams(as_of=as_of, period=period)))
    return pace, None if why is None else f"vs goal: {why}"


def pace_table(pace: Report, as_of: Any, period: str) -> dict[str, Any]:
    """The goal's pace as a page table, with the CSV of the same ``pace`` call."""
    csv = api_link(api_path(PaceParams), None, as_of=plain(as_of), period=period, format="csv")
    return table(
        pace,
        title=pace.title or "Pace",
        csv=csv,
        columns=pace.table_columns,
        table_id="pace",
    )


def stage_order(ws: Workspace) -> list[str]:
    return ["visitor", *ws.cfg.stage_keys]


def current_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of the last period in a per-period report (the current period)."""
    if frame.empty or "period" not in frame:
        return frame.iloc[0:0]
    now: pd.DataFrame = frame[frame["period"] == frame["period"].max()]
    return now


def shown_columns(frame: pd.DataFrame, columns: list[str] | None) -> list[str] | None:
    """The report's table columns that ``frame`` has (None: every column)."""
    return [c for c in columns if c in frame.columns] if columns else None


def cards(items: list[tuple[str, str, Any, str, str]]) -> list[dict[str, Any]]:
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


def kpi_cards(stages: Report, pace: Report | None, stage_keys: list[str]) -> list[dict[str, Any]]:
    """Cards for the current period of the ``stages`` report (no breakdown): count, per working
    day, change vs the previous period, and the goal's pace when ``pace`` covers it."""
    now = current_rows(stages.frame)
    paced = {}
    if pace is not None and not pace.frame.empty:
        paced = {str(r["stage"]): r for r in pace.frame.to_dict(orient="records")}
    out = []
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
        out.append(
            {
                "key": key,
                "label": label,
                "value": display(r["entered"], "entered"),
                "raw": plain(r["entered"]),
                "lines": lines,
            }
        )
    return out


def breaches_page(
    frame: pd.DataFrame, page: int, per_page: int = BREACHES_PER_PAGE
) -> tuple[pd.DataFrame, int, int]:
    """Rows of page ``page`` (1-based; past the last page: the last) of ``frame`` in its own
    order, the page shown and the number of pages."""
    pages = max(1, -(-len(frame) // per_page))
    page = min(page, pages)
    return frame.iloc[(page - 1) * per_page : page * per_page], page, pages


def pager(
    path: str,
    anchor: str,
    f: Filters,
    page: int,
    pages: int,
    total: int,
    shown: int,
    **extra: Any,
) -> dict[str, Any]:
    """'showing a–b of N' and links to the first, last and nearby pages of the table ``anchor``
    on the page at ``path``, the filters kept."""
    first = (page - 1) * BREACHES_PER_PAGE + 1

    def link(n: int) -> str:
        return f"{path}?{f.query(**extra, page=n if n > 1 else None)}#{anchor}"

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
