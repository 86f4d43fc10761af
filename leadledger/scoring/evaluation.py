"""Metrics of a probability forecast, data splits, and the frame-level evaluation of the
predictive model against the naive Bayes baseline on the same split.

Metrics (``y`` is 0/1, ``p`` a probability):

- **ROC AUC**: the probability that a random positive scores above a random negative, ties
  counting one half (scikit-learn's ``roc_auc_score``; undefined, NaN, with one class only).
- **PR AUC**: average precision, ``Σ_k (R_k − R_{k−1}) · P_k`` over the distinct score
  thresholds from the highest down (scikit-learn's ``average_precision_score`` definition: a step
  function, no interpolation).
- **Brier score**: ``mean((p − y)²)``.
- **Calibration error (ECE)**: 10 equal-width bins of the predicted probability ([0, 0.1), …,
  [0.9, 1.0]); ``Σ_b (n_b / n) · |mean(p in b) − mean(y in b)|``.

Splits: :func:`time_split` (train on the earlier rows, test on the latest ``test_share``) when
the data has dates; :func:`stratified_folds` (k folds keeping the positive rate) when it does not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from leadledger.errors import NotEnoughHistory

#: Bins of the expected calibration error and of the reliability table.
ECE_BINS = 10
#: Column order of a metrics row.
METRICS = ("roc_auc", "pr_auc", "brier", "ece")


def _arrays(y: Any, p: Any) -> tuple[np.ndarray, np.ndarray]:
    ya = np.asarray(y, dtype=float).ravel()
    pa = np.asarray(p, dtype=float).ravel()
    if ya.shape != pa.shape:
        raise ValueError(f"y and p differ in length: {ya.size} vs {pa.size}")
    return ya, pa


def roc_auc(y: Any, p: Any) -> float:
    """ROC AUC (scikit-learn's ``roc_auc_score``: ties count one half); NaN with one class only
    (every label 1, or none)."""
    from sklearn.metrics import roc_auc_score

    ya, pa = _arrays(y, p)
    pos = ya == 1
    if pos.all() or not pos.any():
        return float("nan")
    return float(roc_auc_score(pos, pa))


def average_precision(y: Any, p: Any) -> float:
    """PR AUC as average precision (step-wise, over distinct thresholds); NaN without
    positives."""
    ya, pa = _arrays(y, p)
    n_pos = ya.sum()
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-pa, kind="mergesort")
    ys, ps = ya[order], pa[order]
    tp = np.cumsum(ys)
    # the last index of each run of equal scores: one threshold per distinct score
    last = np.r_[np.flatnonzero(np.diff(ps) != 0), ys.size - 1]
    tp_at = tp[last]
    precision = tp_at / (last + 1)
    recall = tp_at / n_pos
    prev = np.r_[0.0, recall[:-1]]
    return float(np.sum((recall - prev) * precision))


def brier(y: Any, p: Any) -> float:
    ya, pa = _arrays(y, p)
    return float(np.mean((pa - ya) ** 2))


def _bin_of(p: np.ndarray, bins: int) -> np.ndarray:
    return np.minimum((p * bins).astype(np.intp), bins - 1)


def calibration_error(y: Any, p: Any, bins: int = ECE_BINS) -> float:
    """Expected calibration error over ``bins`` equal-width bins of the prediction."""
    ya, pa = _arrays(y, p)
    if ya.size == 0:
        return float("nan")
    b = _bin_of(pa, bins)
    sp = np.bincount(b, weights=pa, minlength=bins)
    sy = np.bincount(b, weights=ya, minlength=bins)
    return float(np.sum(np.abs(sp - sy)) / ya.size)


def reliability_table(y: Any, p: Any, bins: int = ECE_BINS) -> pd.DataFrame:
    """Per bin of the prediction: leads, mean predicted probability, observed rate."""
    ya, pa = _arrays(y, p)
    b = _bin_of(pa, bins)
    n = np.bincount(b, minlength=bins)
    sp = np.bincount(b, weights=pa, minlength=bins)
    sy = np.bincount(b, weights=ya, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.where(n > 0, sp / np.maximum(n, 1), np.nan)
        rate = np.where(n > 0, sy / np.maximum(n, 1), np.nan)
    return pd.DataFrame(
        {
            "bin_low": np.arange(bins) / bins,
            "bin_high": (np.arange(bins) + 1) / bins,
            "leads": n.astype(int),
            "mean_probability": mean_p,
            "observed_rate": rate,
        }
    )


def metrics(y: Any, p: Any) -> dict[str, float]:
    return {
        "roc_auc": roc_auc(y, p),
        "pr_auc": average_precision(y, p),
        "brier": brier(y, p),
        "ece": calibration_error(y, p),
    }


# -- splits --------------------------------------------------------------------------------------
def stratified_folds(y: Any, k: int = 5, seed: int = 0) -> list[np.ndarray]:
    """``k`` disjoint test-index arrays covering every row, each with (nearly) the same share of
    positives: each class is shuffled (seeded) and dealt round-robin to the folds."""
    ya = np.asarray(y).astype(int)
    if k < 2:
        raise ValueError("k must be at least 2")
    rng = np.random.default_rng(seed)
    folds: list[list[np.ndarray]] = [[] for _ in range(k)]
    offset = 0
    for cls in (1, 0):
        idx = np.flatnonzero(ya == cls)
        rng.shuffle(idx)
        for f in range(k):
            folds[(f + offset) % k].append(idx[f::k])
        offset += idx.size % k
    return [np.sort(np.concatenate(parts)) for parts in folds]


def time_split(times: Any, test_share: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices: the latest ``test_share`` of the rows by time are the test set
    (ties broken by position, so the split is deterministic)."""
    if not 0 < test_share < 1:
        raise ValueError("test_share must be in (0, 1)")
    t = pd.Series(pd.to_datetime(times, utc=True)).reset_index(drop=True)
    order = np.lexsort((np.arange(len(t)), t.to_numpy()))
    n_test = max(1, round(len(t) * test_share))
    return np.sort(order[: len(t) - n_test]), np.sort(order[len(t) - n_test :])


# -- frame-level evaluation ----------------------------------------------------------------------
@dataclasses.dataclass
class Evaluation:
    """Our model and the baseline on the same split."""

    #: One row per model (and per fold with k-fold): model, roc_auc, pr_auc, brier, ece, …
    metrics: pd.DataFrame
    #: Reliability table of each model on the pooled test predictions.
    reliability: pd.DataFrame
    #: Test predictions: row index, y, model → probability.
    predictions: pd.DataFrame
    split: str
    folds: int
    calibration: list[str]


Fitter = Callable[[pd.DataFrame, np.ndarray], Callable[[pd.DataFrame], np.ndarray]]


def evaluate_frame(
    df: pd.DataFrame,
    target: str,
    *,
    features: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    time_column: str | None = None,
    test_share: float = 0.25,
    folds: int = 5,
    seed: int = 0,
    params: dict[str, Any] | None = None,
    calibration: str = "auto",
    label_horizon: pd.Timedelta | None = None,
) -> Evaluation:
    """Train the gradient-boosted model and the Odoo naive Bayes on the same split of ``df``
    and score both on the held-out rows.

    With ``time_column`` the split is time-ordered (train on the earlier rows, test on the latest
    ``test_share``; with ``label_horizon``, a training row counts only when its label was
    known by the split — its time + horizon at or before the first test row's time — so the
    model never learns from outcomes that happened in the test period); without it, stratified
    ``folds``-fold cross-validation (each row is
    predicted once, by the models trained on the other folds; metrics on the pooled
    predictions, plus one row per fold). ``target`` is 0/1 (or boolean).
    """
    from leadledger.scoring import naive_bayes, predictive

    y = df[target].astype(int).to_numpy()
    cols = list(features) if features is not None else [c for c in df.columns if c != target]
    cols = [c for c in cols if c not in (target, time_column)]
    X = df[cols]
    if np.unique(y).size < 2:
        raise NotEnoughHistory(
            "the outcome has one class only: nothing to learn",
            hint="use more history or another --target stage",
        )

    def splits() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        if time_column is not None:
            train, test = time_split(df[time_column], test_share)
            if label_horizon is not None and test.size:
                times = pd.Series(pd.to_datetime(df[time_column], utc=True)).reset_index(drop=True)
                split_at = times.iloc[test].min()
                train = train[(times.iloc[train] + label_horizon <= split_at).to_numpy()]
            yield train, test
            return
        all_idx = np.arange(len(df))
        for test in stratified_folds(y, folds, seed):
            yield np.setdiff1d(all_idx, test), test

    pooled: dict[str, np.ndarray] = {
        "model": np.full(len(df), np.nan),
        "naive_bayes": np.full(len(df), np.nan),
    }
    fold_rows: list[dict[str, Any]] = []
    used: list[str] = []
    tested = np.zeros(len(df), dtype=bool)
    for f, (train, test) in enumerate(splits()):
        if np.unique(y[train]).size < 2 or test.size == 0:
            raise NotEnoughHistory(
                "the training part of the split has one class only"
                + (
                    " (only leads whose outcome window closed before the test period train)"
                    if label_horizon is not None and time_column is not None
                    else ""
                ),
                hint="use more history, a longer --window-days, or --split kfold",
            )
        model = predictive.fit(
            X.iloc[train], y[train], categorical=categorical, params=params,
            calibration=calibration, seed=seed,
        )  # fmt: skip
        used.append(model.calibration.method)
        pooled["model"][test] = model.predict_proba(X.iloc[test])
        nb = naive_bayes.OdooNaiveBayes().fit(X.iloc[train], y[train])
        pooled["naive_bayes"][test] = nb.predict_proba(X.iloc[test])
        tested[test] = True
        if time_column is None:
            for name in ("model", "naive_bayes"):
                fold_rows.append(
                    {
                        "model": name,
                        "fold": f + 1,
                        "rows": int(test.size),
                        **metrics(y[test], pooled[name][test]),
                    }
                )
    idx = np.flatnonzero(tested)
    rows = []
    for name in ("model", "naive_bayes"):
        rows.append(
            {
                "model": name,
                "fold": None,
                "rows": int(idx.size),
                "positives": int(y[idx].sum()),
                **metrics(y[idx], pooled[name][idx]),
            }
        )
    table = pd.DataFrame(rows + fold_rows)
    rel = pd.concat(
        [
            reliability_table(y[idx], pooled[name][idx]).assign(model=name)
            for name in ("model", "naive_bayes")
        ],
        ignore_index=True,
    )
    preds = pd.DataFrame(
        {
            "row": idx,
            "y": y[idx],
            "model": pooled["model"][idx],
            "naive_bayes": pooled["naive_bayes"][idx],
        }
    )
    return Evaluation(
        metrics=table,
        reliability=rel[["model", *[c for c in rel.columns if c != "model"]]],
        predictions=preds,
        split="time" if time_column is not None else "kfold",
        folds=1 if time_column is not None else folds,
        calibration=used,
    )
