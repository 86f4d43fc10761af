"""Elapsed time between UTC instants, the same on every engine.

Ibis's ``epoch_seconds()`` on DuckDB casts a time-zone-aware timestamp to a naive one first, which
gives the wall time of the session's (the project's) time zone: every duration across a DST change
came out an hour off. ``delta()`` has the same flaw on PostgreSQL. ``date_part('epoch', ts)`` of a
``timestamptz`` is the absolute number of seconds since 1970 on DuckDB and PostgreSQL alike, so
durations are computed from it. (Measured 2026-11-22, Ibis 12.0.0; see tests/metrics.)
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

DAY = 86400.0


# ibis ships no py.typed, so its decorator is Any to mypy; the annotations are Ibis data types
# (what the UDF machinery reads), not Python types
@ibis.udf.scalar.builtin(name="date_part")  # type: ignore[untyped-decorator]
def _date_part(part: str, ts: dt.Timestamp(timezone="UTC")) -> dt.float64:  # type: ignore[valid-type]
    """The engine's own ``date_part`` function."""


def epoch_seconds(ts: ir.TimestampValue) -> ir.FloatingValue:
    """Seconds since 1970-01-01 UTC of an instant, independent of the session time zone."""
    return _date_part("epoch", ts)


def seconds_between(start: ir.TimestampValue, end: ir.TimestampValue) -> ir.FloatingValue:
    """``end − start`` in seconds (negative when ``end`` is earlier)."""
    return epoch_seconds(end) - epoch_seconds(start)


def days_between(start: ir.TimestampValue, end: ir.TimestampValue) -> ir.FloatingValue:
    return seconds_between(start, end) / DAY
