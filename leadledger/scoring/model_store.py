"""The predictive model store: a trained model's folder in the project, and what its
``meta.json`` records (docs/predictive-scoring.md).

A model lives in ``<project>/models/<name>/``: ``model.txt`` (LightGBM's text model),
``calibration.json`` and ``meta.json`` (the options it was trained with, its feature set, the
training data's fingerprint, the evaluation, the library versions). Nothing here reads the
ledger: the callers hand over the project folder, the config and the frames.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadledger.config.models import ProjectConfig
from leadledger.errors import InvalidArgument, ModelMismatch, ModelNotTrained
from leadledger.scoring import features as fx
from leadledger.scoring import predictive

__all__ = [
    "DEFAULTS",
    "DEFAULT_NAME",
    "MODELS_DIR",
    "check_compatible",
    "fingerprint",
    "load_model",
    "model_dir",
    "saved_options",
    "training_meta",
    "versions",
]

MODELS_DIR = "models"
DEFAULT_NAME = "default"
#: The options a model is trained with when neither the caller nor a saved model gives them.
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
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def model_dir(project_dir: Path, name: str) -> Path:
    """The folder of model ``name`` (letters, digits, ``_``, ``-``, ``.``)."""
    if not _NAME.fullmatch(name or ""):
        raise InvalidArgument(
            f"--name '{name}' is not a model name", hint="use letters, digits, '_', '-' or '.'"
        )
    return project_dir / MODELS_DIR / name


def saved_options(project_dir: Path, name: str) -> dict[str, Any]:
    """The options the saved model ``name`` was trained with ({} when there is none)."""
    meta_path = model_dir(project_dir, name) / "meta.json"
    if not meta_path.is_file():
        return {}
    options: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8")).get("options", {})
    return options


def load_model(project_dir: Path, name: str) -> tuple[predictive.Model, dict[str, Any]]:
    """The saved model ``name`` and its meta; ``ModelNotTrained`` when it was never trained."""
    folder = model_dir(project_dir, name)
    if not (folder / "meta.json").is_file() or not (folder / "model.txt").is_file():
        raise ModelNotTrained(
            f"no predictive model '{name}' in {folder.parent}",
            hint="run 'leadledger model train' first"
            + ("" if name == DEFAULT_NAME else f" with --name {name}"),
        )
    return predictive.Model.load(folder)


def fingerprint(df: pd.DataFrame, columns: Sequence[str]) -> str:
    """sha256 of the training frame (its columns in order, rows as given)."""
    h = hashlib.sha256()
    h.update(json.dumps(list(columns)).encode())
    h.update(pd.util.hash_pandas_object(df[list(columns)], index=False).to_numpy().tobytes())
    return h.hexdigest()


def versions() -> dict[str, str]:
    """The versions of leadledger and of the libraries a model depends on."""
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


def training_meta(
    *,
    name: str,
    trained_at: pd.Timestamp,
    as_of: pd.Timestamp,
    options: dict[str, Any],
    feature_set: fx.FeatureSet,
    frame: pd.DataFrame,
    labels: np.ndarray,
    evaluation: dict[str, Any],
    training_fit: dict[str, float],
    engine: str,
) -> dict[str, Any]:
    """What ``meta.json`` records of a model trained on ``frame`` (the labelled leads, with
    ``labels``) with ``options``; the model adds its features, parameters and calibration when
    it is saved (``predictive.Model.save``)."""
    return {
        "name": name,
        "trained_at": trained_at.isoformat(),
        "as_of": as_of.isoformat(),
        "target": options["target"],
        "options": options,
        "decision_rule": (
            f"features as of min(created_at + {options['decision_days']:g} days, as_of); label = "
            f"reached {options['target']} within {options['window_days']:g} days of creation; "
            "labelled only when that window has closed; leads that reached the target by the "
            "decision time are left out"
        ),
        "feature_set": feature_set.as_dict(),
        "data_fingerprint": fingerprint(frame, ["lead_id", *feature_set.names, "label"]),
        "rows": len(frame),
        "positives": int(labels.sum()),
        "positive_rate": float(labels.mean()),
        "first_created_at": frame["created_at"].min().isoformat(),
        "last_created_at": frame["created_at"].max().isoformat(),
        "evaluation": evaluation,
        "training_fit": training_fit,
        "versions": versions(),
        "engine": engine,
    }


def check_compatible(cfg: ProjectConfig, meta: dict[str, Any], fset: fx.FeatureSet) -> None:
    """``ModelMismatch`` when a saved model cannot score this project's leads: lead fields or
    the target stage it needs are gone, or its files disagree on its features."""
    from leadledger.ledger.schema import kinds

    have = set(kinds(cfg)["leads"].field_names)
    missing = [f for f in fset.fields if f not in have]
    problems = []
    if missing:
        problems.append(f"lead fields {', '.join(missing)} are not in this project")
    if meta.get("target") not in cfg.stage_keys:
        problems.append(f"the target stage '{meta.get('target')}' is not in this project")
    model_features = [f["name"] for f in meta.get("features", [])]
    if model_features != fset.names:
        problems.append("its feature list differs from the one its meta.json describes")
    if problems:
        raise ModelMismatch(
            f"the model '{meta.get('name')}' does not fit this project: " + "; ".join(problems),
            hint="retrain it: leadledger model train",
        )
