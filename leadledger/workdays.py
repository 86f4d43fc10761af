"""Working-day calendars: weekdays minus public holidays minus the project's closure days."""

from __future__ import annotations

import datetime as dt
from functools import cached_property

import holidays
import numpy as np
import pandas as pd

from leadledger.config.models import WEEKDAYS, Calendar

PERIODS = ("day", "week", "month", "quarter", "year")


def period_start(day: dt.date, period: str) -> dt.date:
    """First day of the period holding ``day`` (weeks start on Monday, ISO 8601)."""
    if period == "day":
        return day
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if period == "year":
        return dt.date(day.year, 1, 1)
    raise ValueError(f"unknown period '{period}'")


def next_period_start(start: dt.date, period: str) -> dt.date:
    if period == "day":
        return start + dt.timedelta(days=1)
    if period == "week":
        return start + dt.timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    month0 = start.month - 1 + months
    return dt.date(start.year + month0 // 12, month0 % 12 + 1, 1)


class WorkCalendar:
    """Answers "is this a working day?" and "how many working days in this period?"."""

    def __init__(self, calendar: Calendar) -> None:
        self.calendar = calendar
        self._weekdays = {WEEKDAYS.index(d) for d in calendar.working_weekdays}
        self._closures = set(calendar.closures)

    @cached_property
    def _holidays(self) -> holidays.HolidayBase | dict:
        if not self.calendar.country:
            return {}
        return holidays.country_holidays(
            self.calendar.country, subdiv=self.calendar.subdivision, language="en_US"
        )

    def holiday_name(self, day: dt.date) -> str | None:
        if day in self._closures:
            return "closure"
        name = self._holidays.get(day)
        return str(name) if name else None

    def is_working_day(self, day: dt.date) -> bool:
        return (
            day.weekday() in self._weekdays
            and day not in self._closures
            and day not in self._holidays
        )

    def days(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """One row per calendar day in [start, end]: ``day``, ``is_working_day``."""
        days = pd.date_range(start, end, freq="D")
        flags = np.fromiter(
            (self.is_working_day(d.date()) for d in days), dtype=bool, count=len(days)
        )
        return pd.DataFrame({"day": days.date, "is_working_day": flags})

    def working_days(self, start: dt.date, end: dt.date) -> int:
        """Working days in the closed interval [start, end]."""
        if end < start:
            return 0
        return int(self.days(start, end)["is_working_day"].sum())

    def periods(self, start: dt.date, end: dt.date, period: str) -> pd.DataFrame:
        """Periods overlapping [start, end] with their full-length working days.

        Columns: ``period`` (first day), ``period_end`` (last day), ``working_days`` (in the whole
        period), ``working_days_in_range`` (inside [start, end] only), ``calendar_days``.
        """
        rows = []
        cursor = period_start(start, period)
        while cursor <= end:
            nxt = next_period_start(cursor, period)
            last = nxt - dt.timedelta(days=1)
            rows.append(
                {
                    "period": cursor,
                    "period_end": last,
                    "working_days": self.working_days(cursor, last),
                    "working_days_in_range": self.working_days(max(cursor, start), min(last, end)),
                    "calendar_days": (last - cursor).days + 1,
                }
            )
            cursor = nxt
        return pd.DataFrame(
            rows,
            columns=[
                "period",
                "period_end",
                "working_days",
                "working_days_in_range",
                "calendar_days",
            ],
        )
