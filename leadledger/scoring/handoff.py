"""Where each scored lead stands in the MQL handoff (pure: an Ibis expression).

Scoring writes an MQL stage event only for a lead that has no entry into the MQL stage or any
later stage yet (ever, so a backfilled run never duplicates one) and that was not disqualified
or lost at the as-of. With ``below_threshold: recycled`` it writes a ``recycled`` event for a lead
whose latest MQL came from scoring, that sales has not accepted (no later stage) and that was not
rejected or recycled since.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from leadledger.config.models import ProjectConfig, Scoring
from leadledger.ledger.derived import DERIVED_SOURCES, Tables
from leadledger.scoring.rules import as_of_literal, lead_scores

#: The ``source`` of the stage events scoring writes.
SOURCE = DERIVED_SOURCES[0]  # "leadledger score"
BLOCKING_STATES = ("disqualified", "lost")
REJECTION_STATES = ("disqualified", "recycled")


def handoff_state(tables: Tables, cfg: ProjectConfig, scoring: Scoring, as_of: Any) -> ir.Table:
    """Per lead with stage events: ``has_mql`` (entered the MQL stage or a later one, ever),
    ``blocked`` (disqualified or lost at or before the as-of), ``scored_mql_at`` (latest MQL
    event written by scoring), ``accepted_at`` (first entry after the MQL stage) and
    ``rejected_at`` (latest disqualified/recycled entry)."""
    ev = tables["stage_events"]
    keys = cfg.stage_keys
    mql = scoring.mql_stage
    later = keys[keys.index(mql) :]
    after = keys[keys.index(mql) + 1 :]
    as_of_ts = as_of_literal(as_of)
    blocking = [s for s in BLOCKING_STATES if s in cfg.side_state_keys]
    rejecting = [s for s in REJECTION_STATES if s in cfg.side_state_keys]
    null_ts = ibis.null("timestamp('UTC')")
    return ev.group_by("lead_id").agg(
        has_mql=ev.stage.isin(later).any(),
        blocked=(ev.stage.isin(blocking) & (ev.entered_at <= as_of_ts)).any()
        if blocking
        else ibis.literal(False),
        scored_mql_at=ev.entered_at.max(where=(ev.stage == mql) & (ev.source == SOURCE)),
        accepted_at=ev.entered_at.min(where=ev.stage.isin(after)) if after else null_ts,
        rejected_at=ev.entered_at.max(where=ev.stage.isin(rejecting)) if rejecting else null_ts,
    )


def scores_with_state(tables: Tables, cfg: ProjectConfig, scoring: Scoring, as_of: Any) -> ir.Table:
    """``lead_scores`` with the handoff state of each lead (false/NULL without stage events)."""
    s = lead_scores(tables, scoring, as_of)
    h = handoff_state(tables, cfg, scoring, as_of)
    joined = s.left_join(h, s.lead_id == h.lead_id)
    return joined.select(
        *[s[c] for c in s.columns],
        has_mql=h.has_mql.fill_null(False),
        blocked=h.blocked.fill_null(False),
        scored_mql_at=h.scored_mql_at,
        accepted_at=h.accepted_at,
        rejected_at=h.rejected_at,
    )
