"""The predictive lead score: a LightGBM gradient-boosted model with calibrated probabilities and
per-lead reasons.

- **Features**: numeric columns as they are; categorical columns (text, boolean, pandas
  categorical) as LightGBM native categoricals over a fixed category list saved with the model
  (the ``MAX_CATEGORIES`` most frequent values seen at least ``MIN_CATEGORY_COUNT`` times in
  training). A value outside the list (rare or unseen) is treated as missing.
- **Calibration**: out-of-fold raw predictions (``CALIBRATION_FOLDS`` stratified folds of the
  training rows) are fitted with isotonic regression and with Platt's sigmoid. With
  ``calibration="auto"`` the method (none, isotonic or sigmoid) is the one with the lowest
  calibration error when each fold is calibrated by a calibrator fitted on the other folds'
  out-of-fold predictions; "none" wins ties. The final booster is trained on every training row
  and the chosen calibrator on all the out-of-fold predictions.
- **Reasons**: ``pred_contrib=True`` gives each feature's SHAP contribution in log-odds of the
  (uncalibrated) booster; the reasons are the largest positive ones, ``feature=value (+0.12)``.
- **Saved** as LightGBM's own text model (``model.txt``), the calibrator as plain JSON
  (isotonic thresholds or Platt's a, b) and the feature specification — no pickle.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from leadledger.scoring.evaluation import calibration_error, stratified_folds

if TYPE_CHECKING:
    import lightgbm as lgb

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.03,
    "num_leaves": 15,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "cat_smooth": 10.0,
    # one thread: with more OpenMP threads than free cores LightGBM spins and slows down ~10×
    # (measured on the shared 2-core machine: 1.4 s vs 18.5 s for the same fit under load)
    "num_threads": 1,
    "verbose": -1,
    "deterministic": True,
    "force_col_wise": True,
}
#: Boosting rounds.
DEFAULT_TREES = 400
#: ``min_data_in_leaf`` unless given: rows ÷ 200, between 5 and 100 (100 on the bank data's
#: 33k training rows, measured best of 40/100 there; small ledgers keep leaves possible).
MIN_LEAF = (5, 100, 200)
#: Isotonic calibration is a step function: within a step, the booster's order is kept by adding
#: this multiple of the raw probability, so calibrating never creates ties (ties lower ROC AUC).
TIE_BREAK = 1e-6
CALIBRATION_FOLDS = 3
CALIBRATION_METHODS = ("none", "isotonic", "sigmoid")
MAX_CATEGORIES = 100
MIN_CATEGORY_COUNT = 5
#: Reasons listed per lead.
TOP_REASONS = 3


# -- features ------------------------------------------------------------------------------------
def is_categorical(s: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


@dataclasses.dataclass
class FeatureSpec:
    """Feature names in model order; categories of each categorical feature (code = index)."""

    features: list[str]
    categories: dict[str, list[str]]

    @classmethod
    def infer(cls, X: pd.DataFrame, categorical: Sequence[str] | None = None) -> FeatureSpec:
        cats: dict[str, list[str]] = {}
        for name in X.columns:
            s = X[name]
            if (categorical is not None and name in categorical) or (
                categorical is None and is_categorical(s)
            ):
                counts = _as_text(s).value_counts(dropna=True)
                counts = counts[counts >= MIN_CATEGORY_COUNT]
                # most frequent first; ties in a fixed order
                ordered = sorted(
                    ((str(k), int(v)) for k, v in counts.items()), key=lambda kv: (-kv[1], kv[0])
                )
                cats[str(name)] = [k for k, _ in ordered[:MAX_CATEGORIES]]
        return cls([str(c) for c in X.columns], cats)

    def encode(self, X: pd.DataFrame) -> pd.DataFrame:
        """The numeric matrix LightGBM sees: categories → codes, missing/unseen → NaN."""
        out: dict[str, np.ndarray] = {}
        for name in self.features:
            s = X[name] if name in X.columns else pd.Series(np.nan, index=X.index)
            if name in self.categories:
                lookup = {v: float(i) for i, v in enumerate(self.categories[name])}
                out[name] = _as_text(s).map(lookup).to_numpy(dtype=float)
            else:
                out[name] = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
        return pd.DataFrame(out, index=X.index)

    def dtypes(self) -> dict[str, str]:
        return {f: ("categorical" if f in self.categories else "numeric") for f in self.features}


def _as_text(s: pd.Series) -> pd.Series:
    """Values as text (booleans as true/false); missing stays missing."""
    if pd.api.types.is_bool_dtype(s):
        return s.map({True: "true", False: "false"})
    return s.astype(object).where(s.notna(), None).map(lambda v: None if v is None else str(v))


# -- calibration ---------------------------------------------------------------------------------
@dataclasses.dataclass
class Calibrator:
    """Maps the booster's probability to a calibrated one."""

    method: str = "none"
    x: list[float] = dataclasses.field(default_factory=list)  # isotonic thresholds
    y: list[float] = dataclasses.field(default_factory=list)
    a: float = 0.0  # Platt: p = 1 / (1 + exp(a · logit(raw) + b))
    b: float = 0.0

    @classmethod
    def fit(cls, method: str, raw: np.ndarray, y: np.ndarray) -> Calibrator:
        if method == "none":
            return cls()
        if method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
            return cls(
                "isotonic",
                x=[float(v) for v in iso.X_thresholds_],
                y=[float(v) for v in iso.y_thresholds_],
            )
        if method == "sigmoid":
            from sklearn.linear_model import LogisticRegression

            lr = LogisticRegression(C=1e6, max_iter=1000).fit(_logit(raw)[:, None], y)
            return cls("sigmoid", a=-float(lr.coef_[0, 0]), b=-float(lr.intercept_[0]))
        raise ValueError(f"unknown calibration method {method!r}")

    def apply(self, raw: np.ndarray) -> npt.NDArray[np.float64]:
        p = np.asarray(raw, dtype=np.float64)
        if self.method == "isotonic":
            return np.interp(p, self.x, self.y) + TIE_BREAK * p
        if self.method == "sigmoid":
            return 1.0 / (1.0 + np.exp(self.a * _logit(p) + self.b))
        return p

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(q / (1 - q))


