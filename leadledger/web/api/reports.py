"""``/api/v1``: one read-only route per registered report with an ``api=`` path.

A route's query parameters are its report's ``Params`` fields (named by their ``api`` name:
``from``, ``to``, ``as_of``…, with the CLI's defaults and the constraints the field declares),
plus ``format`` (json or csv) and ``table`` (a companion table's CSV). It validates them into
the model, runs the report under the project's lock (through the cache) and answers with the
CLI's JSON contract (``Report.as_dict``) or CSV. Nothing here names a report: the registry does.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response

from leadledger.reports.params import surface_of
from leadledger.reports.registry import ReportSpec, specs
from leadledger.reports.surfaces import raw_default, raw_type, with_signature
from leadledger.suggest import did_you_mean
from leadledger.web.app import Read, error_body
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


def query_parameters(spec: ReportSpec[Any]) -> tuple[list[inspect.Parameter], dict[str, bool]]:
    """The route's parameters for ``spec``'s fields shown on the API, and which of them take a
    blank value as "not given"."""
    out: list[inspect.Parameter] = []
    blank: dict[str, bool] = {}
    for name, field in spec.params.model_fields.items():
        s = surface_of(field)
        if not s.api:
            continue
        raw = raw_type(field.annotation, s.raw)
        flag = s.flag or "--" + name.replace("_", "-")
        text = field.description or ""
        doc = f"{text} (`{flag}`)." if not text.endswith(f"`{flag}`)") else text
        doc = doc.replace(".. (", ". (").replace("). (", ") (")
        kwargs = dict(s.query)
        if s.argument:
            info: Any = Path(description=text, **kwargs)
        else:
            api_name = s.api_name or name
            if api_name != name:
                kwargs["alias"] = api_name
            info = Query(description=doc, **kwargs)
        required = field.is_required()
        out.append(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=inspect.Parameter.empty if required else raw_default(field.default),
                annotation=Annotated[raw, info],
            )
        )
        blank[name] = s.blank_is_none
    out.sort(key=lambda p: p.default is not inspect.Parameter.empty)
    return out, blank


def _route(spec: ReportSpec[Any]) -> None:
    params, blank = query_parameters(spec)
    kw = inspect.Parameter.KEYWORD_ONLY
    common = [
        inspect.Parameter("st", kw, annotation=Read),
        inspect.Parameter("format", kw, default=FormatQ, annotation=str),
        inspect.Parameter("table", kw, default=TableQ, annotation=str | None),
    ]

    def endpoint(*, st: Any, format: str, table: str | None, **given: Any) -> Response:
        for name, value in list(given.items()):
            if blank.get(name) and isinstance(value, str) and not value.strip():
                given[name] = None
        p = spec.params.model_validate(given)
        report = st.call(lambda ws: ws.run(p))
        return report_response(report, format, table)

    endpoint.__name__ = f"report_{spec.name}"
    cmd = " ".join(spec.cli) if spec.cli else spec.name.replace("_", " ")
    doc = f"{spec.summary} (`leadledger {cmd}`)." if spec.cli else spec.summary
    responses: dict[int | str, dict[str, Any]] = (
        REPORT_RESPONSES if spec.api_errors else {200: REPORT_RESPONSES[200]}
    )
    fn = with_signature(endpoint, [common[0], *params, *common[1:]], doc)
    router.get(spec.api or "", responses=responses, summary=cmd, name=spec.name)(fn)


def report_routes() -> list[ReportSpec[Any]]:
    """The registered reports with an API route."""
    return [s for s in specs() if s.api]


def listed() -> list[str]:
    """The names under ``/api/v1/reports/{name}``."""
    return sorted(s.name for s in report_routes() if (s.api or "").startswith("/reports/"))


for _spec in report_routes():
    _route(_spec)


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
    """Every report has its own route (generated above); any other name is a typed 404."""
    names = listed()
    hint = did_you_mean(name, names) or f"reports: {', '.join(names)}"
    return JSONResponse(
        error_body("unknown_report", f"unknown report '{name}'", hint), status_code=404
    )
