"""Time decay: a touch's weight halves every half-life before the conversion."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from leadledger.attribution.heuristic import WeightModel, converting_touches, credited
from leadledger.attribution.paths import JourneySet


class TimeDecay(WeightModel):
    """Weight ``0.5 ** (hours before the conversion / (24 × half_life_days))``, normalised so a
    journey's weights sum to 1. Touches at the same instant get the same weight."""

    name = "time_decay"
    summary = "weight halves every half-life (default 7 days) before the conversion"
    needs_times = True

    def __init__(self, half_life_days: float = 7.0) -> None:
        self.half_life_days = float(half_life_days)

    def raw(self, t: ir.Table) -> ir.FloatingValue:
        """The touch's weight before normalisation."""
        return ibis.literal(0.5) ** (t.hours_before / (24.0 * self.half_life_days))

    def credits(self, js: JourneySet) -> ir.Table:
        # each journey's total weight by a group-by (not a window over the touches)
        t = converting_touches(js)
        t = t.mutate(_raw=self.raw(t))
        tot = t.group_by("journey_id").agg(_total=t._raw.sum())
        tt = t.join(tot, "journey_id")
        return credited(tt, tt._raw / tt._total)
