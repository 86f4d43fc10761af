"""The rule-scoring reports: ``score`` (scores every lead and writes the MQL handoff), ``score
explain``, ``score backtest``, ``score tune`` and the dashboard's ``score_distribution``; and
``unmatched_rules`` for ``leadledger validate``.

The expressions live in ``leadledger.scoring`` (pure); here they run on the project's engine.
``score`` records its run through :func:`record_run`: the points ledger (``score_events``) and
the stage events in one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Annotated, Any

import ibis
import numpy as np
import pandas as pd
from pydantic import BeforeValidator, Field, ValidationInfo

from leadledger.config.models import LeadCondition, ProjectConfig, Scoring
from leadledger.errors import (
    InvalidArgument,
    LeadNotFound,
    NotEnoughHistory,
    ScoringNotConfigured,
)
from leadledger.formatting import number, signed_number
from leadledger.ledger.derived import current_leads
from leadledger.ledger.imports import batch
from leadledger.ledger.imports.validate import stable_ids
from leadledger.ledger.store import Store
from leadledger.reports.common import as_of_instant, check_stage, last_activity_date
from leadledger.reports.context import Ctx
from leadledger.reports.params import (
    AsOf,
    BadParam,
    Duration,
    Instant,
    Params,
    Surface,
    duration,
    resolved,
)
from leadledger.reports.registry import Resolved, report
from leadledger.reports.result import Report
from leadledger.scoring import backtest as bt
from leadledger.scoring import distribution, rules
from leadledger.scoring.handoff import SOURCE, scores_with_state

__all__ = [
    "BacktestParams",
    "DistributionParams",
    "ExplainParams",
    "ScoreParams",
    "TuneParams",
    "record_run",
    "unmatched_rules",
]

EVENTS_TABLE = "score_events"
SCORE_COLUMNS = [
    "lead_id",
    "score",
    "grade",
    "fit_grade",
    "engagement_grade",
    "groups",
    "over_threshold",
    "probability",
    "action",
    "reason",
]
EVENT_COLUMNS = ["lead_id", "stage", "entered_at", "reason"]
EXPLAIN_COLUMNS = [
    "group",
    "rule",
    "line",
    "touch_id",
    "at",
    "detail",
    "age_days",
    "weight",
    "points_before_decay",
    "points",
    "total",
]
BACKTEST_COLUMNS = tuple(bt.THRESHOLD_COLUMNS)
TUNE_COLUMNS = [
    "threshold",
    "mqls_per_month",
    "mqls_per_working_day",
    "acceptance_rate",
    "conversion_rate",
    "recall",
    "capacity",
    "target_acceptance",
]
#: The outcome window of a backtest when none is given.
NINETY_DAYS = Duration(90.0, "d", "90d")


def _scoring(ctx: Ctx) -> Scoring:
    scoring = ctx.cfg.scoring
    if not scoring.rules:
        raise ScoringNotConfigured(
            "no scoring rules in leadledger.yaml",
            hint="add groups of rules under 'scoring:' (see docs/scoring.md), then "
            "'leadledger validate'",
        )
    return scoring


# -- parameters shared by the commands ----------------------------------------------------------
def _number(
    ok: Callable[[float], bool], message: str, hint: str | None = None
) -> Callable[[Any, ValidationInfo], float | None]:
    """A number that passes ``ok`` (None stays None); else ``message`` with ``{flag}`` and the
    number as ``{value}`` (``:g``)."""

    def parse(value: Any, info: ValidationInfo) -> float | None:
        if value is None:
            return None
        number = float(value)
        if not ok(number):
            exc = BadParam(message, f"{number:g}", hint)
            exc.field = info.field_name
            raise exc
        return number

    return parse


def _longer_than_zero(value: Any, info: ValidationInfo) -> Duration | None:
    """A backtest window: 36h, 90d, 12w or a number of days, longer than 0."""
    window = duration(units="hdw")(value, info)
    if window is not None and window.days <= 0:
        exc = BadParam("{flag} must be longer than 0", value, "e.g. 90d, 12w")
        exc.field = info.field_name
        raise exc
    return window


OutcomeWindow = Annotated[Duration | None, BeforeValidator(_longer_than_zero)]
BacktestAsOf = Annotated[
    AsOf,
    Field(description="Score as of this time (default: --window before the last day with data)."),
]
Outcome = Annotated[
    str, Field(description="The stage a good lead reaches (sql, opportunity, ...).")
]
Window = Annotated[
    OutcomeWindow,
    Surface(raw=str),
    Field(description="Outcome window after the as-of, e.g. 90d, 12w."),
]
Cohort = Annotated[
    OutcomeWindow,
    Surface(raw=str | None),
    Field(description="Leads created this long before the as-of are scored (default: --window)."),
]
Step = Annotated[
    float | None,
    Surface(query=(("gt", 0), ("allow_inf_nan", False))),
    Field(description="Threshold step (default: a round step)."),
]


# -- score ---------------------------------------------------------------------------------------
class ScoreParams(Params):
    """``leadledger score``."""

    as_of: Annotated[
        AsOf,
        Field(
            description="Score as of this time (date = end of that day, or timestamp; project "
            "time zone; default now)."
        ),
    ] = None

    def resolve(self, ctx: Ctx) -> Resolved[ScoreParams]:
        scoring = _scoring(ctx)
        check_stage(ctx, scoring.mql_stage, "--mql_stage")
        as_of_ts = as_of_instant(ctx, self.as_of)
        if as_of_ts > ctx.clock() + pd.Timedelta(minutes=1):
            raise InvalidArgument(
                f"--as-of {as_of_ts.isoformat()} is in the future",
                hint="score as of now (the default) or a past moment: MQL events are facts",
            )
        return Resolved(resolved(self, as_of=Instant(as_of_ts.isoformat(), as_of_ts, False)))


def _reasons(ledger: pd.DataFrame, top: int) -> dict[str, str]:
    """lead → 'rule +20, rule +15' (the rules that gave the most points)."""
    if ledger.empty:
        return {}
    f = ledger[ledger["rule"] != rules.GROUP_CAP]
    f = f[f["points"] > 0].sort_values(["lead_id", "points", "rule"], ascending=[True, False, True])
    f = f.groupby("lead_id").head(top)
    text = f["rule"] + " " + f["points"].map(signed_number)
    joined = text.groupby(f["lead_id"]).agg(", ".join)
    return {str(k): str(v) for k, v in joined.items()}


def _groups_text(frame: pd.DataFrame, scoring: Scoring) -> pd.Series:
    parts = [
        g.name + " " + frame[f"group_{g.name}"].map(lambda v: number(float(v)))
        for g in scoring.groups
    ]
    out = parts[0]
    for p in parts[1:]:
        out = out + ", " + p
    return out


def _model_probabilities(ctx: Ctx, as_of: pd.Timestamp) -> pd.DataFrame:
    """The saved predictive model's probability and reasons per lead (``model predict``)."""
    from leadledger.reports import model

    params = model.ModelPredictParams(as_of=Instant(as_of.isoformat(), as_of, False))
    frame = model.report_model_predict(ctx, params).frame
    return frame[["lead_id", "probability", "reasons"]]


