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
from leadledger.reports.legacy import REPORTS
from leadledger.service import Workspace
from leadledger.suggest import did_you_mean
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
AsOf = Annotated[
    str | None,
    Query(description="Date or timestamp, project time zone (`--as-of`; default now)."),
]
Lookback = Annotated[
    str | None,
    Query(
        description="Touches this long before the conversion get credit, e.g. 90d, 12w "
        "(default: attribution.lookback_days)."
    ),
]
Untagged = Annotated[
    str | None,
    Query(
        description="Costs without a channel: by_leads, even or unallocated "
        "(default: costs.untagged)."
    ),
]
Period = Annotated[str, Query(description="day, week, month, quarter or year.")]
Fraction = Annotated[float | None, Query(ge=0, le=1, allow_inf_nan=False)]
Positive = Annotated[float | None, Query(gt=0, allow_inf_nan=False)]


# -- HTTP-only normalisation (ranges of dates, windows and limits are checked by the core's
# parsers, so the CLI and the API refuse the same values with the same typed error) ----------
def given(value: str | None) -> str | None:
    """``as_of``: an empty query parameter (a form's blank field) means not given, i.e. now."""
    return value if value is not None and value.strip() else None


def respond(st: AppState, fn: Callable[[Workspace], Report], fmt: str, table: str | None) -> Any:
    """Run ``fn`` on the workspace (under the lock) and answer in ``fmt``."""
    report = st.call(fn)
    return report_response(report, fmt, table)


# -- reports not yet in the registry --------------------------------------------------------------
@router.get("/reports/costs", responses=REPORT_RESPONSES, summary="report costs")
def report_costs(
    st: Read,
    by: Annotated[str, Query(description="channel, campaign, category or persona.")] = "channel",
    untagged: Untagged = None,
    start: From = None,
    end: To = None,
    period: Period = "month",
    format: str = FormatQ,
    table: str | None = TableQ,
) -> Response:
    """Spend and cost per stage, payback, goals' budgets vs actual (`leadledger report
    costs`; companion table `totals`)."""
    return respond(
        st,
        lambda ws: ws.report(
            "costs",
            start=start,
            end=end,
            period=period,
            by=by,
            untagged=untagged,
        ),
        format,
        table,
    )


@router.get("/reports/roi", responses=REPORT_RESPONSES, summary="report roi")
def report_roi(
    st: Read,
    model: Annotated[
        str | None, Query(description="Attribution model (default: attribution.model).")
    ] = None,
    by: Annotated[str, Query(description="channel or campaign.")] = "channel",
    lookback: Lookback = None,
    untagged: Untagged = None,
    start: From = None,
    end: To = None,
    format: str = FormatQ,
    table: str | None = TableQ,
) -> Response:
    """Spend, attributed pipeline and revenue, ROI, ROAS and CAC (`leadledger report roi`;
    companion table `reconciliation`)."""
    return respond(
        st,
        lambda ws: ws.report(
            "roi",
            model=model,
            by=by,
            start=start,
            end=end,
            lookback=lookback,
            untagged=untagged,
        ),
        format,
        table,
    )


@router.get("/reports", summary="list the reports")
def report_names(st: Read) -> dict[str, Any]:
    """The names of the reports under `/api/v1/reports/{name}`."""
    return {"reports": sorted(REPORTS)}


@router.get(
    "/reports/{name}",
    include_in_schema=False,
    responses={404: {"description": "No such report (`unknown_report`)."}},
)
def unknown_report(st: Read, name: str) -> Response:
    """Every report has its own route above; any other name is a typed 404."""
    hint = did_you_mean(name, REPORTS) or f"reports: {', '.join(sorted(REPORTS))}"
    return JSONResponse(
        error_body("unknown_report", f"unknown report '{name}'", hint), status_code=404
    )


