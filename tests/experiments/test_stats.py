"""The experiment statistics against scipy and statsmodels, including the edge cases: no
conversions, identical groups, tiny groups (Fisher), rates near 1, an empty group."""

from __future__ import annotations

import math

import pytest
from scipy import stats as sps
from scipy.stats.contingency import expected_freq
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_effectsize,
    proportions_ztest,
)

from leadledger.experiments import stats

#: (control converted, control leads, test converted, test leads, the test that must be used)
CASES = [
    (120, 2000, 150, 2000, "z"),
    (30, 200, 20, 210, "z"),
    (50, 1000, 50, 1000, "z"),  # identical groups
    (0, 1000, 10, 1000, "z"),  # no control conversion; expected cells exactly 5
    (3, 1000, 12, 1000, "z"),
    (812, 10_000, 901, 10_000, "z"),
    (0, 500, 0, 500, "fisher"),  # nobody converts
    (1, 8, 4, 9, "fisher"),  # tiny groups
    (500, 500, 499, 500, "fisher"),  # nearly everyone converts
    (1, 40, 4, 35, "fisher"),
    (2, 40, 9, 35, "z"),  # smallest expected cell 5.13: just above the bar
    (0, 3, 3, 3, "fisher"),
]


def ids(case: tuple) -> str:
    return "{}/{} vs {}/{}".format(*case[:4])


@pytest.mark.parametrize("case", CASES, ids=[ids(c) for c in CASES])
def test_compare_matches_scipy_and_statsmodels(case: tuple) -> None:
    x_c, n_c, x_t, n_t, used = case
    r = stats.compare(x_c, n_c, x_t, n_t)
    # the rule: Fisher when an expected cell count (under the pooled rate) is below 5
    table = [[x_t, n_t - x_t], [x_c, n_c - x_c]]
    assert (expected_freq(table).min() < 5) == (used == "fisher")
    assert r.test_used == used
    assert r.control_rate == pytest.approx(x_c / n_c)
    assert r.test_rate == pytest.approx(x_t / n_t)
    assert r.lift_abs == pytest.approx(x_t / n_t - x_c / n_c)
    if used == "z":
        _z, p = proportions_ztest([x_t, x_c], [n_t, n_c])
        assert r.p_value == pytest.approx(p, rel=1e-9)
    else:
        assert r.p_value == pytest.approx(sps.fisher_exact(table).pvalue, rel=1e-12)
    low, high = confint_proportions_2indep(x_t, n_t, x_c, n_c, method="wald", compare="diff")
    assert (r.ci_low, r.ci_high) == (pytest.approx(low, abs=1e-12), pytest.approx(high, abs=1e-12))
    assert r.significant == (r.p_value < 0.05)
    if x_c and x_t:
        rlow, rhigh = confint_proportions_2indep(x_t, n_t, x_c, n_c, method="log", compare="ratio")
        assert r.lift_rel_ci_low == pytest.approx(rlow - 1, rel=1e-9)
        assert r.lift_rel_ci_high == pytest.approx(rhigh - 1, rel=1e-9)
        assert r.lift_rel == pytest.approx((x_t / n_t) / (x_c / n_c) - 1)
    else:  # the log of the ratio is undefined
        assert r.lift_rel_ci_low is None and r.lift_rel_ci_high is None
        if x_c == 0:
            assert r.lift_rel is None


def test_identical_groups_have_no_lift_and_p_one() -> None:
    r = stats.compare(50, 1000, 50, 1000)
    assert r.lift_abs == 0 and r.lift_rel == 0
    assert r.p_value == pytest.approx(1.0)
    assert r.ci_low == pytest.approx(-r.ci_high)
    assert r.significant is False


def test_no_conversions_at_all_is_fisher_with_p_one() -> None:
    r = stats.compare(0, 500, 0, 500)
    assert (r.test_used, r.p_value, r.lift_abs, r.lift_rel) == ("fisher", 1.0, 0.0, None)
    assert (r.ci_low, r.ci_high) == (0.0, 0.0)