@report("score", params=ScoreParams, columns=SCORE_COLUMNS, tables=("events",), writes=True,
        cli="score")  # fmt: skip
def report_score(ctx: Ctx, p: ScoreParams) -> Report:
    """Score every lead inside the engine, record the points in score_events, and write an
    mql stage event (with the score and the top reasons) for each lead that first crosses the
    threshold. Scoring the same --as-of twice changes nothing.

    Example: leadledger score --as-of 2026-06-30 --format json
    """
    scoring = ctx.cfg.scoring
    as_of_ts = as_of_instant(ctx, p.as_of)
    tables = ctx.tables()
    ctx.progress("scoring leads")
    frame = ctx.execute(scores_with_state(tables, ctx.cfg, scoring, as_of_ts))
    if frame.empty:
        return Report(
            "score",
            {"as_of": as_of_ts, "mql_by": scoring.mql_by, "leads": 0, "new_mqls": 0},
            pd.DataFrame(columns=SCORE_COLUMNS),
            [f"no lead existed as of {as_of_ts.isoformat()}: nothing scored, nothing written"],
            title=f"Lead scores as of {as_of_ts.isoformat()}",
            table_columns=["lead_id", "score", "grade", "groups", "action", "reason"],
        )
    frame = frame.sort_values(["score", "lead_id"], ascending=[False, True]).reset_index(drop=True)
    notes: list[str] = []
    if scoring.mql_by == "probability":
        ctx.progress("predicting probabilities")
        prob = _model_probabilities(ctx, as_of_ts)
        frame = frame.merge(prob, on="lead_id", how="left")
        value = frame["probability"].astype(float)
        over = (value >= scoring.probability_threshold).fillna(False).to_numpy(dtype=bool)
        limit_text = f"probability ≥ {scoring.probability_threshold:g}"
    else:
        frame["probability"] = np.nan
        frame["reasons"] = None
        over = (frame["score"] >= scoring.threshold).to_numpy(dtype=bool)
        limit_text = f"score ≥ {number(scoring.threshold)}"
    frame["over_threshold"] = over
    new_mql = over & ~frame["has_mql"].to_numpy(dtype=bool) & ~frame["blocked"].to_numpy(dtype=bool)
    recycle = np.zeros(len(frame), dtype=bool)
    if scoring.below_threshold == "recycled":
        mql_at = pd.to_datetime(frame["scored_mql_at"], utc=True)
        acc = pd.to_datetime(frame["accepted_at"], utc=True)
        rej = pd.to_datetime(frame["rejected_at"], utc=True)
        recycle = (
            (~over)
            & mql_at.notna().to_numpy()
            & (mql_at < as_of_ts).fillna(False).to_numpy(dtype=bool)
            & acc.isna().to_numpy()
            & ~(rej >= mql_at).fillna(False).to_numpy(dtype=bool)
        )
    frame["action"] = pd.Series(
        np.select([new_mql, recycle], ["mql", "recycled"], default=""), index=frame.index
    ).replace("", None)
    # reasons of the leads that get an event
    acting = frame.loc[new_mql | recycle, "lead_id"]
    reason_of: dict[str, str] = {}
    if len(acting):
        ctx.progress("writing the reasons")
        led = rules.ledger(tables, scoring, as_of_ts)
        ids = ibis.memtable(pd.DataFrame({"lead_id": acting.astype(str).to_numpy()}))
        reason_of = _reasons(ctx.execute(led.semi_join(ids, "lead_id")), scoring.top_reasons)
    score_text = frame["score"].map(lambda v: number(float(v)))
    top = frame["lead_id"].map(lambda lead: reason_of.get(lead, ""))
    if scoring.mql_by == "probability":
        prob = "probability " + frame["probability"].map(
            lambda v: "–" if pd.isna(v) else f"{v:.2f}"
        )
        mql_reason = (
            prob
            + f" ≥ {scoring.probability_threshold:g}: "
            + frame["reasons"].fillna("")
            + "; score "
            + score_text
        )
        back_reason = prob + f" < {scoring.probability_threshold:g}"
    else:
        mql_reason = "score " + score_text + f" ≥ {number(scoring.threshold)}: " + top
        back_reason = "score " + score_text + f" < {number(scoring.threshold)}"
    frame["reason"] = np.where(new_mql, mql_reason, np.where(recycle, back_reason, None))
    frame["reason"] = frame["reason"].map(lambda r: r.rstrip(": ") if isinstance(r, str) else r)
    frame["groups"] = _groups_text(frame, scoring)
    events = frame.loc[new_mql | recycle, ["lead_id", "action", "reason"]].rename(
        columns={"action": "stage"}
    )
    events["stage"] = events["stage"].where(events["stage"] != "mql", scoring.mql_stage)
    events["entered_at"] = as_of_ts
    events = events[EVENT_COLUMNS].reset_index(drop=True)

    ctx.progress("recording")
    written, kept, events = record_run(ctx.store, ctx.cfg, scoring, as_of_ts, events)
    n_mql = int(new_mql.sum())
    n_rec = int(recycle.sum())
    notes.append(
        f"{len(frame):,} leads scored as of {as_of_ts.isoformat()}; {int(over.sum()):,} at "
        f"{limit_text}; {n_mql:,} new {scoring.mql_stage} event(s)"
        + (f", {n_rec:,} recycled" if scoring.below_threshold == "recycled" else "")
    )
    if kept:
        notes.append(
            f"this as-of was scored before: its points ledger "
            f"({_ledger_rows(ctx.store, as_of_ts):,} rows) is kept, nothing rewritten (scoring "
            "the same as-of twice changes nothing)"
        )
    else:
        notes.append(f"score_events: {written:,} rows written (the points ledger of this as-of)")
    params = {
        "as_of": as_of_ts,
        "mql_by": scoring.mql_by,
        "threshold": scoring.threshold,
        "probability_threshold": scoring.probability_threshold
        if scoring.mql_by == "probability"
        else None,
        "below_threshold": scoring.below_threshold,
        "leads": len(frame),
        "over_threshold": int(over.sum()),
        "new_mqls": n_mql,
        "recycled": n_rec,
    }
    return Report(
        "score",
        params,
        frame[SCORE_COLUMNS],
        notes,
        title=f"Lead scores as of {as_of_ts.isoformat()}",
        table_columns=["lead_id", "score", "grade", "groups", "action", "reason"]
        if scoring.mql_by == "points"
        else ["lead_id", "score", "probability", "grade", "action", "reason"],
        extra={"events": ("Stage events written", events)},
    )


