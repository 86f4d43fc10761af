"""``/api/v1``: every report of the CLI, read-only (scope ``read``), and API tokens over HTTP
(scope ``admin``).

Each route takes the CLI command's options as query parameters (named without dashes:
``from``, ``to``, ``from_stage``, ``as_of``, …, with the CLI's defaults), calls the same façade
method with the same arguments under the project's lock, and answers with the CLI's JSON contract
(``Report.as_dict``) or, with ``format=csv``, the CSV of the main table or of the companion table
``table``. Nothing here computes a number, sends a webhook or reads a file the caller names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from leadledger.report import Report
from leadledger.service import Workspace
from leadledger.suggest import did_you_mean
from leadledger.web.api.reports import listed
from leadledger.web.app import Admin, AppState, Read, error_body
from leadledger.web.common import FormatQ, TableQ, report_response

router = APIRouter(prefix="/api/v1", tags=["reports"])

#: What a report route answers: JSON (the CLI's contract) or CSV.
REPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report: the CLI's JSON (`report`, `params`, `rows`, companion "
        "tables, `notes`), or CSV of `rows` (or of companion table `table`) with format=csv.",
        "content": {"application/json": {}, "text/csv": {}},
    },
    400: {"description": "Bad input: `{error: {code, message, hint}}` with the CLI's code."},
    401: {"description": "No valid token (`unauthorized`)."},
    403: {"description": "The token's scope is too low (`forbidden`)."},
    422: {"description": "A parameter does not fit the schema (`invalid_argument`)."},
}

# -- shared query parameters (the CLI's options) ------------------------------------------------
From = Annotated[
    str | None,
    Query(
        alias="from",
        description="First day (YYYY-MM-DD), project time zone (`--from`).",
        json_schema_extra={"format": "date"},
    ),
]
To = Annotated[
    str | None,
    Query(
        alias="to",
        description="Last day (YYYY-MM-DD), inclusive (`--to`).",
        json_schema_extra={"format": "date"},
    ),
]
By = Annotated[
    str | None,
    Query(
        description="Break down by FIELD[,FIELD]: any lead attribute, channel, campaign, "
        "first_touch_channel (`--by`)."
    ),
]
AsOf = Annotated[
    str | None,
    Query(description="Date or timestamp, project time zone (`--as-of`; default now)."),
]
Period = Annotated[str, Query(description="day, week, month, quarter or year.")]
Fraction = Annotated[float | None, Query(ge=0, le=1, allow_inf_nan=False)]
Positive = Annotated[float | None, Query(gt=0, allow_inf_nan=False)]
History = Annotated[
    str,
    Query(description="Trailing window that measures rates not given: 12m, 6m, 1y, 26w, 90d."),
]


# -- HTTP-only normalisation (ranges of dates, windows and limits are checked by the core's
# parsers, so the CLI and the API refuse the same values with the same typed error) ----------
def given(value: str | None) -> str | None:
    """``as_of``: an empty query parameter (a form's blank field) means not given, i.e. now."""
    return value if value is not None and value.strip() else None


def respond(st: AppState, fn: Callable[[Workspace], Report], fmt: str, table: str | None) -> Any:
    """Run ``fn`` on the workspace (under the lock) and answer in ``fmt``."""
    report = st.call(fn)
    return report_response(report, fmt, table)


# -- the list of reports (their routes are generated: leadledger.web.api.reports) ----------
@router.get("/reports", summary="list the reports")
def report_names(st: Read) -> dict[str, Any]:
    """The names of the reports under `/api/v1/reports/{name}`."""
    return {"reports": listed()}


@router.get(
    "/reports/{name}",
    include_in_schema=False,
    responses={404: {"description": "No such report (`unknown_report`)."}},
)
def unknown_report(st: Read, name: str) -> Response:
    """Every report has its own route (generated before this one); any other name is a typed
    404."""
    names = listed()
    hint = did_you_mean(name, names) or f"reports: {', '.join(names)}"
    return JSONResponse(
        error_body("unknown_report", f"unknown report '{name}'", hint), status_code=404
    )


# -- planning, protection ----------------------------------------------------------
@router.get("/plan", responses=REPORT_RESPONSES, summary="plan (reverse funnel)")
def plan(
    st: Read,
    revenue: Annotated[
        float, Query(gt=0, description="Revenue target of the plan period.", allow_inf_nan=False)
    ],
    deal_size: Annotated[
        float | None,
        Query(description="Average deal (default: mean won deal).", allow_inf_nan=False),
    ] = None,
    close_rate: Annotated[
        float | None, Query(description="SQL → customer rate, e.g. 0.25.", allow_inf_nan=False)
    ] = None,
    mql_to_sql: Annotated[
        float | None, Query(description="MQL → SQL rate.", allow_inf_nan=False)
    ] = None,
    lead_to_mql: Annotated[
        float | None, Query(description="Lead → MQL rate.", allow_inf_nan=False)
    ] = None,
    visit_to_lead: Annotated[
        float | None, Query(description="Visitor → lead rate.", allow_inf_nan=False)
    ] = None,
    start: Annotated[
        str | None,
        Query(alias="from", description="First day of the plan (default: 1 January next year)."),
    ] = None,
    end: Annotated[
        str | None,
        Query(alias="to", description="Last day of the plan (default: a year after from)."),
    ] = None,
    history: History = "12m",
    channel: Annotated[str | None, Query(description="Plan one channel.")] = None,
    campaign: Annotated[str | None, Query(description="Plan one campaign.")] = None,
    format: str = FormatQ,
    table: str | None = TableQ,
) -> Response:
    """From a revenue target to the customers, SQLs, MQLs, leads and visits it needs
    (`leadledger plan`; saving a goal is CLI-only; companion table `months`)."""
    return respond(
        st,
        lambda ws: ws.plan(
            revenue=revenue,
            deal_size=deal_size,
            close_rate=close_rate,
            mql_to_sql=mql_to_sql,
            lead_to_mql=lead_to_mql,
            visit_to_lead=visit_to_lead,
            start=start,
            end=end,
            history_text=history,
            channel=channel,
            campaign=campaign,
        ),
        format,
        table,
    )


@router.get("/pace", responses=REPORT_RESPONSES, summary="pace")
def pace(
    st: Read,
    goal: Annotated[
        str | None, Query(description="Goal name (default: the one goal covering as_of).")
    ] = None,
    as_of: Annotated[
        str | None, Query(description="The day to measure up to (default: today).")
    ] = None,
    period: Annotated[str, Query(description="month, quarter, week or year.")] = "month",
    format: str = FormatQ,
    table: str | None = TableQ,
) -> Response:
    """Actual vs required per working day for the current period of a goal (`leadledger
    pace`)."""
    return respond(
        st, lambda ws: ws.pace(goal=goal, as_of=given(as_of), period=period), format, table
    )


@router.get("/whatif", responses=REPORT_RESPONSES, summary="what if")
def whatif(
    st: Read,
    set_: Annotated[
        list[str] | None,
        Query(
            alias="set",
            description="KEY[.CHANNEL]=VALUE: leads, lead_to_mql, mql_to_sql, close_rate, "
            "deal_size or cost; VALUE 0.3, +20%, -10% or +2pt. Repeatable.",
        ),
    ] = None,
    history: History = "12m",
    format: str = FormatQ,
    table: str | None = TableQ,
) -> Response:
    """A scenario against the baseline, per channel, and the sensitivity of revenue
    (`leadledger whatif`; scenario files are CLI-only; companion tables `sensitivity`,
    `channels`)."""
    return respond(
        st,
        lambda ws: ws.whatif(overrides=list(set_ or []), scenario=None, history_text=history),
        format,
        table,
    )


@router.get("/sla", responses=REPORT_RESPONSES, summary="sla")
def sla(
    st: Read,
    view: Annotated[str, Query(description="breaches, rates or clocks.")] = "breaches",
    sla_name: Annotated[
        str | None, Query(alias="sla", description="Only this SLA (a name under slas:).")
    ] = None,
    as_of: AsOf = None,
    start: From = None,
    end: To = None,
    period: Period = "month",
    by: By = None,
    format: str = FormatQ,
    table: str | None = TableQ,
) -> Response:
    """SLA clocks between marketing and sales: open breaches, breach rates, or every clock
    (`leadledger sla`)."""
    return respond(
        st,
        lambda ws: ws.sla(
            start=start,
            end=end,
            period=period,
            by=by,
            as_of=given(as_of),
            view=view,
            sla=sla_name,
        ),
        format,
        table,
    )


@router.get("/decay", responses=REPORT_RESPONSES, summary="decay")
def decay(
    st: Read,
    customer_value: Annotated[
        float | None,
        Query(
            description="Value of one customer (default: decay.customer_value, else the mean "
            "won deal).",
            allow_inf_nan=False,
        ),
    ] = None,
    sqls: Annotated[
        int | None, Query(ge=0, le=10**12, description="Standalone: number of SQLs.")
    ] = None,
    customers: Annotated[
        int | None, Query(ge=0, le=10**12, description="Standalone: customers those SQLs gave.")
    ] = None,
    neglected: Annotated[
        int | None, Query(ge=0, le=10**12, description="Standalone: SQLs left to go cold.")
    ] = None,
    history: Annotated[
        str, Query(description="History window for the rate and curve, e.g. 365d.")
    ] = "365d",
    limit: Annotated[int, Query(ge=0, le=1_000_000, description="At-risk SQLs listed.")] = 50,
    as_of: AsOf = None,
    start: From = None,
    end: To = None,
    format: str = FormatQ,
    table: str | None = TableQ,
) -> Response:
    """Lead decay in money: value per SQL, the decay curve, value at risk and value lost
    (`leadledger decay`; companion tables `curve`, `at_risk`)."""
    return respond(
        st,
        lambda ws: ws.decay(
            customer_value=customer_value,
            sqls=sqls,
            customers=customers,
            neglected=neglected,
            start=start,
            end=end,
            as_of=given(as_of),
            history=history,
            limit=limit,
        ),
        format,
        table,
    )


@router.get("/alerts", responses=REPORT_RESPONSES, summary="alerts")
def alerts(
    st: Read,
    goal: Annotated[
        str | None,
        Query(description="Pacing of this goal (default: every goal covering the as-of day)."),
    ] = None,
    as_of: AsOf = None,
    format: str = FormatQ,
    table: str | None = TableQ,
) -> Response:
    """SLA breaches and pacing shortfalls (`leadledger alerts` without `--webhook`: the API
    never sends a webhook)."""
    return respond(
        st, lambda ws: ws.alerts(webhook=None, as_of=given(as_of), goal=goal), format, table
    )


# -- tokens (admin) -------------------------------------------------------------------------------
class TokenIn(BaseModel):
    """A token to create."""

    scope: str = Field("read", description="read (reports), write (ingestion) or admin.")
    name: str | None = Field(None, max_length=200, description="A name to recognise it by.")


@router.post("/tokens", tags=["tokens"], status_code=201, summary="token create")
def token_create(st: Admin, body: TokenIn) -> Response:
    """Create a token; the secret (`rows[0].token`) is in this answer only, stored hashed
    (`leadledger token create --format json`)."""
    row, secret = st.call(lambda ws: ws.token_create(body.scope, body.name))
    rep = Report(
        "token",
        {"scope": body.scope, "name": body.name},
        pd.DataFrame([row | {"token": secret}]),
    )
    resp = report_response(rep)
    resp.status_code = 201
    return resp


@router.get("/tokens", tags=["tokens"], responses=REPORT_RESPONSES, summary="token list")
def token_list(st: Admin, format: str = FormatQ) -> Response:
    """Every token (id, name, scope, created, revoked, active), never a secret
    (`leadledger token list`)."""
    return respond(st, lambda ws: ws.token_list(), format, None)


@router.delete("/tokens/{token}", tags=["tokens"], summary="token revoke")
def token_revoke(
    st: Admin, token: Annotated[str, Path(description="The token's id or name.")]
) -> Response:
    """Revoke a token by id or name; calls with it are refused from then on (`leadledger token
    revoke`). Revoking twice is harmless; an unknown token is a 404 `token_not_found`."""
    row = st.call(lambda ws: ws.token_revoke(token))
    return report_response(Report("token_revoke", {"token": token}, pd.DataFrame([row])))


__all__ = ["router"]
