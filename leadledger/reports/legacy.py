"""Bind metrics to a workspace: parse parameters, build the expression, run it, wrap a Report."""

from __future__ import annotations

import datetime as dt
import math
import operator
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import ibis
import pandas as pd

from leadledger.config.models import BANDS
from leadledger.errors import InvalidArgument, UnknownField, UnknownStage
from leadledger.ledger.derived import imported_stage_entries, local_date
from leadledger.metrics import acceptance as acc
from leadledger.metrics import conversion as conv
from leadledger.metrics import funnel, sourced, velocity
from leadledger.report import Report
from leadledger.suggest import did_you_mean
from leadledger.workdays import PERIODS, next_period_start, period_start

if TYPE_CHECKING:
    from leadledger.service import Workspace

REPORTS: dict[str, Callable[..., Report]] = {}


def register(name: str) -> Callable[[Callable[..., Report]], Callable[..., Report]]:
    def deco(fn: Callable[..., Report]) -> Callable[..., Report]:
        REPORTS[name] = fn
        return fn

    return deco


def run_report(ws: Workspace, name: str, **params: Any) -> Report:
    if name not in REPORTS:
        raise InvalidArgument(
            f"unknown report '{name}'",
            hint=did_you_mean(name, REPORTS) or f"reports: {', '.join(sorted(REPORTS))}",
        )
    return REPORTS[name](ws, **params)


# -- parameter parsing -------------------------------------------------------------------------
#: Years a date (--from, --to) or an instant (--as-of) may lie in. Period arithmetic (the
#: period before the first, the one after the last) overflows Python's dates at years 1 and
#: 9999, and the reports' times are pandas nanosecond timestamps (1677-09-21 to 2262-04-11):
#: 1900–2100 keeps any of them, moved by the longest window (a century), inside that range.
FIRST_YEAR, LAST_YEAR = 1900, 2100
#: The longest duration a window (--window, --lookback, --history, --cohort) may span: a
#: century, in days. Longer ones push dates out of range and answer no question anyone asks.
LONGEST_WINDOW_DAYS = 36_525
#: The most rows a --limit may ask for (a bigger number is "all" in practice, and beyond
#: 2**63 − 1 the database cannot even hold it).
LARGEST_LIMIT = 1_000_000


def check_year(day: dt.date | pd.Timestamp, name: str, value: Any) -> None:
    """A date outside FIRST_YEAR–LAST_YEAR is a typed error naming the option and the value."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        when = "past" if day.year < FIRST_YEAR else "future"
        raise InvalidArgument(
            f"--{name} '{value}' is outside the supported years {FIRST_YEAR}–{LAST_YEAR} "
            f"(too far in the {when})",
            hint=f"use a date between {FIRST_YEAR}-01-01 and {LAST_YEAR}-12-31",
        )


def parse_date(value: str | dt.date | None, name: str) -> dt.date | None:
    """``--from``/``--to``/``--as-of`` as a date: YYYY-MM-DD, years FIRST_YEAR–LAST_YEAR."""
    if value is None:
        return None
    if isinstance(value, dt.date):
        day = value.date() if isinstance(value, dt.datetime) else value
    else:
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError as exc:
            raise InvalidArgument(
                f"--{name} '{value}' is not a date", hint="use YYYY-MM-DD"
            ) from exc
    check_year(day, name, value)
    return day


def parse_window(value: str | float | None, name: str = "window") -> float | None:
    """'90d', '12w', '36h' or a number of days → days; at most LONGEST_WINDOW_DAYS."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        days = float(value)
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dwh]?)\s*", str(value))
        if not m:
            raise InvalidArgument(
                f"--{name} '{value}' is not a duration", hint="use e.g. 90d, 12w or 36h"
            )
        n = float(m.group(1))
        days = n / 24 if m.group(2) == "h" else n * {"": 1, "d": 1, "w": 7}[m.group(2)]
    if not math.isfinite(days):
        raise InvalidArgument(f"--{name} '{value}' is not a duration", hint="use e.g. 90d, 12w")
    if abs(days) > LONGEST_WINDOW_DAYS:
        raise InvalidArgument(
            f"--{name} '{value}' is longer than the longest supported window, "
            f"{LONGEST_WINDOW_DAYS:,} days (a century)",
            hint="use e.g. 90d, 12w or 36h",
        )
    return days