# -- recording a run (the one write of the scoring reports) -------------------------------------
def _run_key(as_of: pd.Timestamp) -> str:
    """The idempotency key of a scoring run: one per as-of instant (its ``imports`` row)."""
    return hashlib.sha256(f"score:{as_of.isoformat()}".encode()).hexdigest()


def _already_scored(store: Store, as_of: pd.Timestamp) -> bool:
    """Whether a run for this as-of was recorded — even one whose points ledger was empty."""
    t = store.table("imports")
    hit = t.filter((t.kind == "score") & (t.sha256 == _run_key(as_of))).count()
    return int(store.execute(hit)) > 0


def _ledger_rows(store: Store, as_of: pd.Timestamp) -> int:
    t = store.table(EVENTS_TABLE)
    return int(store.execute(t.filter(t.as_of == rules.as_of_literal(as_of)).count()))


def record_run(
    store: Store,
    cfg: ProjectConfig,
    scoring: Scoring,
    as_of: pd.Timestamp,
    events: pd.DataFrame,
) -> tuple[int, bool, pd.DataFrame]:
    """Record a scoring run: the points ledger (in the engine, INSERT … SELECT) and the stage
    ``events``, in one transaction with an ``imports`` row that numbers the batch
    (``ledger.imports.batch``, the one writer). Writers are serialised (the batch lock on
    PostgreSQL, the file lock on DuckDB) and everything is re-checked inside the transaction, so
    two runs at once never write a ledger or an MQL event twice. Returns (ledger rows written,
    whether this as-of was already recorded, the events written)."""
    now = pd.Timestamp.now(tz="UTC")
    written = 0
    with batch.transaction(store) as tx:
        kept = _already_scored(store, as_of)
        write_ledger = not kept
        events = _still_new(store, cfg, scoring, events)
        if write_ledger:
            led = rules.ledger(tx.store.tables(), scoring, as_of)
            expr = led.select(
                *rules.LEDGER_COLUMNS,
                as_of=rules.as_of_literal(as_of),
                batch_no=ibis.literal(tx.batch_no, type="int64"),
                scored_at=rules.as_of_literal(now),
            )
            written = tx.append_select(EVENTS_TABLE, expr)
        if not events.empty:
            rows = events.assign(source=SOURCE, source_stage=events["stage"])
            rows["row_id"] = stable_ids(rows, ["lead_id", "stage", "entered_at"], "se_")
            rows = rows.assign(row_no=np.arange(1, len(rows) + 1))
            tx.append("stage_events", rows, at=now)
        if write_ledger or not events.empty:
            sha = _run_key(as_of)
            source = f"{SOURCE} --as-of {as_of.isoformat()}"
            tx.record("score", [batch.Source(source, sha, written, len(events))], now)
    return written, kept, events


