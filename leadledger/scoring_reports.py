"""Rule scoring bound to a workspace: score every lead and record the audit and the MQL handoff,
explain one lead's points, backtest the score against later outcomes, tune the threshold.

The expressions live in ``leadledger.scoring`` (pure); this module runs them on the workspace's
engine, writes ``score_events`` and stage events in one transaction, and wraps Reports.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np
import pandas as pd

from leadledger.config.models import Scoring
from leadledger.errors import (
    InvalidArgument,
    LeadNotFound,
    ModelNotTrained,
    NotEnoughHistory,
    ScoringNotConfigured,
)
from leadledger.ledger.derived import current_leads
from leadledger.ledger.imports import batch
from leadledger.ledger.imports.validate import stable_ids
from leadledger.report import Report
from leadledger.reports.legacy import check_stage, last_activity_date, parse_as_of, parse_window
from leadledger.scoring import backtest as bt
from leadledger.scoring import rules
from leadledger.scoring.handoff import SOURCE, scores_with_state

if TYPE_CHECKING:
    from leadledger.service import Workspace

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
Progress = Callable[[str], None]


def _scoring(ws: Workspace) -> Scoring:
    scoring = ws.cfg.scoring
    if not scoring.rules:
        raise ScoringNotConfigured(
            "no scoring rules in leadledger.yaml",
            hint="add groups of rules under 'scoring:' (see docs/scoring.md), then "
            "'leadledger validate'",
        )
    return scoring


def _fmt(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.2f}".rstrip("0").rstrip(".")


def _signed(x: float) -> str:
    return ("+" if x >= 0 else "−") + _fmt(abs(x))


def _reasons(ledger: pd.DataFrame, top: int) -> dict[str, str]:
    """lead → 'rule +20, rule +15' (the rules that gave the most points)."""
    if ledger.empty:
        return {}
    f = ledger[ledger["rule"] != rules.GROUP_CAP]
    f = f[f["points"] > 0].sort_values(["lead_id", "points", "rule"], ascending=[True, False, True])
    f = f.groupby("lead_id").head(top)
    text = f["rule"] + " " + f["points"].map(_signed)
    joined = text.groupby(f["lead_id"]).agg(", ".join)
    return {str(k): str(v) for k, v in joined.items()}


def _groups_text(frame: pd.DataFrame, scoring: Scoring) -> pd.Series:
    parts = [
        g.name + " " + frame[f"group_{g.name}"].map(lambda v: _fmt(float(v)))
        for g in scoring.groups
    ]
    out = parts[0]
    for p in parts[1:]:
        out = out + ", " + p
    return out


def _run_key(as_of: pd.Timestamp) -> str:
    """The idempotency key of a scoring run: one per as-of instant (its ``imports`` row)."""
    return hashlib.sha256(f"score:{as_of.isoformat()}".encode()).hexdigest()


def _already_scored(ws: Workspace, as_of: pd.Timestamp) -> bool:
    """Whether a run for this as-of was recorded — even one whose points ledger was empty."""
    t = ws.store.table("imports")
    hit = t.filter((t.kind == "score") & (t.sha256 == _run_key(as_of))).count()
    return int(ws.store.execute(hit)) > 0


def _ledger_rows(ws: Workspace, as_of: pd.Timestamp) -> int:
    t = ws.store.table(EVENTS_TABLE)
    return int(ws.store.execute(t.filter(t.as_of == rules.as_of_literal(as_of)).count()))


def _model_probabilities(ws: Workspace, as_of: pd.Timestamp) -> pd.DataFrame:
    predict = getattr(ws, "model_predict", None)
    if predict is None:
        raise ModelNotTrained(
            "scoring.mql_by is probability, but this installation has no predictive model",
            hint="set scoring.mql_by: points, or train one with 'leadledger model train'",
        )
    frame = predict(as_of=as_of).frame
    return frame[["lead_id", "probability", "reasons"]]


def score(ws: Workspace, as_of: Any = None, progress: Progress | None = None) -> Report:
    """Score every lead as of ``as_of`` (default now), record the points ledger in
    ``score_events`` (once per as-of) and write the MQL (and recycled) stage events."""
    say = progress or (lambda _msg: None)
    scoring = _scoring(ws)
    check_stage(ws, scoring.mql_stage, "mql_stage")
    as_of_ts = parse_as_of(ws, as_of)
    now = pd.Timestamp.now(tz="UTC")
    if as_of_ts > now + pd.Timedelta(minutes=1):
        raise InvalidArgument(
            f"--as-of {as_of_ts.isoformat()} is in the future",
            hint="score as of now (the default) or a past moment: MQL events are facts",
        )
    tables = ws.store.tables()
    say("scoring leads")
    frame = ws.store.execute(scores_with_state(tables, ws.cfg, scoring, as_of_ts))
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
        say("predicting probabilities")
        prob = _model_probabilities(ws, as_of_ts)
        frame = frame.merge(prob, on="lead_id", how="left")
        value = frame["probability"].astype(float)
        over = (value >= scoring.probability_threshold).fillna(False).to_numpy(dtype=bool)
        limit_text = f"probability ≥ {scoring.probability_threshold:g}"
    else:
        frame["probability"] = np.nan
        frame["reasons"] = None
        over = (frame["score"] >= scoring.threshold).to_numpy(dtype=bool)
        limit_text = f"score ≥ {_fmt(scoring.threshold)}"
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
        say("writing the reasons")
        led = rules.ledger(tables, scoring, as_of_ts)
        ids = ibis.memtable(pd.DataFrame({"lead_id": acting.astype(str).to_numpy()}))
        reason_of = _reasons(ws.store.execute(led.semi_join(ids, "lead_id")), scoring.top_reasons)
    score_text = frame["score"].map(lambda v: _fmt(float(v)))
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
        mql_reason = "score " + score_text + f" ≥ {_fmt(scoring.threshold)}: " + top
        back_reason = "score " + score_text + f" < {_fmt(scoring.threshold)}"
    frame["reason"] = np.where(new_mql, mql_reason, np.where(recycle, back_reason, None))
    frame["reason"] = frame["reason"].map(lambda r: r.rstrip(": ") if isinstance(r, str) else r)
    frame["groups"] = _groups_text(frame, scoring)
    events = frame.loc[new_mql | recycle, ["lead_id", "action", "reason"]].rename(
        columns={"action": "stage"}
    )
    events["stage"] = events["stage"].where(events["stage"] != "mql", scoring.mql_stage)
    events["entered_at"] = as_of_ts
    events = events[EVENT_COLUMNS].reset_index(drop=True)

    say("recording")
    written, kept, events = _record(ws, scoring, as_of_ts, events)
    n_mql = int(new_mql.sum())
    n_rec = int(recycle.sum())
    notes.append(
        f"{len(frame):,} leads scored as of {as_of_ts.isoformat()}; {int(over.sum()):,} at "
        f"{limit_text}; {n_mql:,} new {scoring.mql_stage} event(s)"
        + (f", {n_rec:,} recycled" if scoring.below_threshold == "recycled" else "")
    )
    if kept:
        notes.append(
            f"this as-of was scored before: its points ledger ({_ledger_rows(ws, as_of_ts):,} "
            "rows) is kept, nothing rewritten (scoring the same as-of twice changes nothing)"
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


def _record(
    ws: Workspace, scoring: Scoring, as_of: pd.Timestamp, events: pd.DataFrame
) -> tuple[int, bool, pd.DataFrame]:
    """The points ledger (in the engine, INSERT … SELECT) and the stage events, in one
    transaction with an ``imports`` row that numbers the batch (``ledger.imports.batch``, the
    one writer). Writers are serialised (the batch lock on PostgreSQL, the file lock on DuckDB)
    and everything is re-checked inside the transaction, so two runs at once never write a
    ledger or an MQL event twice.
    Returns (ledger rows written, whether this as-of was already recorded, the events written)."""
    now = pd.Timestamp.now(tz="UTC")
    written = 0
    with batch.transaction(ws.store) as tx:
        kept = _already_scored(ws, as_of)
        write_ledger = not kept
        events = _still_new(ws, scoring, events)
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


def _still_new(ws: Workspace, scoring: Scoring, events: pd.DataFrame) -> pd.DataFrame:
    """Drop MQL events of leads that entered the MQL stage (or a later one) since the scores
    were read — another run may have written them meanwhile."""
    mql = events[events["stage"] == scoring.mql_stage]
    if mql.empty:
        return events
    keys = ws.cfg.stage_keys
    later = keys[keys.index(scoring.mql_stage) :]
    t = ws.store.table("stage_events")
    ids = ibis.memtable(pd.DataFrame({"lead_id": mql["lead_id"].astype(str).to_numpy()}))
    found = t.filter(t.stage.isin(later)).semi_join(ids, "lead_id").select("lead_id").distinct()
    done = set(ws.store.execute(found)["lead_id"].astype(str))
    if not done:
        return events
    drop = (events["stage"] == scoring.mql_stage) & events["lead_id"].astype(str).isin(done)
    return events[~drop].reset_index(drop=True)


# -- explain ---------------------------------------------------------------------------------------
def _latest_as_of(ws: Workspace, lead_id: str) -> pd.Timestamp | None:
    t = ws.store.table(EVENTS_TABLE)
    value = ws.store.execute(t.filter(t.lead_id == lead_id).as_of.max())
    return None if value is None or pd.isna(value) else pd.Timestamp(value).tz_convert("UTC")


def explain(ws: Workspace, lead_id: str, as_of: Any = None) -> Report:
    """The points ledger of one lead: every rule, every touch it counted with its points before
    and after decay, the caps, and the total (the lines add up to the score)."""
    scoring = _scoring(ws)
    tables = ws.store.tables()
    leads = current_leads(tables)
    found = ws.store.execute(leads.filter(leads.lead_id == lead_id).count())
    if not found:
        raise LeadNotFound(
            f"no lead '{lead_id}' in the ledger",
            hint="lead ids are the CRM's (leadledger score --format csv lists them)",
        )
    notes: list[str] = []
    if as_of is None:
        latest = _latest_as_of(ws, lead_id)
        as_of_ts = latest if latest is not None else parse_as_of(ws, None)
        notes.append(
            f"as of the latest scoring run for this lead, {as_of_ts.isoformat()}"
            if latest is not None
            else "as of now (the lead has not been scored yet)"
        )
    else:
        as_of_ts = parse_as_of(ws, as_of)
    w = rules.rule_table(tables, scoring, as_of_ts)
    row = ws.store.execute(w.filter(w.lead_id == lead_id))
    if row.empty:
        raise LeadNotFound(
            f"lead '{lead_id}' did not exist yet at {as_of_ts.isoformat()}",
            hint="pass a later --as-of",
        )
    r = row.iloc[0]
    detail_expr = rules.touch_detail(tables, scoring, as_of_ts, lead_id)
    detail = (
        ws.store.execute(detail_expr).sort_values(["rule", "at", "touch_id"])
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
                    "detail": f"cap {_fmt(rule.cap or 0)}",
                    "points": pts - dec,
                }
            )
    for g in scoring.groups:
        diff = float(r[f"g_{g.name}"]) - float(r[f"sum_{g.name}"])
        if diff != 0:
            bound = f"cap {_fmt(g.cap)}" if g.cap is not None and diff < 0 else f"floor {g.floor}"
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
    stored = _stored_total(ws, lead_id, as_of_ts)
    if stored is not None:
        notes.append(
            "score_events for this as-of add up to "
            + _fmt(stored)
            + (" (the same)" if abs(stored - score_value) < 1e-6 else " (the rules changed since)")
        )
    params = {"lead_id": lead_id, "as_of": as_of_ts, "score": score_value}
    return Report(
        "score_explain",
        params,
        frame,
        notes,
        title=f"Score of {lead_id} as of {as_of_ts.isoformat()}: {_fmt(score_value)}",
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


def _stored_total(ws: Workspace, lead_id: str, as_of: pd.Timestamp) -> float | None:
    t = ws.store.table(EVENTS_TABLE)
    f = t.filter((t.lead_id == lead_id) & (t.as_of == rules.as_of_literal(as_of)))
    out = ws.store.execute(f.agg(n=f.count(), total=f.points.sum()))
    return float(out["total"].iloc[0]) if int(out["n"].iloc[0]) else None


def _condition_text(c: Any) -> str:
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


# -- backtest and tune -----------------------------------------------------------------------------
def _positive_days(value: Any, name: str, default: float) -> float:
    days = parse_window(value, name)
    if days is None:
        return default
    if days <= 0:
        raise InvalidArgument(f"--{name} must be longer than 0", hint="e.g. 90d, 12w")
    return days


def _backtest_frame(
    ws: Workspace, as_of: Any, outcome: str, window: Any, cohort: Any
) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    scoring = _scoring(ws)
    check_stage(ws, outcome, "outcome")
    window_days = _positive_days(window, "window", 90.0)
    cohort_days = _positive_days(cohort, "cohort", window_days)
    notes: list[str] = []
    if as_of is None:
        last = last_activity_date(ws)
        if last is None:
            raise NotEnoughHistory(
                "the ledger has no leads to backtest", hint="import leads and stages first"
            )
        as_of_ts = parse_as_of(ws, (last - pd.Timedelta(days=window_days)).isoformat())
        notes.append(
            f"--as-of defaults to {window_days:g} days before the last day with data ({last}): "
            "the outcome window is fully observed"
        )
    else:
        as_of_ts = parse_as_of(ws, as_of)
    expr = bt.population(
        ws.store.tables(),
        ws.cfg,
        scoring,
        as_of=as_of_ts,
        outcome=outcome,
        window_days=window_days,
        cohort_days=cohort_days,
    )
    frame = ws.store.execute(expr)
    if frame.empty:
        raise NotEnoughHistory(
            f"no leads created in the {cohort_days:g} days before {as_of_ts.date()}",
            hint="pass an --as-of inside the data's history",
        )
    local_end = as_of_ts.tz_convert(ws.cfg.timezone).date()
    local_start = (as_of_ts - pd.Timedelta(days=cohort_days)).tz_convert(ws.cfg.timezone).date()
    working = ws.calendar.working_days(local_start + pd.Timedelta(days=1), local_end)
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


def backtest(
    ws: Workspace,
    as_of: Any = None,
    outcome: str = "sql",
    window: Any = "90d",
    cohort: Any = None,
    step: float | None = None,
) -> Report:
    """Score as of a past instant vs reaching ``outcome`` within ``window`` after it: ROC AUC,
    precision/recall/lift, MQL volume and acceptance per threshold, conversion by decile."""
    scoring = ws.cfg.scoring
    frame, params, notes = _backtest_frame(ws, as_of, outcome, window, cohort)
    elig = frame[frame["eligible"].astype(bool)]
    roc = bt.auc(elig["score"].to_numpy(float), elig["converted"].to_numpy(bool))
    grid = bt.threshold_grid(frame["score"].to_numpy(float), include=[scoring.threshold], step=step)
    table = bt.thresholds_table(
        frame, grid, working_days=params["working_days"], cohort_days=params["cohort_days"]
    )
    params["roc_auc"] = roc
    notes.insert(
        0,
        f"ROC AUC {roc:.3f} over {len(elig):,} leads, {int(elig['converted'].sum()):,} reached "
        f"{outcome} within {params['window_days']:g} days"
        if roc is not None
        else f"ROC AUC undefined: every lead (or none) reached {outcome} in the window",
    )
    return Report(
        "score_backtest",
        params,
        table,
        notes,
        title=f"Score vs reaching {outcome} (as of {params['as_of'].date()})",
        extra={"deciles": ("Conversion by score decile", bt.deciles(frame))},
    )


def tune(
    ws: Workspace,
    capacity: float | None = None,
    target_acceptance: float | None = None,
    as_of: Any = None,
    outcome: str = "sql",
    window: Any = "90d",
    cohort: Any = None,
    step: float | None = None,
) -> Report:
    """The recommended threshold: the lowest whose expected MQLs per month fit ``capacity``
    and/or whose acceptance rate reaches ``target_acceptance``; the trade-off table beside it."""
    if capacity is not None and capacity <= 0:
        raise InvalidArgument(f"--capacity {capacity:g} must be positive", hint="MQLs per month")
    if target_acceptance is not None and not 0 < target_acceptance <= 1:
        raise InvalidArgument(
            f"--target-acceptance {target_acceptance:g} is not a share in (0, 1]", hint="e.g. 0.6"
        )
    if capacity is None and target_acceptance is None:
        raise InvalidArgument(
            "tune needs --capacity or --target-acceptance",
            hint="e.g. leadledger score tune --capacity 400",
        )
    frame, params, notes = _backtest_frame(ws, as_of, outcome, window, cohort)
    grid = bt.threshold_grid(
        frame["score"].to_numpy(float), include=[ws.cfg.scoring.threshold], max_rows=200, step=step
    )
    table = bt.thresholds_table(
        frame, grid, working_days=params["working_days"], cohort_days=params["cohort_days"]
    )
    best = bt.recommend(table, capacity=capacity, target_acceptance=target_acceptance)
    row = {
        "threshold": best["threshold"],
        "mqls_per_month": best["mqls_per_month"],
        "mqls_per_working_day": best["mqls_per_working_day"],
        "acceptance_rate": best["acceptance_rate"],
        "conversion_rate": best["precision"],
        "recall": best["recall"],
        "capacity": capacity,
        "target_acceptance": target_acceptance,
    }
    current = ws.cfg.scoring.threshold
    notes.insert(
        0,
        f"recommended threshold {_fmt(best['threshold'])} (configured: {_fmt(current)}); set "
        "scoring.threshold in leadledger.yaml to use it",
    )
    params.update({"capacity": capacity, "target_acceptance": target_acceptance})
    return Report(
        "score_tune",
        params,
        pd.DataFrame([row], columns=TUNE_COLUMNS),
        notes,
        title="Recommended MQL threshold",
        extra={"tradeoff": ("Trade-off by threshold", table)},
    )


# -- validate --------------------------------------------------------------------------------------
def unmatched_rules(ws: Workspace) -> list[str]:
    """Rules that give no lead any points as of now (``leadledger validate``'s warning)."""
    scoring = ws.cfg.scoring
    if not scoring.rules:
        return []
    as_of = parse_as_of(ws, None)
    counts = ws.store.execute(rules.rule_matches(ws.store.tables(), scoring, as_of))
    out = []
    for spec in rules.specs(scoring):
        value = counts[f"n{spec.index}"].iloc[0]
        if value is None or pd.isna(value) or int(value) == 0:
            out.append(spec.rule.name)
    return out
