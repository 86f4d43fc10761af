"""``/api/v1/tokens``: API tokens over HTTP (scope ``admin``), as ``leadledger token``."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import BaseModel, Field

from leadledger.reports.result import Report
from leadledger.web.api.reports import REPORT_RESPONSES
from leadledger.web.app import Admin
from leadledger.web.common import FormatQ, report_response

router = APIRouter(prefix="/api/v1", tags=["tokens"])


class TokenIn(BaseModel):
    """A token to create."""

    scope: str = Field("read", description="read (reports), write (ingestion) or admin.")
    name: str | None = Field(None, max_length=200, description="A name to recognise it by.")


@router.post("/tokens", status_code=201, summary="token create")
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


@router.get("/tokens", responses=REPORT_RESPONSES, summary="token list")
def token_list(st: Admin, format: str = FormatQ) -> Response:
    """Every token (id, name, scope, created, revoked, active), never a secret
    (`leadledger token list`)."""
    return report_response(st.call(lambda ws: ws.token_list()), format, None)


@router.delete("/tokens/{token}", summary="token revoke")
def token_revoke(
    st: Admin, token: Annotated[str, Path(description="The token's id or name.")]
) -> Response:
    """Revoke a token by id or name; calls with it are refused from then on (`leadledger token
    revoke`). Revoking twice is harmless; an unknown token is a 404 `token_not_found`."""
    row = st.call(lambda ws: ws.token_revoke(token))
    return report_response(Report("token_revoke", {"token": token}, pd.DataFrame([row])))
