"""The company's campaigns: the channels' own, and one per trade show, scheduled on two working
days of each event month."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from leadledger.demo.calendar import Timeline, epoch_day
from leadledger.demo.vocabulary import CHANNELS, Campaign

# fmt: off
#: Trade shows: month → event name (the year is appended).
EVENT_MONTHS = {2: "retail_forum_barcelona", 3: "cfo_day_madrid", 5: "saas_summit_valencia",
                6: "ops_congress_bilbao", 9: "digital_expo_lisboa", 10: "b2b_growth_madrid",
                11: "tech_week_sevilla"}
# fmt: on


@dataclasses.dataclass(frozen=True)
class Campaigns:
    """One global list of (channel, campaign) codes with quality and cost per lead, and the
    trade shows (the campaigns of ``events``) with their days."""

    event_of_day: np.ndarray  # trade show of each day of the data (−1: none)
    event_names: list[str]
    event_days: list[tuple[int, int]]  # first/last lead-window day index
    event_size: list[float]
    names: list[str | None]
    quality: list[float]
    cpl: list[float]
    first: list[int]  # first campaign code of each channel


def plan_campaigns(tl: Timeline, rng: np.random.Generator) -> Campaigns:
    """Two-day trade shows on working days in the event months (one loop per month), then the
    campaign table."""
    cal = tl.cal
    event_of_day = np.full(tl.ndays, -1, dtype=np.int32)
    event_names: list[str] = []
    event_days: list[tuple[int, int]] = []
    event_size: list[float] = []
    months = pd.period_range(tl.start, tl.end, freq="M")
    for month in months:
        name = EVENT_MONTHS.get(month.month)
        if name is None:
            continue
        lo = max(epoch_day(month.start_time.date()) + 7, epoch_day(tl.start))
        hi = min(epoch_day(month.start_time.date()) + 24, epoch_day(tl.end) - 1)
        cand = [
            d
            for d in range(lo, hi + 1)
            if cal.working[d - cal.day0] and cal.working[d + 1 - cal.day0]
        ]
        if not cand:
            continue
        day = cand[int(rng.integers(len(cand)))]
        i0 = day - epoch_day(tl.start)
        code = len(event_names)
        event_names.append(f"{name}_{month.year}")
        event_days.append((i0, i0 + 1))
        event_size.append(float(rng.lognormal(0.0, 0.35)))
        event_of_day[i0 : i0 + 2] = code

    names: list[str | None] = []
    quality: list[float] = []
    cpl: list[float] = []
    first: list[int] = []
    for ch in CHANNELS:
        first.append(len(names))
        camps = ch.campaigns
        if ch.key == "events":
            camps = tuple(Campaign(name, 1.0) for name in event_names or ["trade_shows"])
        for camp in camps:
            names.append(camp.name)
            quality.append(camp.quality)
            cpl.append(camp.cpl)
    return Campaigns(event_of_day, event_names, event_days, event_size, names, quality, cpl, first)