def parse_limit(value: Any, name: str = "limit", *, minimum: int = 0) -> int:
    """``--limit N``: a whole number from ``minimum`` to LARGEST_LIMIT."""
    number: int | None = None
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,30}\s*", value):
        number = int(value)
    elif not isinstance(value, (bool, str)):
        try:
            number = operator.index(value)  # int, numpy integers; never a float
        except TypeError:
            number = None
    if number is None or not minimum <= number <= LARGEST_LIMIT:
        raise InvalidArgument(
            f"--{name} '{value}' is not a whole number from {minimum} to {LARGEST_LIMIT:,}",
            hint=f"e.g. --{name} 20",
        )
    return number


def parse_fields(ws: Workspace, by: str | Sequence[str] | None) -> list[str]:
    if not by:
        return []
    items = by.split(",") if isinstance(by, str) else [x for b in by for x in b.split(",")]
    fields = [f.strip() for f in items if f.strip()]
    known = ws.cfg.breakdown_fields
    for f in fields:
        if f not in known:
            raise UnknownField(
                f"cannot break down by '{f}'",
                hint=(did_you_mean(f, known) or "") + f" fields: {', '.join(known)}",
            )
    return fields


def check_stage(ws: Workspace, stage: str, name: str, extra: Sequence[str] = ()) -> str:
    valid = [*extra, *ws.cfg.stage_keys]
    if stage not in valid:
        raise UnknownStage(
            f"--{name} '{stage}' is not a funnel stage",
            hint=did_you_mean(stage, valid) or f"stages: {', '.join(valid)}",
        )
    return stage


def require_stages(ws: Workspace, report: str, stages: Sequence[str]) -> None:
    """Reports built on named stages say so when the project does not have them."""
    missing = [s for s in stages if s not in ws.cfg.stage_keys]
    if missing:
        raise UnknownStage(
            f"report {report} needs the stage(s) {', '.join(missing)}, which this project "
            "does not define",
            hint=f"stages: {', '.join(ws.cfg.stage_keys)}; rename your stages' keys in "
            "leadledger.yaml (keep your CRM's names in source_values)",
        )


def check_period(period: str) -> str:
    if period not in PERIODS:
        raise InvalidArgument(
            f"--period '{period}' is not one of {', '.join(PERIODS)}",
            hint=did_you_mean(period, PERIODS),
        )
    return period


def last_activity_date(ws: Workspace) -> dt.date | None:
    """The last local day with an imported stage entry: the default end of every report's range
    (scoring's MQL events, dated at their as-of, often now, do not count). A scan of every stage
    entry (seconds on millions of leads, and every report asks), so it is kept per data version:
    equal versions mean equal data (``Store.data_version``)."""
    key = ("last_activity_date", ws.store.data_version(), id(ws.cfg))
    if key not in ws.store.memo:
        e = imported_stage_entries(ws.store.tables(), ws.cfg)
        value = ws.store.execute(local_date(e.entered_at).max())
        day = None if value is None or pd.isna(value) else pd.Timestamp(value).date()
        ws.store.memo.clear()  # only the current version's answers are worth keeping
        ws.store.memo[key] = day
    return ws.store.memo[key]  # type: ignore[no-any-return]


def resolve_range(
    ws: Workspace, start: Any, end: Any, period: str, periods_back: int = 11
) -> tuple[dt.date, dt.date, list[str]]:
    notes: list[str] = []
    s = parse_date(start, "from")
    e = parse_date(end, "to")
    if e is None:
        today = ws.today()
        last = last_activity_date(ws)
        e = min(today, last) if last else today
        if last and last < today:
            notes.append(f"--to defaults to the last day with data, {e.isoformat()}")
    if s is None:
        s = period_start(e, period)
        for _ in range(periods_back):
            s = period_start(s - dt.timedelta(days=1), period)
    if s > e:
        raise InvalidArgument(f"--from {s} is after --to {e}")
    return s, e, notes


def periods_frame(ws: Workspace, start: dt.date, end: dt.date, period: str) -> pd.DataFrame:
    """Periods from the one before ``start``'s to ``end``'s, with working days."""
    prev = period_start(period_start(start, period) - dt.timedelta(days=1), period)
    cal = ws.calendar.periods(prev, end, period)
    rows = []
    for rec in cal.to_dict(orient="records"):
        first: dt.date = rec["period"]
        last: dt.date = rec["period_end"]
        in_from = max(first, start) if first >= period_start(start, period) else first
        elapsed = ws.calendar.working_days(in_from, min(last, end))
        left = ws.calendar.working_days(end + dt.timedelta(days=1), last) if last > end else 0
        rows.append(
            {
                "period": first,
                "working_days": rec["working_days"],
                "working_days_elapsed": elapsed,
                "working_days_left": left,
            }
        )
    return pd.DataFrame(rows)


