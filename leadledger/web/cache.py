"""The server's report cache: what a page or an API call computed, kept until the data changes.

A dashboard page runs several reports (the Money page: costs, ROI and every attribution model);
on two million leads each takes seconds. The same call on the same data gives the same answer,
so the server keeps each façade call's result under a key made of

- the ledger's **data version** (``Store.data_version``: raised by every committed write, in any
  process — an import from the CLI on PostgreSQL, a form fill through the API),
- the project's local **date** (reports whose range defaults to "until today" roll over),
- the method's name and its arguments.

A result is never served for another data version, so a number on screen is always the one the
CLI gives on the same data — unless the server was started with ``--max-stale SECONDS``, for a
project that receives events all the time: then a result of an older version may be served while
younger than that, and the page's footer names the version it comes from. Results also expire
after ``ttl`` seconds, because some reports measure against the clock (SLA breaches are "open for
N working hours" *now*). Errors the façade raises for the caller's input (a ``LeadledgerError``)
are cached like results.

:class:`Warmer` keeps the pages people look at computed: at start it requests every page of
the navigation with its default filters, and whenever the data version changes or the entries
near their expiry it requests again the pages asked for recently — so a person opening the
dashboard gets the cached page, not the computation.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import dataclasses
import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

from leadledger.errors import LeadledgerError
from leadledger.reports.params import Params
from leadledger.reports.registry import get, spec_for
from leadledger.reports.result import Report

if TYPE_CHECKING:
    from leadledger.service import Workspace

#: A scope key that only in-process requests carry (an HTTP client cannot set scope keys).
WARM_SCOPE = "leadledger.warm"
#: While the warmer refreshes, entries older than this many seconds are computed again (the
#: context travels with the request into the worker thread that runs the page).
REFRESH_OLDER_THAN: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "leadledger_refresh_older_than", default=None
)
#: The oldest data version a request was served from (the page's footer says so when it is
#: older than the current one: only with ``max_stale``).
OLDEST_SERVED: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "leadledger_oldest_served", default=None
)


class WarmYield(Exception):
    """Raised inside the warmer's request when somebody else waits for the project."""


def warming() -> bool:
    """Whether this code runs for the warmer (its requests carry the context)."""
    return REFRESH_OLDER_THAN.get() is not None


def _copy(value: Any) -> Any:
    """A caller may add a column to a report's frame: hand out copies (shallow: pandas' copy
    on write keeps the cached data untouched at no cost)."""
    if isinstance(value, Report):
        return dataclasses.replace(
            value,
            params=dict(value.params),
            frame=value.frame.copy(deep=False),
            notes=list(value.notes),
            table_columns=list(value.table_columns) if value.table_columns else None,
            extra={k: (t, f.copy(deep=False)) for k, (t, f) in value.extra.items()},
        )
    if isinstance(value, pd.DataFrame):
        return value.copy(deep=False)
    return value


def _key_part(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


@dataclasses.dataclass
class Entry:
    value: Any
    error: LeadledgerError | None
    version: int  # the data version it was computed on
    at: float  # the cache's clock when computed


@dataclasses.dataclass
class Stats:
    hits: int = 0
    stale: int = 0  # hits on an older data version (only with max_stale)
    misses: int = 0


class ReportCache:
    """Façade results by (local date, config, method, arguments) with the data version they
    were computed on; LRU-bounded.

    ``max_stale`` (seconds, default 0): a result computed on an older data version may still be
    served while it is younger than this — for a project that receives events all the time, so
    that pages stay fast while the warmer computes them on the new data. 0: never."""

    def __init__(
        self,
        *,
        ttl: float = 600.0,
        max_stale: float = 0.0,
        max_entries: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        #: Seconds that only move forward (``time.monotonic``; a test's own clock).
        self.clock = clock
        self.ttl = ttl
        self.max_stale = min(max_stale, ttl)
        self.max_entries = max_entries
        self.entries: collections.OrderedDict[tuple[Any, ...], Entry] = collections.OrderedDict()
        self.stats = Stats()
        self.version: int | None = None  # the data version the last call saw
        #: Whether a request (a write, a person's page) waits for the project: the warmer then
        #: steps aside before computing its next report (``WarmYield``).
        self.others_waiting: Callable[[], bool] = lambda: False
        self.yielded = False

    def get_or_compute(self, version: int, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        now = self.clock()
        entry = self.entries.get(key)
        refresh = REFRESH_OLDER_THAN.get()
        max_age = min(self.ttl, refresh or self.ttl)
        if entry is not None and entry.version == version and now - entry.at < max_age:
            self.stats.hits += 1
        elif (
            entry is not None
            and refresh is None  # the warmer computes on the new data
            and entry.version != version
            and now - entry.at < self.max_stale
        ):
            self.stats.stale += 1
        else:
            if refresh is not None and self.others_waiting():
                self.yielded = True
                raise WarmYield("a request is waiting: the warmer steps aside")
            self.stats.misses += 1
            try:
                value, error = compute(), None
            except LeadledgerError as exc:  # the caller's input: the same answer next time
                value, error = None, exc
            entry = Entry(value, error, version, self.clock())
            self.entries[key] = entry
            while len(self.entries) > self.max_entries:
                self.entries.popitem(last=False)
        self.entries.move_to_end(key)
        oldest = OLDEST_SERVED.get()
        OLDEST_SERVED.set(entry.version if oldest is None else min(oldest, entry.version))
        if entry.error is not None:
            raise entry.error
        return _copy(entry.value)

    def bind(self, ws: Workspace) -> CachedWorkspace:
        """The workspace as one request sees it: the data version is read once, here, so every
        report of a page comes from the same data (or, with ``max_stale``, from results no
        older than that)."""
        version = ws.store.data_version()
        if version != self.version:
            # what can never be served again is freed now
            now = self.clock()
            self.entries = collections.OrderedDict(
                (k, e)
                for k, e in self.entries.items()
                if e.version == version or now - e.at < self.max_stale
            )
            self.version = version
        return CachedWorkspace(ws, self, version, (ws.today().isoformat(), id(ws.cfg)))


class CachedWorkspace:
    """A :class:`~leadledger.service.Workspace` whose read-only reports come from the cache;
    everything else (writes, tokens, the store, the config) is the workspace itself."""

    def __init__(
        self, ws: Workspace, cache: ReportCache, version: int, base: tuple[Any, ...]
    ) -> None:
        self._ws = ws
        self._cache = cache
        self._version = version
        self._base = base

    def run(self, params: Params) -> Report:
        """A registered report, from the cache when it is read-only: keyed on its *resolved*
        parameters (``start=None`` and the start it defaults to are one entry)."""
        spec = spec_for(params)
        if not spec.cached or params.side_effects():
            return self._ws.run(params)
        key = (*self._base, "run", spec.cache_key(self._ws.ctx, params))
        result: Report = self._cache.get_or_compute(
            self._version, key, lambda: self._ws.run(params)
        )
        return result

    def report(self, name: str, /, **params: Any) -> Report:
        """``run`` by the report's name (see :meth:`leadledger.service.Workspace.report`)."""
        spec = get(name)
        return self.run(spec.params.model_validate(params))

    def __getattr__(self, name: str) -> Any:
        """Everything else (writes, tokens, the store, the config) is the workspace itself."""
        return getattr(self._ws, name)


async def _asgi_get(app: Any, target: str) -> int:
    """GET ``target`` from the app in this process (no socket, no token: see ``WARM_SCOPE``)."""
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"leadledger.internal"), (b"accept", b"text/html")],
        "client": ("127.0.0.1", 0),
        "server": ("leadledger.internal", 80),
        WARM_SCOPE: True,
    }
    status = 0
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)  # no disconnect while the page is computed
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    await app(scope, receive, send)
    return status