# -- attribution --------------------------------------------------------------------------------
@router.get("/attribution", responses=REPORT_RESPONSES, summary="attribution")
def attribution(
    st: Read,
    model: Annotated[
        str | None,
        Query(
            description="first_touch, last_touch, last_non_direct, linear, u_shaped, w_shaped, "
            "full_path, j_shaped, inverse_j, time_decay, markov or shapley "
            "(default: attribution.model)."
        ),
    ] = None,
    by: Annotated[str, Query(description="Credit channels or campaigns.")] = "channel",
    conversion: Annotated[
        str | None,
        Query(
            description="The stage whose entry is the conversion (default: attribution.conversion)."
        ),
    ] = None,
    lookback: Lookback = None,
    compare: Annotated[
        bool, Query(description="Every model side by side (credited conversions).")
    ] = False,
    value: Annotated[str, Query(description="amount (won deals / deals) or count.")] = "amount",
    order: Annotated[
        int | None, Query(ge=1, le=3, description="Order of the markov model, 1–3.")
    ] = None,
    half_life: Annotated[
        float | None,
        Query(description="Half-life of time_decay in days.", allow_inf_nan=False),
    ] = None,
    start: From = None,
    end: To = None,
    format: str = FormatQ,
    table: str | None = TableQ,
) -> Response:
    """Multi-touch attribution of conversions to channels or campaigns (`leadledger
    attribution`; `--paths` files are CLI-only)."""
    return respond(
        st,
        lambda ws: ws.attribution(
            model=model,
            by=by,
            conversion=conversion,
            lookback=lookback,
            compare=compare,
            start=start,
            end=end,
            value=value,
            order=order,
            half_life=half_life,
        ),
        format,
        table,
    )


@router.get("/check", responses=REPORT_RESPONSES, summary="check")
def check(
    st: Read,
    limit: Annotated[int, Query(ge=0, le=1_000_000, description="Rows listed per check.")] = 20,
    format: str = FormatQ,
    table: str | None = TableQ,
) -> Response:
    """Data anomalies (`leadledger check`)."""
    return respond(st, lambda ws: ws.check(limit=limit), format, table)


# -- scoring, model, experiments ------------------------------------------------------------------
Outcome = Annotated[
    str, Query(description="The stage a good lead reaches (sql, opportunity, ...).")
]
Window = Annotated[str, Query(description="Outcome window after the as-of, e.g. 90d, 12w.")]
Cohort = Annotated[
    str | None,
    Query(description="Leads created this long before the as-of are scored (default: window)."),
]
Step = Annotated[
    float | None,
    Query(gt=0, description="Threshold step (default: a round step).", allow_inf_nan=False),
]
BacktestAsOf = Annotated[
    str | None,
    Query(description="Score as of this time (default: window before the last day with data)."),
]


@router.get("/score/explain/{lead_id}", responses=REPORT_RESPONSES, summary="score explain")
def score_explain(
    st: Read,
    lead_id: Annotated[str, Path(description="The lead's id (the CRM's).", examples=["L0000001"])],
    as_of: Annotated[
        str | None,
        Query(description="Explain as of this time (default: the lead's latest scoring run)."),
    ] = None,
    format: str = FormatQ,
    table: str | None = TableQ,
) -> Response:
    """The points ledger of one lead (`leadledger score explain`); an unknown lead is a 404."""
    return respond(st, lambda ws: ws.score_explain(lead_id, as_of=given(as_of)), format, table)


@router.get("/score/backtest", responses=REPORT_RESPONSES, summary="score backtest")
def score_backtest(
    st: Read,
    as_of: BacktestAsOf = None,
    outcome: Outcome = "sql",
    window: Window = "90d",
    cohort: Cohort = None,
    step: Step = None,
    format: str = FormatQ,
    table: str | None = TableQ,
) -> Response:
    """Score vs later outcome per threshold, and lift by decile (`leadledger score backtest`;
    companion table `deciles`)."""
    return respond(
        st,
        lambda ws: ws.score_backtest(
            as_of=given(as_of),
            outcome=outcome,
            window=window,
            cohort=cohort,
            step=step,
        ),
        format,
        table,
    )


@router.get("/score/tune", responses=REPORT_RESPONSES, summary="score tune")
def score_tune(
    st: Read,
    capacity: Annotated[
        float | None, Query(gt=0, description="MQLs sales can work per month.", allow_inf_nan=False)
    ] = None,
    target_acceptance: Annotated[
        float | None,
        Query(ge=0, le=1, description="Acceptance rate to reach (0-1).", allow_inf_nan=False),
    ] = None,
    as_of: BacktestAsOf = None,
    outcome: Outcome = "sql",
    window: Window = "90d",
    cohort: Cohort = None,
    step: Step = None,
    format: str = FormatQ,
    table: str | None = TableQ,
) -> Response:
    """The recommended MQL threshold for a capacity or target acceptance (`leadledger score
    tune`; companion table `tradeoff`)."""
    return respond(
        st,
        lambda ws: ws.score_tune(
            capacity=capacity,
            target_acceptance=target_acceptance,
            as_of=given(as_of),
            outcome=outcome,
            window=window,
            cohort=cohort,
            step=step,
        ),
        format,
        table,
    )


