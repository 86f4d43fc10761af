"""Shapley attribution: each converting journey's value split by the Shapley values of its keys.

The game (after Dalessandro et al. 2012; the convention of ``marketing-attribution-models``):
the worth of a set S of keys is the conversion rate of the journeys whose distinct keys are
exactly S, ``v(S) = conversions(S) / (conversions(S) + nulls(S))`` (0 for a set no journey has).
For a converting journey with distinct keys T, the Shapley value of each key i in T is
``φ_i = Σ_{S ⊆ T∖{i}} |S|! (|T|−|S|−1)! / |T|! · (v(S ∪ {i}) − v(S))`` and the journey's conversions
(value) are split in proportion to φ (they sum to v(T) > 0, so the split is defined; a key
whose presence lowers the rate gets a negative φ, hence a negative credit).

Exact for journeys with up to ``exact_limit`` (15) distinct keys: the sum runs over the coalition
values of the subsets of T. Above that, ``samples`` random orders of T estimate φ (mean of the
marginal contributions), with a standard error; the marginal contributions of one order sum to
v(T), so the credits still sum to the converted value exactly.
"""

from __future__ import annotations

import dataclasses
import math

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from leadledger.attribution.heuristic import Model
from leadledger.attribution.paths import JourneySet

SET_SEP = "\x1f"


@dataclasses.dataclass
class ShapleyResult:
    frame: pd.DataFrame  # key, conversions, value, std_error (of credited conversions)
    sampled_journeys: float
    samples: int


class Shapley(Model):
    name = "shapley"
    summary = "Shapley value of each channel in the journey's coalition game (conversion rates)"
    needs_nulls = True
    may_be_negative = True

    def __init__(self, exact_limit: int = 15, samples: int = 2000, seed: int = 0) -> None:
        self.exact_limit = int(exact_limit)
        self.samples = int(samples)
        self.seed = int(seed)

    def coalitions(self, js: JourneySet) -> ir.Table:
        """Journeys grouped by their set of distinct keys. Columns: keys (sorted, joined),
        conversions, value, nulls."""
        if js.arrays is not None:  # aggregated paths: each row's own set, no unnesting
            a = js.arrays
            j = a.select(
                keys=a["keys"].unique().sort().join(SET_SEP),
                conversions=a.conversions,
                value=a.value,
                nulls=a.nulls,
            )
            return j.group_by("keys").agg(
                conversions=j.conversions.sum(), value=j.value.sum(), nulls=j.nulls.sum()
            )
        t = js.touches
        per = t.group_by("journey_id").agg(keys=t.key.collect(distinct=True).sort().join(SET_SEP))
        j = js.journeys.join(per, "journey_id")
        return j.group_by("keys").agg(
            conversions=j.conversions.sum(), value=j.value.sum(), nulls=j.nulls.sum()
        )

    def solve(self, sets: pd.DataFrame) -> ShapleyResult:
        return shapley_credits(
            sets, exact_limit=self.exact_limit, samples=self.samples, seed=self.seed
        )


def _weights(n: int) -> tuple[np.ndarray, np.ndarray]:
    """w_in[s] = (s−1)!(n−s)!/n! (key in S of size s), w_out[s] = s!(n−s−1)!/n! (key not in S)."""
    f = math.factorial
    w_in = np.array([f(s - 1) * f(n - s) / f(n) if s >= 1 else 0.0 for s in range(n + 1)])
    w_out = np.array([f(s) * f(n - s - 1) / f(n) if s <= n - 1 else 0.0 for s in range(n + 1)])
    return w_in, w_out


def shapley_values(
    members: list[int], worth: dict[frozenset[int], float], subsets: list[frozenset[int]]
) -> np.ndarray:
    """Exact φ of the keys ``members`` in the game ``worth`` restricted to subsets of them
    (``subsets``: the sets with a non-zero worth that are subsets of the members)."""
    n = len(members)
    w_in, w_out = _weights(n)
    phi = np.zeros(n)
    for s in subsets:
        v = worth[s]
        size = len(s)
        for i, m in enumerate(members):
            phi[i] += v * w_in[size] if m in s else -v * w_out[size]
    return phi


def sampled_values(
    members: list[int], worth: dict[frozenset[int], float], samples: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """φ estimated from random orders: mean and standard error of the marginal contributions."""
    n = len(members)
    contrib = np.zeros((samples, n))
    for k in range(samples):
        order = rng.permutation(n)
        coalition: set[int] = set()
        before = 0.0
        for i in order:
            coalition.add(members[i])
            after = worth.get(frozenset(coalition), 0.0)
            contrib[k, i] = after - before
            before = after
    return contrib.mean(axis=0), contrib.std(axis=0, ddof=1) / math.sqrt(samples)


def shapley_credits(
    sets: pd.DataFrame, *, exact_limit: int = 15, samples: int = 2000, seed: int = 0
) -> ShapleyResult:
    """Credits per key from journeys grouped by key set (columns keys, conversions, value,
    nulls). Columns of the result: key, conversions, value, std_error."""
    names = sorted({k for s in sets["keys"] for k in str(s).split(SET_SEP)})
    index = {k: i for i, k in enumerate(names)}
    agg: dict[frozenset[int], list[float]] = {}
    columns = (sets[c].astype("float64").tolist() for c in ("conversions", "value", "nulls"))
    for keys, c, v, n in zip(sets["keys"].tolist(), *columns, strict=True):
        coal = frozenset(index[k] for k in str(keys).split(SET_SEP))
        acc = agg.setdefault(coal, [0.0, 0.0, 0.0])
        acc[0] += c
        acc[1] += v
        acc[2] += n
    worth: dict[frozenset[int], float] = {s: c / (c + n) for s, (c, _v, n) in agg.items() if c > 0}
    observed = list(worth)
    rng = np.random.default_rng(seed)
    conv = np.zeros(len(names))
    value = np.zeros(len(names))
    var = np.zeros(len(names))
    sampled = 0.0
    for s, (n_conv, n_value, _nulls) in agg.items():
        if n_conv <= 0:
            continue
        members: list[int] = sorted(s)
        if len(members) <= exact_limit:
            subsets = [x for x in observed if x <= s]
            phi = shapley_values(members, worth, subsets)
            se = np.zeros(len(members))
        else:
            phi, se = sampled_values(members, worth, samples, rng)
            sampled += n_conv
        total = phi.sum()  # = v(T) > 0
        share = phi / total
        conv[members] += share * n_conv
        value[members] += share * n_value
        var[members] += (se / total * n_conv) ** 2
    frame = pd.DataFrame(
        {"key": names, "conversions": conv, "value": value, "std_error": np.sqrt(var)}
    )
    return ShapleyResult(frame=frame, sampled_journeys=sampled, samples=samples)
