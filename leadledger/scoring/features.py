"""The predictive model's features: one row per lead, as of its *decision time*.

The decision time is the moment marketing must decide whether to hand the lead to sales:
``decision_at = min(created_at + decision_days, as_of)``. Every touch aggregate counts only the
lead's touches with ``at <= decision_at`` (touches before the lead was created — anonymous
sessions stitched to it — included), so nothing that happened after the decision can leak into
the features. Lead attributes are the lead's current values (the ledger keeps no dated history
of attribute edits); fields that sales fills in later (``owner``) are not used by default.

Labels (:func:`labelled`): a lead is *positive* when it reached the target stage within
``window_days`` of its creation, *negative* when it did not; it is labelled only when its window
has closed by ``as_of`` (``created_at + window_days <= as_of``: younger leads' outcome is not yet
known), and left out when it had already reached the target by its decision time (nothing left to
predict).

Pure: functions from Ibis tables to Ibis expressions; the binding (``leadledger.reports.model``)
runs them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir

from leadledger.config.models import ProjectConfig
from leadledger.ledger import derived
from leadledger.ledger.clock import days_between

#: Lead fields used unless others are asked for (plus the project's configured attributes).
DEFAULT_LEAD_FIELDS = ("channel", "campaign", "landing_page", "country", "title", "source_system")
#: Touch values that get their own count column (most frequent first).
MAX_KINDS = 12
MAX_PAGES = 10
RECENT_DAYS = 7

#: Numeric touch aggregates every model has (besides the per-kind/channel/page counts).
TOUCH_AGGREGATES = (
    "touches",
    "touches_before_created",
    "touches_last_7_days",
    "distinct_channels",
    "distinct_campaigns",
    "distinct_pages",
    "days_since_first_touch",
    "days_since_last_touch",
)


@dataclasses.dataclass(frozen=True)
class TouchColumn:
    """A count of touches whose ``field`` (kind, channel or page) equals ``value``."""

    column: str
    field: str
    value: str


@dataclasses.dataclass
class FeatureSet:
    """Which features a model uses: lead fields and the touch count columns."""

    fields: list[str]
    touch_columns: list[TouchColumn]

    @property
    def numeric(self) -> list[str]:
        return [*TOUCH_AGGREGATES, *(c.column for c in self.touch_columns)]

    @property
    def names(self) -> list[str]:
        return [*self.fields, *self.numeric]

    def as_dict(self) -> dict[str, Any]:
        return {
            "fields": list(self.fields),
            "touch_columns": [dataclasses.asdict(c) for c in self.touch_columns],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeatureSet:
        return cls(list(d["fields"]), [TouchColumn(**c) for c in d["touch_columns"]])


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")
    return s or "root"


def touch_columns(
    kinds: Sequence[str], channels: Sequence[str], pages: Sequence[str]
) -> list[TouchColumn]:
    """Column names for per-kind (``touches_form``), per-channel (``touches_channel_email``) and
    per-page (``touches_page_pricing``) counts; a clash gets a numeric suffix."""
    out: list[TouchColumn] = []
    seen = set(TOUCH_AGGREGATES)
    for field, prefix, values in (
        ("kind", "touches_", kinds),
        ("channel", "touches_channel_", channels),
        ("page", "touches_page_", pages),
    ):
        for value in values:
            name = prefix + slug(value)
            base, n = name, 2
            while name in seen:
                name, n = f"{base}_{n}", n + 1
            seen.add(name)
            out.append(TouchColumn(name, field, str(value)))
    return out


def default_fields(cfg: ProjectConfig) -> list[str]:
    return list(dict.fromkeys([*DEFAULT_LEAD_FIELDS, *cfg.attributes]))


def frequent_values(tables: derived.Tables, field: str, as_of: Any, limit: int) -> ir.Table:
    """The ``limit`` most frequent non-empty values of a touch field (touches of known leads up
    to ``as_of``), with their counts: the binding turns them into count columns."""
    t = tables["touches"]
    t = t.filter(t.lead_id.notnull() & t[field].notnull() & (t.at <= as_of))
    counts = t.group_by(value=t[field]).agg(n=t.count())
    return counts.order_by([ibis.desc("n"), "value"]).limit(limit)


def lead_features(
    tables: derived.Tables,
    cfg: ProjectConfig,
    features: FeatureSet,
    *,
    decision_days: float,
    as_of: Any,
    target: str,
) -> ir.Table:
    """One row per lead created by ``as_of``: ``lead_id``, ``created_at``, ``decision_at``,
    ``target_at`` (when it reached ``target``, up to ``as_of``; NULL if not), the lead fields
    and the touch aggregates as of ``decision_at``."""
    as_of_lit = ibis.literal(as_of, type="timestamp('UTC')")
    leads = derived.current_leads(tables)
    leads = leads.filter(leads.created_at.notnull() & (leads.created_at <= as_of_lit))
    decision = ibis.least(
        leads.created_at + ibis.interval(seconds=round(decision_days * 86400)), as_of_lit
    )
    base = leads.select(
        "lead_id",
        "created_at",
        *[leads[f] for f in features.fields],
        decision_at=decision,
    )
    t = tables["touches"]
    t = t.filter(t.lead_id.notnull())
    keys = base.select(k_lead=base.lead_id, k_created=base.created_at, k_decision=base.decision_at)
    j = t.inner_join(keys, t.lead_id == keys.k_lead)
    j = j.filter(j.at <= j.k_decision)
    aggs: dict[str, ir.Value] = {
        "touches": j.count(),
        "touches_before_created": j.count(where=j.at < j.k_created),
        "touches_last_7_days": j.count(where=j.at > j.k_decision - ibis.interval(days=RECENT_DAYS)),
        "distinct_channels": j.channel.nunique(),
        "distinct_campaigns": j.campaign.nunique(),
        "distinct_pages": j.page.nunique(),
        "_first_at": j.at.min(),
        "_last_at": j.at.max(),
    }
    for col in features.touch_columns:
        aggs[col.column] = j.count(where=j[col.field] == col.value)
    per_lead = j.group_by(a_lead=j.lead_id).agg(**aggs)
    counts = [c for c in aggs if not c.startswith("_")]
    joined = base.left_join(per_lead, base.lead_id == per_lead.a_lead)
    days = {
        "days_since_first_touch": days_between(joined._first_at, joined.decision_at),
        "days_since_last_touch": days_between(joined._last_at, joined.decision_at),
    }
    out = joined.select(
        *[joined[c] for c in base.columns],
        **{c: joined[c].coalesce(0) for c in counts},
        **days,
    )
    reached = derived.journeys(tables, cfg, side_states=False, as_of=as_of_lit)
    reached = reached.select(r_lead=reached.lead_id, target_at=reached[derived.reached_col(target)])
    final = out.left_join(reached, out.lead_id == reached.r_lead)
    ordered = ["lead_id", "created_at", "decision_at", "target_at", *features.names]
    return final.select(*[final[c] for c in ordered])


def labelled(feats: ir.Table, *, decision_days: float, window_days: float, as_of: Any) -> ir.Table:
    """The training rows of :func:`lead_features`: window closed by ``as_of``, target not yet
    reached at the decision time; ``label`` 1 when the target was reached within
    ``window_days`` of creation."""
    as_of_lit = ibis.literal(as_of, type="timestamp('UTC')")
    window_end = feats.created_at + ibis.interval(seconds=round(window_days * 86400))
    closed = window_end <= as_of_lit
    open_at_decision = feats.target_at.isnull() | (feats.target_at > feats.decision_at)
    # (a boolean does not cast to an integer on PostgreSQL)
    label = ibis.ifelse(feats.target_at.notnull() & (feats.target_at <= window_end), 1, 0)
    return feats.filter(closed & open_at_decision).mutate(label=label)
