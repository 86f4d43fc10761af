"""The one façade every surface calls: a project folder, its config, and its store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

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

#: What ``as_of`` of a shim takes: a date (the end of that local day), a time, or text.
AsOfValue = str | dt.date | dt.datetime | None


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

    def check(self, limit: int = 20) -> Report:
        """Data anomalies (``leadledger check``)."""
        return self.report("check", limit=limit)

    # -- planning (shims: ``report("plan")``, ``report("pace")``, ``report("whatif")``) -------
    def plan(
        self,
        *,
        revenue: float | str | None,
        deal_size: float | str | None = None,
        close_rate: float | str | None = None,
        mql_to_sql: float | str | None = None,
        lead_to_mql: float | str | None = None,
        visit_to_lead: float | str | None = None,
        start: str | dt.date | None = None,
        end: str | dt.date | None = None,
        history_text: str = "12m",
        channel: str | None = None,
        campaign: str | None = None,
    ) -> Report:
        """The reverse funnel (``leadledger plan``)."""
        from leadledger.reports.planning import PlanParams

        return self.run(
            PlanParams(
                revenue=revenue,
                deal_size=deal_size,
                close_rate=close_rate,
                mql_to_sql=mql_to_sql,
                lead_to_mql=lead_to_mql,
                visit_to_lead=visit_to_lead,
                start=start,
                end=end,
                history=history_text,
                channel=channel,
                campaign=campaign,
            )
        )

    def save_goal(self, name: str, plan: Report, *, force: bool = False) -> Path:
        """Write ``plan`` into leadledger.yaml's ``goals`` as goal ``name`` (comments kept),
        validated first (``leadledger plan --save NAME``)."""
        from leadledger.config.goals import save_goal
        from leadledger.reports.planning import goal_entry

        return save_goal(self.project_dir / CONFIG_NAME, goal_entry(name, plan), force=force)

    def pace(
        self,
        *,
        goal: str | None = None,
        as_of: str | dt.date | None = None,
        period: str = "month",
    ) -> Report:
        """A goal's actual vs required per working day (``leadledger pace``)."""
        from leadledger.reports.planning import PaceParams

        return self.run(PaceParams(goal=goal, as_of=as_of, period=period))

    def whatif(
        self,
        *,
        overrides: Sequence[str] = (),
        scenario: Path | None = None,
        history_text: str = "12m",
    ) -> Report:
        """A scenario against the history's baseline (``leadledger whatif``)."""
        from leadledger.reports.planning import WhatifParams

        return self.run(
            WhatifParams(overrides=tuple(overrides), scenario=scenario, history=history_text)
        )

    # -- experiments --------------------------------------------------------------------
    def experiment_report(self, name: str, **params: Any) -> Report:
        """Test vs control per stage (``leadledger experiment report``)."""
        return self.report("experiment_report", name=name, **params)

    def experiment_assign(self, name: str, **params: Any) -> Report:
        return self.report("experiment_assign", name=name, **params)

    def experiment_import(self, name: str, file: Path, **params: Any) -> Report:
        return self.report("experiment_import", name=name, file=file, **params)

    # -- attribution --------------------------------------------------------------------
    def attribution(self, **params: Any) -> Report:
        """Multi-touch attribution (``leadledger attribution``): the registered report
        ``attribution`` (``leadledger.reports.attribution``)."""
        return self.report("attribution", **params)

    # -- predictive scoring -------------------------------------------------------------
    def model_train(self, **params: Any) -> Report:
        """Evaluate and save the predictive lead score (``leadledger model train``)."""
        return self.report("model_train", **params)

    def model_evaluate(self, **params: Any) -> Report:
        """The predictive score vs the naive Bayes baseline (``leadledger model evaluate``)."""
        return self.report("model_evaluate", **params)

    def model_predict(
        self,
        as_of: Any = None,
        lead_ids: Sequence[str] | None = None,
        name: str = "default",
        **params: Any,
    ) -> Report:
        """Calibrated probability and reasons per lead (``leadledger model predict``); raises
        ``ModelNotTrained`` when no model was saved."""
        return self.report("model_predict", name=name, as_of=as_of, lead_ids=lead_ids, **params)

    # -- rule scoring -------------------------------------------------------------------
    def score(self, **params: Any) -> Report:
        """Score every lead and write the MQL handoff (``leadledger score``)."""
        return self.report("score", **params)

    def score_explain(self, lead_id: str, **params: Any) -> Report:
        """The points ledger of one lead (``leadledger score explain``)."""
        return self.report("score_explain", lead_id=lead_id, **params)

    def score_backtest(self, **params: Any) -> Report:
        """Score vs later outcome per threshold (``leadledger score backtest``)."""
        return self.report("score_backtest", **params)

    def score_tune(self, **params: Any) -> Report:
        """The recommended MQL threshold (``leadledger score tune``)."""
        return self.report("score_tune", **params)

    # -- protection (shims: ``report("sla")``, ``report("decay")``, ``report("alerts")``) ----
    def sla(
        self,
        *,
        start: str | dt.date | None = None,
        end: str | dt.date | None = None,
        period: str | None = "month",
        by: str | Sequence[str] | None = None,
        as_of: AsOfValue = None,
        view: str = "breaches",
        sla: str | None = None,
    ) -> Report:
        """SLA breaches, rates or clocks (``leadledger sla``)."""
        from leadledger.reports.protection import SlaParams

        return self.run(
            SlaParams(start=start, end=end, period=period, by=by, as_of=as_of, view=view, sla=sla)
        )

    def decay(
        self,
        *,
        customer_value: float | str | None = None,
        sqls: float | str | None = None,
        customers: float | str | None = None,
        neglected: float | str | None = None,
        start: str | dt.date | None = None,
        end: str | dt.date | None = None,
        as_of: AsOfValue = None,
        history: str | float | None = "365d",
        limit: int | None = 50,
    ) -> Report:
        """Lead decay in money (``leadledger decay``)."""
        from leadledger.reports.protection import DecayParams

        return self.run(
            DecayParams(
                customer_value=customer_value,
                sqls=sqls,
                customers=customers,
                neglected=neglected,
                start=start,
                end=end,
                as_of=as_of,
                history=history,
                limit=limit,
            )
        )

    def alerts(
        self,
        *,
        webhook: str | None = None,
        as_of: AsOfValue = None,
        goal: str | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 1.0,
    ) -> Report:
        """SLA breaches and pacing shortfalls, POSTed to ``webhook`` when given
        (``leadledger alerts``)."""
        from leadledger.reports.protection import AlertsParams

        return self.run(
            AlertsParams(
                webhook=webhook,
                as_of=as_of,
                goal=goal,
                timeout=timeout,
                retries=retries,
                backoff=backoff,
            )
        )

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

    # -- imports listing ------------------------------------------------------------------
    def imports(self, *, limit: int | None = None) -> Report:
        """Every import run, newest batch first (``GET /api/v1/imports``)."""
        return self.report("imports", limit=limit)

    # -- dashboard (read-only) ----------------------------------------------------------
    def score_distribution(self, **params: Any) -> Report:
        """Histogram of the latest scoring run's scores, read from ``score_events`` (never
        scores again)."""
        return self.report("score_distribution", **params)

    def executive_report(self, **params: Any) -> Report:
        """Seed 000's six keys and the ROI over one range (``leadledger export report``)."""
        from leadledger.dashboard_reports import executive_report

        return executive_report(self, **params)

    # -- ingestion (API events, website form hook) ---------------------------------------
    def ingest_events(self, events: Sequence[Any]) -> Any:
        """Append a batch of lead/stage/touch/deal events, idempotent by event id
        (``POST /api/v1/events``); see ``ledger.imports.events.ingest_events``."""
        from leadledger.ledger.imports.events import ingest_events

        return ingest_events(self.store, self.cfg, events, project_dir=self.project_dir)

    def ingest_form(self, form: dict[str, Any]) -> Any:
        """A website form submission: create or update the lead by e-mail and record the touch
        (``POST /api/v1/hooks/form``); see ``ledger.imports.events.ingest_form``."""
        from leadledger.ledger.imports.events import ingest_form

        return ingest_form(self.store, self.cfg, form, project_dir=self.project_dir)