# -- the model -----------------------------------------------------------------------------------
@dataclasses.dataclass
class Model:
    booster: Any  # lightgbm.Booster
    spec: FeatureSpec
    calibration: Calibrator
    params: dict[str, Any]
    trees: int
    #: Cross-fitted calibration error of each candidate method on the training rows.
    calibration_errors: dict[str, float] = dataclasses.field(default_factory=dict)

    def raw_proba(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        return np.asarray(self.booster.predict(self.spec.encode(X)), dtype=np.float64)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.clip(self.calibration.apply(self.raw_proba(X)), 0.0, 1.0)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """SHAP contributions in log-odds per feature (and ``bias``), one row per lead."""
        values = np.asarray(self.booster.predict(self.spec.encode(X), pred_contrib=True))
        return pd.DataFrame(values, columns=[*self.spec.features, "bias"], index=X.index)

    def reasons(self, X: pd.DataFrame, top: int = TOP_REASONS) -> list[str]:
        """Per lead: its ``top`` largest positive contributions as ``feature=value (+0.12)``."""
        contrib = self.contributions(X).drop(columns="bias")
        names = np.array(contrib.columns)
        values = contrib.to_numpy()
        order = np.argsort(-values, axis=1, kind="stable")[:, :top]
        out = []
        for i, row in enumerate(order):
            parts = []
            for j in row:
                v = values[i, j]
                if not v > 0:
                    break
                parts.append(f"{names[j]}={_show(X.iloc[i][names[j]])} ({v:+.2f})")
            out.append("; ".join(parts))
        return out

    # .. files ..................................................................................
    def save(self, folder: Path, meta: dict[str, Any]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(folder / "model.txt"))
        (folder / "calibration.json").write_text(
            json.dumps(self.calibration.as_dict(), indent=2), encoding="utf-8"
        )
        full = dict(meta)
        full["features"] = [
            {
                "name": f,
                "dtype": self.spec.dtypes()[f],
                **({"categories": self.spec.categories[f]} if f in self.spec.categories else {}),
            }
            for f in self.spec.features
        ]
        full["params"] = self.params
        full["trees"] = self.trees
        full["calibration"] = {
            "method": self.calibration.method,
            "cross_fitted_ece": self.calibration_errors,
        }
        (folder / "meta.json").write_text(
            json.dumps(full, indent=2, default=_json_default), encoding="utf-8"
        )

    @classmethod
    def load(cls, folder: Path) -> tuple[Model, dict[str, Any]]:
        import lightgbm as lgb

        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        booster = lgb.Booster(model_file=str(folder / "model.txt"))
        cal = Calibrator(**json.loads((folder / "calibration.json").read_text(encoding="utf-8")))
        spec = FeatureSpec(
            [f["name"] for f in meta["features"]],
            {f["name"]: list(f["categories"]) for f in meta["features"] if "categories" in f},
        )
        model = cls(
            booster,
            spec,
            cal,
            dict(meta.get("params", {})),
            int(meta.get("trees", 0)),
            dict(meta.get("calibration", {}).get("cross_fitted_ece", {})),
        )
        return model, meta


def _show(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "missing"
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return str(int(f)) if f.is_integer() else f"{f:.1f}"
    return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    return str(value)


def _train(
    Xe: pd.DataFrame, y: np.ndarray, spec: FeatureSpec, params: dict[str, Any], trees: int
) -> lgb.Booster:
    import lightgbm as lgb

    data = lgb.Dataset(
        Xe,
        label=y,
        categorical_feature=[f for f in spec.features if f in spec.categories],
        free_raw_data=True,
    )
    return lgb.train(params, data, num_boost_round=trees)


def fit(
    X: pd.DataFrame,
    y: Any,
    *,
    categorical: Sequence[str] | None = None,
    params: dict[str, Any] | None = None,
    trees: int = DEFAULT_TREES,
    calibration: str = "auto",
    seed: int = 0,
) -> Model:
    """Train the booster on ``X``/``y`` and calibrate it (see the module docstring)."""
    ya = np.asarray(y).astype(int)
    lo, hi, per = MIN_LEAF
    min_leaf = int(min(hi, max(lo, len(ya) // per)))
    full_params = {**DEFAULT_PARAMS, "min_data_in_leaf": min_leaf, "seed": seed, **(params or {})}
    trees = int(full_params.pop("trees", trees))
    spec = FeatureSpec.infer(X, categorical)
    Xe = spec.encode(X)
    if calibration not in ("auto", *CALIBRATION_METHODS):
        raise ValueError(f"unknown calibration {calibration!r}")
    errors: dict[str, float] = {}
    chosen = Calibrator()
    # calibration learns on out-of-fold predictions: every fold's training part needs both
    # classes, else the model stays uncalibrated (tiny or one-sided training sets)
    minority = int(min(ya.sum(), len(ya) - ya.sum()))
    if calibration != "none" and minority >= CALIBRATION_FOLDS:
        folds = stratified_folds(ya, CALIBRATION_FOLDS, seed)
        oof = np.zeros(len(ya))
        for test in folds:
            train = np.setdiff1d(np.arange(len(ya)), test)
            booster = _train(Xe.iloc[train], ya[train], spec, full_params, trees)
            oof[test] = booster.predict(Xe.iloc[test])
        methods = CALIBRATION_METHODS if calibration == "auto" else (calibration,)
        for method in methods:
            cal = np.zeros(len(ya))
            for test in folds:
                train = np.setdiff1d(np.arange(len(ya)), test)
                cal[test] = Calibrator.fit(method, oof[train], ya[train]).apply(oof[test])
            errors[method] = calibration_error(ya, cal)
        best = min(methods, key=lambda m: (round(errors[m], 6), CALIBRATION_METHODS.index(m)))
        chosen = Calibrator.fit(best, oof, ya)
    booster = _train(Xe, ya, spec, full_params, trees)
    return Model(booster, spec, chosen, full_params, trees, errors)
