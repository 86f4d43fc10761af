"""The FastAPI application: one process, one :class:`~leadledger.service.Workspace`.

Every route reaches the project through :func:`call` (or the ``Ctx`` dependency), which runs the
façade under one lock: a DuckDB connection must not be used by two threads at once, and the
numbers on screen must be the CLI's (same façade, same parameters, same JSON contract).

Errors: a :class:`~leadledger.errors.LeadledgerError` becomes a 4xx whose body is
``{"error": {"code", "message", "hint"}}`` with the CLI's stable code; a request that does not
fit the schema is a 422 ``invalid_argument``; only a bug is a 500 (``internal_error``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from leadledger import __version__
from leadledger.errors import LeadledgerError
from leadledger.service import Workspace
from leadledger.web.cache import WARM_SCOPE, ReportCache, Warmer, warming

HERE = Path(__file__).resolve().parent
T = TypeVar("T")

#: HTTP status per error code; every other LeadledgerError is a 400.
STATUS = {
    "unauthorized": 401,
    "forbidden": 403,
    "lead_not_found": 404,
    "goal_not_found": 404,
    "experiment_not_found": 404,
    "token_not_found": 404,
    "project_not_found": 404,
    "model_not_trained": 409,
    "store_locked": 409,
    "not_enough_history": 422,
    "unknown_report": 404,
    "batch_too_large": 413,
    "engine_error": 503,
    "webhook_failed": 502,
    "chromium_not_found": 503,
    "pdf_failed": 503,
}
#: Scopes a route may ask for (``leadledger.tokens.SCOPES``).
READ, WRITE, ADMIN = "read", "write", "admin"
TOKEN_COOKIE = "leadledger_token"


class AppState:
    """What every request shares: the project, its lock, whether tokens are required, and the
    report cache (``leadledger.web.cache``; ``None`` when turned off)."""

    def __init__(self, ws: Workspace, *, auth: bool, cache: ReportCache | None = None) -> None:
        self.ws = ws
        self.auth = auth
        self.lock = threading.RLock()
        self.cache = cache
        self.warmer: Warmer | None = None
        self._waiting = 0  # requests (not the warmer's) waiting for the lock
        self._count = threading.Lock()
        if cache is not None:
            cache.others_waiting = lambda: self._waiting > 0

    def call(self, fn: Callable[[Workspace], T]) -> T:
        """Run ``fn(ws)`` alone: one connection, one thread at a time. Its read-only reports
        come from the cache when the data has not changed since they were computed. A request
        waiting here makes the warmer step aside before its next computation."""
        mine = not warming()
        if mine:
            with self._count:
                self._waiting += 1
        try:
            self.lock.acquire()
        finally:
            if mine:
                with self._count:
                    self._waiting -= 1
        try:
            if self.cache is None:
                return fn(self.ws)
            return fn(self.cache.bind(self.ws))  # type: ignore[arg-type]
        finally:
            self.lock.release()

    def data_version(self) -> int:
        with self.lock:
            return self.ws.store.data_version()


def state(request: Request) -> AppState:
    return request.app.state.leadledger  # type: ignore[no-any-return]


def token_of(request: Request) -> str | None:
    """The token of a request: ``Authorization: Bearer …``, else the dashboard's cookie."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(TOKEN_COOKIE) or None


def require(scope: str) -> Callable[[Request], AppState]:
    """A dependency: the app state, once the request's token is good for ``scope`` (always
    good when the server runs with ``--no-auth``, which only loopback allows)."""

    def dep(request: Request) -> AppState:
        st = state(request)
        if st.auth and not request.scope.get(WARM_SCOPE):  # the warmer runs in this process
            secret = token_of(request)
            request.state.token = st.call(lambda ws: ws.token_verify(secret, scope))
        return st

    return dep


Read = Annotated[AppState, Depends(require(READ))]
Write = Annotated[AppState, Depends(require(WRITE))]
Admin = Annotated[AppState, Depends(require(ADMIN))]


def error_body(code: str, message: str, hint: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "hint": hint, **extra}}


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def create_app(
    project_dir: Path | None = None,
    *,
    auth: bool = True,
    ws: Workspace | None = None,
    cache_ttl: float = 600.0,
    max_stale: float = 0.0,
    warm: bool = False,
) -> FastAPI:
    """The app for one project. ``auth=False`` is ``--no-auth`` (the caller checks loopback).
    ``cache_ttl``: seconds a report result may be served while the data is unchanged (0: no
    cache). ``warm``: keep the pages computed in the background (``leadledger serve`` does)."""
    workspace = ws or Workspace(project_dir)
    cache = ReportCache(ttl=cache_ttl, max_stale=max_stale) if cache_ttl > 0 else None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        st: AppState = app.state.leadledger
        if warm and cache is not None:
            from leadledger.web.pages import NAV

            st.warmer = Warmer(app, cache, st.data_version, [p for p, _ in NAV])
            st.warmer.start()
        yield
        if st.warmer is not None:
            st.warmer.close()
        if ws is None:  # a workspace we opened ourselves
            workspace.close()

    app = FastAPI(
        lifespan=lifespan,
        title="leadledger",
        version=__version__,
        description=(
            "The JSON API of a leadledger project: every report of the CLI with the same "
            "parameters and JSON contract, ingestion of lead, stage, touch and deal events, and a "
            "website form hook. Send `Authorization: Bearer TOKEN` (`leadledger token create`)."
        ),
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.leadledger = AppState(workspace, auth=auth, cache=cache)

    @app.exception_handler(LeadledgerError)
    async def _typed(request: Request, exc: LeadledgerError) -> Response:
        status = STATUS.get(exc.code, 400)
        if _wants_html(request) and exc.code == "unauthorized":
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return JSONResponse(error_body(exc.code, exc.message, exc.hint), status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        details = [
            {"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(first["loc"][1:] or first["loc"])
        return JSONResponse(
            error_body(
                "invalid_argument",
                f"{where}: {first['msg']}" if where else str(first["msg"]),
                "see the schema at /docs",
                details=details,
            ),
            status_code=422,
        )

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> Response:  # pragma: no cover - a bug
        return JSONResponse(
            error_body("internal_error", f"{type(exc).__name__}: {exc}", "this is a bug"),
            status_code=500,
        )

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    from leadledger.web.api import ingest as api_ingest
    from leadledger.web.api import reports as api_reports
    from leadledger.web.api import tokens as api_tokens

    app.include_router(api_reports.router)
    app.include_router(api_tokens.router)
    app.include_router(api_ingest.router)
    from leadledger.web.pages import ROUTERS

    for router in ROUTERS:
        app.include_router(router)

    return app
