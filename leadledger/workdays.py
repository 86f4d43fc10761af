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
    def _holidays(self) -> holidays.HolidayBase | dict[dt.date, str]:
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


class BusinessHours:
    """Business time: the seconds inside business hours on working days, in the project's zone.

    SLA clocks in ``business_hours``/``business_days`` and the follow-up delay of the decay curve
    count only these seconds. A day's business hours are its ``calendar.business_hours`` wall
    times made instants with :mod:`zoneinfo`, so a DST change moves them with the clock (09:00 is
    09:00 local on both sides of it); non-working days have none. ``days()`` is the per-day table
    the engine joins on (see ``leadledger.planning.business_time``); ``seconds_between()`` and
    ``add()`` answer the same questions in plain Python, for a few instants.
    """

    def __init__(self, calendar: Calendar, timezone: str) -> None:
        import zoneinfo

        self.work = WorkCalendar(calendar)
        self.zone = zoneinfo.ZoneInfo(timezone)
        self.open_time, self.close_time = calendar.business_hours

    @property
    def day_seconds(self) -> float:
        """Length of one business day (the wall-clock span of ``business_hours``): the divisor
        of the ``business_days`` unit."""
        start = dt.datetime.combine(dt.date(2000, 1, 1), self.open_time)
        end = dt.datetime.combine(dt.date(2000, 1, 1), self.close_time)
        return (end - start).total_seconds()

    def opening(self, day: dt.date) -> tuple[float, float]:
        """Business open and close of a local day as UTC epoch seconds; on a non-working day both
        are the day's local midnight (a zero-length day)."""
        if not self.work.is_working_day(day):
            midnight = dt.datetime.combine(day, dt.time(0), tzinfo=self.zone).timestamp()
            return midnight, midnight
        opens = dt.datetime.combine(day, self.open_time, tzinfo=self.zone).timestamp()
        closes = dt.datetime.combine(day, self.close_time, tzinfo=self.zone).timestamp()
        return opens, closes

    def days(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """One row per local day in [start, end]: ``day``, ``open_s``, ``close_s`` (UTC epoch
        seconds) and ``cum_before`` (business seconds from ``start``'s midnight to the day)."""
        rows = []
        cum = 0.0
        day = start
        while day <= end:
            opens, closes = self.opening(day)
            rows.append((day, opens, closes, cum))
            cum += closes - opens
            day += dt.timedelta(days=1)
        return pd.DataFrame(rows, columns=["day", "open_s", "close_s", "cum_before"])

    def _local_day(self, instant: dt.datetime) -> dt.date:
        if instant.tzinfo is None:
            raise ValueError("business time needs an aware instant (UTC or with an offset)")
        return instant.astimezone(self.zone).date()

    def position(self, instant: dt.datetime, origin: dt.date) -> float:
        """Business seconds from ``origin``'s local midnight to ``instant`` (the engine's B(t)
        for a table built by ``days(origin, …)``)."""
        day = self._local_day(instant)
        if day < origin:
            raise ValueError(f"{instant} is before the start of the business calendar {origin}")
        before = sum(c - o for o, c in (self.opening(d) for d in _date_range(origin, day)))
        opens, closes = self.opening(day)
        return before + min(max(instant.timestamp() - opens, 0.0), closes - opens)

    def seconds_between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Business seconds from ``start`` to ``end`` (negative when ``end`` is earlier)."""
        if end < start:
            return -self.seconds_between(end, start)
        return self.position(end, self._local_day(start)) - self.position(
            start, self._local_day(start)
        )

    def add(self, start: dt.datetime, seconds: float) -> dt.datetime:
        """The instant (UTC) at which ``seconds`` business seconds have elapsed since ``start``: a
        clock started outside business hours starts at the next opening, and a due time that
        falls exactly on a closing stays there (17:00, not the next morning)."""
        if seconds < 0:
            raise ValueError("business seconds to add must not be negative")
        day = self._local_day(start)
        left = seconds
        cursor = start.timestamp()
        for _ in range(366 * 50):  # a calendar with no working day at all would never end
            opens, closes = self.opening(day)
            begin = max(cursor, opens)
            if closes > opens and begin <= closes:
                if left <= closes - begin:
                    return dt.datetime.fromtimestamp(begin + left, dt.UTC)
                left -= closes - begin
            day += dt.timedelta(days=1)
        raise ValueError("the calendar has no working day in fifty years")


def _date_range(start: dt.date, end: dt.date) -> list[dt.date]:
    """Days in [start, end) (end excluded)."""
    return [start + dt.timedelta(days=i) for i in range((end - start).days)]
