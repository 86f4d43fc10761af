"""Backtest and tune: ROC AUC against scikit-learn, the per-threshold table and the deciles
against a plain-pandas recount, the recommendation rule, and clear errors when there is none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from leadledger.errors import InvalidArgument, NotEnoughHistory
from leadledger.reports.common import as_of_instant
from leadledger.reports.scoring import BacktestParams, TuneParams
from leadledger.scoring import backtest as bt


@given(
    st.lists(st.tuples(st.integers(-3, 3), st.booleans()), min_size=2, max_size=60).filter(
        lambda xs: 0 < sum(y for _, y in xs) < len(xs)
    )
)
@settings(max_examples=60, deadline=None)
def test_auc_with_ties_is_sklearns(pairs: list[tuple[int, bool]]) -> None:
    scores = np.array([s for s, _ in pairs], dtype=float)
    labels = np.array([y for _, y in pairs])
    assert bt.auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))


def test_auc_undefined_for_one_class() -> None:
    assert bt.auc([1.0, 2.0], [True, True]) is None


def test_threshold_grid_is_round_and_includes_the_configured_threshold() -> None:
    grid = bt.threshold_grid(np.array([-12.0, 3.0, 71.3]), include=[50.0])
    assert grid[0] == -15 and grid[-1] == 70 and 50.0 in grid
    assert np.allclose(np.diff(grid), 5)
    assert bt.threshold_grid(np.array([0.0, 3.0]), step=1) == [0, 1, 2, 3]


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from leadledger.demo import build_project, generate_company, write_company

    folder = tmp_path_factory.mktemp("company")
    c = generate_company(leads=3000, seed=11)
    files = write_company(c, folder, "parquet")
    build_project(folder, company=c, files=files).close()
    return folder


@pytest.fixture
def ws(company: Path) -> Any:
    from leadledger.service import Workspace

    with Workspace(company) as ws:
        yield ws


def _population(ws: Any, as_of: str, window: float = 90) -> pd.DataFrame:
    expr = bt.population(
        ws.store.tables(),
        ws.cfg,
        ws.cfg.scoring,
        as_of=as_of_instant(ws.ctx, as_of),
        outcome="sql",
        window_days=window,
        cohort_days=window,
    )
    return ws.store.execute(expr)


def test_backtest_matches_an_independent_recount(ws: Any) -> None:
    rep = ws.run(BacktestParams(as_of="2026-05-31", outcome="sql", window="90d"))
    pop = _population(ws, "2026-05-31")
    elig = pop[pop["eligible"]]
    assert rep.params["roc_auc"] == pytest.approx(roc_auc_score(elig["converted"], elig["score"]))
    assert rep.params["roc_auc"] > 0.6  # the default rules rank synthetic leads usefully
    table = rep.frame.set_index("threshold")
    for t in (0.0, 25.0, 50.0):
        row = table.loc[t]
        over = elig[elig["score"] >= t]
        assert row["leads_over"] == len(over)
        assert row["converted_over"] == int(over["converted"].sum())
        assert row["precision"] == pytest.approx(over["converted"].mean())
        assert row["recall"] == pytest.approx(over["converted"].sum() / elig["converted"].sum())
        vol = int((pop["score"] >= t).sum())
        assert row["mqls_per_month"] == pytest.approx(vol * 365.25 / 12 / 90)
        assert row["mqls_per_working_day"] == pytest.approx(vol / rep.params["working_days"])
        dec = pop[(pop["score"] >= t) & pop["decision"].notna()]
        if len(dec):
            assert row["acceptance_rate"] == pytest.approx((dec["decision"] == "accepted").mean())
    # working days of the 90-day cohort: the project calendar's
    start, end = rep.params["cohort_from"], rep.params["cohort_to"]
    assert rep.params["working_days"] == ws.calendar.working_days(start, end)
    deciles = rep.extra["deciles"][1]
    assert deciles["leads"].sum() == len(elig)
    assert deciles["converted"].sum() == elig["converted"].sum()
    assert deciles["cumulative_recall"].iloc[-1] == pytest.approx(1.0)
    assert deciles["min_score"].is_monotonic_decreasing


def test_default_as_of_leaves_the_window_observed(ws: Any) -> None:
    rep = ws.run(BacktestParams())
    assert any("--as-of defaults to 90 days before" in n for n in rep.notes)


def test_tune_by_capacity_is_the_lowest_threshold_within_it(ws: Any) -> None:
    rep = ws.run(TuneParams(capacity=60, as_of="2026-05-31"))
    best = rep.frame.iloc[0]
    trade = rep.extra["tradeoff"][1]
    assert best["mqls_per_month"] <= 60
    lower = trade[trade["threshold"] < best["threshold"]]
    assert (lower["mqls_per_month"] > 60).all()
    assert (
        best["conversion_rate"] == trade.set_index("threshold").loc[best["threshold"], "precision"]
    )


def test_tune_by_acceptance(ws: Any) -> None:
    rep = ws.run(TuneParams(target_acceptance=0.5, as_of="2026-05-31"))
    best = rep.frame.iloc[0]
    assert best["acceptance_rate"] >= 0.5
    trade = rep.extra["tradeoff"][1]
    lower = trade[trade["threshold"] < best["threshold"]]
    assert not (pd.to_numeric(lower["acceptance_rate"]) >= 0.5).any()


def test_tune_without_an_answer_is_a_clear_error(ws: Any) -> None:
    with pytest.raises(NotEnoughHistory, match=r"no threshold reaches 0\.001 MQLs per month"):
        ws.run(TuneParams(capacity=0.001, as_of="2026-05-31"))
    with pytest.raises(InvalidArgument):
        ws.run(TuneParams())
    with pytest.raises(InvalidArgument):
        ws.run(TuneParams(target_acceptance=1.5))
