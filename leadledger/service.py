"""The one façade every surface calls: a project folder, its config, and its store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadledger.config import CONFIG_NAME, default_config_text, find_project_dir, load_config
from leadledger.config.models import ProjectConfig
from leadledger.errors import ProjectExists, ProjectNotFound
from leadledger.ledger.imports.files import ImportResult, Progress, import_files
from leadledger.ledger.imports.mapping import load_mapping
from leadledger.ledger.store import Store
from leadledger.reports import registry
from leadledger.reports.context import Clock, Ctx, system_clock
from leadledger.reports.params import Params
from leadledger.reports.result import Report
from leadledger.workdays import WorkCalendar

if TYPE_CHECKING:
    from leadledger.ledger.imports.events import FormResult, IngestResult


def init_project(folder: Path, *, config_text: str | None = None, force: bool = False) -> Path:
    """Write ``folder/leadledger.yaml`` (commented defaults) and create the embedded store."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CONFIG_NAME
    if path.exists() and not force:
        raise ProjectExists(
            f"{path} already exists", hint="pass --force to overwrite it, or pick another folder"
        )
    path.write_text(config_text or default_config_text(), encoding="utf-8")
    ws = Workspace(folder)
    ws.store  # creates the tables  # noqa: B018
    ws.close()
    return path


class Workspace:
    """A project: config + connection. Metrics are bound to the store here and run."""

    def __init__(
        self,
        project_dir: Path | None = None,
        *,
        config: ProjectConfig | None = None,
        clock: Clock = system_clock,
    ):
        self.project_dir = Path(project_dir).resolve() if project_dir else find_project_dir()
        if config is None and not (self.project_dir / CONFIG_NAME).is_file():
            raise ProjectNotFound(
                f"{self.project_dir} holds no {CONFIG_NAME}",
                hint="run 'leadledger init DIR' first, or pass --project DIR",
            )
        self.cfg = config or load_config(self.project_dir / CONFIG_NAME)
        #: Now, in UTC: every default "now" and "today" of the project's reports.
        self.clock = clock

    @cached_property
    def store(self) -> Store:
        return Store.open(self.cfg, self.project_dir)

    @cached_property
    def calendar(self) -> WorkCalendar:
        return WorkCalendar(self.cfg.calendar)

    @property
    def ctx(self) -> Ctx:
        """What a report gets: the config, the ledger and the clock (never this façade)."""
        ctx = self.__dict__.get("_ctx")
        if ctx is None or ctx.store is not self.store:
            ctx = Ctx(self.cfg, self.store, project_dir=self.project_dir, clock=self.clock)
            ctx.__dict__["calendar"] = self.calendar
            self.__dict__["_ctx"] = ctx
        return ctx

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()
            del self.__dict__["store"]
        self.__dict__.pop("_ctx", None)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- imports ------------------------------------------------------------------------
    def import_files(
        self,
        kind: str,
        files: Sequence[Path],
        *,
        mapping: Path | None = None,
        preset: str | None = None,
        encoding: str | None = None,
        progress: Progress | None = None,
    ) -> ImportResult:
        m = load_mapping(mapping, preset) if (mapping or preset) else None
        return import_files(
            self.store,
            self.project_dir,
            kind,
            [Path(f) for f in files],
            m,
            encoding=encoding,
            progress=progress,
        )

    # -- reports ------------------------------------------------------------------------
    def today(self) -> dt.date:
        """Today in the project's time zone (by the workspace's clock)."""
        return Ctx(self.cfg, clock=self.clock).today()

    def run(self, params: Params) -> Report:
        """Run the report ``params`` belong to (``leadledger.reports``), e.g.
        ``ws.run(ConversionParams(by=["channel"]))``."""
        return registry.spec_for(params).run(self.ctx, params)

    def report(self, name: str, /, **params: Any) -> Report:
        """``run`` by the report's name, the parameters as keywords (validated into its
        ``Params``): ``ws.report("conversion", by="channel", window="90d")``."""
        spec = registry.get(name)
        return spec.run(self.ctx, spec.params.model_validate(params))

    # -- rule scoring (writes the MQL handoff) ----------------------------------------------
    def score(self, *, as_of: str | dt.date | dt.datetime | None = None) -> Report:
        """Score every lead as of ``as_of`` (default now) and write the MQL handoff
        (``leadledger score``): the registered report ``score``."""
        return self.report("score", as_of=as_of)

    # -- goals ------------------------------------------------------------------------------
    def save_goal(self, name: str, plan: Report, *, force: bool = False) -> Path:
        """Write ``plan`` into leadledger.yaml's ``goals`` as goal ``name`` (comments kept),
        validated first (``leadledger plan --save NAME``)."""
        from leadledger.config.goals import save_goal
        from leadledger.reports.planning import goal_entry

        return save_goal(self.project_dir / CONFIG_NAME, goal_entry(name, plan), force=force)

    # -- API tokens ---------------------------------------------------------------------
    def token_create(self, scope: str, name: str | None = None) -> tuple[dict[str, Any], str]:
        """A new API token: its listing row and the secret, shown this once."""
        from leadledger import tokens

        return tokens.create(self.store, scope, name)

    def token_list(self) -> Report:
        from leadledger import tokens

        return Report("tokens", {}, tokens.listing(self.store), title="API tokens")

    def token_revoke(self, token: str) -> dict[str, Any]:
        from leadledger import tokens

        return tokens.revoke(self.store, token)

    def token_verify(self, secret: str | None, needed: str) -> dict[str, Any]:
        """The token's id, name and scope, or ``Unauthorized`` / ``Forbidden``."""
        from leadledger import tokens

        return tokens.verify(self.store, secret, needed)

    # -- ingestion (API events, website form hook) ---------------------------------------
    def ingest_events(self, events: Sequence[Mapping[str, Any]]) -> IngestResult:
        """Append a batch of lead/stage/touch/deal events, idempotent by event id
        (``POST /api/v1/events``); see ``ledger.imports.events.ingest_events``."""
        from leadledger.ledger.imports.events import ingest_events

        return ingest_events(self.store, self.cfg, events, project_dir=self.project_dir)

    def ingest_form(self, form: Mapping[str, Any]) -> FormResult:
        """A website form submission: create or update the lead by e-mail and record the touch
        (``POST /api/v1/hooks/form``); see ``ledger.imports.events.ingest_form``."""
        from leadledger.ledger.imports.events import ingest_form

        return ingest_form(self.store, self.cfg, form, project_dir=self.project_dir)