@router.get("/model/evaluate", responses=REPORT_RESPONSES, summary="model evaluate")
def model_evaluate(
    st: Read,
    target: Annotated[str | None, Query(description="Outcome stage (default customer).")] = None,
    decision_days: Annotated[
        float | None,
        Query(
            ge=0,
            description="Features as of this many days after creation (default 7).",
            allow_inf_nan=False,
        ),
    ] = None,
    window_days: Annotated[
        float | None,
        Query(gt=0, description="Outcome window in days (default 180).", allow_inf_nan=False),
    ] = None,
    split: Annotated[str | None, Query(description="time (default) or kfold.")] = None,
    test_share: Annotated[
        float | None,
        Query(
            gt=0,
            lt=1,
            description="Share of the latest leads tested (default 0.25).",
            allow_inf_nan=False,
        ),
    ] = None,
    folds: Annotated[
        int | None, Query(ge=2, le=20, description="Folds of kfold (default 5).")
    ] = None,
    trees: Annotated[
        int | None, Query(ge=1, le=5000, description="Boosting rounds (default 400).")
    ] = None,
    calibration: Annotated[
        str | None, Query(description="auto (default), none, isotonic or sigmoid.")
    ] = None,
    seed: Annotated[
        int | None, Query(ge=0, le=2**31 - 1, description="Random seed (default 0).")
    ] = None,
    name: Annotated[
        str, Query(description="Model name (options not given: the saved model's).")
    ] = "default",
    as_of: AsOf = None,
    format: str = FormatQ,
    table: str | None = TableQ,
) -> Response:
    """The predictive score vs the naive Bayes baseline on the same split; nothing is saved
    (`leadledger model evaluate`; companion table `calibration`)."""
    return respond(
        st,
        lambda ws: ws.model_evaluate(
            name=name,
            as_of=given(as_of),
            target=target,
            decision_days=decision_days,
            window_days=window_days,
            split=split,
            test_share=test_share,
            folds=folds,
            trees=trees,
            calibration=calibration,
            seed=seed,
        ),
        format,
        table,
    )


@router.get("/model/predict", responses=REPORT_RESPONSES, summary="model predict")
def model_predict(
    st: Read,
    lead: Annotated[list[str] | None, Query(description="Only this lead (repeatable).")] = None,
    limit: Annotated[
        int | None, Query(ge=1, le=10_000_000, description="Only the N most likely leads.")
    ] = None,
    name: Annotated[str, Query(description="Model name.")] = "default",
    as_of: AsOf = None,
    format: str = FormatQ,
    table: str | None = TableQ,
) -> Response:
    """Calibrated probability and top reasons per lead (`leadledger model predict`); 409
    `model_not_trained` before `leadledger model train`."""
    return respond(
        st,
        lambda ws: ws.model_predict(name=name, as_of=given(as_of), lead_ids=lead, limit=limit),
        format,
        table,
    )


@router.get("/experiments/{name}", responses=REPORT_RESPONSES, summary="experiment report")
def experiment(
    st: Read,
    name: Annotated[str, Path(description="The experiment's name in leadledger.yaml.")],
    stage: Annotated[
        str | None,
        Query(description="Only this stage (default: every stage after the experiment's)."),
    ] = None,
    as_of: AsOf = None,
    alpha: Annotated[
        float, Query(gt=0, lt=1, description="Significance level; intervals are 1 − alpha.")
    ] = 0.05,
    format: str = FormatQ,
    table: str | None = TableQ,
) -> Response:
    """Test vs control per stage: lift, confidence interval, p-value (`leadledger experiment
    report`)."""
    return respond(
        st,
        lambda ws: ws.experiment_report(name, stage=stage, as_of=given(as_of), alpha=alpha),
        format,
        table,
    )


@router.get("/imports", responses=REPORT_RESPONSES, summary="imports")
def imports(
    st: Read,
    limit: Annotated[
        int | None, Query(ge=1, le=1_000_000, description="Only the N latest import runs.")
    ] = None,
    format: str = FormatQ,
    table: str | None = TableQ,
) -> Response:
    """Every import run (one row per file: read, accepted, rejected, skipped, its report
    folder and quarantine file); companion table `quarantine`: the totals per kind."""
    return respond(st, lambda ws: ws.imports(limit=limit), format, table)


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
