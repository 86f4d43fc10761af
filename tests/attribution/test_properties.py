"""Invariants over random journeys: credits sum to the converted value and conversions, no
negative credits (except Shapley's), exact Markov equals an independent dense implementation,
exact Shapley equals a brute-force average over every order, and sampled Shapley lies within
its stated error of the exact values."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import ibis
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadledger.attribution import MODELS, get_model
from leadledger.attribution.paths import PathsFrame, paths_frame, paths_journeys
from leadledger.attribution.runner import (
    frame_credits,
    frame_credits_all,
    model_settings,
    run_models,
)
from leadledger.attribution.shapley import SET_SEP, shapley_credits
from leadledger.errors import ImportFileError
from tests.attribution.test_stories import dense_markov_shares

CHANNELS = ["a", "b", "c", "d", "e"]

journey = st.tuples(
    st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=6),
    st.integers(0, 5),  # conversions
    st.integers(0, 5),  # nulls
    st.floats(0, 1000, allow_nan=False),  # value per conversion
)


def frame_of(journeys: list[tuple[list[str], int, int, float]]) -> PathsFrame:
    """Paths as a paths file has them (``a > b``), one row per journey, checked."""
    return paths_frame(
        pd.DataFrame(
            {
                "path": [" > ".join(p) for p, _, _, _ in journeys],
                "total_conversions": [c for _, c, _, _ in journeys],
                "total_conversion_value": [c * v for _, c, _, v in journeys],
                "total_null": [n for _, _, n, _ in journeys],
            }
        )
    )


#: One in-memory DuckDB for every example (a connection per example costs more than the check).
CON = ibis.duckdb.connect()
PATH_MODELS = [m for m, cls in MODELS.items() if not (cls.needs_milestones or cls.needs_times)]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(journey, min_size=1, max_size=8).filter(lambda js: any(c for _, c, _, _ in js)))
def test_every_model_sums_to_the_converted_value(journeys):
    frame = frame_of(journeys)
    conv = sum(c for _, c, _, _ in journeys)
    value = sum(c * v for _, c, _, v in journeys)
    got = frame_credits_all(
        CON.execute, frame, models=PATH_MODELS, settings=model_settings(None, order=2)
    )
    for model, c in got.items():
        assert c.frame.conversions.sum() == pytest.approx(conv, rel=1e-9, abs=1e-9), model
        assert c.frame.value.sum() == pytest.approx(value, rel=1e-9, abs=1e-6), model
        if not MODELS[model].may_be_negative:
            assert (c.frame.conversions >= -1e-12).all(), model
            assert (c.frame.value >= -1e-9).all(), model


@settings(max_examples=15, deadline=None)
@given(st.lists(journey, min_size=1, max_size=8).filter(lambda js: any(c for _, c, _, _ in js)))
def test_markov_order_1_equals_a_dense_numpy_solve(journeys):
    frame = frame_of(journeys)
    c = frame_credits(CON.execute, frame, model="markov").frame.set_index("channel")
    shares = dense_markov_shares([(p, float(cv), float(n)) for p, cv, n, _ in journeys])
    conv = sum(cv for _, cv, _, _ in journeys)
    for ch, share in shares.items():  # a channel only in weightless journeys gets nothing
        got = c.loc[ch, "conversions"] if ch in c.index else 0.0
        assert got == pytest.approx(share * conv, abs=1e-9)


@settings(max_examples=6, deadline=None)
@given(st.lists(journey, min_size=1, max_size=8).filter(lambda js: any(c for _, c, _, _ in js)))
def test_path_arrays_and_unnested_touches_give_the_same_credits(journeys):
    """Aggregated paths take array shortcuts (first/last element, unnest without positions,
    the path beside itself shifted for Markov); the ledger's journeys take the numbered
    touches. Both routes must credit alike."""
    js = paths_journeys(frame_of(journeys))
    models = [get_model(m) for m in ("first_touch", "last_touch", "linear", "markov", "shapley")]
    arrays, _, _ = run_models(CON.execute, js, models, by="channel")
    touches, _, _ = run_models(CON.execute, replace(js, arrays=None), models, by="channel")
    for m in arrays:
        a = arrays[m].frame.set_index("channel").sort_index()
        b = touches[m].frame.set_index("channel").sort_index()
        pd.testing.assert_frame_equal(a, b, check_exact=False, atol=1e-9, obj=m)


def test_paths_are_normalised_and_checked():
    spaced = paths_frame(
        pd.DataFrame(
            {
                "path": ["a > b", " a>b ", "paid search >  e-mail", "a\t>\tb > a"],
                "total_conversions": [1, 2, 3, 4],
            }
        )
    )
    assert spaced.paths.path.tolist() == ["a>b", "a>b", "paid search>e-mail", "a>b>a"]
    assert spaced.paths.value.tolist() == [1.0, 2.0, 3.0, 4.0]  # no value column: the count
    assert spaced.paths.nulls.tolist() == [0.0] * 4
    for bad, row in ((["a > b", "a > > b"], 2), (["a >b", ">a"], 2), (["a", " "], 2)):
        with pytest.raises(ImportFileError, match=f"row {row}, column 'path'"):
            paths_frame(pd.DataFrame({"path": bad, "total_conversions": [1, 1]}))
    with pytest.raises(ImportFileError, match="row 1, column 'total_null'"):
        paths_frame(pd.DataFrame({"path": ["a"], "total_conversions": [1], "total_null": [-1]}))


def brute_shapley(members: list[str], worth: dict[frozenset[str], float]) -> dict[str, float]:
    """φ as the average marginal contribution over every order (n! of them)."""
    phi = dict.fromkeys(members, 0.0)
    orders = list(itertools.permutations(members))
    for order in orders:
        seen: set[str] = set()
        for m in order:
            before = worth.get(frozenset(seen), 0.0)
            seen.add(m)
            phi[m] += worth.get(frozenset(seen), 0.0) - before
    return {m: v / len(orders) for m, v in phi.items()}


def sets_frame(rows: list[tuple[frozenset[str], float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "keys": [SET_SEP.join(sorted(s)) for s, _, _, _ in rows],
            "conversions": [c for _, c, _, _ in rows],
            "value": [v for _, _, v, _ in rows],
            "nulls": [n for _, _, _, n in rows],
        }
    )


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.frozensets(st.sampled_from(CHANNELS[:4]), min_size=1),
            st.integers(0, 6),
            st.integers(0, 6),
        ),
        min_size=1,
        max_size=10,
    ).filter(lambda rows: any(c for _, c, _ in rows))
)
def test_exact_shapley_equals_brute_force(rows):
    sets = sets_frame([(s, float(c), 10.0 * c, float(n)) for s, c, n in rows])
    agg: dict[frozenset[str], list[float]] = {}
    for s, c, n in rows:
        a = agg.setdefault(s, [0.0, 0.0])
        a[0] += c
        a[1] += n
    worth = {s: c / (c + n) for s, (c, n) in agg.items() if c > 0}
    want: dict[str, float] = {}
    for s, (c, _n) in agg.items():
        if c <= 0:
            continue
        phi = brute_shapley(sorted(s), worth)
        total = sum(phi.values())
        for m, v in phi.items():
            want[m] = want.get(m, 0.0) + v / total * c
    got = shapley_credits(sets).frame.set_index("key")
    for m, v in want.items():
        assert got.loc[m, "conversions"] == pytest.approx(v, abs=1e-9)
        assert got.loc[m, "value"] == pytest.approx(10 * v, abs=1e-7)


def test_sampled_shapley_within_its_stated_error():
    """18 channels: one big converting journey plus every sub-journey of a few sizes."""
    rng = np.random.default_rng(7)
    names = [f"ch{i:02d}" for i in range(18)]
    rows: list[tuple[frozenset[str], float, float, float]] = [
        (frozenset(names), 40.0, 4000.0, 60.0)
    ]
    for _ in range(300):
        k = int(rng.integers(1, 17))
        s = frozenset(rng.choice(names, size=k, replace=False).tolist())
        c = float(rng.integers(0, 5))
        rows.append((s, c, 100.0 * c, float(rng.integers(1, 8))))
    sets = sets_frame(rows)
    exact = shapley_credits(sets, exact_limit=64).frame.set_index("key")
    sampled = shapley_credits(sets, exact_limit=15, samples=3000, seed=1)
    assert sampled.sampled_journeys == sum(c for m, c, _, _ in rows if len(m) > 15)
    est = sampled.frame.set_index("key")
    assert est.conversions.sum() == pytest.approx(exact.conversions.sum(), rel=1e-12)
    z = (est.conversions - exact.conversions).abs() / est.std_error.clip(lower=1e-12)
    assert (est.std_error > 0).all()
    assert z.max() < 4.5, z.sort_values().tail()
    # the error is stated for the sampled part only, so it is small against the credits
    assert (est.std_error < 0.05 * est.conversions.abs().max()).all()


def test_shapley_of_a_single_journey_kind_is_even():
    sets = sets_frame([(frozenset({"a", "b"}), 4.0, 400.0, 4.0)])
    got = shapley_credits(sets).frame.set_index("key")
    assert got.conversions.to_dict() == {"a": 2.0, "b": 2.0}
    assert math.isclose(got.value.sum(), 400.0)
