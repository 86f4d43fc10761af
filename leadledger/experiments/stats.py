"""The statistics of a test vs control comparison of two conversion rates, and sample sizes.

Everything here is plain NumPy/SciPy on counts, so it can be checked against statsmodels and
scipy line by line (``tests/experiments/test_stats.py``):

- **p-value**: the two-proportion z-test with the *pooled* standard error (the null hypothesis
  is "both groups convert at the same rate", so the rate is estimated once from both groups),
  like ``statsmodels.stats.proportion.proportions_ztest``. When any expected cell of the 2×2
  table (converted / not converted × control / test, under the pooled rate) is below 5 the
  normal approximation is poor, and Fisher's exact test (two-sided,
  ``scipy.stats.fisher_exact``) is used instead.
- **confidence interval of the absolute lift** (test rate − control rate): Wald, with the
  *unpooled* standard error (each group's own rate), like
  ``confint_proportions_2indep(method="wald")``.
- **confidence interval of the relative lift** (test rate ÷ control rate − 1): the Katz log
  interval of the risk ratio, ``exp(ln RR ± z·√(1/x_t − 1/n_t + 1/x_c − 1/n_c)) − 1``, like
  ``confint_proportions_2indep(compare="ratio", method="log")``; undefined when a group has no
  conversion.
- **sample size**: Cohen's effect size h = 2·asin√p₂ − 2·asin√p₁ and the two-sided normal power
  equation (both tails), solved for the control group's size like
  ``NormalIndPower().solve_power``, rounded up.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import optimize, stats

#: Fisher's exact test replaces the z-test when an expected cell count is below this.
MIN_EXPECTED = 5.0


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Test vs control on one stage. Rates and lifts are fractions (0.05 = 5 %); None where
    undefined (an empty group, a zero control rate)."""

    control_leads: int
    control_converted: int
    test_leads: int
    test_converted: int
    control_rate: float | None
    test_rate: float | None
    lift_abs: float | None
    lift_rel: float | None
    ci_low: float | None
    ci_high: float | None
    lift_rel_ci_low: float | None
    lift_rel_ci_high: float | None
    p_value: float | None
    #: ``z`` (pooled two-proportion z-test) or ``fisher`` (exact), None when not testable
    test_used: str | None
    significant: bool | None


def _check_counts(converted: int, leads: int, group: str) -> None:
    if leads < 0 or converted < 0 or converted > leads:
        raise ValueError(f"{group}: {converted} converted of {leads} leads is not a proportion")


def expected_counts(x_c: int, n_c: int, x_t: int, n_t: int) -> np.ndarray:
    """The 2×2 table's expected counts under the null (the pooled rate in both groups):
    rows control/test, columns converted/not converted."""
    n = n_c + n_t
    pooled = (x_c + x_t) / n if n else 0.0
    return np.array(
        [[n_c * pooled, n_c * (1 - pooled)], [n_t * pooled, n_t * (1 - pooled)]], dtype=float
    )


def needs_exact_test(x_c: int, n_c: int, x_t: int, n_t: int) -> bool:
    """Whether any expected cell count is below ``MIN_EXPECTED`` (the normal approximation of
    the z-test is then unreliable: tiny groups, or rates near 0 or 1)."""
    return bool((expected_counts(x_c, n_c, x_t, n_t) < MIN_EXPECTED).any())


def z_test(x_c: int, n_c: int, x_t: int, n_t: int) -> tuple[float, float]:
    """Two-sided two-proportion z-test with the pooled standard error: (z, p-value), z > 0 when
    the test group converts more. Both groups must be non-empty and the pooled rate strictly
    between 0 and 1."""
    p_c, p_t = x_c / n_c, x_t / n_t
    pooled = (x_c + x_t) / (n_c + n_t)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_t))
    if se == 0:
        raise ValueError("the pooled rate is 0 or 1: the z-test is undefined (use Fisher's)")
    z = (p_t - p_c) / se
    return z, float(2 * stats.norm.sf(abs(z)))


def fisher_test(x_c: int, n_c: int, x_t: int, n_t: int) -> float:
    """Two-sided p-value of Fisher's exact test on the 2×2 table."""
    table = [[x_t, n_t - x_t], [x_c, n_c - x_c]]
    return float(stats.fisher_exact(table, alternative="two-sided").pvalue)


