"""Bind the predictive lead score to a workspace: ``model train``, ``model evaluate`` and
``model predict``.

The features are Ibis expressions (``leadledger.scoring.features``) run on the project's engine;
training, calibration and evaluation run in Python on the resulting frame (LightGBM, NumPy).
A trained model lives in ``<project>/models/<name>/``: ``model.txt`` (LightGBM's text model),
``calibration.json`` and ``meta.json`` (see docs/predictive-scoring.md).
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from leadledger.errors import (
    InvalidArgument,
    LeadNotFound,
    ModelMismatch,
    ModelNotTrained,
    NotEnoughHistory,
    UnknownStage,
)
from leadledger.ledger import derived
from leadledger.report import Report
from leadledger.scoring import features as fx
from leadledger.scoring import predictive
from leadledger.scoring.evaluation import ECE_BINS, evaluate_frame, metrics
from leadledger.suggest import did_you_mean

if TYPE_CHECKING:
    from leadledger.service import Workspace

MODELS_DIR = "models"
DEFAULT_NAME = "default"
DEFAULTS: dict[str, Any] = {
    "target": "customer",
    "decision_days": 7.0,
    "window_days": 180.0,
    "split": "time",
    "test_share": 0.25,
    "folds": 5,
    "trees": predictive.DEFAULT_TREES,
    "calibration": "auto",
    "seed": 0,
}
#: Fewest labelled leads, and fewest of each class, a model is trained on.
MIN_ROWS = 50
MIN_CLASS = 10
SPLITS = ("time", "kfold")
Progress = Callable[[str], None]


# -- parameters ----------------------------------------------------------------------------------
def model_dir(ws: Workspace, name: str) -> Path:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name or ""):
        raise InvalidArgument(
            f"--name '{name}' is not a model name", hint="use letters, digits, '_', '-' or '.'"
        )
    return ws.project_dir / MODELS_DIR / name


def _check_target(ws: Workspace, target: str) -> str:
    keys = ws.cfg.stage_keys
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


def last_instant(ws: Workspace) -> pd.Timestamp | None:
    """The latest stage entry or touch in the ledger: the default as-of of training (the data's
    own end, not the wall clock)."""
    tables = ws.store.tables()
    e = derived.imported_stage_entries(tables, ws.cfg)  # not scoring's own MQL events
    t = tables["touches"]
    values = [ws.store.execute(e.entered_at.max()), ws.store.execute(t.at.max())]
    found = [pd.Timestamp(v) for v in values if v is not None and not pd.isna(v)]
    if not found:
        return None
    latest = max(x.tz_localize("UTC") if x.tzinfo is None else x.tz_convert("UTC") for x in found)
    return latest


def _resolve_as_of(ws: Workspace, as_of: Any, *, default_now: bool) -> pd.Timestamp:
    from leadledger.reports.legacy import parse_as_of

    if as_of is not None:
        return parse_as_of(ws, as_of)
    if default_now:
        return parse_as_of(ws, None)
    last = last_instant(ws)
    if last is None:
        raise NotEnoughHistory(
            "the ledger holds no leads to learn from", hint="import leads and stages first"
        )
    return last


def _options(ws: Workspace, name: str, given: dict[str, Any]) -> dict[str, Any]:
    """Options given, else those the saved model was trained with, else the defaults."""
    saved: dict[str, Any] = {}
    meta_path = model_dir(ws, name) / "meta.json"
    if meta_path.is_file():
        saved = json.loads(meta_path.read_text(encoding="utf-8")).get("options", {})
    opts: dict[str, Any] = {
        k: given[k] if given.get(k) is not None else saved.get(k, v) for k, v in DEFAULTS.items()
    }
    opts["target"] = _check_target(ws, str(opts["target"]))
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
def discover_features(ws: Workspace, as_of: pd.Timestamp) -> fx.FeatureSet:
    """Lead fields of the project and touch count columns for its most frequent touch kinds,
    channels and pages."""
    tables = ws.store.tables()
    found: dict[str, list[str]] = {}
    for field, limit in (("kind", fx.MAX_KINDS), ("channel", 50), ("page", fx.MAX_PAGES)):
        df = ws.store.execute(fx.frequent_values(tables, field, as_of, limit))
        found[field] = [str(v) for v in df["value"]]
    channels = [c.key for c in ws.cfg.channels if c.key in found["channel"]]
    channels += [c for c in found["channel"] if c not in channels]
    return fx.FeatureSet(
        fx.default_fields(ws.cfg),
        fx.touch_columns(found["kind"], channels, found["page"]),
    )


def feature_frame(
    ws: Workspace,
    fset: fx.FeatureSet,
    opts: dict[str, Any],
    as_of: pd.Timestamp,
    *,
    labelled: bool,
) -> pd.DataFrame:
    tables = ws.store.tables()
    expr = fx.lead_features(
        tables,
        ws.cfg,
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
    df = ws.store.execute(expr.order_by(["created_at", "lead_id"]))
    for c in fset.fields:
        df[c] = df[c].astype(object).where(df[c].notna(), None)
    for c in fset.numeric:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    for c in ("created_at", "decision_at", "target_at"):
        df[c] = pd.to_datetime(df[c], utc=True)
    return df.reset_index(drop=True)


def fingerprint(df: pd.DataFrame, columns: Sequence[str]) -> str:
    """sha256 of the training frame (its columns in order, rows as given)."""
    h = hashlib.sha256()
    h.update(json.dumps(list(columns)).encode())
    h.update(pd.util.hash_pandas_object(df[list(columns)], index=False).to_numpy().tobytes())
    return h.hexdigest()


def _training_set(
    ws: Workspace, opts: dict[str, Any], as_of: pd.Timestamp, say: Progress
) -> tuple[fx.FeatureSet, pd.DataFrame]:
    say("building features")
    fset = discover_features(ws, as_of)
    df = feature_frame(ws, fset, opts, as_of, labelled=True)
    pos = int(df["label"].sum()) if len(df) else 0
    neg = len(df) - pos
    if len(df) < MIN_ROWS or pos < MIN_CLASS or neg < MIN_CLASS:
        raise NotEnoughHistory(
            f"{len(df)} leads with a known outcome ({pos} reached {opts['target']}, {neg} did "
            f"not) as of {as_of.isoformat()}: need at least {MIN_ROWS}, and {MIN_CLASS} of each",
            hint="import more history, shorten --window-days, or pick an earlier --target stage",
        )
    return fset, df


def _evaluate(fset: fx.FeatureSet, df: pd.DataFrame, opts: dict[str, Any], say: Progress) -> Any:
    say("evaluating against the naive Bayes baseline")
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


def _metrics_frame(ev: Any) -> pd.DataFrame:
    table = ev.metrics
    pooled = table[table["fold"].isna()].drop(columns="fold")
    return pooled.reset_index(drop=True)[
        ["model", "rows", "positives", "roc_auc", "pr_auc", "brier", "ece"]
    ]


def _notes(opts: dict[str, Any], ev: Any, df: pd.DataFrame, as_of: pd.Timestamp) -> list[str]:
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
def model_train(
    ws: Workspace,
    *,
    name: str = DEFAULT_NAME,
    as_of: Any = None,
    progress: Progress | None = None,
    **given: Any,
) -> Report:
    """Evaluate on the split, then train on every labelled lead and save the model."""
    say = progress or (lambda _msg: None)
    folder = model_dir(ws, name)
    opts = _options(ws, name, {k: v for k, v in given.items() if k in DEFAULTS})
    as_of_ts = _resolve_as_of(ws, as_of, default_now=False)
    fset, df = _training_set(ws, opts, as_of_ts, say)
    ev = _evaluate(fset, df, opts, say)
    say("training on every labelled lead")
    X = df[fset.names]
    y = df["label"].to_numpy()
    model = predictive.fit(
        X, y, categorical=fset.fields, params={"trees": opts["trees"]},
        calibration=opts["calibration"], seed=opts["seed"],
    )  # fmt: skip
    table = _metrics_frame(ev)
    meta = {
        "name": name,
        "trained_at": pd.Timestamp.now(tz="UTC").floor("s").isoformat(),
        "as_of": as_of_ts.isoformat(),
        "target": opts["target"],
        "options": opts,
        "decision_rule": (
            f"features as of min(created_at + {opts['decision_days']:g} days, as_of); label = "
            f"reached {opts['target']} within {opts['window_days']:g} days of creation; "
            "labelled only when that window has closed; leads that reached the target by the "
            "decision time are left out"
        ),
        "feature_set": fset.as_dict(),
        "data_fingerprint": fingerprint(df, ["lead_id", *fset.names, "label"]),
        "rows": len(df),
        "positives": int(y.sum()),
        "positive_rate": float(y.mean()),
        "first_created_at": df["created_at"].min().isoformat(),
        "last_created_at": df["created_at"].max().isoformat(),
        "evaluation": {
            "split": ev.split,
            "folds": ev.folds,
            "test_share": opts["test_share"] if ev.split == "time" else None,
            "metrics": table.to_dict(orient="records"),
        },
        "training_fit": metrics(y, model.predict_proba(X)),
        "versions": versions(),
        "engine": ws.store.dialect,
    }
    model.save(folder, meta)
    notes = [
        *_notes(opts, ev, df, as_of_ts),
        f"saved to {folder} (final model trained on all {len(df)} labelled leads, "
        f"calibration {model.calibration.method})",
    ]
    params = {"name": name, **opts, "as_of": as_of_ts}
    return Report(
        "model_train",
        params,
        table,
        notes=notes,
        title=f"Model '{name}': {opts['target']} within {opts['window_days']:g} days",
        extra={"calibration": ("Calibration (reliability) on the test leads", ev.reliability)},
    )


def model_evaluate(
    ws: Workspace,
    *,
    name: str = DEFAULT_NAME,
    as_of: Any = None,
    progress: Progress | None = None,
    **given: Any,
) -> Report:
    """Our model vs the naive Bayes baseline on the same split (nothing is saved). Options not
    given are those of the saved model ``name`` when there is one."""
    say = progress or (lambda _msg: None)
    opts = _options(ws, name, {k: v for k, v in given.items() if k in DEFAULTS})
    as_of_ts = _resolve_as_of(ws, as_of, default_now=False)
    fset, df = _training_set(ws, opts, as_of_ts, say)
    ev = _evaluate(fset, df, opts, say)
    params = {"name": name, **opts, "as_of": as_of_ts}
    return Report(
        "model_evaluate",
        params,
        _metrics_frame(ev),
        notes=_notes(opts, ev, df, as_of_ts),
        title=f"Predictive score vs naive Bayes: {opts['target']} within "
        f"{opts['window_days']:g} days",
        extra={"calibration": ("Calibration (reliability) on the test leads", ev.reliability)},
    )


def versions() -> dict[str, str]:
    import ibis
    import lightgbm
    import sklearn

    from leadledger import __version__

    return {
        "leadledger": __version__,
        "lightgbm": lightgbm.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "ibis": ibis.__version__,
        "python": platform.python_version(),
    }


# -- predict -------------------------------------------------------------------------------------
def load_model(ws: Workspace, name: str) -> tuple[predictive.Model, dict[str, Any]]:
    folder = model_dir(ws, name)
    if not (folder / "meta.json").is_file() or not (folder / "model.txt").is_file():
        raise ModelNotTrained(
            f"no predictive model '{name}' in {folder.parent}",
            hint="run 'leadledger model train' first"
            + ("" if name == DEFAULT_NAME else f" with --name {name}"),
        )
    return predictive.Model.load(folder)


def _check_compatible(ws: Workspace, meta: dict[str, Any], fset: fx.FeatureSet) -> None:
    from leadledger.ledger.schema import kinds

    have = set(kinds(ws.cfg)["leads"].field_names)
    missing = [f for f in fset.fields if f not in have]
    problems = []
    if missing:
        problems.append(f"lead fields {', '.join(missing)} are not in this project")
    if meta.get("target") not in ws.cfg.stage_keys:
        problems.append(f"the target stage '{meta.get('target')}' is not in this project")
    model_features = [f["name"] for f in meta.get("features", [])]
    if model_features != fset.names:
        problems.append("its feature list differs from the one its meta.json describes")
    if problems:
        raise ModelMismatch(
            f"the model '{meta.get('name')}' does not fit this project: " + "; ".join(problems),
            hint="retrain it: leadledger model train",
        )


def model_predict(
    ws: Workspace,
    *,
    name: str = DEFAULT_NAME,
    as_of: Any = None,
    lead_ids: Sequence[str] | None = None,
    limit: int | None = None,
) -> Report:
    """The calibrated probability and top reasons of every lead created by ``as_of`` (default
    now), or of ``lead_ids``; highest first."""
    model, meta = load_model(ws, name)
    fset = fx.FeatureSet.from_dict(meta["feature_set"])
    _check_compatible(ws, meta, fset)
    opts = dict(meta["options"])
    as_of_ts = _resolve_as_of(ws, as_of, default_now=True)
    if limit is not None:
        from leadledger.reports.legacy import parse_limit

        limit = parse_limit(limit, minimum=1)
    df = feature_frame(ws, fset, opts, as_of_ts, labelled=False)
    if lead_ids:
        wanted = list(dict.fromkeys(str(x) for x in lead_ids))
        unknown = [x for x in wanted if x not in set(df["lead_id"])]
        if unknown:
            raise LeadNotFound(
                f"lead {', '.join(unknown[:5])} is not in the ledger"
                + (f" (created by {as_of_ts.isoformat()})" if as_of is not None else ""),
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
    if limit is not None:
        out = out.head(limit)
    out = out.reset_index(drop=True)
    notes = [
        f"probability that the lead reaches {meta['target']} within "
        f"{opts['window_days']:g} days of creation (model '{name}', trained "
        f"{meta.get('trained_at', '?')}, calibration {model.calibration.method})",
        "reasons: the largest positive contributions in log-odds (SHAP values of the booster)",
        f"complete = the lead's decision time ({opts['decision_days']:g} days after creation) "
        f"has passed by {as_of_ts.isoformat()}; younger leads are scored on what is known so far",
    ]
    return Report(
        "model_predict",
        {"name": name, "as_of": as_of_ts, "lead_ids": list(lead_ids or []), "limit": limit},
        out,
        notes=notes,
        title=f"Predicted probability of reaching {meta['target']}",
        table_columns=["lead_id", "probability", "reasons", "complete", "reached_target"],
    )
