"""The baseline: Odoo's frequency naive Bayes (CRM predictive lead scoring).

As Odoo computes it (``crm.lead._pls_get_naive_bayes_probabilities``): for every field and value,
the number of won and lost leads having that value, each plus 0.1 (so a value never seen among
won or lost leads does not zero the product). Per field, ``P(value | won) = won(value) /
Σ_values won(value)`` over that field's own values (a lead with the field empty counts in no
value of it), and likewise for lost. A lead's scores are

    S_won  = P(won)  × Π_fields P(value | won)
    S_lost = P(lost) × Π_fields P(value | lost)

and its probability is ``S_won / (S_won + S_lost)``, clipped to [0.0001, 0.9999] as Odoo clips to
[0.01 %, 99.99 %]. A field that is empty on the lead, or a value never seen in training, adds no
factor. ``P(won)`` is the share of won leads in training.

Two adaptations, because Odoo scores only categorical fields: a numeric column (more than
``NUMERIC_BINS`` distinct values) is cut into deciles of the training values, each decile a value;
and the product is computed as a sum of logarithms (the same number, without underflow over many
fields). Odoo rounds the percentage to 2 decimals; we keep full precision (rounding makes ties
that only lower the ranking metrics).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

#: Added to every won and lost count (Odoo's smoothing).
SMOOTHING = 0.1
#: Numeric columns with more distinct values than this are binned into deciles.
NUMERIC_BINS = 10
CLIP = (0.0001, 0.9999)


def _is_numeric(s: pd.Series) -> bool:
    return (
        pd.api.types.is_numeric_dtype(s)
        and not pd.api.types.is_bool_dtype(s)
        and not isinstance(s.dtype, pd.CategoricalDtype)
    )


class OdooNaiveBayes:
    """Fit on a frame of fields and a 0/1 outcome; predict probabilities."""

    def __init__(self, smoothing: float = SMOOTHING) -> None:
        self.smoothing = smoothing
        self.edges: dict[str, np.ndarray] = {}
        #: field → value → log P(value | won) − log P(value | lost)
        self.log_ratio: dict[str, pd.Series] = {}
        #: field → DataFrame(won, lost) of smoothed counts per value
        self.counts: dict[str, pd.DataFrame] = {}
        self.prior_log_ratio = 0.0

    def _values(self, name: str, s: pd.Series) -> pd.Series:
        """The field's values as strings (deciles for numeric fields); missing stays missing."""
        if name in self.edges:
            x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
            codes = np.searchsorted(self.edges[name], x, side="right").astype(float)
            codes[np.isnan(x)] = np.nan
            return pd.Series(codes, index=s.index).map(
                lambda c: None if np.isnan(c) else f"bin{int(c)}"
            )
        out = s.astype(object).where(s.notna(), None)
        return out.map(lambda v: None if v is None else str(v))

    def fit(self, X: pd.DataFrame, y: Any) -> OdooNaiveBayes:
        ya = np.asarray(y).astype(int)
        n_won = int(ya.sum())
        n_lost = int(ya.size - n_won)
        if n_won == 0 or n_lost == 0:
            raise ValueError("naive Bayes needs won and lost leads")
        self.prior_log_ratio = float(np.log(n_won / ya.size) - np.log(n_lost / ya.size))
        for name in X.columns:
            s = X[name]
            if _is_numeric(s) and s.nunique(dropna=True) > NUMERIC_BINS:
                qs = np.nanquantile(pd.to_numeric(s, errors="coerce"), np.linspace(0.1, 0.9, 9))
                self.edges[name] = np.unique(qs)
            v = self._values(name, s)
            known = v.notna().to_numpy()
            frame = pd.DataFrame({"value": v[known].to_numpy(), "won": ya[known]})
            won = frame.groupby("value")["won"].sum()
            total = frame.groupby("value")["won"].size()
            counts = pd.DataFrame(
                {"won": won + self.smoothing, "lost": total - won + self.smoothing}
            )
            self.counts[name] = counts
            if counts.empty:
                continue
            p_won = counts["won"] / counts["won"].sum()
            p_lost = counts["lost"] / counts["lost"].sum()
            self.log_ratio[name] = np.log(p_won) - np.log(p_lost)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        z: npt.NDArray[np.float64] = np.full(len(X), self.prior_log_ratio, dtype=np.float64)
        for name, ratio in self.log_ratio.items():
            if name not in X.columns:
                continue
            v = self._values(name, X[name])
            z = z + v.map(ratio).fillna(0.0).to_numpy(dtype=float)
        p = 1.0 / (1.0 + np.exp(-z))
        return np.clip(p, *CLIP)