def wald_ci(x_c: int, n_c: int, x_t: int, n_t: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wald interval (unpooled standard error) of test rate − control rate."""
    p_c, p_t = x_c / n_c, x_t / n_t
    se = math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    half = float(stats.norm.isf(alpha / 2)) * se
    diff = p_t - p_c
    return diff - half, diff + half


def relative_ci(
    x_c: int, n_c: int, x_t: int, n_t: int, alpha: float = 0.05
) -> tuple[float, float] | None:
    """Katz log interval of test rate ÷ control rate, minus 1 (a relative lift); None when a
    group has no conversion (the log of the ratio is then undefined)."""
    if x_c == 0 or x_t == 0:
        return None
    ratio = (x_t / n_t) / (x_c / n_c)
    se = math.sqrt(1 / x_t - 1 / n_t + 1 / x_c - 1 / n_c)
    half = float(stats.norm.isf(alpha / 2)) * se
    return math.exp(math.log(ratio) - half) - 1, math.exp(math.log(ratio) + half) - 1


def compare(x_c: int, n_c: int, x_t: int, n_t: int, alpha: float = 0.05) -> Comparison:
    """Everything an analyst reads off a test vs control comparison of one conversion."""
    _check_counts(x_c, n_c, "control")
    _check_counts(x_t, n_t, "test")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha {alpha} is not between 0 and 1")
    p_c = x_c / n_c if n_c else None
    p_t = x_t / n_t if n_t else None
    if p_c is None or p_t is None:  # an empty group: nothing to compare
        return Comparison(
            n_c, x_c, n_t, x_t, p_c, p_t, None, None, None, None, None, None, None, None, None
        )
    lift_abs = p_t - p_c
    lift_rel = lift_abs / p_c if p_c > 0 else None
    ci_low, ci_high = wald_ci(x_c, n_c, x_t, n_t, alpha)
    rel = relative_ci(x_c, n_c, x_t, n_t, alpha)
    if needs_exact_test(x_c, n_c, x_t, n_t):
        p_value, used = fisher_test(x_c, n_c, x_t, n_t), "fisher"
    else:
        p_value, used = z_test(x_c, n_c, x_t, n_t)[1], "z"
    return Comparison(
        control_leads=n_c,
        control_converted=x_c,
        test_leads=n_t,
        test_converted=x_t,
        control_rate=p_c,
        test_rate=p_t,
        lift_abs=lift_abs,
        lift_rel=lift_rel,
        ci_low=ci_low,
        ci_high=ci_high,
        lift_rel_ci_low=rel[0] if rel else None,
        lift_rel_ci_high=rel[1] if rel else None,
        p_value=p_value,
        test_used=used,
        significant=p_value < alpha,
    )


# -- sample size --------------------------------------------------------------------------------
def cohens_h(p_target: float, p_baseline: float) -> float:
    """Cohen's effect size for two proportions (arcsine transform): the same for 0.05 → 0.06
    and 0.50 → 0.51 only when the variance allows it, which is why it sizes tests well."""
    return 2 * math.asin(math.sqrt(p_target)) - 2 * math.asin(math.sqrt(p_baseline))


def power_two_sided(h: float, n_control: float, ratio: float, alpha: float) -> float:
    """Power of the two-sided normal test of effect size ``h`` with ``n_control`` leads in
    control and ``ratio × n_control`` in test (both rejection tails counted)."""
    nobs = 1 / (1 / n_control + 1 / (ratio * n_control))  # the effective sample size
    crit = float(stats.norm.isf(alpha / 2))
    shift = abs(h) * math.sqrt(nobs)
    return float(stats.norm.sf(crit - shift) + stats.norm.cdf(-crit - shift))


@dataclasses.dataclass(frozen=True)
class SampleSize:
    baseline: float
    target_rate: float
    effect_size_h: float
    #: exact solution of the power equation (before rounding up)
    control_exact: float
    control_leads: int
    test_leads: int

    @property
    def total_leads(self) -> int:
        return self.control_leads + self.test_leads


def sample_size(
    baseline: float,
    target: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
) -> SampleSize:
    """Leads needed per group to detect ``baseline`` → ``target`` with a two-sided test at
    ``alpha`` with the given ``power``; ``ratio`` = test leads ÷ control leads (1 for an even
    split, 9 for a 10 % holdout). Each group's size is rounded up."""
    for name, value in (("baseline", baseline), ("target rate", target)):
        if not 0 < value < 1:
            raise ValueError(f"the {name} {value:g} is not a rate strictly between 0 and 1")
    if target == baseline:
        raise ValueError("the minimum detectable effect is 0: no sample is large enough")
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError("alpha and power must be strictly between 0 and 1")
    if power <= alpha:
        raise ValueError(f"power {power:g} must be above alpha {alpha:g}")
    if ratio <= 0:
        raise ValueError(f"ratio {ratio:g} must be positive")
    h = cohens_h(target, baseline)

    def gap(n: float) -> float:
        return power_two_sided(h, n, ratio, alpha) - power

    # the power rises with n: bracket the root by doubling, then solve
    high = 2.0
    while gap(high) < 0:
        high *= 2
    exact = float(optimize.brentq(gap, 1e-9, high, xtol=1e-10, rtol=1e-14, maxiter=500))
    control = math.ceil(exact - 1e-9)
    test = math.ceil(exact * ratio - 1e-9)
    return SampleSize(baseline, target, h, exact, control, test)


def sample_ratio_p_value(control: int, test: int, control_share: float) -> float | None:
    """Sample ratio mismatch check: p-value of the chi-square goodness-of-fit test of the
    observed control/test split against ``control_share``. A tiny p-value (< 0.001) means the
    assignment or the data lost leads unevenly, and the lift cannot be trusted."""
    n = control + test
    if n == 0:
        return None
    expected = [n * control_share, n * (1 - control_share)]
    return float(stats.chisquare([control, test], f_exp=expected).pvalue)