def _still_new(
    store: Store, cfg: ProjectConfig, scoring: Scoring, events: pd.DataFrame
) -> pd.DataFrame:
    """Drop MQL events of leads that entered the MQL stage (or a later one) since the scores
    were read — another run may have written them meanwhile."""
    mql = events[events["stage"] == scoring.mql_stage]
    if mql.empty:
        return events
    keys = cfg.stage_keys
    later = keys[keys.index(scoring.mql_stage) :]
    t = store.table("stage_events")
    ids = ibis.memtable(pd.DataFrame({"lead_id": mql["lead_id"].astype(str).to_numpy()}))
    found = t.filter(t.stage.isin(later)).semi_join(ids, "lead_id").select("lead_id").distinct()
    done = set(store.execute(found)["lead_id"].astype(str))
    if not done:
        return events
    drop = (events["stage"] == scoring.mql_stage) & events["lead_id"].astype(str).isin(done)
    return events[~drop].reset_index(drop=True)


# -- explain -------------------------------------------------------------------------------------
class ExplainParams(Params):
    """``leadledger score explain LEAD_ID``."""

    lead_id: Annotated[
        str,
        Surface(argument=True, query=(("examples", ["L0000001"]),)),
        Field(description="The lead's id (the CRM's)."),
    ]
    as_of: Annotated[
        AsOf,
        Field(description="Explain the score as of this time (default: the lead's latest "
                          "scoring run)."),
    ] = None  # fmt: skip

    def resolve(self, ctx: Ctx) -> Resolved[ExplainParams]:
        _scoring(ctx)
        leads = current_leads(ctx.tables())
        found = ctx.execute(leads.filter(leads.lead_id == self.lead_id).count())
        if not found:
            raise LeadNotFound(
                f"no lead '{self.lead_id}' in the ledger",
                hint="lead ids are the CRM's (leadledger score --format csv lists them)",
            )
        if self.as_of is not None:
            return Resolved(self)
        latest = _latest_as_of(ctx, self.lead_id)
        as_of_ts = latest if latest is not None else as_of_instant(ctx, None)
        note = (
            f"as of the latest scoring run for this lead, {as_of_ts.isoformat()}"
            if latest is not None
            else "as of now (the lead has not been scored yet)"
        )
        return Resolved(
            resolved(self, as_of=Instant(as_of_ts.isoformat(), as_of_ts, False)),
            (note,),
            frozenset() if latest is not None else frozenset({"as_of"}),
        )


