"""Elapsed business time inside the engine, from a per-day table built in Python.

Business hours depend on the project's calendar (working days, holidays, closures) and on its
time zone's DST rules, which SQL engines do not know alike. So the calendar is computed once in
Python (:class:`leadledger.workdays.BusinessHours`, with :mod:`zoneinfo`) as one row per local
day: ``day``, ``open_s`` and ``close_s`` (the day's business open and close as UTC epoch seconds;
equal on a non-working day) and ``cum_before`` (business seconds on the days before it). The
business position of an instant ``t`` on local day ``d`` is then

    B(t) = cum_before[d] + clamp(epoch(t) − open_s[d], 0, close_s[d] − open_s[d])

and the business seconds between two instants are ``B(t1) − B(t0)``: an equi-join on the local
date, no per-row loop, the same on DuckDB and PostgreSQL. An instant outside business hours sits
at the previous closing (or the day's opening before it), so a clock started at night starts at
the next opening. Epoch seconds come from ``leadledger.ledger.clock`` (Ibis's own is wrong across
DST on DuckDB).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from leadledger.config.models import ProjectConfig
from leadledger.ledger.clock import epoch_seconds, seconds_between
from leadledger.ledger.derived import Tables, local_date, stage_entries
from leadledger.workdays import BusinessHours

HOUR = 3600.0
DAY = 86400.0
UNITS = ("business_hours", "business_days", "hours", "days")


def business_hours(cfg: ProjectConfig) -> BusinessHours:
    """The project's business hours (its calendar, in its time zone)."""
    return BusinessHours(cfg.calendar, cfg.timezone)


def business_days(
    tables: Tables,
    cfg: ProjectConfig,
    hours: BusinessHours,
    as_of: pd.Timestamp,
    run: Callable[[ir.Expr], Any],
) -> ir.Table:
    """The per-day business calendar from the first stage entry in the ledger to the day after
    ``as_of`` (every instant a clock or a delay can reach); ``run`` runs an expression on the
    project's engine (the first entry's day is read from the ledger)."""
    e = stage_entries(tables, cfg)
    first = run(local_date(e.entered_at).min())
    last = as_of.tz_convert(cfg.timezone).date() + dt.timedelta(days=1)
    start = pd.Timestamp(first).date() if first is not None and not pd.isna(first) else last
    start = min(start, last) - dt.timedelta(days=1)
    return days_table(hours.days(start, last))


def days_table(frame: pd.DataFrame) -> ir.Table:
    """The per-day business calendar (``BusinessHours.days()``) as an in-memory table."""
    return ibis.memtable(
        frame[["day", "open_s", "close_s", "cum_before"]],
        schema={"day": "date", "open_s": "float64", "close_s": "float64", "cum_before": "float64"},
    )


def with_business_position(t: ir.Table, column: str, days: ir.Table, name: str) -> ir.Table:
    """``t`` plus ``name`` = B(``t[column]``), the business position of the instant in seconds
    (NULL when the instant is NULL). ``days`` must cover every local day of the column."""
    key = f"_{name}_day"
    left = t.mutate(**{key: local_date(t[column])})
    right = days.select(
        **{
            f"_{name}_d": days.day,
            f"_{name}_open": days.open_s,
            f"_{name}_len": days.close_s - days.open_s,
            f"_{name}_cum": days.cum_before,
        }
    )
    joined = left.left_join(right, left[key] == right[f"_{name}_d"])
    inside = epoch_seconds(joined[column]) - joined[f"_{name}_open"]
    clamped = ibis.greatest(ibis.least(inside, joined[f"_{name}_len"]), ibis.literal(0.0))
    position = joined[f"_{name}_cum"] + clamped
    return joined.select(
        *[joined[c] for c in t.columns],
        **{name: ibis.cases((joined[column].notnull(), position), else_=None)},
    )


def elapsed_seconds(
    t: ir.Table,
    start: str,
    end: str,
    *,
    business: bool,
    days: ir.Table | None = None,
    name: str = "elapsed_s",
) -> ir.Table:
    """``t`` plus ``name``: seconds from column ``start`` to column ``end``, business seconds
    (``business=True``, needs ``days``) or calendar seconds. NULL when either end is NULL."""
    if not business:
        return t.mutate(**{name: seconds_between(t[start], t[end])})
    if days is None:
        raise ValueError("business time needs the per-day business calendar")
    t = with_business_position(t, start, days, "_b0")
    t = with_business_position(t, end, days, "_b1")
    return t.mutate(**{name: t._b1 - t._b0}).drop("_b0", "_b1")


def unit_seconds(unit: str, business_day_seconds: float) -> float:
    """Seconds in one ``unit``: an hour for (business) hours, a business day's length for
    ``business_days``, 86,400 for ``days``."""
    if unit in ("business_hours", "hours"):
        return HOUR
    if unit == "business_days":
        return business_day_seconds
    if unit == "days":
        return DAY
    raise ValueError(f"unknown unit '{unit}': use one of {', '.join(UNITS)}")


def is_business(unit: str) -> bool:
    return unit.startswith("business_")
