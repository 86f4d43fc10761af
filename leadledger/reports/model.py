"""The predictive lead score's reports: ``model train`` (evaluates, then trains on every
labelled lead and saves the model), ``model evaluate`` (our model vs the naive Bayes baseline,
nothing saved) and ``model predict`` (calibrated probability and reasons per lead).

The features are Ibis expressions (``leadledger.scoring.features``) run on the project's engine;
training, calibration and evaluation run in Python on the resulting frame (LightGBM, NumPy). The
saved models are the model store's (``leadledger.scoring.model_store``).
"""

from __future__ import annotations

from typing import Annotated, Any, Self

import numpy as np
import pandas as pd
from pydantic import BeforeValidator, Field

from leadledger.errors import InvalidArgument, LeadNotFound, NotEnoughHistory, UnknownStage
from leadledger.ledger import derived
from leadledger.reports.common import as_of_instant
from leadledger.reports.context import Ctx
from leadledger.reports.params import AsOf, Instant, ModelName, Params, Surface, resolved
from leadledger.reports.params import limit_validator as whole_number
from leadledger.reports.registry import Resolved, report
from leadledger.reports.result import Report
from leadledger.scoring import features as fx
from leadledger.scoring import model_store, predictive
from leadledger.scoring.evaluation import ECE_BINS, Evaluation, evaluate_frame, metrics
from leadledger.suggest import did_you_mean

__all__ = [
    "ModelEvaluateParams",
    "ModelPredictParams",
    "ModelTrainParams",
    "discover_features",
    "feature_frame",
    "last_instant",
]

#: Fewest labelled leads, and fewest of each class, a model is trained on.
MIN_ROWS = 50
MIN_CLASS = 10
SPLITS = ("time", "kfold")
METRIC_COLUMNS = ("model", "rows", "positives", "roc_auc", "pr_auc", "brier", "ece")
PREDICT_COLUMNS = (
    "lead_id",
    "probability",
    "reasons",
    "created_at",
    "decision_at",
    "complete",
    "reached_target",
)


# -- parameters ----------------------------------------------------------------------------------
Name = Annotated[
    ModelName, Field(description="Model name (saved under models/NAME/ in the project).")
]
ModelAsOf = Annotated[
    AsOf,
    Field(description="As of this time (date or timestamp, project time zone). Training "
                      "default: the ledger's last event; predict default: now."),
]  # fmt: skip


class _TrainingParams(Params):
    """What ``model train`` and ``model evaluate`` take: options not given are the saved
    model's (``--name``), else :data:`~leadledger.scoring.model_store.DEFAULTS`."""

    target: Annotated[
        str | None, Field(description="Outcome stage to predict (default customer).")
    ] = None
    decision_days: Annotated[
        float | None,
        Surface(query=(("ge", 0), ("allow_inf_nan", False))),
        Field(description="Features as of this many days after the lead's creation (default 7)."),
    ] = None
    window_days: Annotated[
        float | None,
        Surface(query=(("gt", 0), ("allow_inf_nan", False))),
        Field(description="Outcome window: reached the target within this many days of "
                          "creation (default 180)."),
    ] = None  # fmt: skip
    split: Annotated[
        str | None,
        Field(description="time (train on the earlier leads, test on the latest; default) or "
                          "kfold (stratified cross-validation)."),
    ] = None  # fmt: skip
    test_share: Annotated[
        float | None,
        Surface(query=(("gt", 0), ("lt", 1), ("allow_inf_nan", False))),
        Field(description="Share of the latest leads tested (default 0.25)."),
    ] = None
    folds: Annotated[
        int | None,
        Surface(query=(("ge", 2), ("le", 20))),
        Field(description="Folds of --split kfold (default 5)."),
    ] = None
    trees: Annotated[
        int | None,
        Surface(query=(("ge", 1), ("le", 5000))),
        Field(description="Boosting rounds (default 400)."),
    ] = None
    calibration: Annotated[
        str | None,
        Field(description="auto (the lowest cross-fitted calibration error; default), none, "
                          "isotonic or sigmoid."),
    ] = None  # fmt: skip
    seed: Annotated[
        int | None,
        Surface(query=(("ge", 0), ("le", 2**31 - 1))),
        Field(description="Random seed (default 0)."),
    ] = None
    name: Name = model_store.DEFAULT_NAME
    as_of: ModelAsOf = None

    def resolve(self, ctx: Ctx) -> Resolved[Self]:
        given = {k: getattr(self, k) for k in model_store.DEFAULTS}
        return Resolved(resolved(self, **_options(ctx, self.name, given)))

    def options(self) -> dict[str, Any]:
        """The training options (resolved: every one given), in ``DEFAULTS``' order."""
        return {k: getattr(self, k) for k in model_store.DEFAULTS}


