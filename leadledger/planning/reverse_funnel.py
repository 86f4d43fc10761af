"""The reverse funnel (seed 000 key 1, seed 003): from a revenue target to the visits it needs.

deals = revenue ÷ deal size; SQLs = deals ÷ close rate (SQL → customer); MQLs = SQLs ÷ MQL → SQL;
leads = MQLs ÷ lead → MQL; visits = leads ÷ visitor → lead. Each count is rounded up to whole
units *before* the next division (half a customer is not a customer), and the arithmetic is exact
(fractions): 10,000,000 ÷ 50,000 = 200 deals, ÷ 0.25 = 800 SQLs, ÷ 0.20 = 4,000 MQLs — where seed
000 prints 400 / 1,600 / 8,000.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

#: The plan's stages, from the target back to the top of the funnel, and the rate that leads
#: from each stage to the one before it in this list.
PLAN_STAGES = ("customer", "sql", "mql", "lead", "visitor")
RATES = ("close_rate", "mql_to_sql", "lead_to_mql", "visit_to_lead")
#: rate → (from stage, to stage)
RATE_STEPS = {
    "close_rate": ("sql", "customer"),
    "mql_to_sql": ("mql", "sql"),
    "lead_to_mql": ("lead", "mql"),
    "visit_to_lead": ("visitor", "lead"),
}


def exact(value: float | int | str | Fraction) -> Fraction:
    """A number as the exact fraction the user wrote: 0.2 is 1/5, not 0.2000000000000000111."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, float):
        return Fraction(repr(value))
    return Fraction(value)


def ceil_units(value: Fraction) -> int:
    """Round up to whole units (exact: 4000 stays 4000)."""
    return math.ceil(value)


@dataclasses.dataclass(frozen=True)
class Rate:
    value: Fraction | None
    #: ``given`` (a flag), ``measured`` (history), or ``unavailable`` (neither).
    source: str
    #: For measured rates: numerator and denominator counts, and the window.
    detail: str = ""


def reverse_funnel(
    revenue: Fraction, deal_size: Fraction, rates: dict[str, Rate]
) -> list[tuple[str, int | None]]:
    """Counts per plan stage, customer first. A stage whose rate is unavailable, and every stage
    above it, gets None."""
    if deal_size <= 0:
        raise ValueError("deal size must be positive")
    counts: list[tuple[str, int | None]] = []
    current: int | None = ceil_units(revenue / deal_size)
    counts.append(("customer", current))
    for stage, rate_name in zip(PLAN_STAGES[1:], RATES, strict=True):
        rate = rates[rate_name].value
        if rate is not None and not 0 < rate <= 1:
            raise ValueError(f"{rate_name} must be in (0, 1], not {rate}")
        current = None if current is None or rate is None else ceil_units(current / rate)
        counts.append((stage, current))
    return counts


def spread_by_working_days(total: int, weights: list[int]) -> list[int]:
    """Split a whole-unit total over periods in proportion to their working days, in whole units
    that add up to the total (largest remainder; ties go to the earlier period)."""
    wsum = sum(weights)
    if wsum == 0:
        return [0] * len(weights)
    shares = [Fraction(total * w, wsum) for w in weights]
    floors = [math.floor(s) for s in shares]
    left = total - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(shares[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return floors
