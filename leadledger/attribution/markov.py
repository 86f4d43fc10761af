"""Data-driven Markov attribution of order k, computed exactly (no simulation).

The engine counts transitions between states (an Ibis expression); NumPy/SciPy solve the
absorbing chain:

- states: ``(start)``, the last-k-keys tuples seen in journeys, and the absorbing
  ``(conversion)`` and ``(null)``. A journey ``a > b > c`` that converted once and ended twice
  without converting adds 3 to start→a, a→b, b→c and 1 to c→(conversion), 2 to c→(null)
  (order 1). With ``collapse=True`` (the default) consecutive repeats of a key are one touch
  first (``a > a > b`` is ``a > b``); that is what ``marketing-attribution-models`` does
  (``transition_to_same_state=False``) and what ChannelAttribution's estimates agree with.
- P(conversion) = the probability of absorption in ``(conversion)`` from ``(start)``: the solution
  of ``(I − Q) x = r`` (Q: transient-to-transient probabilities, r: transient-to-conversion).
- removing a key sends every transition into a state that contains it to ``(null)``; its
  **removal effect** is ``1 − P(conversion | key removed) / P(conversion)``.
- credits: the removal effects normalised to sum to 1 are each key's share; a key's credited
  conversions (value) are its share of all conversions (value) of the journeys.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from leadledger.attribution.heuristic import Model
from leadledger.attribution.paths import JourneySet

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"
#: Joins the keys of an order-k state (a character no channel name holds).
STATE_SEP = "\x1f"


class Markov(Model):
    name = "markov"
    summary = "removal effect in the absorbing Markov chain of order k (exact)"
    needs_nulls = True

    def __init__(self, order: int = 1, collapse: bool = True) -> None:
        self.order = int(order)
        self.collapse = bool(collapse)

    def transitions(self, js: JourneySet) -> ir.Table:
        """Transition counts. Columns: src, dst, count (states as strings)."""
        return transitions(js, order=self.order, collapse=self.collapse)

    def solve(self, counts: pd.DataFrame) -> pd.DataFrame:
        """Removal effects and shares per key. Columns: key, removal_effect, share."""
        return removal_effects(counts)

    def credit_frame(self, counts: pd.DataFrame, conversions: float, value: float) -> pd.DataFrame:
        re = self.solve(counts)
        return pd.DataFrame(
            {
                "key": re["key"],
                "conversions": re["share"] * conversions,
                "value": re["share"] * value,
                "removal_effect": re["removal_effect"],
            }
        )


def transitions(js: JourneySet, *, order: int = 1, collapse: bool = True) -> ir.Table:
    """Transition counts (src, dst, count). Order 1 pairs each touch with the next one: on
    aggregated paths by unnesting the path and the path shifted by one side by side, on the
    ledger by a join on position + 1 (no window); higher orders build their states with
    windows."""
    if order == 1 and js.arrays is not None:
        return _first_order_arrays(js.arrays, collapse=collapse)
    j = js.journeys.filter((js.journeys.conversions + js.journeys.nulls) > 0)
    j = j.select("journey_id", "conversions", "nulls", "n")
    t = js.touches.select("journey_id", "pos", "key").join(j, "journey_id")
    if order == 1:
        return _first_order(js, t, collapse=collapse)
    w = ibis.window(group_by=t.journey_id, order_by=t.pos)
    if collapse:
        t = t.mutate(_prev=t.key.lag().over(w))
        t = t.filter(t._prev.isnull() | (t._prev != t.key)).drop("_prev")
        w = ibis.window(group_by=t.journey_id, order_by=t.pos)
    state: ir.StringValue = t.key
    for i in range(1, order):
        earlier = t.key.lag(i).over(w)
        state = (earlier + STATE_SEP).coalesce("") + state
    t = t.mutate(state=state)
    w = ibis.window(group_by=t.journey_id, order_by=t.pos)
    t = t.mutate(
        src=t.state.lag().over(w).coalesce(START),
        _last=t.state.lead().over(w).isnull(),
    )
    steps = t.select(src=t.src, dst=t.state, count=(t.conversions + t.nulls).cast("float64"))
    ends = t.filter(t._last)
    return _counted(
        steps, ends.select(key=ends.state, conversions=ends.conversions, nulls=ends.nulls)
    )


def _first_order(js: JourneySet, t: ir.Table, *, collapse: bool) -> ir.Table:
    """Order 1: start → the first touch, each touch → the next (a join on position + 1; with
    ``collapse`` a step to the same key is no step: ``a > a > b`` is ``a > b``), the last touch
    → (conversion) / (null)."""
    nxt = js.touches.select(_j=js.touches.journey_id, _p=js.touches.pos - 1, dst=js.touches.key)
    pairs = t.join(nxt, (t.journey_id == nxt._j) & (t.pos == nxt._p))
    if collapse:
        pairs = pairs.filter(pairs.key != pairs.dst)
    steps = pairs.select(
        src=pairs.key, dst=pairs.dst, count=(pairs.conversions + pairs.nulls).cast("float64")
    )
    first = t.filter(t.pos == 1)
    starts = first.select(
        src=ibis.literal(START),
        dst=first.key,
        count=(first.conversions + first.nulls).cast("float64"),
    )
    ends = t.filter(t.pos == t.n)
    steps = steps.union(starts, distinct=False)
    return _counted(steps, ends.select("key", "conversions", "nulls"))


def _first_order_arrays(a: ir.Table, *, collapse: bool) -> ir.Table:
    """Order 1 on path arrays: ``[(start), a, b]`` and ``[a, b, c]`` unnested in step give
    every step of ``a > b > c`` (two unnests in one projection run side by side on DuckDB and
    PostgreSQL alike)."""
    a = a.filter((a.conversions + a.nulls) > 0)
    keys = a["keys"]
    before = ibis.array([ibis.literal(START)]).concat(keys[:-1])
    steps = a.select(
        src=before.unnest(), dst=keys.unnest(), count=(a.conversions + a.nulls).cast("float64")
    )
    if collapse:
        steps = steps.filter(steps.src != steps.dst)
    ends = a.select(key=keys[-1], conversions=a.conversions, nulls=a.nulls)
    return _counted(steps, ends)


def _counted(steps: ir.Table, ends: ir.Table) -> ir.Table:
    """``steps`` (src, dst, count) plus the ends (key, conversions, nulls) into the absorbing
    states, summed by (src, dst)."""
    to_conv = ends.select(src=ends.key, dst=ibis.literal(CONVERSION), count=ends.conversions)
    to_null = ends.select(src=ends.key, dst=ibis.literal(NULL), count=ends.nulls)
    allt = steps.union(to_conv, distinct=False).union(to_null, distinct=False)
    allt = allt.filter(allt["count"] > 0)
    return allt.group_by(["src", "dst"]).agg(count=allt["count"].sum())


def _keys_of(state: str) -> list[str]:
    return state.split(STATE_SEP)


def conversion_probability(
    q: sp.csr_matrix, r: np.ndarray, keep: np.ndarray | None = None
) -> float:
    """P(absorbed in conversion | start), start = transient state 0, over the kept states."""
    if keep is None:
        keep = np.ones(q.shape[0], dtype=bool)
    if not keep[0]:
        return 0.0
    idx = np.flatnonzero(keep)
    qk = q[idx][:, idx]
    a = sp.identity(len(idx), format="csc") - qk.tocsc()
    x = spla.spsolve(a, r[idx])
    return float(np.atleast_1d(x)[0])


def removal_effects(counts: pd.DataFrame) -> pd.DataFrame:
    """Exact removal effects from transition counts (columns src, dst, count)."""
    counts = counts[counts["count"] > 0]
    seen = (set(counts["src"]) | set(counts["dst"])) - {START, CONVERSION, NULL}
    states = [START, *sorted(seen)]
    index = {s: i for i, s in enumerate(states)}
    keys = sorted({k for s in states[1:] for k in _keys_of(s)})
    if not states[1:]:
        return pd.DataFrame({"key": [], "removal_effect": [], "share": []})
    n = len(states)
    out = counts.groupby("src")["count"].transform("sum")
    prob = counts["count"] / out
    to_transient = counts["dst"].isin(index)
    src_i = counts["src"].map(index).to_numpy()
    q = sp.csr_matrix(
        (
            prob[to_transient].to_numpy(),
            (src_i[to_transient.to_numpy()], counts.loc[to_transient, "dst"].map(index).to_numpy()),
        ),
        shape=(n, n),
    )
    r = np.zeros(n)
    conv = (counts["dst"] == CONVERSION).to_numpy()
    np.add.at(r, src_i[conv], prob[conv].to_numpy())
    base = conversion_probability(q, r)
    effects = []
    for k in keys:
        keep = np.array([k not in _keys_of(s) for s in states])
        keep[0] = True
        p = conversion_probability(q, r, keep)
        effects.append(1.0 - p / base if base > 0 else 0.0)
    re = np.array(effects, dtype=float)
    total = re.sum()
    share = re / total if total > 0 else np.zeros_like(re)
    return pd.DataFrame({"key": keys, "removal_effect": re, "share": share})
