"""The dashboard's own routes: the root, the token sign-in and a liveness probe (none of them a
page of the navigation)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from leadledger import __version__
from leadledger.errors import LeadledgerError
from leadledger.web.app import READ, TOKEN_COOKIE, state
from leadledger.web.common import render

router = APIRouter(include_in_schema=False)

#: Where the root and a sign-in without a (safe) ``next`` lead.
HOME = "/overview"


@router.get("/")
def root() -> Response:
    return RedirectResponse(HOME, status_code=307)


@router.get("/healthz")
def healthz(request: Request) -> dict[str, Any]:
    """Liveness, and the report cache's counters (no data, no lock: always instant)."""
    st = state(request)
    out: dict[str, Any] = {"status": "ok", "version": __version__}
    if st.cache is not None:
        out["cache"] = {
            "data_version": st.cache.version,
            "entries": len(st.cache.entries),
            "hits": st.cache.stats.hits,
            "stale_hits": st.cache.stats.stale,
            "misses": st.cache.stats.misses,
            "ttl_seconds": st.cache.ttl,
            "max_stale_seconds": st.cache.max_stale,
            "warm_rounds": st.warmer.rounds if st.warmer else None,
            "warm_steps_aside": st.warmer.steps_aside if st.warmer else None,
            "warming": bool(st.warmer and not st.warmer.idle.is_set()),
            "warm_errors": dict(st.warmer.errors) if st.warmer else {},
        }
    return out


def _safe_next(target: str) -> str:
    # only a path of this server: never an open redirect
    return target if target.startswith("/") and not target.startswith("//") else HOME


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = HOME) -> Response:
    return render(request, "login.html", title="Sign in", next=_safe_next(next), error=None)


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, token: str = Form(...), next: str = Form(HOME)) -> Response:
    st = state(request)
    try:
        st.call(lambda ws: ws.token_verify(token, READ))
    except LeadledgerError as exc:
        return render(
            request, "login.html", title="Sign in", next=_safe_next(next), error=exc.message
        )
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
    return resp
