"""``/api/v1`` ingestion: a batch of events, and a website form hook (scope ``write``).

Both run the core (:mod:`leadledger.ledger.imports.events`) through the façade under the project's
lock (``st.call``): one transaction per call, idempotent by event id / submission id.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from leadledger.errors import InvalidArgument, Unauthorized
from leadledger.ledger.imports.events import MAX_BATCH
from leadledger.web.app import WRITE, AppState, error_body, state, token_of

router = APIRouter(prefix="/api/v1", tags=["ingestion"])

#: Largest request body accepted (bytes): a full batch of ordinary events fits easily.
MAX_BODY = 32 * 1024 * 1024
#: Form submissions are small.
MAX_FORM_BODY = 64 * 1024
#: The hook answers browsers of any origin (a website posts to it); the token is the guard.
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
}


class Event(BaseModel):
    """One event: an id, a type and the fields of its import kind (extra fields allowed)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "event_id": "crm-4711-mql",
                    "type": "stage",
                    "lead_id": "4711",
                    "stage": "mql",
                    "entered_at": "2025-03-04T10:15:00Z",
                }
            ]
        },
    )

    event_id: str | int = Field(
        description="Your id of this event: sending the same id again is a duplicate "
        "(changes nothing). Text, at most 200 characters."
    )
    type: Literal["lead", "stage", "touch", "deal"] | str = Field(
        description="lead, stage, touch or deal: the import kind (leads, stages, touches, "
        "deals) whose fields the event carries (see docs/import.md and docs/ingestion.md)."
    )


class EventBatch(BaseModel):
    events: list[Any] = Field(
        description=f"The events (objects, see `Event`), at most {MAX_BATCH:,} per call "
        "(more: 413 `batch_too_large`).",
        json_schema_extra={"items": {"$ref": "#/components/schemas/Event"}},
    )


class Rejection(BaseModel):
    index: int = Field(description="Position of the event in the batch (from 0).")
    event_id: str | None
    type: str | None
    field: str = Field(description="The field at fault (`(event)`: not an object).")
    value: str | None
    expected: str


class Duplicate(BaseModel):
    index: int
    event_id: str | None
    reason: str


class IngestResponse(BaseModel):
    received: int
    accepted: int
    duplicate: int
    rejected: int
    batch_no: int | None = Field(description="The imports batch written (null: nothing new).")
    by_type: dict[str, dict[str, int]]
    rejections: list[Rejection]
    duplicates: list[Duplicate]
    ignored_fields: dict[str, list[str]]
    quarantine: str | None = Field(description="The quarantine file, relative to the project.")


class FormSubmission(BaseModel):
    """A website form submission. Other fields (configured lead attributes such as `persona`,
    `segment`) are kept on the lead; unknown ones on the lead's properties."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    email: str = Field(
        min_length=3,
        max_length=320,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="The visitor's e-mail (required): the lead is found or created by it.",
    )
    name: str | None = Field(default=None, max_length=500)
    company: str | None = Field(default=None, max_length=500)
    title: str | None = Field(default=None, max_length=500)
    country: str | None = Field(default=None, max_length=100)
    page: str | None = Field(default=None, max_length=2000, description="The page URL.")
    utm_source: str | None = Field(default=None, max_length=500)
    utm_medium: str | None = Field(default=None, max_length=500)
    utm_campaign: str | None = Field(default=None, max_length=500)
    utm_term: str | None = Field(default=None, max_length=500)
    utm_content: str | None = Field(default=None, max_length=500)
    submission_id: str | None = Field(
        default=None,
        max_length=200,
        description="Your id of the submission (idempotency); without it a hash of the fields "
        "and the minute received is used.",
    )
    submitted_at: str | None = Field(
        default=None, max_length=64, description="When it was submitted (ISO 8601); else now."
    )


class FormResponse(BaseModel):
    lead_id: str
    lead: str = Field(description="created, updated or unchanged")
    touch_id: str
    channel: str
    campaign: str | None
    duplicate: bool
    submission_id: str
    batch_no: int | None


def _invalid(message: str, status: int = 422, **extra: Any) -> JSONResponse:
    return JSONResponse(
        error_body("invalid_argument", message, "see the schema at /docs", **extra),
        status_code=status,
    )


async def _body(request: Request, limit: int) -> bytes | JSONResponse:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return JSONResponse(
            error_body(
                "batch_too_large",
                f"the request body has {int(declared):,} bytes; at most {limit:,}",
                "send smaller batches",
            ),
            status_code=413,
        )
    body = await request.body()
    if len(body) > limit:
        return JSONResponse(
            error_body("batch_too_large", f"the request body is over {limit:,} bytes", None),
            status_code=413,
        )
    return body


def _validation_error(exc: ValidationError) -> JSONResponse:
    details: list[dict[str, Any]] = [
        {"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg", ""))}
        for e in exc.errors()
    ]
    where = ".".join(details[0]["loc"])
    msg = str(details[0]["msg"])
    return _invalid(f"{where}: {msg}" if where else msg, details=details)


@router.post(
    "/events",
    response_model=IngestResponse,
    summary="Ingest a batch of lead, stage, touch and deal events",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/EventBatch"}}
            },
        }
    },
    responses={
        401: {"description": "no token / unknown token (`unauthorized`)"},
        403: {"description": "the token's scope is below `write` (`forbidden`)"},
        413: {"description": f"more than {MAX_BATCH:,} events (`batch_too_large`)"},
        422: {"description": 'the body is not `{"events": [...]}` (`invalid_argument`)'},
    },
)
async def post_events(request: Request) -> Response:
    """Each event is checked with the importer's rules; the answer counts `accepted`,
    `duplicate` (event id sent before or repeated, or the same row already in the ledger) and
    `rejected` (with every problem: index, event id, field, value, what was expected). Accepted
    events are appended in one transaction; rejected ones are quarantined. Scope: `write`."""
    st = await _authorise(request, query_token=False)
    body = await _body(request, MAX_BODY)
    if isinstance(body, Response):
        return body
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return _invalid(f"the body is not JSON: {exc}")
    try:
        batch = EventBatch.model_validate(payload)
    except ValidationError as exc:
        return _validation_error(exc)
    if len(batch.events) > MAX_BATCH:
        return JSONResponse(
            error_body(
                "batch_too_large",
                f"{len(batch.events):,} events in one batch; at most {MAX_BATCH:,}",
                f"send batches of at most {MAX_BATCH:,} events",
            ),
            status_code=413,
        )
    result = await _run(st, lambda ws: ws.ingest_events(batch.events))
    return JSONResponse(result.as_dict())


async def _authorise(request: Request, *, query_token: bool) -> AppState:
    """The app state, once the request's token is good for ``write``. The look-up runs off the
    event loop: it waits for the project's lock, which another request (a batch being
    appended) or the report warmer may hold for a while, and a blocked loop would stall every
    connection meanwhile."""
    st = state(request)
    if st.auth:
        secret = token_of(request)
        if secret is None and query_token:
            secret = request.query_params.get("token") or None
        if secret is None:
            raise Unauthorized(
                "no API token", hint="send 'Authorization: Bearer TOKEN' (a write token)"
            )
        request.state.token = await _run(st, lambda ws: ws.token_verify(secret, WRITE))
    return st


async def _run(st: AppState, fn: Any) -> Any:
    """The façade call under the project's lock, off the event loop."""
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(st.call, fn)


