"""The evaluation metrics against scikit-learn and hand-computed values, and the splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from leadledger.scoring import evaluation as ev

#: Scores on a coarse grid make ties, the case where AUC and AP definitions differ most.
scores = st.lists(
    st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.75, 0.9, 1.0]), min_size=2, max_size=60
)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_metrics_match_sklearn(data: st.DataObject) -> None:
    p = data.draw(scores)
    y = data.draw(st.lists(st.integers(0, 1), min_size=len(p), max_size=len(p)))
    if len(set(y)) < 2:
        assert np.isnan(ev.roc_auc(y, p))
        return
    assert ev.roc_auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert ev.average_precision(y, p) == pytest.approx(average_precision_score(y, p), abs=1e-12)
    assert ev.brier(y, p) == pytest.approx(brier_score_loss(y, p), abs=1e-12)


def test_roc_auc_by_hand() -> None:
    # positives 0.8, 0.4; negatives 0.4, 0.2: pairs (0.8>0.4), (0.8>0.2), (0.4=0.4 → ½), (0.4>0.2)
    assert ev.roc_auc([1, 1, 0, 0], [0.8, 0.4, 0.4, 0.2]) == pytest.approx(3.5 / 4)


def test_average_precision_by_hand() -> None:
    # ranked 0.9(+) 0.8(−) 0.7(+): recall steps ½ at precision 1, ½ at precision ⅔
    assert ev.average_precision([1, 0, 1], [0.9, 0.8, 0.7]) == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_calibration_error_by_hand() -> None:
    # bin [0.1, 0.2): two leads at 0.15, one converted → |0.15 − 0.5| = 0.35, weight 2/4;
    # bin [0.9, 1.0]: 0.95 and 1.0, both converted → |0.975 − 1| = 0.025, weight 2/4
    y = [0, 1, 1, 1]
    p = [0.15, 0.15, 0.95, 1.0]
    assert ev.calibration_error(y, p) == pytest.approx(0.5 * 0.35 + 0.5 * 0.025)
    table = ev.reliability_table(y, p)
    assert table["leads"].sum() == 4
    row = table[table["bin_low"] == 0.9].iloc[0]
    assert row["leads"] == 2 and row["observed_rate"] == 1.0
    assert row["mean_probability"] == pytest.approx(0.975)


@settings(max_examples=60, deadline=None)
@given(
    p=st.lists(st.floats(0, 1), min_size=1, max_size=80),
    seed=st.integers(0, 1000),
)
def test_calibration_error_equals_reliability_table(p: list[float], seed: int) -> None:
    y = np.random.default_rng(seed).integers(0, 2, len(p))
    t = ev.reliability_table(y, p)
    t = t[t["leads"] > 0]
    expected = float(
        (t["leads"] / len(p) * (t["mean_probability"] - t["observed_rate"]).abs()).sum()
    )
    assert ev.calibration_error(y, p) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("k", [2, 5])
def test_stratified_folds_cover_every_row_once_and_keep_the_rate(k: int) -> None:
    y = np.array([1] * 23 + [0] * 77)
    folds = ev.stratified_folds(y, k, seed=3)
    together = np.concatenate(folds)
    assert sorted(together) == list(range(100))
    for f in folds:
        assert abs(y[f].sum() - 23 / k) <= 1
        assert abs(len(f) - 100 / k) <= 1


def test_time_split_tests_the_latest_rows() -> None:
    times = pd.to_datetime(["2025-01-05", "2025-01-01", "2025-01-04", "2025-01-02"], utc=True)
    train, test = ev.time_split(times, 0.5)
    assert list(train) == [1, 3] and list(test) == [0, 2]