def _latest_as_of(ctx: Ctx, lead_id: str) -> pd.Timestamp | None:
    t = ctx.table(EVENTS_TABLE)
    value = ctx.execute(t.filter(t.lead_id == lead_id).as_of.max())
    return None if value is None or pd.isna(value) else pd.Timestamp(value).tz_convert("UTC")


@report("score_explain", params=ExplainParams, columns=EXPLAIN_COLUMNS, cli="score explain",
        api="/score/explain/{lead_id}")  # fmt: skip
def report_score_explain(ctx: Ctx, p: ExplainParams) -> Report:
    """The points ledger of one lead: every rule, every touch it counted with its points
    before and after decay, the caps, and the total (the lines add up to the score).

    Example: leadledger score explain L0002368
    """
    scoring = ctx.cfg.scoring
    lead_id = p.lead_id
    tables = ctx.tables()
    notes: list[str] = []
    as_of_ts = as_of_instant(ctx, p.as_of)
    w = rules.rule_table(tables, scoring, as_of_ts)
    row = ctx.execute(w.filter(w.lead_id == lead_id))
    if row.empty:
        raise LeadNotFound(
            f"lead '{lead_id}' did not exist yet at {as_of_ts.isoformat()}",
            hint="pass a later --as-of",
        )
    r = row.iloc[0]
    detail_expr = rules.touch_detail(tables, scoring, as_of_ts, lead_id)
    detail = (
        ctx.execute(detail_expr).sort_values(["rule", "at", "touch_id"])
        if detail_expr is not None
        else pd.DataFrame(columns=["rule"])
    )
    lines: list[dict[str, Any]] = []
    for spec in rules.specs(scoring):
        i, rule = spec.index, spec.rule
        n = int(r[f"n{i}"])
        if n == 0:
            continue
        pts = float(r[f"pts{i}"])
        dec = float(r[f"dec{i}"])
        base = {"group": spec.group.name, "rule": rule.name}
        if not spec.is_touch:
            assert rule.lead is not None
            lines.append(
                {
                    **base,
                    "line": "attribute",
                    "detail": _condition_text(rule.lead),
                    "points_before_decay": rule.points,
                    "points": rule.points,
                }
            )
        else:
            touches = detail[detail["rule"] == rule.name]
            if rule.per == "match":
                touches = touches.sort_values(["at", "touch_id"]).tail(1)
            for rec in touches.to_dict(orient="records"):
                t: dict[str, Any] = {str(k): v for k, v in rec.items()}
                weight = float(t["weight"])
                lines.append(
                    {
                        **base,
                        "line": "touch" if rule.per == "occurrence" else f"latest of {n} touch(es)",
                        "touch_id": t["touch_id"],
                        "at": t["at"],
                        "detail": _touch_text(t),
                        "age_days": float(t["age_days"]),
                        "weight": weight,
                        "points_before_decay": rule.points,
                        "points": rule.points * weight,
                    }
                )
            counted = sum(x["points"] for x in lines if x["rule"] == rule.name)
            if abs(counted - dec) > 1e-9 * max(1.0, abs(dec)):
                notes.append(f"{rule.name}: touches add to {counted:g}, the engine says {dec:g}")
        if pts != dec:
            lines.append(
                {
                    **base,
                    "line": "rule cap",
                    "detail": f"cap {number(rule.cap or 0)}",
                    "points": pts - dec,
                }
            )
    for g in scoring.groups:
        diff = float(r[f"g_{g.name}"]) - float(r[f"sum_{g.name}"])
        if diff != 0:
            bound = f"cap {number(g.cap)}" if g.cap is not None and diff < 0 else f"floor {g.floor}"
            lines.append(
                {
                    "group": g.name,
                    "rule": rules.GROUP_CAP,
                    "line": "group cap",
                    "detail": bound,
                    "points": diff,
                }
            )
    score_value = sum(float(r[f"g_{g.name}"]) for g in scoring.groups)
    frame = pd.DataFrame(lines, columns=EXPLAIN_COLUMNS)
    frame["total"] = frame["points"].astype(float).cumsum() if len(frame) else []
    total_row: dict[str, Any] = {c: None for c in EXPLAIN_COLUMNS}
    total_row.update({"line": "total", "points": score_value, "total": score_value})
    frame = pd.concat([frame, pd.DataFrame([total_row])], ignore_index=True)
    lines_sum = float(frame["points"].iloc[:-1].astype(float).sum()) if len(frame) > 1 else 0.0
    if abs(lines_sum - score_value) > 1e-9 * max(1.0, abs(score_value)):
        notes.append(f"the lines add up to {lines_sum:g}, not the score {score_value:g}")
    stored = _stored_total(ctx, lead_id, as_of_ts)
    if stored is not None:
        notes.append(
            "score_events for this as-of add up to "
            + number(stored)
            + (" (the same)" if abs(stored - score_value) < 1e-6 else " (the rules changed since)")
        )
    params = {"lead_id": lead_id, "as_of": as_of_ts, "score": score_value}
    return Report(
        "score_explain",
        params,
        frame,
        notes,
        title=f"Score of {lead_id} as of {as_of_ts.isoformat()}: {number(score_value)}",
        table_columns=[
            "rule",
            "line",
            "at",
            "weight",
            "points_before_decay",
            "points",
            "total",
        ],
    )