def parse_as_of(ws: Workspace, value: Any) -> pd.Timestamp:
    """--as-of as a UTC instant. A date or a time without an offset is in the project's time
    zone, like --from/--to; a bare date means the end of that day."""
    if value is None:
        return pd.Timestamp.now(tz="UTC").floor("s")
    text = str(value).strip()
    try:
        ts = pd.Timestamp(text)
    except (ValueError, OverflowError) as exc:
        raise InvalidArgument(
            f"--as-of '{value}' is not a date or time", hint="use YYYY-MM-DD[THH:MM[:SS]][+HH:MM]"
        ) from exc
    if pd.isna(ts):  # pandas reads '' and 'NaT' as a missing time, which no report expects
        raise InvalidArgument(
            f"--as-of '{value}' is not a date or time", hint="use YYYY-MM-DD[THH:MM[:SS]][+HH:MM]"
        )
    check_year(ts, "as-of", value)
    if ts.tzinfo is not None:
        return ts.tz_convert("UTC")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        ts = ts + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    return ts.tz_localize(ws.cfg.timezone, nonexistent="shift_forward", ambiguous=False).tz_convert(
        "UTC"
    )


def _frame(ws: Workspace, expr: ibis.Expr) -> pd.DataFrame:
    df = ws.store.execute(expr)
    for c in df.columns:
        if c == "period":
            df[c] = pd.to_datetime(df[c]).dt.date
    return df


def _base_params(start: dt.date, end: dt.date, period: str, fields: list[str]) -> dict[str, Any]:
    return {"from": start, "to": end, "period": period, "by": fields}


def skip_note(ws: Workspace) -> str:
    if ws.cfg.count_skipped_stages:
        return (
            "skipped stages count as reached: a lead that jumps over a stage enters it when "
            "it first enters a later stage (count_skipped_stages: true)"
        )
    return "skipped stages do not count as reached (count_skipped_stages: false)"


# -- the reports -------------------------------------------------------------------------------
@register("stages")
def report_stages(
    ws: Workspace, *, start: Any = None, end: Any = None, period: str = "month", by: Any = None
) -> Report:
    period = check_period(period)
    fields = parse_fields(ws, by)
    s, e, notes = resolve_range(ws, start, end, period)
    if s != period_start(s, period):
        # whole periods: a count of the whole first period over its working days, never a
        # partial count over a full divisor (or the reverse)
        notes.append(
            f"--from {s.isoformat()} moved to the start of its {period}, "
            f"{period_start(s, period).isoformat()}"
        )
        s = period_start(s, period)
    periods = periods_frame(ws, s, e, period)
    first_counted = periods["period"].min()
    tables = ws.store.tables()
    counts = funnel.entries_by_period(
        tables, ws.cfg, period=period, start=first_counted, end=e, fields=fields
    )
    order = pd.DataFrame({"stage": ws.cfg.stage_keys, "stage_rank": range(len(ws.cfg.stage_keys))})
    expr = funnel.stages_per_working_day(
        counts, ibis.memtable(periods), ibis.memtable(order), fields
    )
    df = _frame(ws, expr)
    df = df[df["period"] >= period_start(s, period)].reset_index(drop=True)
    notes = [
        *notes,
        "entered = leads whose first entry into the stage falls in the period "
        f"({ws.cfg.timezone}); " + skip_note(ws),
        "per_working_day = entered ÷ working days elapsed in the period (Mon–Fri by default, "
        "minus public holidays and closures); change_per_working_day compares with the previous "
        "period per working day",
        "needed_per_working_day = previous period's total ÷ this period's working days; "
        "needed_per_remaining_working_day = what is still missing ÷ working days left",
    ]
    return Report(
        "stages",
        _base_params(s, e, period, fields),
        df,
        notes,
        title="Leads entering each stage",
        table_columns=[
            "period",
            "stage",
            *fields,
            "entered",
            "working_days",
            "working_days_elapsed",
            "per_working_day",
            "change_per_working_day",
            "needed_per_working_day",
        ],
    )


