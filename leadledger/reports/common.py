"""What many reports resolve the same way: the date range and its defaults, breakdown fields and
stages checked against the config, the periods with their working days, ``--as-of``.

Every function takes the report's :class:`~leadledger.reports.context.Ctx`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from leadledger.errors import InvalidArgument, UnknownField, UnknownStage
from leadledger.reports.params import Instant, parse_day, parse_instant
from leadledger.suggest import did_you_mean
from leadledger.workdays import next_period_start, period_start

if TYPE_CHECKING:
    from leadledger.reports.context import Ctx


def last_activity_date(ctx: Ctx) -> dt.date | None:
    """The last local day with an imported stage entry: the default end of every report's range
    (scoring's MQL events, dated at their as-of, often now, do not count). A scan of every stage
    entry (seconds on millions of leads, and every report asks), so it is kept per data version:
    equal versions mean equal data (``Store.data_version``)."""
    from leadledger.ledger.derived import imported_stage_entries, local_date

    def compute() -> dt.date | None:
        e = imported_stage_entries(ctx.tables(), ctx.cfg)
        value = ctx.execute(local_date(e.entered_at).max())
        return None if value is None or pd.isna(value) else pd.Timestamp(value).date()

    return ctx.memo(("last_activity_date",), compute)


def default_end(ctx: Ctx) -> tuple[dt.date, list[str]]:
    """The end of a range not given: the last day with data, or today when that is later."""
    today = ctx.today()
    last = last_activity_date(ctx)
    end = min(today, last) if last else today
    notes = (
        [f"--to defaults to the last day with data, {end.isoformat()}"]
        if last and last < today
        else []
    )
    return end, notes


def resolve_range(
    ctx: Ctx,
    start: dt.date | None,
    end: dt.date | None,
    period: str,
    periods_back: int = 11,
) -> tuple[dt.date, dt.date, list[str]]:
    """``--from``/``--to`` with their defaults: the end is the last day with data (or today),
    the start ``periods_back`` whole periods before the end's."""
    notes: list[str] = []
    s, e = parse_day(start, "--from"), parse_day(end, "--to")
    if e is None:
        e, notes = default_end(ctx)
    if s is None:
        s = period_start(e, period)
        for _ in range(periods_back):
            s = period_start(s - dt.timedelta(days=1), period)
    if s > e:
        raise InvalidArgument(f"--from {s} is after --to {e}")
    return s, e, notes


def periods_frame(ctx: Ctx, start: dt.date, end: dt.date, period: str) -> pd.DataFrame:
    """Periods from the one before ``start``'s to ``end``'s, with working days."""
    cal = ctx.calendar
    prev = period_start(period_start(start, period) - dt.timedelta(days=1), period)
    rows = []
    for rec in cal.periods(prev, end, period).to_dict(orient="records"):
        first: dt.date = rec["period"]
        last: dt.date = rec["period_end"]
        in_from = max(first, start) if first >= period_start(start, period) else first
        elapsed = cal.working_days(in_from, min(last, end))
        left = cal.working_days(end + dt.timedelta(days=1), last) if last > end else 0
        rows.append(
            {
                "period": first,
                "working_days": rec["working_days"],
                "working_days_elapsed": elapsed,
                "working_days_left": left,
            }
        )
    return pd.DataFrame(rows)


def next_period(day: dt.date, period: str) -> dt.date:
    return next_period_start(period_start(day, period), period)


def check_fields(ctx: Ctx, fields: Sequence[str]) -> list[str]:
    """Breakdown fields the project knows (``UnknownField`` with the known ones otherwise)."""
    known = ctx.cfg.breakdown_fields
    for f in fields:
        if f not in known:
            raise UnknownField(
                f"cannot break down by '{f}'",
                hint=(did_you_mean(f, known) or "") + f" fields: {', '.join(known)}",
            )
    return list(fields)


def check_stage(ctx: Ctx, stage: str, flag: str, extra: Sequence[str] = ()) -> str:
    """A stage of the project's funnel (or one of ``extra``), named by its option."""
    valid = [*extra, *ctx.cfg.stage_keys]
    if stage not in valid:
        raise UnknownStage(
            f"{flag} '{stage}' is not a funnel stage",
            hint=did_you_mean(stage, valid) or f"stages: {', '.join(valid)}",
        )
    return stage


def require_stages(ctx: Ctx, report: str, stages: Sequence[str]) -> None:
    """Reports built on named stages say so when the project does not have them."""
    missing = [s for s in stages if s not in ctx.cfg.stage_keys]
    if missing:
        raise UnknownStage(
            f"report {report} needs the stage(s) {', '.join(missing)}, which this project "
            "does not define",
            hint=f"stages: {', '.join(ctx.cfg.stage_keys)}; rename your stages' keys in "
            "leadledger.yaml (keep your CRM's names in source_values)",
        )


def as_of_instant(ctx: Ctx, value: Instant | Any | None) -> pd.Timestamp:
    """``--as-of`` as a UTC instant: a date or a time without an offset is in the project's
    time zone (a bare date means the end of that day); not given: now."""
    if value is None:
        return ctx.now()
    instant = value if isinstance(value, Instant) else parse_instant(value)
    assert instant is not None
    return instant.at(ctx.cfg.timezone)


def skip_note(ctx: Ctx) -> str:
    if ctx.cfg.count_skipped_stages:
        return (
            "skipped stages count as reached: a lead that jumps over a stage enters it when "
            "it first enters a later stage (count_skipped_stages: true)"
        )
    return "skipped stages do not count as reached (count_skipped_stages: false)"


def base_params(start: dt.date, end: dt.date, period: str, fields: list[str]) -> dict[str, Any]:
    """The ``params`` of a report over a range, as the JSON contract names them."""
    return {"from": start, "to": end, "period": period, "by": fields}