FORM_CONTENT = {
    "application/json": {"schema": {"$ref": "#/components/schemas/FormSubmission"}},
    "application/x-www-form-urlencoded": {
        "schema": {"$ref": "#/components/schemas/FormSubmission"}
    },
}


@router.post(
    "/hooks/form",
    response_model=FormResponse,
    summary="A website form submission (creates or updates the lead, records the touch)",
    openapi_extra={"requestBody": {"required": True, "content": FORM_CONTENT}},
    responses={
        303: {"description": "with `redirect`: the browser is sent there (a plain HTML form)"},
        401: {"description": "no token / unknown token (`unauthorized`)"},
        403: {"description": "the token's scope is below `write` (`forbidden`)"},
        422: {"description": "no or bad e-mail, a bad field (`invalid_argument`)"},
    },
)
async def post_form(
    request: Request,
    token: Annotated[
        str | None,
        Query(
            description="A write token for plain HTML forms, which cannot send headers: use a "
            "dedicated token (`leadledger token create --scope write --name website`)."
        ),
    ] = None,
    redirect: Annotated[
        str | None,
        Query(description="After success, answer 303 to this http(s) URL (a thank-you page)."),
    ] = None,
) -> Response:
    """JSON or `application/x-www-form-urlencoded`. The lead is found by e-mail (ignoring case)
    or created; the given fields update it; a touch of the inquiry kind is recorded with the
    channel from the UTM parameters and `utm_campaign`. Idempotent by `submission_id`. Scope:
    `write` (`Authorization: Bearer …` or `?token=`)."""
    st = await _authorise(request, query_token=True)
    body = await _body(request, MAX_FORM_BODY)
    if isinstance(body, Response):
        return _cors(body)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    data: Any
    try:
        if ctype == "application/x-www-form-urlencoded":
            data = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        else:
            data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return _cors(_invalid(f"the body is not JSON or a url-encoded form: {exc}"))
    if not isinstance(data, dict):
        return _cors(_invalid("the body must be an object of form fields"))
    data.pop("token", None)
    try:
        form = FormSubmission.model_validate(data)
    except ValidationError as exc:
        return _cors(_validation_error(exc))
    fields = {k: _text(v) for k, v in form.model_dump().items() if v not in (None, "")}
    try:
        result = await _run(st, lambda ws: ws.ingest_form(fields))
    except InvalidArgument as exc:  # a field the importer's checks reject (e.g. submitted_at)
        return _cors(JSONResponse(error_body(exc.code, exc.message, exc.hint), status_code=422))
    if redirect and redirect.startswith(("http://", "https://")):
        return _cors(RedirectResponse(redirect, status_code=303))
    out = result.as_dict()
    out.pop("events", None)
    return _cors(JSONResponse(out))


@router.options("/hooks/form", include_in_schema=False)
async def form_preflight() -> Response:
    return _cors(Response(status_code=204))


def _cors(resp: Response) -> Response:
    resp.headers.update(CORS)
    return resp


def _text(v: Any) -> Any:
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return v
