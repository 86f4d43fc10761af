"""Against the peers on ChannelAttribution's own example paths (Data.csv, semicolon-separated):
first/last/linear equal ChannelAttribution's heuristic_models; exact first-order Markov equals
marketing-attribution-models 2.1.1's exact Markov and lies near ChannelAttribution's simulation.

The peers are in the test extra (``pip install -e .[test]``), imported normally."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import ibis
import mam
import pandas as pd
import pytest
from ChannelAttribution import heuristic_models, markov_model

from leadledger.attribution import MODELS
from leadledger.attribution.markov import Markov, removal_effects
from leadledger.attribution.paths import JourneySet, paths_journeys, read_paths
from leadledger.attribution.runner import Credits, frame_credits_all, path_credits
from leadledger.ledger.store import in_memory
from tests.conftest import DATASETS

DATA = DATASETS / "channelattribution-paths" / "Data.csv"

pytestmark = [
    pytest.mark.real,
    pytest.mark.skipif(not DATA.is_file(), reason=f"{DATA} is missing"),
]


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(DATA, sep=";")


@pytest.fixture(scope="module")
def ours() -> dict[str, Credits]:
    """Every model that runs on paths, on Data.csv read once (the CLI's own route)."""
    notes: list[str] = []
    with in_memory() as fetch:
        got = frame_credits_all(
            fetch, read_paths(DATA), models=list(MODELS), skip_inapplicable=True, notes=notes
        )
    assert sorted(n.split()[0] for n in notes) == ["full_path", "time_decay", "w_shaped"]
    return got


@pytest.fixture(scope="module")
def heuristics(data: pd.DataFrame) -> pd.DataFrame:
    h = heuristic_models(
        data, "path", "total_conversions", var_value="total_conversion_value", flg_pro=False
    )
    return h.set_index("channel_name")


@pytest.mark.parametrize(
    ("model", "peer"),
    [("first_touch", "first_touch"), ("last_touch", "last_touch"), ("linear", "linear_touch")],
)
def test_heuristics_equal_channelattribution(model, peer, heuristics, ours):
    got = ours[model].frame.set_index("channel")
    assert set(got.index) == set(heuristics.index)
    for ch, row in heuristics.iterrows():
        assert got.loc[ch, "conversions"] == pytest.approx(row[f"{peer}_conversions"], abs=1e-6)
        assert got.loc[ch, "value"] == pytest.approx(row[f"{peer}_value"], abs=1e-6)
    # the single-model route (leadledger attribution --paths) gives the same
    with in_memory() as fetch:
        alone = path_credits(fetch, DATA, model=model)
    pd.testing.assert_frame_equal(alone.frame, ours[model].frame)


def _mam_markov(data: pd.DataFrame):
    rows = []
    for r in data.itertuples():
        if r.total_conversions > 0:
            rows.append((r.path, True, r.total_conversions, r.total_conversion_value))
        if r.total_null > 0:
            rows.append((r.path, False, r.total_null, 0.0))
    df = pd.DataFrame(rows, columns=["path", "conv", "occ", "value"])
    m = mam.MAM(
        df,
        format_type="grouped_journey",
        channels_colname="path",
        journey_with_conv_colname="conv",
        occurrences_colname="occ",
        conversion_value_colname="value",
    )
    return m.run_markov()  # transition_to_same_state=False: repeats collapsed


def _removal_effects(js: JourneySet) -> pd.DataFrame:
    con = ibis.duckdb.connect()
    counts = con.execute(Markov(order=1).transitions(js))
    return removal_effects(counts).set_index("key")


def test_markov_equals_mam_exact_markov(data, ours):
    res = _mam_markov(data)
    theirs = res.metadata["removal_effect"]["removal_effect"]
    js = paths_journeys(read_paths(DATA))
    mine = _removal_effects(js)  # the path arrays' route
    # the unnested touches' route (the one the ledger's journeys take) gives the same
    by_touches = _removal_effects(dataclasses.replace(js, arrays=None))
    pd.testing.assert_frame_equal(mine, by_touches, check_exact=False, atol=1e-12)
    assert set(mine.index) == set(theirs.index)
    for ch, re in theirs.items():
        assert mine.loc[ch, "removal_effect"] == pytest.approx(re, abs=1e-9)
    shares = theirs / theirs.sum()
    for ch, share in shares.items():
        assert mine.loc[ch, "share"] == pytest.approx(share, abs=1e-9)
    # and the credited conversions are those shares of all conversions
    credited = ours["markov"].frame.set_index("channel")
    total = data.total_conversions.sum()
    for ch, share in shares.items():
        assert credited.loc[ch, "conversions"] == pytest.approx(share * total, rel=1e-9)


def test_markov_within_001_share_of_channelattribution_simulation(data, ours):
    ca = markov_model(
        data,
        "path",
        "total_conversions",
        var_value="total_conversion_value",
        var_null="total_null",
        seed=0,
        verbose=False,
        flg_pro=False,
    ).set_index("channel_name")
    ca_share = ca.total_conversions / ca.total_conversions.sum()
    got = ours["markov"].frame.set_index("channel")
    our_share = got.conversions / got.conversions.sum()
    diff = (our_share - ca_share.reindex(our_share.index)).abs()
    assert diff.max() < 0.01, diff.sort_values().tail()


def test_every_model_sums_to_the_file_totals(data, ours):
    assert len(ours) == 9
    for model, c in ours.items():
        total = data.total_conversions.sum()
        assert c.frame.conversions.sum() == pytest.approx(total, rel=1e-9), model
        assert c.frame.value.sum() == pytest.approx(data.total_conversion_value.sum(), rel=1e-9)


def test_reading_tolerates_duplicated_paths(tmp_path: Path, data):
    """Data.csv repeats paths (5,408 distinct in 10,000 rows): rows are journeys, not keys."""
    assert data.path.nunique() < len(data)
    frame = read_paths(DATA)
    assert len(frame.paths) == len(data)
    assert frame.paths.conversions.sum() == data.total_conversions.sum()