class ModelTrainParams(_TrainingParams):
    """``leadledger model train``."""


class ModelEvaluateParams(_TrainingParams):
    """``leadledger model evaluate``."""


def _check_target(ctx: Ctx, target: str) -> str:
    keys = ctx.cfg.stage_keys
    if target not in keys:
        raise UnknownStage(
            f"--target '{target}' is not a stage",
            hint=did_you_mean(target, keys) or f"stages: {', '.join(keys)}",
        )
    if target == keys[0]:
        raise InvalidArgument(
            f"--target {target} is the first stage: every lead is in it",
            hint="pick a later stage, e.g. sql or customer",
        )
    return target


def _positive(value: Any, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"--{name} '{value}' is not a number") from exc
    if not number > 0 or not np.isfinite(number):
        raise InvalidArgument(f"--{name} must be positive, not {value}")
    return number


def _options(ctx: Ctx, name: str, given: dict[str, Any]) -> dict[str, Any]:
    """Options given, else those the saved model was trained with, else the defaults; checked
    (the saved model's as well as the given ones)."""
    saved = model_store.saved_options(ctx.project_dir, name)
    opts: dict[str, Any] = {
        k: given[k] if given.get(k) is not None else saved.get(k, v)
        for k, v in model_store.DEFAULTS.items()
    }
    opts["target"] = _check_target(ctx, str(opts["target"]))
    opts["decision_days"] = _positive(opts["decision_days"], "decision-days")
    opts["window_days"] = _positive(opts["window_days"], "window-days")
    if opts["window_days"] <= opts["decision_days"]:
        raise InvalidArgument(
            f"--window-days {opts['window_days']:g} must be longer than --decision-days "
            f"{opts['decision_days']:g}",
            hint="the outcome window starts at the lead's creation and must outlast the decision",
        )
    if opts["split"] not in SPLITS:
        raise InvalidArgument(f"--split '{opts['split']}' is not one of {', '.join(SPLITS)}")
    share = float(opts["test_share"])
    if not 0.05 <= share <= 0.5:
        raise InvalidArgument(f"--test-share {share:g} must be between 0.05 and 0.5")
    opts["test_share"] = share
    opts["folds"] = int(opts["folds"])
    if not 2 <= opts["folds"] <= 20:
        raise InvalidArgument(f"--folds {opts['folds']} must be between 2 and 20")
    opts["trees"] = int(opts["trees"])
    if not 10 <= opts["trees"] <= 5000:
        raise InvalidArgument(f"--trees {opts['trees']} must be between 10 and 5000")
    if opts["calibration"] not in ("auto", *predictive.CALIBRATION_METHODS):
        raise InvalidArgument(
            f"--calibration '{opts['calibration']}' is not one of auto, "
            + ", ".join(predictive.CALIBRATION_METHODS)
        )
    opts["seed"] = int(opts["seed"])
    return opts


# -- the frames ----------------------------------------------------------------------------------
def last_instant(ctx: Ctx) -> pd.Timestamp | None:
    """The latest stage entry or touch in the ledger: the default as-of of training (the data's
    own end, not the wall clock)."""
    tables = ctx.tables()
    e = derived.imported_stage_entries(tables, ctx.cfg)  # not scoring's own MQL events
    t = tables["touches"]
    values = [ctx.execute(e.entered_at.max()), ctx.execute(t.at.max())]
    found = [pd.Timestamp(v) for v in values if v is not None and not pd.isna(v)]
    if not found:
        return None
    latest = max(x.tz_localize("UTC") if x.tzinfo is None else x.tz_convert("UTC") for x in found)
    return latest


