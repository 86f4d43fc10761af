"""Numbers for people: every surface rounds and labels the same way (the terminal, the
pages, the executive report). Only for display: reports carry full precision."""

from __future__ import annotations

import math
from collections.abc import Mapping
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


#: A row's ``<column>_reason`` says why ``<column>`` has no value (e.g. ``no_activity_data``).
REASON_SUFFIX = "_reason"


def display_cell(row: Mapping[Any, Any], column: str) -> str:
    """A cell of a report row for display: a missing value whose row says why
    (``<column>_reason``) reads "no data: <reason>" (``no data: no activity data``), never a
    bare dash that could be mistaken for zero; any other value as :func:`display` shows it."""
    value = row.get(column)
    reason = plain(row.get(column + REASON_SUFFIX))
    if missing(value) and isinstance(reason, str) and reason:
        return "no data: " + reason.replace("_", " ")
    return display(value, column)


# -- values by unit (the executive report's cards) ---------------------------------------------
def missing(value: Any) -> bool:
    """None, NaN or a missing pandas value."""
    value = plain(value)
    return value is None or (isinstance(value, float) and math.isnan(value))


def unit_value(value: Any, unit: str, currency: str = "") -> str:
    """A value by its unit: rates as percents (``12.5%``), per working day with two decimals,
    money and counts as whole numbers (money with the currency); – when missing."""
    if missing(value):
        return "–"
    v = float(value)
    if unit in ("rate", "ratio", "share"):
        return f"{v:.1%}"
    if unit == "per working day":
        return f"{v:,.2f}"
    if unit == "money":
        return f"{v:,.0f} {currency}".strip()
    return f"{v:,.0f}"


def compact(v: float) -> str:
    """A short number for an axis or a bar: 1.2M, 45k, 3.4k, 120, 0.35."""
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.1f}M"
    if a >= 1e4:
        return f"{v / 1e3:.0f}k"
    if a >= 1e3:
        return f"{v / 1e3:.1f}k"
    if a >= 10 or v == int(v):
        return f"{v:.0f}"
    return f"{v:.2f}"


def percent(v: float) -> str:
    """A share for an axis or a bar: whole percents from 10 %, one decimal below."""
    return f"{v:.0%}" if abs(v) >= 0.1 else f"{v:.1%}"


def signed_percent(ratio: Any) -> str:
    """A relative change (a ratio, 0.25) as a signed percentage ("+25.0 %"); – when missing."""
    if missing(ratio):
        return "–"
    return f"{float(ratio) * 100:+.1f} %"


def points(diff: Any) -> str:
    """A difference of two rates in percentage points, signed ("+1.25 pp"); – when missing."""
    if missing(diff):
        return "–"
    return f"{float(diff) * 100:+.2f} pp"


def p_value(value: Any) -> str:
    """A p-value with four decimals, "< 0.0001" below; – when missing."""
    if missing(value):
        return "–"
    v = float(value)
    return "< 0.0001" if v < 0.0001 else f"{v:.4f}"


def number(x: float) -> str:
    """A number as short as it is exact to two decimals: 40, 12.5, 0.33 (scores, points)."""
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.2f}".rstrip("0").rstrip(".")


def signed_number(x: float) -> str:
    """:func:`number` with its sign, a true minus for negatives: +10, −5."""
    return ("+" if x >= 0 else "−") + number(abs(x))


def quantity(value: float, unit: str) -> str:
    """A number with its unit for messages, singular for one: "4.5 business hours", "1 day"."""
    text = unit.replace("_", " ")
    return f"{value:,.1f}".removesuffix(".0") + " " + (text[:-1] if value == 1 else text)


# -- periods -------------------------------------------------------------------------------------
def period_label(start: Any, period: str, *, short: bool = False) -> str:
    """A period by its first day: 'Oct 2026', 'Q4 2026', '2026', 'week of 2026-10-26' or the day;
    ``short`` (axes, chart labels): 'Oct 26', 'Q4 26', '2026', '26 Oct'."""
    import datetime as dt

    import pandas as pd

    try:
        ts = pd.Timestamp(str(plain(start))[:10])
    except (ValueError, TypeError):
        return str(start)
    if pd.isna(ts):
        return "–"
    day = dt.date(ts.year, ts.month, ts.day)
    if period == "month":
        return day.strftime("%b %y" if short else "%b %Y")
    if period == "quarter":
        return (
            f"Q{(day.month - 1) // 3 + 1} {day:%y}"
            if short
            else f"Q{(day.month - 1) // 3 + 1} {day.year}"
        )
    if period == "year":
        return f"{day:%Y}"
    if short:
        return day.strftime("%d %b")
    if period == "week":
        return f"week of {day.isoformat()}"
    return day.isoformat()
