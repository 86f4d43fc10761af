"""Backtest a score against later outcomes, and tune the MQL threshold (pure: no connection).

``population`` is an Ibis expression: the leads created in the cohort window before the as-of,
their score as of then, whether they reached the outcome stage within the window after it, and
sales' decision on them. The rest is plain NumPy on that frame (one row per lead):

- ROC AUC (scikit-learn's, ties counting one half; none when every lead or none converted);
- per threshold: leads over it, precision (converted ÷ over), recall (converted over ÷ all
  converted), lift (precision ÷ base rate), MQL volume per working day and per month, and the
  acceptance rate (accepted ÷ decided among the leads over it);
- conversion by score decile (decile 1 = the highest scores) and its lift.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from leadledger.config.models import ProjectConfig, Scoring
from leadledger.errors import InvalidArgument, NotEnoughHistory
from leadledger.ledger.derived import Tables, at_col, journeys, reached_col
from leadledger.metrics.acceptance import REJECTION_STATES
from leadledger.scoring.evaluation import roc_auc
from leadledger.scoring.rules import as_of_literal, lead_scores

#: Mean days in a month (365.25 ÷ 12): volume per month = volume per day of the cohort × this.
MONTH_DAYS = 365.25 / 12
#: The most thresholds a given --step may produce.
MAX_GRID = 10_000
STEPS = (0.1, 0.2, 0.5, 1, 2, 2.5, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000)
THRESHOLD_COLUMNS = [
    "threshold",
    "leads_over",
    "share_over",
    "converted_over",
    "precision",
    "recall",
    "lift",
    "mqls_per_working_day",
    "mqls_per_month",
    "decided",
    "accepted",
    "acceptance_rate",
]
DECILE_COLUMNS = [
    "decile",
    "leads",
    "min_score",
    "max_score",
    "converted",
    "conversion_rate",
    "lift",
    "cumulative_recall",
]


def population(
    tables: Tables,
    cfg: ProjectConfig,
    scoring: Scoring,
    *,
    as_of: Any,
    outcome: str,
    window_days: float,
    cohort_days: float,
) -> ir.Table:
    """Leads created in (as_of − cohort, as_of]: lead_id, created_at, score, ``eligible`` (had
    not reached ``outcome`` at the as-of), ``converted`` (reached it in (as_of, as_of + window]),
    ``decision`` (by the end of the window: ``accepted`` = reached the stage after the MQL stage
    or later, ``rejected`` = entered disqualified/recycled and not accepted, else NULL)."""
    start = pd.Timestamp(as_of) - pd.Timedelta(days=cohort_days)
    end = pd.Timestamp(as_of) + pd.Timedelta(days=window_days)
    s = lead_scores(tables, scoring, as_of)
    s = s.filter(s.created_at > as_of_literal(start))
    j = journeys(tables, cfg)
    keys = cfg.stage_keys
    mql = scoring.mql_stage if scoring.mql_stage in keys else keys[min(1, len(keys) - 1)]
    after = keys[keys.index(mql) + 1 :] or [mql]
    cols = [j[at_col(k)] for k in after]
    accepted_at = ibis.least(*cols) if len(cols) > 1 else cols[0]
    end_ts = as_of_literal(end)
    as_of_ts = as_of_literal(as_of)
    accepted = accepted_at.notnull() & (accepted_at <= end_ts)
    rejected: ir.BooleanValue = ibis.literal(False)
    for state in REJECTION_STATES:
        if state in cfg.side_state_keys:
            first = j[at_col(state)]
            rejected |= first.notnull() & (first <= end_ts)
    reached = j[reached_col(outcome)]
    jj = j.select(
        "lead_id",
        _reached=reached,
        _decision=ibis.cases((accepted, "accepted"), (rejected, "rejected"), else_=None),
    )
    joined = s.left_join(jj, s.lead_id == jj.lead_id)
    r = jj._reached
    return joined.select(
        s.lead_id,
        s.created_at,
        s.score,
        eligible=r.isnull() | (r > as_of_ts),
        converted=(r.notnull() & (r > as_of_ts) & (r <= end_ts)),
        decision=jj._decision,
    )


def auc(scores: Sequence[float] | np.ndarray, labels: Sequence[bool] | np.ndarray) -> float | None:
    """ROC AUC: the probability that a random converter scores above a random non-converter,
    ties counting one half (:func:`leadledger.scoring.evaluation.roc_auc`). None when one class
    is empty."""
    value = roc_auc(np.asarray(labels, dtype=bool), np.asarray(scores, dtype=float))
    return None if math.isnan(value) else value


def threshold_grid(
    scores: Sequence[float] | np.ndarray,
    *,
    include: Sequence[float] = (),
    max_rows: int = 25,
    step: float | None = None,
) -> list[float]:
    """Thresholds from the lowest to the highest score in a round step (the smallest of 0.1, 0.2,
    0.5, 1, 2, 2.5, 5, 10, … giving at most ``max_rows``), plus ``include``."""
    x = np.asarray(scores, dtype=float)
    if x.size == 0:
        return sorted(set(include))
    lo, hi = float(x.min()), float(x.max())
    if step is not None and (not math.isfinite(step) or step <= 0):
        raise InvalidArgument(f"--step {step:g} must be a positive number of points")
    if step is not None and (hi - lo) / step > MAX_GRID:
        raise InvalidArgument(
            f"--step {step:g} makes {int((hi - lo) / step):,} thresholds between {lo:g} and {hi:g}",
            hint=f"use a step of at least {(hi - lo) / MAX_GRID:.3g}",
        )
    if step is None:
        step = next((s for s in STEPS if (hi - lo) / s <= max_rows), STEPS[-1])
        while (hi - lo) / step > max_rows:
            step *= 10
    first = math.floor(lo / step) * step
    last = math.floor(hi / step) * step
    n = round((last - first) / step)
    grid = [round(first + k * step, 10) for k in range(n + 1)]
    return sorted(set(grid) | {float(v) for v in include})


def thresholds_table(
    frame: pd.DataFrame,
    thresholds: Sequence[float],
    *,
    working_days: int,
    cohort_days: float,
) -> pd.DataFrame:
    """Per threshold: precision, recall and lift over the eligible leads; MQL volume and
    acceptance over every lead of the cohort (see the module doc). ``frame`` is ``population``'s
    answer."""
    score = frame["score"].to_numpy(dtype=float)
    eligible = frame["eligible"].to_numpy(dtype=bool)
    conv = frame["converted"].to_numpy(dtype=bool) & eligible
    decision = frame["decision"].to_numpy(dtype=object)
    accepted = decision == "accepted"
    decided = accepted | (decision == "rejected")
    n_elig = int(eligible.sum())
    n_conv = int(conv.sum())
    base = n_conv / n_elig if n_elig else None
    rows = []
    for t in thresholds:
        over = score >= t
        over_e = over & eligible
        k = int(over_e.sum())
        c = int((over & conv).sum())
        vol = int(over.sum())
        d = int((over & decided).sum())
        a = int((over & accepted).sum())
        precision = c / k if k else None
        rows.append(
            {
                "threshold": float(t),
                "leads_over": k,
                "share_over": k / n_elig if n_elig else None,
                "converted_over": c,
                "precision": precision,
                "recall": c / n_conv if n_conv else None,
                "lift": precision / base if precision is not None and base else None,
                "mqls_per_working_day": vol / working_days if working_days else None,
                "mqls_per_month": vol * MONTH_DAYS / cohort_days,
                "decided": d,
                "accepted": a,
                "acceptance_rate": a / d if d else None,
            }
        )
    return pd.DataFrame(rows, columns=THRESHOLD_COLUMNS)


def deciles(frame: pd.DataFrame) -> pd.DataFrame:
    """Conversion by score decile of the eligible leads (1 = highest scores; equal-count
    deciles, ties split by lead id so the answer is deterministic)."""
    f = frame[frame["eligible"].astype(bool)]
    if f.empty:
        return pd.DataFrame(columns=DECILE_COLUMNS)
    f = f.sort_values(["score", "lead_id"], ascending=[False, True]).reset_index(drop=True)
    n = len(f)
    f = f.assign(decile=(np.arange(n) * 10 // n) + 1)
    conv = f["converted"].astype(bool)
    total = int(conv.sum())
    base = total / n
    g = f.assign(_c=conv).groupby("decile")
    out = pd.DataFrame(
        {
            "leads": g.size(),
            "min_score": g["score"].min(),
            "max_score": g["score"].max(),
            "converted": g["_c"].sum().astype(int),
        }
    ).reset_index()
    out["conversion_rate"] = out["converted"] / out["leads"]
    out["lift"] = out["conversion_rate"] / base if base else None
    out["cumulative_recall"] = out["converted"].cumsum() / total if total else None
    return out[DECILE_COLUMNS]


def recommend(
    table: pd.DataFrame,
    *,
    capacity: float | None = None,
    target_acceptance: float | None = None,
) -> pd.Series:
    """The lowest threshold whose expected MQLs per month fit ``capacity`` and/or whose
    acceptance rate reaches ``target_acceptance`` (the most recall the constraint allows)."""
    if capacity is None and target_acceptance is None:
        raise InvalidArgument(
            "tune needs --capacity or --target-acceptance",
            hint="e.g. leadledger score tune --capacity 400",
        )
    ok = pd.Series(True, index=table.index)
    if capacity is not None:
        ok &= table["mqls_per_month"] <= capacity
    if target_acceptance is not None:
        rate = pd.to_numeric(table["acceptance_rate"], errors="coerce")
        ok &= rate.notna() & (rate >= target_acceptance)
    hits = table[ok].sort_values("threshold")
    if hits.empty:
        wanted = []
        if capacity is not None:
            least = table["mqls_per_month"].min()
            wanted.append(
                f"{capacity:g} MQLs per month (the highest threshold still gives {least:.1f})"
            )
        if target_acceptance is not None:
            best = pd.to_numeric(table["acceptance_rate"], errors="coerce").max()
            shown = "none decided" if pd.isna(best) else f"{best:.1%}"
            wanted.append(f"acceptance {target_acceptance:.0%} (the best threshold gives {shown})")
        raise NotEnoughHistory(
            "no threshold reaches " + " and ".join(wanted),
            hint="raise --capacity, lower --target-acceptance, or backtest a later --as-of "
            "with more decided MQLs ('leadledger score backtest' shows the trade-off)",
        )
    return hits.iloc[0]