def _stored_total(ctx: Ctx, lead_id: str, as_of: pd.Timestamp) -> float | None:
    t = ctx.table(EVENTS_TABLE)
    f = t.filter((t.lead_id == lead_id) & (t.as_of == rules.as_of_literal(as_of)))
    out = ctx.execute(f.agg(n=f.count(), total=f.points.sum()))
    return float(out["total"].iloc[0]) if int(out["n"].iloc[0]) else None


def _condition_text(c: LeadCondition) -> str:
    if c.op == "range":
        lo = "" if c.min is None else f"{c.min:g} ≤ "
        hi = "" if c.max is None else f" < {c.max:g}"
        return f"{lo}{c.field}{hi}"
    if c.op in ("missing", "present"):
        return f"{c.field} {c.op}"
    return f"{c.field} {c.op} {c.value}"


def _given(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and np.isnan(value)) and value != ""


def _touch_text(t: dict[str, Any]) -> str:
    parts = [str(t[k]) for k in ("kind", "channel", "campaign", "page") if _given(t.get(k))]
    return " · ".join(parts)


# -- backtest and tune ---------------------------------------------------------------------------
class BacktestParams(Params):
    """``leadledger score backtest``."""

    as_of: BacktestAsOf = None
    outcome: Outcome = "sql"
    window: Window = NINETY_DAYS
    cohort: Cohort = None
    step: Step = None

    def resolve(self, ctx: Ctx) -> Resolved[BacktestParams]:
        window, cohort = _backtest_checks(ctx, self.outcome, self.window, self.cohort)
        return Resolved(resolved(self, window=window, cohort=cohort))


def _backtest_checks(
    ctx: Ctx, outcome: str, window: Duration | None, cohort: Duration | None
) -> tuple[Duration, Duration]:
    """The project has rules and the outcome stage; the window (default 90 days) and the
    cohort (default: the window)."""
    _scoring(ctx)
    check_stage(ctx, outcome, "--outcome")
    window = window or NINETY_DAYS
    return window, cohort or window


def _backtest_frame(
    ctx: Ctx, as_of: Instant | None, outcome: str, window: Duration, cohort: Duration
) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    scoring = ctx.cfg.scoring
    window_days, cohort_days = window.days, cohort.days
    notes: list[str] = []
    if as_of is None:
        last = last_activity_date(ctx)
        if last is None:
            raise NotEnoughHistory(
                "the ledger has no leads to backtest", hint="import leads and stages first"
            )
        as_of_ts = as_of_instant(ctx, (last - pd.Timedelta(days=window_days)).isoformat())
        notes.append(
            f"--as-of defaults to {window_days:g} days before the last day with data ({last}): "
            "the outcome window is fully observed"
        )
    else:
        as_of_ts = as_of_instant(ctx, as_of)
    expr = bt.population(
        ctx.tables(),
        ctx.cfg,
        scoring,
        as_of=as_of_ts,
        outcome=outcome,
        window_days=window_days,
        cohort_days=cohort_days,
    )
    frame = ctx.execute(expr)
    if frame.empty:
        raise NotEnoughHistory(
            f"no leads created in the {cohort_days:g} days before {as_of_ts.date()}",
            hint="pass an --as-of inside the data's history",
        )
    tz = ctx.cfg.timezone
    local_end = as_of_ts.tz_convert(tz).date()
    local_start = (as_of_ts - pd.Timedelta(days=cohort_days)).tz_convert(tz).date()
    working = ctx.calendar.working_days(local_start + pd.Timedelta(days=1), local_end)
    params = {
        "as_of": as_of_ts,
        "outcome": outcome,
        "window_days": window_days,
        "cohort_days": cohort_days,
        "cohort_from": local_start + pd.Timedelta(days=1),
        "cohort_to": local_end,
        "working_days": working,
        "leads": len(frame),
        "eligible": int(frame["eligible"].sum()),
        "converted": int(frame["converted"].sum()),
    }
    return frame, params, notes