def test_a_clear_effect_is_significant() -> None:
    r = stats.compare(500, 10_000, 650, 10_000)
    assert r.test_used == "z" and r.significant and r.p_value < 1e-4
    assert r.ci_low > 0  # the interval excludes 0 too


def test_an_empty_group_is_not_compared() -> None:
    r = stats.compare(0, 0, 3, 10)
    assert r.control_rate is None and r.test_rate == pytest.approx(0.3)
    assert (r.lift_abs, r.p_value, r.test_used, r.significant) == (None, None, None, None)


def test_alpha_sets_the_interval_level() -> None:
    r90 = stats.compare(120, 2000, 150, 2000, alpha=0.10)
    low, high = confint_proportions_2indep(150, 2000, 120, 2000, method="wald", alpha=0.10)
    assert (r90.ci_low, r90.ci_high) == (pytest.approx(low), pytest.approx(high))


@pytest.mark.parametrize("bad", [(-1, 10, 1, 10), (11, 10, 1, 10), (1, 10, 1, -1)])
def test_impossible_counts_are_refused(bad: tuple) -> None:
    with pytest.raises(ValueError):
        stats.compare(*bad)


# -- sample size ----------------------------------------------------------------------------------
SIZES = [
    # baseline, target, alpha, power, ratio (test ÷ control)
    (0.05, 0.06, 0.05, 0.8, 1.0),
    (0.05, 0.055, 0.05, 0.8, 1.0),
    (0.10, 0.08, 0.05, 0.8, 1.0),  # a decrease
    (0.20, 0.25, 0.05, 0.9, 1.0),
    (0.02, 0.03, 0.01, 0.8, 1.0),
    (0.50, 0.52, 0.10, 0.8, 1.0),
    (0.05, 0.06, 0.05, 0.8, 9.0),  # a 10 % holdout
    (0.30, 0.40, 0.05, 0.8, 3.0),
]


@pytest.mark.parametrize("case", SIZES, ids=[str(c) for c in SIZES])
def test_sample_size_matches_statsmodels(case: tuple) -> None:
    baseline, target, alpha, power, ratio = case
    expected = NormalIndPower().solve_power(
        effect_size=proportion_effectsize(target, baseline),
        alpha=alpha,
        power=power,
        ratio=ratio,
        alternative="two-sided",
    )
    got = stats.sample_size(baseline, target, alpha=alpha, power=power, ratio=ratio)
    assert got.control_exact == pytest.approx(expected, rel=1e-6)
    assert got.control_leads == math.ceil(expected)
    assert got.test_leads == math.ceil(expected * ratio)
    assert got.effect_size_h == pytest.approx(proportion_effectsize(target, baseline))


def test_sample_size_of_the_issue_example() -> None:
    # baseline 5 %, +1 point, 80 % power, alpha 0.05: 8,143 per group (statsmodels: 8142.6)
    got = stats.sample_size(0.05, 0.06)
    assert (got.control_leads, got.test_leads, got.total_leads) == (8143, 8143, 16286)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"baseline": 0.05, "target": 0.05},
        {"baseline": 0.0, "target": 0.05},
        {"baseline": 0.95, "target": 1.0},
        {"baseline": 0.05, "target": 0.06, "power": 0.01},
    ],
)
def test_impossible_sizes_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        stats.sample_size(**kwargs)


def test_sample_ratio_check() -> None:
    # 13 control of 40 against 50 %: chi-square = 2 × (13 − 20)² / 20 = 4.9, 1 degree of freedom
    p = stats.sample_ratio_p_value(13, 27, 0.5)
    assert p == pytest.approx(sps.chi2.sf(4.9, 1))
    assert stats.sample_ratio_p_value(100, 900, 0.1) == pytest.approx(1.0)
    assert stats.sample_ratio_p_value(0, 0, 0.5) is None
