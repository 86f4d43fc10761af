"""The funnel reports: ``report stages``, ``conversion``, ``velocity``, ``acceptance`` and
``sourced`` (PRODUCT.md's definitions; the metrics are in ``leadledger.metrics``)."""

from __future__ import annotations

from typing import Annotated

import ibis
import pandas as pd
from pydantic import BeforeValidator, Field

from leadledger.config.models import BANDS
from leadledger.errors import InvalidArgument, UnknownField
from leadledger.metrics import acceptance as acc
from leadledger.metrics import conversion as conv
from leadledger.metrics import funnel, sourced, velocity
from leadledger.reports.common import (
    as_of_instant,
    base_params,
    check_fields,
    check_stage,
    periods_frame,
    require_stages,
    resolve_range,
    skip_note,
)
from leadledger.reports.context import Ctx
from leadledger.reports.params import (
    PERIODS,
    AsOf,
    Breakdown,
    From,
    Instant,
    Params,
    Period,
    To,
    Window,
    choice,
    resolved,
)
from leadledger.reports.registry import Resolved, report
from leadledger.reports.result import Report
from leadledger.workdays import period_start

__all__ = [
    "AcceptanceParams",
    "ConversionParams",
    "SourcedParams",
    "StagesParams",
    "VelocityParams",
]


def _instant(ctx: Ctx, value: Instant | None) -> tuple[Instant, frozenset[str]]:
    """``--as-of`` resolved to a UTC instant; ``from_clock`` names it when it defaulted to now."""
    ts = as_of_instant(ctx, value)
    return Instant(ts.isoformat(), ts, False), frozenset() if value is not None else frozenset(
        {"as_of"}
    )


# -- stages ----------------------------------------------------------------------------------------
class StagesParams(Params):
    """``leadledger report stages``."""

    start: From = None
    end: To = None
    period: Period = "month"
    by: Breakdown = ()

    def resolve(self, ctx: Ctx) -> Resolved[StagesParams]:
        fields = check_fields(ctx, self.by)
        s, e, notes = resolve_range(ctx, self.start, self.end, self.period)
        if s != period_start(s, self.period):
            # whole periods: a count of the whole first period over its working days, never a
            # partial count over a full divisor (or the reverse)
            notes.append(
                f"--from {s.isoformat()} moved to the start of its {self.period}, "
                f"{period_start(s, self.period).isoformat()}"
            )
            s = period_start(s, self.period)
        return Resolved(resolved(self, start=s, end=e, by=tuple(fields)), tuple(notes))


STAGES_COLUMNS = (
    "period",
    "stage",
    "entered",
    "working_days",
    "working_days_elapsed",
    "per_working_day",
    "change_per_working_day",
    "needed_per_working_day",
)


@report(
    "stages",
    params=StagesParams,
    columns=STAGES_COLUMNS,
    cli="report stages",
    api="/reports/stages",
)
def report_stages(ctx: Ctx, p: StagesParams) -> Report:
    """Leads entering each stage per period, per working day, change vs the previous period,
    and the pace needed to match it.

    Example: leadledger report stages --period month --from 2025-01-01 --by channel
    """
    assert p.start is not None and p.end is not None
    fields = list(p.by)
    periods = periods_frame(ctx, p.start, p.end, p.period)
    first_counted = periods["period"].min()
    counts = funnel.entries_by_period(
        ctx.tables(), ctx.cfg, period=p.period, start=first_counted, end=p.end, fields=fields
    )
    keys = ctx.cfg.stage_keys
    order = pd.DataFrame({"stage": keys, "stage_rank": range(len(keys))})
    expr = funnel.stages_per_working_day(
        counts, ibis.memtable(periods), ibis.memtable(order), fields
    )
    df = ctx.frame(expr)
    df = df[df["period"] >= period_start(p.start, p.period)].reset_index(drop=True)
    notes = [
        "entered = leads whose first entry into the stage falls in the period "
        f"({ctx.cfg.timezone}); " + skip_note(ctx),
        "per_working_day = entered ÷ working days elapsed in the period (Mon–Fri by default, "
        "minus public holidays and closures); change_per_working_day compares with the previous "
        "period per working day",
        "needed_per_working_day = previous period's total ÷ this period's working days; "
        "needed_per_remaining_working_day = what is still missing ÷ working days left",
    ]
    notes.extend(_deal_notes(ctx, p.start, p.end))
    table = list(STAGES_COLUMNS)
    return Report(
        "stages",
        base_params(p.start, p.end, p.period, fields),
        df,
        notes,
        title="Leads entering each stage",
        table_columns=[*table[:2], *fields, *table[2:]],
    )