class Warmer:
    """A background thread that keeps the pages people look at computed (see the module)."""

    def __init__(
        self,
        app: Any,
        cache: ReportCache,
        version: Callable[[], int],
        defaults: Iterable[str],
        *,
        recent: int = 24,
        poll: float = 2.0,
        quiet: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.app = app
        self.cache = cache
        self.version = version
        self.defaults = list(defaults)
        self.recent: collections.OrderedDict[str, None] = collections.OrderedDict()
        self.size = recent
        self.poll = poll
        self.quiet = quiet
        self.seen_version: int | None = None  # the version the last poll saw, and since when
        self.seen_since = float("-inf")
        self.stop = threading.Event()
        self.warmed_version: int | None = None
        self.warmed_at = 0.0
        self.rounds = 0
        self.steps_aside = 0  # rounds abandoned for a waiting request or newer data
        self.errors: dict[str, str] = {}  # page → what went wrong in the last round
        self.idle = threading.Event()
        self.idle.set()
        self.thread = threading.Thread(target=self._run, name="leadledger-warmer", daemon=True)

    def seen(self, target: str) -> None:
        """A page was requested: warm it again when the data changes."""
        self.recent[target] = None
        self.recent.move_to_end(target)
        while len(self.recent) > self.size:
            self.recent.popitem(last=False)

    def targets(self) -> list[str]:
        return list(dict.fromkeys([*reversed(self.recent), *self.defaults]))

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)

    def _due(self) -> bool:
        """A round is due when the data changed and has then stayed the same for ``quiet``
        seconds (a stream of event batches does not start a round per batch: each would be
        stale at once and take the CPU from the ingestion), or when the entries near the TTL."""
        try:
            version = self.version()
        except Exception:  # the store is busy or closing: try again later
            return False
        now = self.clock()
        if version != self.seen_version:
            if self.seen_version is not None:
                self.seen_since = now
            self.seen_version = version
        if version != self.warmed_version:
            return now - self.seen_since >= self.quiet
        return now - self.warmed_at > self.cache.ttl * 0.8

    def warm_once(self) -> bool:
        """One round over the pages; ``False`` when it stepped aside (a request waited, or the
        data changed meanwhile): the next poll starts again once the data is quiet."""
        self.idle.clear()
        # what the last round computed is at most 0.8 ttl old: recompute what is older than
        # half of it, so a page never expires while someone may look at it
        token = REFRESH_OLDER_THAN.set(self.cache.ttl * 0.5)
        self.cache.yielded = False
        try:
            version = self.version()
            for target in self.targets():
                if self.stop.is_set():
                    return False
                try:
                    status = asyncio.run(_asgi_get(self.app, target))
                except WarmYield:
                    status = 0
                except Exception as exc:  # a page's bug: its visitor sees the 500 too
                    if not self.cache.yielded:
                        self.errors[target] = f"{type(exc).__name__}: {exc}"
                        continue
                if self.cache.yielded or self.version() != version:
                    self.steps_aside += 1
                    return False
                if status >= 500:
                    self.errors[target] = f"HTTP {status}"
                else:
                    self.errors.pop(target, None)
            self.warmed_version, self.warmed_at = version, self.clock()
            self.rounds += 1
            return True
        finally:
            REFRESH_OLDER_THAN.reset(token)
            self.idle.set()

    def _run(self) -> None:
        while not self.stop.is_set():
            if self._due():
                try:
                    self.warm_once()
                except Exception:  # the store closing under it: the next poll decides
                    self.stop.wait(self.poll)
            self.stop.wait(self.poll)