@report("score_backtest", params=BacktestParams, columns=BACKTEST_COLUMNS, tables=("deciles",),
        cli="score backtest", api="/score/backtest")  # fmt: skip
def report_score_backtest(ctx: Ctx, p: BacktestParams) -> Report:
    """Score as of a past date vs reaching --outcome within --window after it: ROC AUC,
    precision and recall, MQL volume per working day and acceptance rate per threshold, and
    conversion lift by score decile.

    Example: leadledger score backtest --outcome sql --window 90d
    """
    assert p.window is not None and p.cohort is not None
    scoring = ctx.cfg.scoring
    frame, params, notes = _backtest_frame(ctx, p.as_of, p.outcome, p.window, p.cohort)
    elig = frame[frame["eligible"].astype(bool)]
    roc = bt.auc(elig["score"].to_numpy(float), elig["converted"].to_numpy(bool))
    grid = bt.threshold_grid(
        frame["score"].to_numpy(float), include=[scoring.threshold], step=p.step
    )
    table = bt.thresholds_table(
        frame, grid, working_days=params["working_days"], cohort_days=params["cohort_days"]
    )
    params["roc_auc"] = roc
    notes.insert(
        0,
        f"ROC AUC {roc:.3f} over {len(elig):,} leads, {int(elig['converted'].sum()):,} reached "
        f"{p.outcome} within {params['window_days']:g} days"
        if roc is not None
        else f"ROC AUC undefined: every lead (or none) reached {p.outcome} in the window",
    )
    return Report(
        "score_backtest",
        params,
        table,
        notes,
        title=f"Score vs reaching {p.outcome} (as of {params['as_of'].date()})",
        extra={"deciles": ("Conversion by score decile", bt.deciles(frame))},
    )


class TuneParams(Params):
    """``leadledger score tune``."""

    capacity: Annotated[
        float | None,
        BeforeValidator(_number(lambda x: not x <= 0, "{flag} {value} must be positive",
                                "MQLs per month")),
        Surface(query=(("gt", 0), ("allow_inf_nan", False))),
        Field(description="MQLs sales can work per month."),
    ] = None  # fmt: skip
    target_acceptance: Annotated[
        float | None,
        BeforeValidator(_number(lambda x: 0 < x <= 1, "{flag} {value} is not a share in (0, 1]",
                                "e.g. 0.6")),
        Surface(query=(("ge", 0), ("le", 1), ("allow_inf_nan", False))),
        Field(description="Acceptance rate to reach (0-1), e.g. 0.6."),
    ] = None  # fmt: skip
    as_of: BacktestAsOf = None
    outcome: Outcome = "sql"
    window: Window = NINETY_DAYS
    cohort: Cohort = None
    step: Step = None

    def resolve(self, ctx: Ctx) -> Resolved[TuneParams]:
        if self.capacity is None and self.target_acceptance is None:
            raise InvalidArgument(
                "tune needs --capacity or --target-acceptance",
                hint="e.g. leadledger score tune --capacity 400",
            )
        window, cohort = _backtest_checks(ctx, self.outcome, self.window, self.cohort)
        return Resolved(resolved(self, window=window, cohort=cohort))


@report("score_tune", params=TuneParams, columns=TUNE_COLUMNS, tables=("tradeoff",),
        cli="score tune", api="/score/tune")  # fmt: skip