def _deal_notes(ctx: Ctx, start: object, end: object) -> list[str]:
    """Which stage entries in the range came from deals (deal_stages in leadledger.yaml)."""
    expr = funnel.entries_from_deals(ctx.tables(), ctx.cfg, start=start, end=end)
    if expr is None:
        return []
    df = ctx.frame(expr)
    df = df[df["from_deals"] > 0]
    if df.empty:
        return []
    made = {
        str(r["stage"]): (int(r["from_deals"]), int(r["entered"])) for r in df.to_dict("records")
    }
    parts = [f"{s} {made[s][0]:,} of {made[s][1]:,}" for s in ctx.cfg.stage_keys if s in made]
    return [
        "entries made by deals (a deal's creation, win and loss are stage entries of its "
        "contacts; deal_stages in leadledger.yaml): " + ", ".join(parts)
    ]


# -- conversion ------------------------------------------------------------------------------------
class ConversionParams(Params):
    """``leadledger report conversion``."""

    from_stage: Annotated[str, Field(description="Cohort stage S (or visitor).")] = "lead"
    to_stage: Annotated[
        str | None,
        Field(description="Target stage T (default: the last stage; 'lead' from visitor)."),
    ] = None
    window: Annotated[Window, Field(description="Conversion window, e.g. 90d, 12w.")] = None
    ordered: Annotated[bool, Field(description="Count T only when reached after S.")] = False
    as_of: Annotated[
        AsOf, Field(description="Count conversions up to this time (default now).")
    ] = None
    start: From = None
    end: To = None
    period: Period = "month"
    by: Breakdown = ()

    def resolve(self, ctx: Ctx) -> Resolved[ConversionParams]:
        fields = check_fields(ctx, self.by)
        keys = ctx.cfg.stage_keys
        to_stage = self.to_stage
        if to_stage is None:  # the next stage from visitor, else the end of the funnel
            to_stage = keys[0] if self.from_stage == "visitor" else keys[-1]
        check_stage(ctx, self.from_stage, "--from-stage", extra=["visitor"])
        check_stage(ctx, to_stage, "--to-stage")
        s, e, notes = resolve_range(ctx, self.start, self.end, self.period)
        if self.from_stage == "visitor":
            bad = [f for f in fields if f not in conv.TRAFFIC_FIELDS]
            if bad:
                raise UnknownField(
                    f"visitor → lead can be broken down only by {', '.join(conv.TRAFFIC_FIELDS)}",
                    hint=f"drop {', '.join(bad)} from --by",
                )
            if to_stage != keys[0]:
                raise InvalidArgument(f"from visitor the next stage is '{keys[0]}'")
            clock: frozenset[str] = frozenset()
            as_of = self.as_of
        else:
            if keys.index(to_stage) <= keys.index(self.from_stage):
                raise InvalidArgument(
                    f"--to-stage {to_stage} must come after --from-stage {self.from_stage}"
                )
            as_of, clock = _instant(ctx, self.as_of)
        return Resolved(
            resolved(self, to_stage=to_stage, start=s, end=e, by=tuple(fields), as_of=as_of),
            tuple(notes),
            clock,
        )


