"""The Odoo naive Bayes baseline against probabilities computed by hand from its formula."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from leadledger.scoring.naive_bayes import OdooNaiveBayes

# 3 won, 3 lost. country: ES won 2 / lost 1, FR won 1 / lost 1, (missing) lost 1.
# source: ads won 0 / lost 2, seo won 3 / lost 1.
TRAIN = pd.DataFrame(
    {
        "country": ["ES", "ES", "FR", "ES", "FR", None],
        "source": ["seo", "seo", "seo", "ads", "ads", "seo"],
    }
)
Y = [1, 1, 1, 0, 0, 0]


def by_hand(country: str | None, source: str | None) -> float:
    """Odoo: counts + 0.1; P(value | won) over the field's own won total; prior won/total."""
    won = {"country": {"ES": 2.1, "FR": 1.1}, "source": {"ads": 0.1, "seo": 3.1}}
    lost = {"country": {"ES": 1.1, "FR": 1.1}, "source": {"ads": 2.1, "seo": 1.1}}
    s_won, s_lost = 3 / 6, 3 / 6
    for field, value in (("country", country), ("source", source)):
        if value is None or value not in won[field]:
            continue  # an empty or unseen value adds no factor
        s_won *= won[field][value] / sum(won[field].values())
        s_lost *= lost[field][value] / sum(lost[field].values())
    return s_won / (s_won + s_lost)


@pytest.mark.parametrize(
    ("country", "source"),
    [("ES", "seo"), ("FR", "ads"), (None, "seo"), ("DE", "ads"), ("ES", None), (None, None)],
)
def test_probability_is_odoo_formula(country: str | None, source: str | None) -> None:
    nb = OdooNaiveBayes().fit(TRAIN, Y)
    got = nb.predict_proba(pd.DataFrame({"country": [country], "source": [source]}))[0]
    assert got == pytest.approx(by_hand(country, source), abs=1e-12)


def test_smoothing_keeps_a_never_won_value_above_zero() -> None:
    nb = OdooNaiveBayes().fit(TRAIN, Y)
    p = nb.predict_proba(pd.DataFrame({"country": [None], "source": ["ads"]}))[0]
    # ads: P(ads|won) = 0.1/3.2, P(ads|lost) = 2.1/3.2 → 0.1 / 2.2
    assert p == pytest.approx(0.1 / 2.2)
    assert p > 0


def test_clipped_like_odoo() -> None:
    x = pd.DataFrame({"f": ["a"] * 50 + ["b"] * 50})
    y = [1] * 50 + [0] * 50
    p = OdooNaiveBayes().fit(x, y).predict_proba(pd.DataFrame({"f": ["a", "b"]}))
    # a: won 50.1 / 50.2, lost 0.1 / 50.2 → 0.998; stays inside [0.0001, 0.9999]
    assert p[0] == pytest.approx(50.1 / 50.2)
    assert p.min() >= 0.0001 and p.max() <= 0.9999


def test_numeric_fields_are_cut_into_training_deciles() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 100, 1000)
    y = (x > 50).astype(int)  # the outcome follows the number
    nb = OdooNaiveBayes().fit(pd.DataFrame({"x": x}), y)
    assert len(nb.edges["x"]) == 9
    p = nb.predict_proba(pd.DataFrame({"x": [5.0, 95.0, math.nan]}))
    assert p[0] < 0.01 and p[1] > 0.99
    assert p[2] == pytest.approx(y.mean())  # missing: the prior only
