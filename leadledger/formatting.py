"""Numbers for people: every surface rounds and labels the same way (the terminal, the
pages, the executive report). Only for display: reports carry full precision."""

from __future__ import annotations

import math
from typing import Any

from leadledger.reports.result import plain

#: Columns shown as percents (a ratio of 0.25 reads 25.0 %); every surface rounds the same way.
PERCENT_SUFFIXES = (
    "rate",
    "ratio",
    "share",
    "quality",
    "change_per_working_day",
    "change_rel",
    "band_low",
    "band_high",
    "roi",
    "precision",
    "recall",
)


def is_percent(column: str) -> bool:
    return column.endswith(PERCENT_SUFFIXES)


def display(value: Any, column: str) -> str:
    """Round for display only."""
    value = plain(value)
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if is_percent(column):
            sign = "+" if column.startswith("change") and value > 0 else ""
            return f"{sign}{value * 100:.1f} %"
        if value.is_integer() and abs(value) < 1e15 and not column.endswith(("days", "day")):
            return f"{int(value):,}"
        return f"{value:,.2f}"
    return str(value)
