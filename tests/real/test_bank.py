"""UCI bank marketing (41,188 real telemarketing contacts, target ``y``): our calibrated model
against the Odoo naive Bayes on the same stratified 5-fold split, without ``duration`` (known
only after the call). Every number is computed here; the goals come from the issue."""

from __future__ import annotations

import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from tests.conftest import DATASETS

BANK = DATASETS / "uci-bank-marketing" / "bank-additional-full.csv.gz"

pytestmark = [
    pytest.mark.real,
    pytest.mark.slow,
    pytest.mark.skipif(not BANK.exists(), reason=f"dataset not found: {BANK}"),
]


def test_bank_model_beats_naive_bayes_and_is_calibrated() -> None:
    from benchmarks.predictive import evaluate, load_bank

    df = load_bank()
    assert "duration" not in df.columns and len(df) == 41188
    assert df["y"].sum() == 4640  # SOURCE.md: 11.27 % yes
    ev = evaluate(df, "y", folds=5)
    pooled = ev.metrics[ev.metrics["fold"].isna()].set_index("model")
    folds = ev.metrics[ev.metrics["fold"].notna()]
    ours, nb = pooled.loc["model"], pooled.loc["naive_bayes"]
    assert ours["rows"] == len(df)  # every contact predicted once, out of fold
    # the goals of the issue
    assert ours["roc_auc"] >= 0.80
    assert folds[folds["model"] == "model"]["roc_auc"].mean() >= 0.80
    assert ours["roc_auc"] > nb["roc_auc"]
    assert ours["ece"] <= 0.02
    assert ours["pr_auc"] > nb["pr_auc"] and ours["brier"] < nb["brier"]
    # the naive Bayes is in the range the issue quotes for it (~0.785)
    assert 0.76 < nb["roc_auc"] < 0.80
    # our metrics agree with scikit-learn on the same predictions
    p = ev.predictions
    for name in ("model", "naive_bayes"):
        assert pooled.loc[name, "roc_auc"] == pytest.approx(roc_auc_score(p["y"], p[name]))
        assert pooled.loc[name, "pr_auc"] == pytest.approx(average_precision_score(p["y"], p[name]))
        assert pooled.loc[name, "brier"] == pytest.approx(brier_score_loss(p["y"], p[name]))