def _training_as_of(ctx: Ctx, as_of: Instant | None) -> pd.Timestamp:
    """``--as-of`` of training and evaluation: the ledger's last event when not given."""
    if as_of is not None:
        return as_of_instant(ctx, as_of)
    last = last_instant(ctx)
    if last is None:
        raise NotEnoughHistory(
            "the ledger holds no leads to learn from", hint="import leads and stages first"
        )
    return last


def discover_features(ctx: Ctx, as_of: pd.Timestamp) -> fx.FeatureSet:
    """Lead fields of the project and touch count columns for its most frequent touch kinds,
    channels and pages."""
    tables = ctx.tables()
    found: dict[str, list[str]] = {}
    for field, limit in (("kind", fx.MAX_KINDS), ("channel", 50), ("page", fx.MAX_PAGES)):
        df = ctx.execute(fx.frequent_values(tables, field, as_of, limit))
        found[field] = [str(v) for v in df["value"]]
    channels = [c.key for c in ctx.cfg.channels if c.key in found["channel"]]
    channels += [c for c in found["channel"] if c not in channels]
    return fx.FeatureSet(
        fx.default_fields(ctx.cfg),
        fx.touch_columns(found["kind"], channels, found["page"]),
    )


def feature_frame(
    ctx: Ctx,
    fset: fx.FeatureSet,
    opts: dict[str, Any],
    as_of: pd.Timestamp,
    *,
    labelled: bool,
) -> pd.DataFrame:
    """One row per lead: the features of ``fset`` as of the decision time (``labelled``: only
    the leads whose outcome is known, with their ``label``), oldest first."""
    expr = fx.lead_features(
        ctx.tables(),
        ctx.cfg,
        fset,
        decision_days=opts["decision_days"],
        as_of=as_of,
        target=opts["target"],
    )
    if labelled:
        expr = fx.labelled(
            expr,
            decision_days=opts["decision_days"],
            window_days=opts["window_days"],
            as_of=as_of,
        )
    df: pd.DataFrame = ctx.execute(expr.order_by(["created_at", "lead_id"]))
    for c in fset.fields:
        df[c] = df[c].astype(object).where(df[c].notna(), None)
    for c in fset.numeric:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    for c in ("created_at", "decision_at", "target_at"):
        df[c] = pd.to_datetime(df[c], utc=True)
    return df.reset_index(drop=True)


def _training_set(
    ctx: Ctx, opts: dict[str, Any], as_of: pd.Timestamp
) -> tuple[fx.FeatureSet, pd.DataFrame]:
    ctx.progress("building features")
    fset = discover_features(ctx, as_of)
    df = feature_frame(ctx, fset, opts, as_of, labelled=True)
    pos = int(df["label"].sum()) if len(df) else 0
    neg = len(df) - pos
    if len(df) < MIN_ROWS or pos < MIN_CLASS or neg < MIN_CLASS:
        raise NotEnoughHistory(
            f"{len(df)} leads with a known outcome ({pos} reached {opts['target']}, {neg} did "
            f"not) as of {as_of.isoformat()}: need at least {MIN_ROWS}, and {MIN_CLASS} of each",
            hint="import more history, shorten --window-days, or pick an earlier --target stage",
        )
    return fset, df


def _evaluate(ctx: Ctx, fset: fx.FeatureSet, df: pd.DataFrame, opts: dict[str, Any]) -> Evaluation:
    ctx.progress("evaluating against the naive Bayes baseline")
    frame = df[[*fset.names, "label", "created_at"]]
    return evaluate_frame(
        frame,
        "label",
        features=fset.names,
        categorical=fset.fields,
        time_column="created_at" if opts["split"] == "time" else None,
        test_share=opts["test_share"],
        folds=opts["folds"],
        seed=opts["seed"],
        params={"trees": opts["trees"]},
        calibration=opts["calibration"],
        label_horizon=pd.Timedelta(days=opts["window_days"]),
    )


