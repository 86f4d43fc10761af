"""The distribution of a recorded scoring run's scores (pure: Ibis expressions, no connection).

``leadledger score`` records each run's points ledger in ``score_events``; a lead's score in a
run is the sum of its rows' points, 0 for a lead that existed at the run's as-of without rows.
The histogram bins those scores, ``bin_from ≤ score < bin_to``; nothing is scored again.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from leadledger.ledger.derived import Tables, current_leads
from leadledger.scoring.rules import as_of_literal

__all__ = [
    "COLUMNS",
    "EVENTS_TABLE",
    "empty_frame",
    "histogram",
    "histogram_frame",
    "latest_run",
    "run_scores",
    "summary",
]

EVENTS_TABLE = "score_events"
COLUMNS = ["bin_from", "bin_to", "leads", "share", "over_threshold"]


def latest_run(events: ir.Table) -> ir.Scalar:
    """The as-of of the latest scoring run recorded in ``events`` (the ``score_events``
    table; NULL before the first run)."""
    return events.as_of.max()


def run_scores(tables: Tables, events: ir.Table, as_of: pd.Timestamp) -> ir.Table:
    """``score`` of every lead created by ``as_of`` in the run recorded for ``as_of`` in
    ``events`` (the ``score_events`` table)."""
    lit = as_of_literal(as_of)
    run = events.filter(events.as_of == lit)
    per_lead = run.group_by("lead_id").agg(score=run.points.sum())
    leads = current_leads(tables)
    leads = leads.filter(leads.created_at <= lit).select("lead_id")
    joined = leads.left_join(per_lead, "lead_id")
    return joined.select(score=joined.score.fill_null(0.0))


def _threshold(threshold: float | None) -> ir.FloatingScalar:
    return ibis.literal(threshold if threshold is not None else np.inf)


def histogram(scores: ir.Table, bin_width: float, threshold: float | None) -> ir.Table:
    """Leads per bin of ``bin_width`` points (``bin_from``), and those at or over
    ``threshold``, by ``bin_from``."""
    width = ibis.literal(float(bin_width))
    binned = scores.mutate(bin_from=(scores.score / width).floor().cast("float64") * width)
    thr = _threshold(threshold)
    hist = binned.group_by("bin_from").agg(
        leads=binned.count(), over_threshold=(binned.score >= thr).sum().cast("int64")
    )
    return hist.order_by("bin_from")


def summary(scores: ir.Table, threshold: float | None) -> ir.Table:
    """One row: leads, mean and median score, leads at or over ``threshold``."""
    thr = _threshold(threshold)
    return scores.agg(
        leads=scores.count(),
        mean=scores.score.mean(),
        median=scores.score.median(),
        over=(scores.score >= thr).sum().cast("int64"),
    )


def histogram_frame(hist: pd.DataFrame, total: int, bin_width: float) -> pd.DataFrame:
    """The histogram's rows as the report shows them: each bin's end and share of ``total``."""
    frame = hist.copy()
    frame["bin_from"] = frame["bin_from"].astype(float)
    frame["bin_to"] = frame["bin_from"] + float(bin_width)
    frame["leads"] = frame["leads"].astype(int)
    frame["share"] = frame["leads"] / total if total else np.nan
    frame["over_threshold"] = frame["over_threshold"].fillna(0).astype(int)
    return frame[COLUMNS]


def empty_frame() -> pd.DataFrame:
    return pd.DataFrame(columns=COLUMNS)
