"""The generator's clock: local wall-clock seconds, the working-day calendar of the company
(the public holidays of Madrid and its own closure days), and the timeline of the data (its
first and last day, and the calendar around them)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import holidays
import numpy as np
import numpy.typing as npt
import pandas as pd

from leadledger.demo.vocabulary import COUNTRY, SUBDIVISION, TIMEZONE

DAY = 86_400
HOUR = 3_600
I64 = np.int64


def epoch_day(d: dt.date) -> int:
    """Days since 1970-01-01 (the local day of a wall-clock second ``t`` is ``t // DAY``)."""
    return (d - dt.date(1970, 1, 1)).days


@dataclasses.dataclass
class Calendar:
    """Day-indexed lookups over [first, first + n): working days, holidays, UTC offsets."""

    first: dt.date
    n: int
    working: npt.NDArray[np.bool_]
    holiday: npt.NDArray[np.bool_]  # public holiday or closure
    next_working: npt.NDArray[np.int64]  # index of the next working day ≥ i (n when none); n + 1
    offset: npt.NDArray[np.int64]  # local − UTC in seconds (at noon)
    weekday: npt.NDArray[np.int32]
    month: npt.NDArray[np.int32]  # 1..12
    dates: npt.NDArray[np.datetime64]  # datetime64[D]

    @property
    def day0(self) -> int:
        return epoch_day(self.first)

    @classmethod
    def build(cls, first: dt.date, last: dt.date) -> Calendar:
        n = (last - first).days + 1
        dates = np.arange(np.datetime64(first, "D"), np.datetime64(last, "D") + 1)
        idx = pd.DatetimeIndex(dates)
        weekday = idx.day_of_week.to_numpy()
        month = idx.month.to_numpy()
        days = set(
            holidays.country_holidays(
                COUNTRY, subdiv=SUBDIVISION, years=range(first.year, last.year + 1)
            )
        )
        days |= {c for c in closure_days(first.year, last.year)}
        hol = np.isin(dates, np.array(sorted(days), dtype="datetime64[D]"))
        working = (weekday < 5) & ~hol
        positions = np.flatnonzero(working)
        nxt = np.searchsorted(positions, np.arange(n + 1))
        next_working = np.append(positions, n)[nxt]
        noon = idx + pd.Timedelta(hours=12)
        aware = noon.tz_localize(TIMEZONE)
        offset = aware.tz_localize(None) - aware.tz_convert("UTC").tz_localize(None)
        off = offset.to_numpy().astype("timedelta64[s]").astype(I64)
        return cls(first, n, working, hol, next_working.astype(I64), off, weekday, month, dates)

    def day_index(self, t: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return t // DAY - self.day0

    def to_utc(self, t: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Local wall-clock seconds → UTC epoch seconds (offset of the local day)."""
        d = np.clip(self.day_index(t), 0, self.n - 1)
        return t - self.offset[d]

    def business(self, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Move local times outside business hours (09–18 on working days) to the next working
        morning; times past the calendar stay (they are past ``end`` anyway)."""
        day = self.day_index(t)
        inside = (day >= 0) & (day < self.n)
        d = np.clip(day, 0, self.n - 1)
        sec = t - (t // DAY) * DAY
        work = self.working[d]
        ok = ~inside | (work & (sec >= 9 * HOUR) & (sec < 18 * HOUR))
        late = work & (sec >= 18 * HOUR)
        target = self.next_working[d + late]
        jitter = (rng.random(t.size) * 4 * HOUR).astype(I64)
        moved = (self.day0 + target) * DAY + 9 * HOUR + jitter
        return np.where(ok, t, moved)


def closure_days(first_year: int, last_year: int) -> list[dt.date]:
    """The company's own closure days: Christmas Eve and New Year's Eve."""
    out = []
    for year in range(first_year, last_year + 1):
        out += [dt.date(year, 12, 24), dt.date(year, 12, 31)]
    return out


@dataclasses.dataclass(frozen=True)
class Timeline:
    """The data's days, ``start`` … ``end`` (``years`` years), on a calendar that reaches 200
    days before (the visits before a lead) and 40 days after (delays that end past ``end``)."""

    start: dt.date
    end: dt.date
    cal: Calendar
    first_idx: int  # the calendar's index of ``start``
    ndays: int
    #: first local second after ``end``: nothing happens at or after it
    cutoff: int

    @classmethod
    def build(cls, end: dt.date, years: int) -> Timeline:
        try:
            start = end.replace(year=end.year - years) + dt.timedelta(days=1)
        except ValueError:  # 29 February
            start = end.replace(year=end.year - years, day=28) + dt.timedelta(days=1)
        cal = Calendar.build(start - dt.timedelta(days=200), end + dt.timedelta(days=40))
        return cls(
            start=start,
            end=end,
            cal=cal,
            first_idx=(start - cal.first).days,
            ndays=(end - start).days + 1,
            cutoff=(epoch_day(end) + 1) * DAY,
        )