@register("conversion")
def report_conversion(
    ws: Workspace,
    *,
    from_stage: str = "lead",
    to_stage: str | None = None,
    start: Any = None,
    end: Any = None,
    period: str = "month",
    by: Any = None,
    window: Any = None,
    ordered: bool = False,
    as_of: Any = None,
) -> Report:
    period = check_period(period)
    fields = parse_fields(ws, by)
    if to_stage is None:  # the next stage from visitor, else the end of the funnel
        to_stage = ws.cfg.stage_keys[0] if from_stage == "visitor" else ws.cfg.stage_keys[-1]
    check_stage(ws, from_stage, "from-stage", extra=["visitor"])
    check_stage(ws, to_stage, "to-stage")
    s, e, notes = resolve_range(ws, start, end, period)
    tables = ws.store.tables()
    params = {**_base_params(s, e, period, fields), "from_stage": from_stage, "to_stage": to_stage}
    if from_stage == "visitor":
        bad = [f for f in fields if f not in conv.TRAFFIC_FIELDS]
        if bad:
            raise UnknownField(
                f"visitor → lead can be broken down only by {', '.join(conv.TRAFFIC_FIELDS)}",
                hint=f"drop {', '.join(bad)} from --by",
            )
        if to_stage != ws.cfg.stage_keys[0]:
            raise InvalidArgument(f"from visitor the next stage is '{ws.cfg.stage_keys[0]}'")
        df = _frame(
            ws, conv.visitor_to_lead(tables, ws.cfg, period=period, start=s, end=e, fields=fields)
        )
        notes.append(
            "visitor → lead is a flow ratio (new leads ÷ visits in the period): "
            "visitors are anonymous traffic counts, not a cohort"
        )
        return Report("conversion", params, df, notes, title="Visitor → lead")
    keys = ws.cfg.stage_keys
    if keys.index(to_stage) <= keys.index(from_stage):
        raise InvalidArgument(f"--to-stage {to_stage} must come after --from-stage {from_stage}")
    window_days = parse_window(window)
    as_of_ts = parse_as_of(ws, as_of)
    expr = conv.cohort_conversion(
        tables,
        ws.cfg,
        from_stage=from_stage,
        to_stage=to_stage,
        period=period,
        start=s,
        end=e,
        as_of=as_of_ts,
        fields=fields,
        window_days=window_days,
        ordered=ordered,
    )
    df = _frame(ws, expr)
    params.update(window_days=window_days, ordered=ordered, as_of=as_of_ts)
    notes += [
        f"rate = cohort conversion: of the leads that entered {from_stage} in the period, the "
        f"share that reached {to_stage} by {as_of_ts.isoformat()}"
        + (f" within {window_days:g} days" if window_days is not None else "")
        + (
            "; only when reached at or after entering " + from_stage
            if ordered
            else "; 'reached' includes back-filled dates (CRMs) — use --ordered to require "
            f"{to_stage} after {from_stage}"
        ),
        f"cumulative_rate: of the leads that entered {keys[0]} in the period, the share that "
        f"reached {to_stage}; flow_ratio = entered {to_stage} ÷ entered {from_stage} in the "
        "period (for pacing)",
        skip_note(ws),
    ]
    ooo = int(df["out_of_order"].sum()) if len(df) else 0
    if ooo:
        notes.append(
            f"{ooo} lead(s) reached {to_stage} before entering {from_stage}; counted "
            "unless --ordered, listed by 'leadledger check'"
        )
    return Report(
        "conversion",
        params,
        df,
        notes,
        title=f"Conversion {from_stage} → {to_stage}",
        table_columns=[
            "period",
            *fields,
            "entered",
            "converted",
            "rate",
            "median_days_to_convert",
            "cumulative_rate",
            "flow_ratio",
        ],
    )