@report(
    "conversion",
    params=ConversionParams,
    columns=(
        "period",
        "entered",
        "converted",
        "rate",
        "median_days_to_convert",
        "cumulative_rate",
        "flow_ratio",
    ),
    cli="report conversion",
    api="/reports/conversion",
)
def report_conversion(ctx: Ctx, p: ConversionParams) -> Report:
    """Cohort conversion S → T, cumulative conversion from the first stage, flow ratio.

    Example: leadledger report conversion --from-stage mql --to-stage sql --window 90d --by channel
    """
    assert p.start is not None and p.end is not None and p.to_stage is not None
    fields = list(p.by)
    tables = ctx.tables()
    params = {
        **base_params(p.start, p.end, p.period, fields),
        "from_stage": p.from_stage,
        "to_stage": p.to_stage,
    }
    if p.from_stage == "visitor":
        df = ctx.frame(
            conv.visitor_to_lead(
                tables, ctx.cfg, period=p.period, start=p.start, end=p.end, fields=fields
            )
        )
        notes = [
            "visitor → lead is a flow ratio (new leads ÷ visits in the period): "
            "visitors are anonymous traffic counts, not a cohort"
        ]
        return Report("conversion", params, df, notes, title="Visitor → lead")
    keys = ctx.cfg.stage_keys
    window_days = p.window.days if p.window is not None else None
    as_of_ts = as_of_instant(ctx, p.as_of)
    expr = conv.cohort_conversion(
        tables,
        ctx.cfg,
        from_stage=p.from_stage,
        to_stage=p.to_stage,
        period=p.period,
        start=p.start,
        end=p.end,
        as_of=as_of_ts,
        fields=fields,
        window_days=window_days,
        ordered=p.ordered,
    )
    df = ctx.frame(expr)
    params.update(window_days=window_days, ordered=p.ordered, as_of=as_of_ts)
    notes = [
        f"rate = cohort conversion: of the leads that entered {p.from_stage} in the period, the "
        f"share that reached {p.to_stage} by {as_of_ts.isoformat()}"
        + (f" within {window_days:g} days" if window_days is not None else "")
        + (
            "; only when reached at or after entering " + p.from_stage
            if p.ordered
            else "; 'reached' includes back-filled dates (CRMs) — use --ordered to require "
            f"{p.to_stage} after {p.from_stage}"
        ),
        f"cumulative_rate: of the leads that entered {keys[0]} in the period, the share that "
        f"reached {p.to_stage}; flow_ratio = entered {p.to_stage} ÷ entered {p.from_stage} in "
        "the period (for pacing)",
        skip_note(ctx),
    ]
    ooo = int(df["out_of_order"].sum()) if len(df) else 0
    if ooo:
        notes.append(
            f"{ooo} lead(s) reached {p.to_stage} before entering {p.from_stage}; counted "
            "unless --ordered, listed by 'leadledger check'"
        )
    return Report(
        "conversion",
        params,
        df,
        notes,
        title=f"Conversion {p.from_stage} → {p.to_stage}",
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


# -- velocity --------------------------------------------------------------------------------------
class VelocityParams(Params):
    """``leadledger report velocity``."""

    as_of: Annotated[AsOf, Field(description="Age open leads up to this time.")] = None
    period: Annotated[
        str | None,
        BeforeValidator(choice(PERIODS)),
        Field(description="Group by period of entering the stage."),
    ] = None
    start: From = None
    end: To = None
    by: Breakdown = ()

    def resolve(self, ctx: Ctx) -> Resolved[VelocityParams]:
        fields = check_fields(ctx, self.by)
        s, e, notes = resolve_range(
            ctx,
            self.start,
            self.end,
            self.period or "month",
            periods_back=11 if self.period else 23,
        )
        as_of, clock = _instant(ctx, self.as_of)
        return Resolved(
            resolved(self, start=s, end=e, by=tuple(fields), as_of=as_of), tuple(notes), clock
        )


@report(
    "velocity",
    params=VelocityParams,
    columns=(
        "stage",
        "left",
        "median_days",
        "mean_days",
        "p90_days",
        "open",
        "open_median_age_days",
        "closed",
    ),
    cli="report velocity",
    api="/reports/velocity",
)
def report_velocity(ctx: Ctx, p: VelocityParams) -> Report:
    """Time in stage (median, mean, p90 days) of leads that left it; age of those still in it.

    Example: leadledger report velocity --by persona
    """
    assert p.start is not None and p.end is not None
    fields = list(p.by)
    as_of_ts = as_of_instant(ctx, p.as_of)
    expr = velocity.time_in_stage(
        ctx.tables(), ctx.cfg, start=p.start, end=p.end, as_of=as_of_ts, period=p.period,
        fields=fields,
    )  # fmt: skip
    df = ctx.frame(expr)
    notes = [
        "time in stage = from the first entry into a stage to the first entry into the next "
        "stage the lead reached; only leads that left the stage count (days)",
        f"open = still in the stage as of {as_of_ts.isoformat()} (no later stage, no side state "
        "after it): their age is reported apart; closed = left to a side state "
        "(disqualified, recycled, lost)",
    ]
    params = {"from": p.start, "to": p.end, "period": p.period, "by": fields, "as_of": as_of_ts}
    return Report(
        "velocity",
        params,
        df,
        notes,
        title="Time in stage",
        table_columns=[
            *(["period"] if p.period else []),
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


# -- acceptance ------------------------------------------------------------------------------------
class AcceptanceParams(Params):
    """``leadledger report acceptance``."""

    start: From = None
    end: To = None
    period: Period = "month"
    by: Breakdown = ()  # `reason` lists the rejections by reason

    def resolve(self, ctx: Ctx) -> Resolved[AcceptanceParams]:
        require_stages(ctx, "acceptance", ["mql", "sal", "sql"])
        by_reason = "reason" in self.by
        fields = check_fields(ctx, [x for x in self.by if x != "reason"])
        s, e, notes = resolve_range(ctx, self.start, self.end, self.period)
        by = (*fields, *(["reason"] if by_reason else []))
        return Resolved(resolved(self, start=s, end=e, by=by), tuple(notes))


@report(
    "acceptance",
    params=AcceptanceParams,
    columns=("period", "mqls", "accepted", "rejected", "pending", "acceptance_rate", "sql_quality"),
    cli="report acceptance",
    api="/reports/acceptance",
)
def report_acceptance(ctx: Ctx, p: AcceptanceParams) -> Report:
    """MQL acceptance rate by sales and SQL quality; --by reason lists rejections by reason.

    Example: leadledger report acceptance --period quarter --by reason
    """
    assert p.start is not None and p.end is not None
    by_reason = "reason" in p.by
    fields = [x for x in p.by if x != "reason"]
    tables = ctx.tables()
    params = base_params(p.start, p.end, p.period, [*fields, *(["reason"] if by_reason else [])])
    if by_reason:
        df = ctx.frame(
            acc.rejections_by_reason(
                tables, ctx.cfg, period=p.period, start=p.start, end=p.end, fields=fields
            )
        )
        notes = [
            "rejected MQLs by the reason code of the rejection (disqualified or "
            "recycled at or after entering mql, never accepted)"
        ]
        return Report("acceptance", params, df, notes, title="MQL rejections by reason")
    df = ctx.frame(
        acc.acceptance_by_period(
            tables, ctx.cfg, period=p.period, start=p.start, end=p.end, fields=fields
        )
    )
    notes = [
        "acceptance_rate = accepted ÷ (accepted + rejected): accepted = reached sal or later; "
        "rejected = disqualified or recycled at/after entering mql and never accepted; "
        "pending MQLs are not in the rate",
        "sql_quality = 1 − SQLs rejected by sales (disqualified or recycled after sql without "
        "reaching the next stage) ÷ SQLs",
        "rejections by reason: --by reason",
    ]
    return Report("acceptance", params, df, notes, title="MQL acceptance and SQL quality")


# -- sourced ---------------------------------------------------------------------------------------
class SourcedParams(Params):
    """``leadledger report sourced``."""

    start: From = None
    end: To = None
    period: Period = "quarter"
    by: Breakdown = ()

    def resolve(self, ctx: Ctx) -> Resolved[SourcedParams]:
        require_stages(ctx, "sourced", ["customer"])
        fields = check_fields(ctx, self.by)
        s, e, notes = resolve_range(ctx, self.start, self.end, self.period, periods_back=7)
        return Resolved(resolved(self, start=s, end=e, by=tuple(fields)), tuple(notes))


SOURCED_COLUMNS = (
    "period",
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
)


@report(
    "sourced",
    params=SourcedParams,
    columns=SOURCED_COLUMNS,
    cli="report sourced",
    api="/reports/sourced",
)
def report_sourced(ctx: Ctx, p: SourcedParams) -> Report:
    """Marketing-sourced share of new customers against the 20–40 % / 40–80 % bands.

    Example: leadledger report sourced --period quarter
    """
    assert p.start is not None and p.end is not None
    fields = list(p.by)
    df = ctx.frame(
        sourced.sourced_share(
            ctx.tables(), ctx.cfg, period=p.period, start=p.start, end=p.end, fields=fields
        )
    )
    low, high, label = BANDS[ctx.cfg.sourced_share.band]
    notes = [
        "marketing_share = new customers whose originating source (lead channel, else first "
        "touch) is a marketing channel ÷ all new customers",
        f"benchmark band {low:.0%}–{high:.0%}: {label} (sourced_share.band: "
        f"{ctx.cfg.sourced_share.band})",
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
        base_params(p.start, p.end, p.period, fields),
        df,
        notes,
        title="Marketing-sourced share of new customers, pipeline and revenue",
        table_columns=[SOURCED_COLUMNS[0], *fields, *SOURCED_COLUMNS[1:]],
    )
