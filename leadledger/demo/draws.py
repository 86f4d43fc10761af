"""Weighted random draws, one per row, from the generator's one random stream."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


def choice(
    rng: np.random.Generator, weights: Sequence[float] | np.ndarray, size: int
) -> npt.NDArray[np.int64]:
    """``size`` codes 0 … len(weights) − 1 drawn with those weights."""
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=size, p=w / w.sum())


def outcomes(rng: np.random.Generator, probs: Sequence[np.ndarray | float], n: int) -> np.ndarray:
    """One outcome per row: i with probability probs[i] (scaled down when they exceed 1),
    len(probs) otherwise."""
    ps = [np.broadcast_to(np.asarray(p, dtype=float), (n,)) for p in probs]
    total = np.sum(ps, axis=0) if ps else np.zeros(n)
    scale = np.where(total > 1.0, 1.0 / np.maximum(total, 1e-12), 1.0)
    u = rng.random(n)
    out = np.full(n, len(ps), dtype=np.int8)
    cum = np.zeros(n)
    for i, p in enumerate(ps):
        upper = cum + p * scale
        out[(out == len(ps)) & (u < upper)] = i
        cum = upper
    return out