@register("velocity")
def report_velocity(
    ws: Workspace,
    *,
    start: Any = None,
    end: Any = None,
    period: str | None = None,
    by: Any = None,
    as_of: Any = None,
) -> Report:
    if period:
        check_period(period)
    fields = parse_fields(ws, by)
    s, e, notes = resolve_range(
        ws, start, end, period or "month", periods_back=11 if period else 23
    )
    as_of_ts = parse_as_of(ws, as_of)
    expr = velocity.time_in_stage(
        ws.store.tables(), ws.cfg, start=s, end=e, as_of=as_of_ts, period=period, fields=fields
    )
    df = _frame(ws, expr)
    notes += [
        "time in stage = from the first entry into a stage to the first entry into the next "
        "stage the lead reached; only leads that left the stage count (days)",
        f"open = still in the stage as of {as_of_ts.isoformat()} (no later stage, no side state "
        "after it): their age is reported apart; closed = left to a side state "
        "(disqualified, recycled, lost)",
    ]
    params = {"from": s, "to": e, "period": period, "by": fields, "as_of": as_of_ts}
    return Report(
        "velocity",
        params,
        df,
        notes,
        title="Time in stage",
        table_columns=[
            *(["period"] if period else []),
            "stage",
            *fields,
            "left",
            "median_days",
            "mean_days",
            "p90_days",
            "open",
            "open_median_age_days",
            "closed",
        ],
    )


@register("acceptance")
def report_acceptance(
    ws: Workspace, *, start: Any = None, end: Any = None, period: str = "month", by: Any = None
) -> Report:
    period = check_period(period)
    require_stages(ws, "acceptance", ["mql", "sal", "sql"])
    by_reason = False
    if by:
        items = [x.strip() for x in (by.split(",") if isinstance(by, str) else by)]
        by_reason = "reason" in items
        by = [x for x in items if x != "reason"]
    fields = parse_fields(ws, by)
    s, e, notes = resolve_range(ws, start, end, period)
    tables = ws.store.tables()
    params = _base_params(s, e, period, fields + (["reason"] if by_reason else []))
    if by_reason:
        df = _frame(
            ws,
            acc.rejections_by_reason(tables, ws.cfg, period=period, start=s, end=e, fields=fields),
        )
        notes.append(
            "rejected MQLs by the reason code of the rejection (disqualified or "
            "recycled at or after entering mql, never accepted)"
        )
        return Report("acceptance", params, df, notes, title="MQL rejections by reason")
    df = _frame(
        ws, acc.acceptance_by_period(tables, ws.cfg, period=period, start=s, end=e, fields=fields)
    )
    notes += [
        "acceptance_rate = accepted ÷ (accepted + rejected): accepted = reached sal or later; "
        "rejected = disqualified or recycled at/after entering mql and never accepted; "
        "pending MQLs are not in the rate",
        "sql_quality = 1 − SQLs rejected by sales (disqualified or recycled after sql without "
        "reaching the next stage) ÷ SQLs",
        "rejections by reason: --by reason",
    ]
    return Report("acceptance", params, df, notes, title="MQL acceptance and SQL quality")


@register("sourced")
def report_sourced(
    ws: Workspace, *, start: Any = None, end: Any = None, period: str = "quarter", by: Any = None
) -> Report:
    period = check_period(period)
    require_stages(ws, "sourced", ["customer"])
    fields = parse_fields(ws, by)
    s, e, notes = resolve_range(ws, start, end, period, periods_back=7)
    df = _frame(
        ws,
        sourced.sourced_share(
            ws.store.tables(), ws.cfg, period=period, start=s, end=e, fields=fields
        ),
    )
    low, high, label = BANDS[ws.cfg.sourced_share.band]
    notes += [
        "marketing_share = new customers whose originating source (lead channel, else first "
        "touch) is a marketing channel ÷ all new customers",
        f"benchmark band {low:.0%}–{high:.0%}: {label} (sourced_share.band: "
        f"{ws.cfg.sourced_share.band})",
        "pipeline_share = amount of the deals created in the period whose lead is "
        "marketing-sourced ÷ amount of all deals created in it; revenue_share = the same over "
        "the deals won (closed) in the period; deals without a lead count in the denominator "
        "only",
    ]
    unknown = int(df["unknown_source"].sum()) if len(df) else 0
    if unknown:
        notes.append(
            f"{unknown} customer(s) have no known source channel (not configured, or "
            "empty): they count in the denominator"
        )
    return Report(
        "sourced",
        _base_params(s, e, period, fields),
        df,
        notes,
        title="Marketing-sourced share of new customers, pipeline and revenue",
        table_columns=[
            "period",
            *fields,
            "customers",
            "marketing_sourced",
            "sales_sourced",
            "unknown_source",
            "marketing_share",
            "band_status",
            "pipeline",
            "pipeline_share",
            "revenue",
            "revenue_share",
        ],
    )


def next_period(day: dt.date, period: str) -> dt.date:
    return next_period_start(period_start(day, period), period)