def _metrics_frame(ev: Evaluation) -> pd.DataFrame:
    table = ev.metrics
    pooled = table[table["fold"].isna()].drop(columns="fold")
    return pooled.reset_index(drop=True)[list(METRIC_COLUMNS)]


def _notes(
    opts: dict[str, Any], ev: Evaluation, df: pd.DataFrame, as_of: pd.Timestamp
) -> list[str]:
    split = (
        f"time-ordered split: tested on the latest {opts['test_share']:.0%} of the {len(df)} "
        "labelled leads by creation, trained on the earlier ones whose outcome window closed "
        "before the first test lead was created"
        if ev.split == "time"
        else f"stratified {ev.folds}-fold cross-validation over {len(df)} labelled leads "
        "(metrics on the pooled out-of-fold predictions)"
    )
    return [
        split,
        f"outcome: reached {opts['target']} within {opts['window_days']:g} days of creation; "
        f"features as of {opts['decision_days']:g} days after creation; as of {as_of.isoformat()}",
        f"ece = expected calibration error over {ECE_BINS} equal-width probability bins; "
        f"calibration chosen: {', '.join(sorted(set(ev.calibration)))}",
    ]


# -- train / evaluate ----------------------------------------------------------------------------
@report("model_train", params=ModelTrainParams, columns=METRIC_COLUMNS, tables=("calibration",),
        writes=True, cli="model train")  # fmt: skip
def report_model_train(ctx: Ctx, p: ModelTrainParams) -> Report:
    """Train the predictive score: evaluate it against the naive Bayes baseline on a
    time-ordered split, then train on every lead with a known outcome and save the model,
    its calibration and its metadata under models/NAME/.

    Example: leadledger model train --target customer --decision-days 7 --window-days 180
    """
    folder = model_store.model_dir(ctx.project_dir, p.name)
    opts = p.options()
    as_of_ts = _training_as_of(ctx, p.as_of)
    fset, df = _training_set(ctx, opts, as_of_ts)
    ev = _evaluate(ctx, fset, df, opts)
    ctx.progress("training on every labelled lead")
    X = df[fset.names]
    y = df["label"].to_numpy()
    model = predictive.fit(
        X, y, categorical=fset.fields, params={"trees": opts["trees"]},
        calibration=opts["calibration"], seed=opts["seed"],
    )  # fmt: skip
    table = _metrics_frame(ev)
    meta = model_store.training_meta(
        name=p.name,
        trained_at=pd.Timestamp.now(tz="UTC").floor("s"),
        as_of=as_of_ts,
        options=opts,
        feature_set=fset,
        frame=df,
        labels=y,
        evaluation={
            "split": ev.split,
            "folds": ev.folds,
            "test_share": opts["test_share"] if ev.split == "time" else None,
            "metrics": table.to_dict(orient="records"),
        },
        training_fit=metrics(y, model.predict_proba(X)),
        engine=ctx.store.dialect,
    )
    model.save(folder, meta)
    notes = [
        *_notes(opts, ev, df, as_of_ts),
        f"saved to {folder} (final model trained on all {len(df)} labelled leads, "
        f"calibration {model.calibration.method})",
    ]
    params = {"name": p.name, **opts, "as_of": as_of_ts}
    return Report(
        "model_train",
        params,
        table,
        notes=notes,
        title=f"Model '{p.name}': {opts['target']} within {opts['window_days']:g} days",
        extra={"calibration": ("Calibration (reliability) on the test leads", ev.reliability)},
    )


@report("model_evaluate", params=ModelEvaluateParams, columns=METRIC_COLUMNS,
        tables=("calibration",), cli="model evaluate", api="/model/evaluate")  # fmt: skip
def report_model_evaluate(ctx: Ctx, p: ModelEvaluateParams) -> Report:
    """Compare the predictive score with the naive Bayes baseline on the same split: ROC AUC,
    PR AUC, Brier score, calibration error, and a reliability table. Nothing is saved; options
    not given are those of the saved model NAME, if any.

    Example: leadledger model evaluate --split kfold --folds 5
    """
    opts = p.options()
    as_of_ts = _training_as_of(ctx, p.as_of)
    fset, df = _training_set(ctx, opts, as_of_ts)
    ev = _evaluate(ctx, fset, df, opts)
    params = {"name": p.name, **opts, "as_of": as_of_ts}
    return Report(
        "model_evaluate",
        params,
        _metrics_frame(ev),
        notes=_notes(opts, ev, df, as_of_ts),
        title=f"Predictive score vs naive Bayes: {opts['target']} within "
        f"{opts['window_days']:g} days",
        extra={"calibration": ("Calibration (reliability) on the test leads", ev.reliability)},
    )