def report_score_tune(ctx: Ctx, p: TuneParams) -> Report:
    """The recommended MQL threshold for your sales capacity (the lowest threshold whose
    expected MQLs per month fit it) or target acceptance rate, with its expected volume,
    acceptance and conversion, and the trade-off table.

    Example: leadledger score tune --capacity 400
    """
    assert p.window is not None and p.cohort is not None
    threshold = ctx.cfg.scoring.threshold
    frame, params, notes = _backtest_frame(ctx, p.as_of, p.outcome, p.window, p.cohort)
    grid = bt.threshold_grid(
        frame["score"].to_numpy(float), include=[threshold], max_rows=200, step=p.step
    )
    table = bt.thresholds_table(
        frame, grid, working_days=params["working_days"], cohort_days=params["cohort_days"]
    )
    best = bt.recommend(table, capacity=p.capacity, target_acceptance=p.target_acceptance)
    row = {
        "threshold": best["threshold"],
        "mqls_per_month": best["mqls_per_month"],
        "mqls_per_working_day": best["mqls_per_working_day"],
        "acceptance_rate": best["acceptance_rate"],
        "conversion_rate": best["precision"],
        "recall": best["recall"],
        "capacity": p.capacity,
        "target_acceptance": p.target_acceptance,
    }
    notes.insert(
        0,
        f"recommended threshold {number(best['threshold'])} (configured: {number(threshold)}); set "
        "scoring.threshold in leadledger.yaml to use it",
    )
    params.update({"capacity": p.capacity, "target_acceptance": p.target_acceptance})
    return Report(
        "score_tune",
        params,
        pd.DataFrame([row], columns=TUNE_COLUMNS),
        notes,
        title="Recommended MQL threshold",
        extra={"tradeoff": ("Trade-off by threshold", table)},
    )


# -- the distribution of the latest run (the dashboard's) ----------------------------------------
def _bin_width(value: Any, info: ValidationInfo) -> float:
    number = float(value)
    if not number > 0:
        exc = BadParam("bin width {value} must be positive", value)
        exc.field = info.field_name
        raise exc
    return number


class DistributionParams(Params):
    """``GET /api/v1/score/distribution`` (the Scoring page's histogram)."""

    bin_width: Annotated[
        float,
        BeforeValidator(_bin_width),
        Surface(cli=False, query=(("gt", 0), ("le", 1000), ("allow_inf_nan", False))),
        Field(description="Points per bin."),
    ] = 5.0


@report("score_distribution", params=DistributionParams, columns=distribution.COLUMNS,
        api="/score/distribution", api_errors=False)  # fmt: skip
def report_score_distribution(ctx: Ctx, p: DistributionParams) -> Report:
    """Histogram of the latest scoring run's scores (read from score_events; never scores).

    Example: curl -H "Authorization: Bearer $TOKEN" localhost:8000/api/v1/score/distribution
    """
    bin_width = p.bin_width
    threshold = float(ctx.cfg.scoring.threshold) if ctx.cfg.scoring else None
    events = ctx.table(distribution.EVENTS_TABLE)
    latest = ctx.execute(distribution.latest_run(events))
    if latest is None or pd.isna(latest):
        return Report(
            "score_distribution",
            {"as_of": None, "bin_width": bin_width, "threshold": threshold, "leads": 0},
            distribution.empty_frame(),
            [
                "no scoring run recorded yet: 'leadledger score' records the points ledger "
                "(score_events) this distribution reads"
            ],
            title="Score distribution",
        )
    as_of = pd.Timestamp(latest).tz_convert("UTC")
    scored = distribution.run_scores(ctx.tables(), events, as_of)
    hist = ctx.execute(distribution.histogram(scored, bin_width, threshold))
    stats = ctx.execute(distribution.summary(scored, threshold))
    total = int(stats["leads"].iloc[0])
    frame = distribution.histogram_frame(hist, total, bin_width)
    over = int(stats["over"].iloc[0] or 0)
    params = {
        "as_of": as_of,
        "bin_width": float(bin_width),
        "threshold": threshold,
        "leads": total,
        "over_threshold": over,
        "mean": float(stats["mean"].iloc[0]) if total else None,
        "median": float(stats["median"].iloc[0]) if total else None,
    }
    notes = [
        f"the latest scoring run, as of {as_of.isoformat()}: {total:,} leads, "
        + (f"{over:,} at score ≥ {threshold:g}" if threshold is not None else "no threshold"),
        "score = Σ points of the lead's score_events rows of that run (0 without rows); "
        f"bins of {bin_width:g} points, bin_from ≤ score < bin_to",
    ]
    return Report(
        "score_distribution",
        params,
        frame,
        notes,
        title=f"Score distribution as of {as_of.date().isoformat()}",
    )


# -- validate ------------------------------------------------------------------------------------
def unmatched_rules(ctx: Ctx) -> list[str]:
    """Rules that give no lead any points as of now (``leadledger validate``'s warning)."""
    scoring = ctx.cfg.scoring
    if not scoring.rules:
        return []
    counts = ctx.execute(rules.rule_matches(ctx.tables(), scoring, ctx.now()))
    out = []
    for spec in rules.specs(scoring):
        value = counts[f"n{spec.index}"].iloc[0]
        if value is None or pd.isna(value) or int(value) == 0:
            out.append(spec.rule.name)
    return out
