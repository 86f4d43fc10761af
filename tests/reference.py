"""An independent plain-pandas reference for the funnel metrics.

Written from the definitions in PRODUCT.md, without Ibis or the package's metric code, so the
engine results can be checked against it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _utc(col: pd.Series) -> pd.Series:
    """Any timestamp column (empty, naive-as-UTC or aware) as microsecond UTC."""
    return pd.to_datetime(col, utc=True).astype("datetime64[us, UTC]")


def as_of(
    leads: pd.DataFrame, events: pd.DataFrame, when: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The leads and events known at ``when``."""
    return (
        leads[_utc(leads["created_at"]) <= when],
        events[_utc(events["entered_at"]) <= when],
    )


def first_entries(leads: pd.DataFrame, events: pd.DataFrame, stages: list[str]) -> pd.DataFrame:
    """Wide frame: index lead_id, one column per stage with the first entry (UTC)."""
    created = pd.DataFrame(
        {"lead_id": leads["lead_id"], "stage": stages[0], "entered_at": leads["created_at"]}
    )
    ev = events[["lead_id", "stage", "entered_at"]].copy()
    ev["entered_at"] = _utc(ev["entered_at"])
    created["entered_at"] = _utc(created["entered_at"])
    allev = pd.concat([ev, created], ignore_index=True)
    allev = allev[allev["stage"].isin(stages)]
    wide = allev.groupby(["lead_id", "stage"])["entered_at"].min().unstack("stage")
    for s in stages:
        wide[s] = _utc(wide[s]) if s in wide.columns else _utc(pd.Series(pd.NaT, index=wide.index))
    return wide[stages]


def reached(first: pd.DataFrame, stages: list[str], skip: bool = True) -> pd.DataFrame:
    out = first.copy()
    if skip:
        for i, s in enumerate(stages):
            later = first[stages[i + 1 :]]
            if len(later.columns):
                earliest = _utc(later.min(axis=1))
                out[s] = first[s].where(first[s].notna(), earliest)
    return out


def local_period(ts: pd.Series, tz: str, period: str) -> pd.Series:
    local = ts.dt.tz_convert(tz).dt.tz_localize(None)
    freq = {"day": "D", "week": "W-MON", "month": "M", "quarter": "Q", "year": "Y"}[period]
    if period == "week":
        return (local.dt.normalize() - pd.to_timedelta(local.dt.weekday, unit="D")).dt.date
    return local.dt.to_period(freq).dt.start_time.dt.date


def stage_counts(
    reach: pd.DataFrame, stages: list[str], tz: str, period: str, start: str, end: str
) -> dict[tuple, int]:
    out: dict[tuple, int] = {}
    for s in stages:
        col = reach[s].dropna()
        local_day = col.dt.tz_convert(tz).dt.date
        col = col[
            (local_day >= pd.Timestamp(start).date()) & (local_day <= pd.Timestamp(end).date())
        ]
        for p, n in local_period(col, tz, period).value_counts().items():
            out[(p.isoformat(), s)] = int(n)
    return out


def cohort_conversion(
    reach: pd.DataFrame,
    s: str,
    t: str,
    tz: str,
    period: str,
    start: str,
    end: str,
    as_of: pd.Timestamp,
    window_days: float | None = None,
) -> dict[str, tuple[int, int]]:
    col = reach[s].dropna()
    day = col.dt.tz_convert(tz).dt.date
    col = col[(day >= pd.Timestamp(start).date()) & (day <= pd.Timestamp(end).date())]
    periods = local_period(col, tz, period)
    tt = reach.loc[col.index, t]
    conv = tt.notna() & (tt <= as_of)
    if window_days is not None:
        conv &= (tt - col).dt.total_seconds() <= window_days * 86400
    out = {}
    for p in sorted(set(periods)):
        mask = periods == p
        out[p.isoformat()] = (int(mask.sum()), int(conv[mask].sum()))
    return out


def median_days_in_stage(first: pd.DataFrame, stages: list[str]) -> dict[str, float]:
    out = {}
    for i, s in enumerate(stages[:-1]):
        nxt = first[stages[i + 1 :]].bfill(axis=1).iloc[:, 0]
        days = (nxt - first[s]).dt.total_seconds() / 86400
        ok = first[s].notna() & nxt.notna() & (days >= 0)
        if ok.any():
            out[s] = float(np.median(days[ok]))
    return out