# -- predict -------------------------------------------------------------------------------------
class ModelPredictParams(Params):
    """``leadledger model predict``."""

    lead_ids: Annotated[
        tuple[str, ...] | None,
        Surface(flag="--lead", api_name="lead", raw=list[str] | None),
        Field(description="Only this lead (repeatable)."),
    ] = None
    limit: Annotated[
        int | None,
        BeforeValidator(whole_number(1)),
        Surface(query=(("ge", 1), ("le", 10_000_000))),
        Field(description="Only the N most likely leads."),
    ] = None
    name: Name = model_store.DEFAULT_NAME
    as_of: ModelAsOf = None


@report("model_predict", params=ModelPredictParams, columns=PREDICT_COLUMNS, cached=False,
        cli="model predict", api="/model/predict")  # fmt: skip
def report_model_predict(ctx: Ctx, p: ModelPredictParams) -> Report:
    """Calibrated probability of reaching the model's target stage, with the top 3 reasons,
    for every lead (or --lead), highest first.

    Example: leadledger model predict --limit 20
    """
    model, meta = model_store.load_model(ctx.project_dir, p.name)
    fset = fx.FeatureSet.from_dict(meta["feature_set"])
    model_store.check_compatible(ctx.cfg, meta, fset)
    opts = dict(meta["options"])
    as_of_ts = as_of_instant(ctx, p.as_of)
    df = feature_frame(ctx, fset, opts, as_of_ts, labelled=False)
    if p.lead_ids:
        wanted = list(dict.fromkeys(str(x) for x in p.lead_ids))
        unknown = [x for x in wanted if x not in set(df["lead_id"])]
        if unknown:
            raise LeadNotFound(
                f"lead {', '.join(unknown[:5])} is not in the ledger"
                + (f" (created by {as_of_ts.isoformat()})" if p.as_of is not None else ""),
                hint="check the id, or the --as-of time",
            )
        df = df[df["lead_id"].isin(wanted)].reset_index(drop=True)
    X = df[fset.names]
    if len(df):
        prob = model.predict_proba(X)
        reasons = model.reasons(X)
    else:
        prob, reasons = np.zeros(0), []
    decision_full = df["created_at"] + pd.to_timedelta(opts["decision_days"], unit="D")
    out = pd.DataFrame(
        {
            "lead_id": df["lead_id"],
            "probability": prob,
            "reasons": reasons,
            "created_at": df["created_at"],
            "decision_at": df["decision_at"],
            "complete": (decision_full <= as_of_ts).to_numpy(),
            "reached_target": df["target_at"].notna().to_numpy(),
        }
    )
    out = out.sort_values(["probability", "lead_id"], ascending=[False, True], kind="stable")
    if p.limit is not None:
        out = out.head(p.limit)
    out = out.reset_index(drop=True)
    notes = [
        f"probability that the lead reaches {meta['target']} within "
        f"{opts['window_days']:g} days of creation (model '{p.name}', trained "
        f"{meta.get('trained_at', '?')}, calibration {model.calibration.method})",
        "reasons: the largest positive contributions in log-odds (SHAP values of the booster)",
        f"complete = the lead's decision time ({opts['decision_days']:g} days after creation) "
        f"has passed by {as_of_ts.isoformat()}; younger leads are scored on what is known so far",
    ]
    return Report(
        "model_predict",
        {
            "name": p.name,
            "as_of": as_of_ts,
            "lead_ids": list(p.lead_ids or []),
            "limit": p.limit,
        },
        out,
        notes=notes,
        title=f"Predicted probability of reaching {meta['target']}",
        table_columns=["lead_id", "probability", "reasons", "complete", "reached_target"],
    )
