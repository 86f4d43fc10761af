"""What a report gets: :class:`Ctx`, the project's config and its ledger, never the façade.

A report function is ``(ctx, params) -> Report``. ``Ctx`` gives it the config, the ledger's
tables and a way to run an expression (``execute``), the working-day calendar, the clock
(``now``, ``today`` in the project's time zone), answers kept for the current data version
(``memo``) and temporary tables for one call (``scratch``). It is built by
:class:`leadledger.service.Workspace` (or by a test, with a fixed clock); ``leadledger.reports``
never imports the service, so the two cannot form a cycle.

A report that runs without a project (``plan`` with every rate given, ``decay`` on counts,
``attribution --paths``, ``experiment size``) gets a Ctx whose ``has_project`` is false; asking
it for the config or the ledger is then a typed ``project_not_found``.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd

from leadledger.errors import ProjectNotFound

if TYPE_CHECKING:
    import ibis
    import ibis.expr.types as ir

    from leadledger.config.models import ProjectConfig
    from leadledger.ledger.store import Scratch, Store
    from leadledger.workdays import WorkCalendar

T = TypeVar("T")
Clock = Callable[[], pd.Timestamp]


def system_clock() -> pd.Timestamp:
    """Now, in UTC."""
    return pd.Timestamp.now(tz="UTC")


class Ctx:
    """A project as a report sees it (see the module)."""

    def __init__(
        self,
        cfg: ProjectConfig | None,
        store: Store | None = None,
        *,
        project_dir: Path | None = None,
        clock: Clock = system_clock,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self._cfg = cfg
        self._store = store
        self._project_dir = project_dir
        self.clock = clock
        #: Names the step a long report is at (the CLI's progress bar); silent by default.
        self.progress: Callable[[str], None] = progress or (lambda _step: None)

    # -- the project --------------------------------------------------------------------------
    @property
    def has_project(self) -> bool:
        return self._cfg is not None

    @property
    def cfg(self) -> ProjectConfig:
        if self._cfg is None:
            raise ProjectNotFound(
                "this needs a project", hint="pass --project DIR, or run it inside one"
            )
        return self._cfg

    @property
    def project_dir(self) -> Path:
        if self._project_dir is None:
            raise ProjectNotFound("this needs a project folder", hint="pass --project DIR")
        return self._project_dir

    @property
    def store(self) -> Store:
        """The ledger's store, for the reports that write (through the batch writer)."""
        if self._store is None:
            raise ProjectNotFound("this needs a project's ledger", hint="pass --project DIR")
        return self._store

    @cached_property
    def calendar(self) -> WorkCalendar:
        from leadledger.workdays import WorkCalendar

        return WorkCalendar(self.cfg.calendar)

    # -- the clock ------------------------------------------------------------------------------
    def now(self) -> pd.Timestamp:
        """Now in UTC, to the second."""
        return self.clock().floor("s")

    def today(self) -> dt.date:
        """Today in the project's time zone (the UTC date without a project)."""
        tz = self._cfg.timezone if self._cfg is not None else "UTC"
        stamp = self.clock().tz_convert(zoneinfo.ZoneInfo(tz))
        return dt.date(stamp.year, stamp.month, stamp.day)

    # -- the ledger -------------------------------------------------------------------------------
    def tables(self) -> dict[str, ibis.Table]:
        return self.store.tables()

    def table(self, name: str) -> ibis.Table:
        return self.store.table(name)

    def execute(self, expr: ir.Expr) -> Any:
        """Run an expression on the project's engine (a frame, a column or a scalar)."""
        return self.store.execute(expr)

    def frame(self, expr: ir.Table) -> pd.DataFrame:
        """A table expression's rows; a ``period`` column as dates."""
        df: pd.DataFrame = self.store.execute(expr)
        if "period" in df.columns:
            df["period"] = pd.to_datetime(df["period"]).dt.date
        return df

    def data_version(self) -> int:
        return self.store.data_version()

    def memo(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """``compute()`` once per data version and config: equal versions mean equal data."""
        version = self.store.data_version()
        full = (*key, version, id(self._cfg))
        kept = self.store.memo
        if full not in kept:
            value = compute()
            for old in [k for k in kept if k[-2] != version]:
                del kept[old]  # only the current version's answers are worth keeping
            kept[full] = value
        return kept[full]  # type: ignore[no-any-return]

    @contextmanager
    def scratch(self) -> Iterator[Scratch]:
        """Temporary tables for one call, dropped at the end."""
        with self.store.scratch() as s:
            yield s
