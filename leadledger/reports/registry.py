"""The one registry of reports: ``@report(...)`` on a ``(ctx, params) -> Report`` function.

Every surface reads this registry and nothing else: ``Workspace.run`` runs a report, the CLI
builds one command per entry from its ``Params`` model (``leadledger.cli.factory``), the API one
route (``leadledger.web.api.reports``), the server cache keys its results on the *resolved*
parameters (so ``start=None`` and a missing start are one entry), and the docs list the reports,
their parameters and their columns from it. No other list of reports is kept.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from leadledger.errors import LeadledgerError
from leadledger.reports.params import Params
from leadledger.suggest import did_you_mean

if TYPE_CHECKING:
    from leadledger.reports.context import Ctx
    from leadledger.reports.result import Report

P = TypeVar("P", bound=Params)


class UnknownReport(LeadledgerError):
    code = "unknown_report"


@dataclasses.dataclass(frozen=True)
class Resolved(Generic[P]):
    """A report's parameters once the project's defaults are applied and checked.

    ``notes``: what was defaulted or moved, said at the top of the report's notes;
    ``from_clock``: the fields whose value came from the clock (``--as-of`` defaulting to now),
    which a cache keys as "now" (its results expire by age instead)."""

    params: P
    notes: tuple[str, ...] = ()
    from_clock: frozenset[str] = frozenset()


@dataclasses.dataclass(frozen=True)
class ReportSpec(Generic[P]):
    """One registered report."""

    name: str
    params: type[P]
    fn: Callable[[Ctx, P], Report]
    #: The main table's columns (a breakdown's fields come first where it has one).
    columns: tuple[str, ...]
    #: Companion tables (JSON keys after ``rows``).
    tables: tuple[str, ...]
    #: Read-only: its result depends only on the data, the parameters and the clock.
    cached: bool
    #: It writes to the ledger (``score``, ``model train``, …): never cached, never a GET.
    writes: bool
    #: The CLI command (``("report", "stages")``), or None when it has none.
    cli: tuple[str, ...] | None
    #: The API path under ``/api/v1`` (``/reports/stages``), or None when it has none.
    api: str | None
    #: The command's help: summary line(s), then ``Example: …``.
    help: str
    #: The API route documents the typed error answers (400, 401, 403) beside 422. False for
    #: the routes the dashboard added for its own tables (``/score/distribution``), whose
    #: OpenAPI never listed them.
    api_errors: bool = True

    @property
    def summary(self) -> str:
        return self.help.strip().split("\n\n")[0].replace("\n", " ")

    def resolve(self, ctx: Ctx, params: P) -> Resolved[P]:
        return params.resolve(ctx)

    def run(self, ctx: Ctx, params: P) -> Report:
        """Resolve ``params`` in ``ctx`` and compute the report; the resolution's notes come
        first."""
        if not isinstance(params, self.params):
            raise TypeError(f"report {self.name} takes {self.params.__name__}")
        r = self.resolve(ctx, params)
        report = self.fn(ctx, r.params)
        if r.notes:
            report.notes[:0] = list(r.notes)
        return report

    def cache_key(self, ctx: Ctx, params: P) -> str:
        """The resolved parameters as text: equal keys, equal results on equal data (fields
        from the clock stand as "now")."""
        r = self.resolve(ctx, params)
        data = r.params.model_dump(mode="json")
        for name in r.from_clock:
            data[name] = "now"
        return json.dumps([self.name, data], sort_keys=True, default=str)


#: Every report by name, in registration order.
REGISTRY: dict[str, ReportSpec[Any]] = {}
_BY_PARAMS: dict[type[Params], ReportSpec[Any]] = {}


def report(
    name: str,
    *,
    params: type[P],
    columns: tuple[str, ...] | list[str] = (),
    tables: tuple[str, ...] | list[str] = (),
    cached: bool = True,
    writes: bool = False,
    cli: tuple[str, ...] | str | None = None,
    api: str | None = None,
    api_errors: bool = True,
) -> Callable[[Callable[[Ctx, P], Report]], Callable[[Ctx, P], Report]]:
    """Register ``fn(ctx, params) -> Report`` as report ``name`` (see the module). Its
    docstring is the command's help: a summary, then ``Example: leadledger …``."""

    def deco(fn: Callable[[Ctx, P], Report]) -> Callable[[Ctx, P], Report]:
        if name in REGISTRY:
            raise RuntimeError(f"report {name} is registered twice")
        if params in _BY_PARAMS:
            raise RuntimeError(f"{params.__name__} belongs to report {_BY_PARAMS[params].name}")
        command = tuple(cli.split()) if isinstance(cli, str) else cli
        spec = ReportSpec(
            name=name,
            params=params,
            fn=fn,
            columns=tuple(columns),
            tables=tuple(tables),
            cached=cached and not writes,
            writes=writes,
            cli=command,
            api=api,
            help=(fn.__doc__ or name).strip(),
            api_errors=api_errors,
        )
        params.report_name = name
        REGISTRY[name] = spec
        _BY_PARAMS[params] = spec
        return fn

    return deco


def get(name: str) -> ReportSpec[Any]:
    """The report called ``name``; an unknown name is a typed ``unknown_report`` error."""
    _load()
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownReport(
            f"unknown report '{name}'",
            hint=did_you_mean(name, REGISTRY) or f"reports: {', '.join(sorted(REGISTRY))}",
        ) from None


def spec_for(params: Params) -> ReportSpec[Any]:
    """The report a Params instance belongs to."""
    _load()
    try:
        return _BY_PARAMS[type(params)]
    except KeyError:
        raise TypeError(f"{type(params).__name__} is not a registered report's Params") from None


def specs() -> list[ReportSpec[Any]]:
    """Every registered report, in registration order."""
    _load()
    return list(REGISTRY.values())


def _load() -> None:
    """Import the report modules (they register themselves)."""
    import leadledger.reports.catalog  # noqa: F401


def run(ctx: Ctx, params: Params) -> Report:
    """Run the report ``params`` belong to in ``ctx`` (a report built from other reports, like
    the executive report, runs them through here)."""
    return spec_for(params).run(ctx, params)
