"""The protection reports (seed 003): ``sla`` (breaches and breach rates of the response-time
promises between marketing and sales), ``decay`` (lead decay in money) and ``alerts`` (SLA
breaches and pacing shortfalls, optionally POSTed to a webhook).

The domain code is in ``leadledger.planning``: ``sla`` (clocks), ``decay``, ``business_time``
and ``alerts`` (the alert rows and their delivery).
"""

from __future__ import annotations

import math
from typing import Annotated, Any
from urllib.parse import urlsplit

import ibis
import pandas as pd
from pydantic import BeforeValidator, Field, ValidationInfo

from leadledger.config.models import Sla
from leadledger.errors import InvalidArgument, NotEnoughHistory
from leadledger.ledger.derived import current_deals, in_local_days, period_of
from leadledger.planning import alerts as delivery
from leadledger.planning import decay as dc
from leadledger.planning import sla as sl
from leadledger.planning.business_time import business_days, business_hours
from leadledger.reports.common import (
    as_of_instant,
    check_fields,
    require_stages,
    resolve_range,
)
from leadledger.reports.context import Ctx
from leadledger.reports.params import (
    LARGEST_LIMIT,
    PERIODS,
    AsOf,
    BadParam,
    Breakdown,
    Duration,
    From,
    Instant,
    Params,
    Surface,
    To,
    choice,
    duration,
    resolved,
)
from leadledger.reports.params import (
    limit_validator as limit_parser,
)
from leadledger.reports.registry import Resolved, report
from leadledger.reports.result import Report
from leadledger.suggest import did_you_mean

__all__ = ["AlertsParams", "DecayParams", "SlaParams"]

VIEWS = ("breaches", "rates", "clocks")
#: Lead fields every SLA breach and at-risk SQL is listed with.
WHO = delivery.WHO
DEFAULT_HISTORY = "365d"


def _bad(info: ValidationInfo, message: str, value: Any, hint: str | None = None) -> BadParam:
    exc = BadParam(message, value, hint)
    exc.field = info.field_name
    return exc


def _instant(ctx: Ctx, value: Instant | None) -> tuple[Instant, frozenset[str]]:
    """``--as-of`` resolved to a UTC instant; ``from_clock`` names it when it defaulted to now."""
    ts = as_of_instant(ctx, value)
    clock = frozenset() if value is not None else frozenset({"as_of"})
    return Instant(ts.isoformat(), ts, False), clock


def _local(series: pd.Series, tz: str) -> pd.Series:
    """UTC instants shown in the project's time zone (ISO with the offset in JSON)."""
    s = pd.to_datetime(series, utc=True)
    return s.dt.tz_convert(tz)


def pick_slas(ctx: Ctx, name: str | None) -> list[Sla]:
    """The configured SLAs, or the one called ``name`` (``--sla``)."""
    slas = list(ctx.cfg.slas)
    if not slas:
        raise InvalidArgument(
            "no SLAs are configured",
            hint="add them under slas: in leadledger.yaml, e.g. {name: mql_response, start: mql, "
            "within: 8, unit: business_hours} (see docs/sla-and-decay.md)",
        )
    if name is None:
        return slas
    names = [s.name for s in slas]
    if name not in names:
        raise InvalidArgument(
            f"--sla '{name}' is not a configured SLA",
            hint=did_you_mean(name, names) or f"SLAs: {', '.join(names)}",
        )
    return [s for s in slas if s.name == name]


# -- sla ------------------------------------------------------------------------------------------
class SlaParams(Params):
    """``leadledger sla``."""

    view: Annotated[
        str,
        BeforeValidator(choice(VIEWS)),
        Field(
            description="breaches (open breaches), rates (breach rate by SLA, period and --by) "
            "or clocks (every clock with its status)."
        ),
    ] = "breaches"
    sla: Annotated[str | None, Field(description="Only this SLA (a name under slas:).")] = None
    as_of: AsOf = None
    start: From = None
    end: To = None
    period: Annotated[
        str | None,
        BeforeValidator(choice(PERIODS)),
        Surface(raw=str),
        Field(description="day, week, month, quarter or year."),
    ] = "month"
    by: Breakdown = ()

    def resolve(self, ctx: Ctx) -> Resolved[SlaParams]:
        # the range stays in the report: its default's note comes after the count of breaches
        pick_slas(ctx, self.sla)
        fields = check_fields(ctx, self.by)
        as_of, clock = _instant(ctx, self.as_of)
        return Resolved(resolved(self, by=tuple(fields), as_of=as_of), (), clock)


@report(
    "sla",
    params=SlaParams,
    columns=(
        "sla",
        "lead_id",
        *WHO,
        "started_at",
        "due_at",
        "elapsed",
        "within",
        "unit",
        "late_by",
    ),
    cli="sla",
    api="/sla",
)
def report_sla(ctx: Ctx, p: SlaParams) -> Report:
    """SLA clocks between marketing and sales: open breaches (lead, owner, how late) or the
    breach rate by owner, channel and period. Clocks started in --from/--to count.

    Example: leadledger sla --view rates --by owner --period month
    """
    ctx.progress("checking SLAs")
    view, period = p.view, p.period
    slas = pick_slas(ctx, p.sla)
    fields = list(p.by)
    listed = list(dict.fromkeys([*WHO, *fields]))
    s, e, notes = resolve_range(ctx, p.start, p.end, period or "month")
    as_of_ts = as_of_instant(ctx, p.as_of)
    tables = ctx.tables()
    # neither activities nor sales touches: a clock waiting for a response tells nothing
    no_data = not bool(ctx.execute(sl.has_activity_data(tables, ctx.cfg, as_of_ts)))
    unjudged = [x.name for x in slas if x.until == "sales_touch"] if no_data else []
    clocks = sl.all_clocks(
        tables,
        ctx.cfg,
        slas,
        as_of=as_of_ts,
        fields=listed if view != "rates" else fields,
        run=ctx.execute,
    )
    clocks = clocks.filter(in_local_days(clocks.started_at, s, e))
    tz = ctx.cfg.timezone
    params: dict[str, Any] = {
        "from": s,
        "to": e,
        "period": period,
        "by": fields,
        "as_of": as_of_ts,
        "view": view,
        "sla": p.sla,
    }
    acts = ctx.cfg.activities
    notes.append(
        "a clock starts at the lead's first entry into the SLA's start stage and stops at the "
        "first sales touch (kinds: " + ", ".join(ctx.cfg.sales_touch_kinds) + ") or the first "
        "entry into its until stage at or after it; a side state entered first closes it "
        "without a breach"
    )
    inbound = acts.outbound_only and "email" in acts.response_kinds
    notes.append(
        "imported activities of kind "
        + (", ".join(acts.response_kinds) or "(none)")
        + (" (an inbound e-mail excepted)" if inbound else "")
        + " are sales touches too: the first response of either source stops the clock"
    )
    if no_data:
        notes.insert(
            0,
            f"no activity data: the ledger holds no activity and no sales touch as of "
            f"{as_of_ts.isoformat()}, so a clock waiting for a sales touch cannot tell a lead "
            "nobody answered from calls that were not imported; "
            + (
                f"{', '.join(unjudged)}: no breach rate (reason {sl.NO_ACTIVITY_DATA}), "
                "no open breach listed"
                if unjudged
                else "no SLA here waits for a sales touch"
            )
            + " (import activities: leadledger import activities FILE --preset "
            "hubspot-engagements or salesforce-tasks)",
        )
    notes.append(
        "business time counts only business hours ("
        + "–".join(t.strftime("%H:%M") for t in ctx.cfg.calendar.business_hours)
        + f", {tz}) on working days; a business day is one day's business hours"
    )
    if view == "rates":
        keys = ["sla", *(["period"] if period else []), *fields]
        if period:
            clocks = clocks.mutate(period=period_of(clocks.started_at, period))
        df = ctx.execute(sl.breach_rates(clocks, keys).order_by(keys))
        if "period" in df.columns:
            df["period"] = pd.to_datetime(df["period"]).dt.date
        nodata = df["sla"].isin(unjudged)
        df["breach_rate"] = df["breach_rate"].astype("float64").where(~nodata, None)
        df["breach_rate_reason"] = pd.Series(
            [sl.NO_ACTIVITY_DATA if x else None for x in nodata], index=df.index, dtype=object
        )
        notes.append(
            "breach_rate = (breached + open_breached) ÷ decided, decided = met + breached + "
            f"open_breached as of {as_of_ts.isoformat()}; open and closed clocks are not in it"
        )
        notes.append(
            "no_activity_leads = clocks of leads with no activity data at all (no imported "
            "activity of any kind and no sales touch by the as-of time): their breaches may "
            "only mean that their calls were not imported"
        )
        return Report(
            "sla",
            params,
            df,
            notes,
            title="SLA breach rates",
            table_columns=[
                *keys,
                "started",
                "met",
                "breached",
                "open_breached",
                "open",
                "closed",
                "breach_rate",
                "median_elapsed",
                "unit",
                "no_activity_leads",
            ],
        )
    if view == "breaches":
        clocks = clocks.filter(clocks.status == "open_breached")
        if unjudged:
            clocks = clocks.filter(~clocks.sla.isin(unjudged))
    cols = [
        "sla",
        "lead_id",
        *listed,
        "started_at",
        *(["due_at"] if view == "breaches" else ["stopped_at", "stopped_by", "status"]),
        "elapsed",
        "within",
        "unit",
        "late_by",
    ]
    # breaches: most late first; clocks: by start (late_by has NULLs, which engines sort apart)
    order = (
        ["sla", ibis.desc("late_by"), "lead_id"]
        if view == "breaches"
        else ["sla", "started_at", "lead_id"]
    )
    df = ctx.execute(clocks.order_by(order))
    if view == "breaches":
        df["due_at"] = sl.due_at(ctx.cfg, df) if len(df) else pd.Series(dtype="datetime64[ns, UTC]")
    for c in ("started_at", "stopped_at", "due_at"):
        if c in df.columns:
            df[c] = _local(df[c], tz)
    df = df[cols].reset_index(drop=True)
    if view == "breaches":
        notes.insert(
            0,
            f"{len(df)} open breach(es) as of {as_of_ts.isoformat()}: clocks still running past "
            "their limit; late_by and elapsed are in the SLA's unit",
        )
    return Report(
        "sla",
        params,
        df,
        notes,
        title="Open SLA breaches" if view == "breaches" else "SLA clocks",
        table_columns=[
            c for c in cols if c not in ("within", "stopped_by", "elapsed") or view == "clocks"
        ],
    )


# -- decay ----------------------------------------------------------------------------------------
def _number(value: Any, info: ValidationInfo) -> int | float | None:
    """A number as given (a count stays whole); 'is not a number' otherwise. Whether it is a
    positive amount or a whole count is checked where the report uses it."""
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        pass
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _bad(info, f"{{flag}} '{value}' is not a number", value) from None


def _count(value: float, name: str, *, low: int = 0) -> int:
    if not float(value).is_integer() or value < low:
        raise InvalidArgument(f"--{name} must be a whole number ≥ {low}, got {value}")
    return int(value)


def _money(value: float, name: str) -> float:
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise InvalidArgument(f"--{name} must be a positive amount, got {value}")
    return number


_decay_window = duration(units="hdw")


def _history(value: Any, info: ValidationInfo) -> Duration | None:
    """``--history`` of decay: the one duration grammar in hours, days or weeks (``365d``);
    None is the default window, an empty text a window of no day (refused by ``resolve``)."""
    if isinstance(value, str) and value == "":
        return Duration(0.0, "d", "")
    return _decay_window(value, info)


_COUNT_QUERY = (("ge", 0), ("le", 10**12))
Count = Annotated[
    int | float | None,
    BeforeValidator(_number),
    Surface(raw=int | None, query=_COUNT_QUERY),
]


class DecayParams(Params):
    """``leadledger decay``."""

    customer_value: Annotated[
        float | None,
        BeforeValidator(_number),
        Surface(query=(("allow_inf_nan", False),)),
        Field(
            description="Value of one customer (default: decay.customer_value, else the mean "
            "won deal)."
        ),
    ] = None
    sqls: Annotated[Count, Field(description="Standalone: number of SQLs (with --customers).")] = (
        None
    )
    customers: Annotated[Count, Field(description="Standalone: customers those SQLs gave.")] = None
    neglected: Annotated[
        Count, Field(description="Standalone: SQLs left to go cold (default 0).")
    ] = None
    history: Annotated[
        Duration | None,
        BeforeValidator(_history),
        Surface(raw=str),
        Field(description="History window for the rate and curve, e.g. 365d."),
    ] = DEFAULT_HISTORY  # type: ignore[assignment]  # parsed into a Duration
    limit: Annotated[
        int | None,
        BeforeValidator(limit_parser()),
        Surface(raw=int, query=(("ge", 0), ("le", LARGEST_LIMIT))),
        Field(description="At-risk SQLs listed."),
    ] = 50
    as_of: AsOf = None
    start: From = None
    end: To = None

    @property
    def standalone(self) -> bool:
        """Seed 003's arithmetic on the given counts (no history, no project needed)."""
        return self.sqls is not None or self.customers is not None or self.neglected is not None

    def project_use(self) -> str:
        return "none" if self.standalone else "required"

    @property
    def window(self) -> Duration:
        """The history window (``--history``, 365 days when not given)."""
        return self.history or Duration(365.0, "d", DEFAULT_HISTORY)

    def resolve(self, ctx: Ctx) -> Resolved[DecayParams]:
        if self.standalone:
            return Resolved(self._standalone(ctx))
        if not ctx.has_project:
            raise InvalidArgument(
                "decay needs a project, or --customer-value, --sqls and --customers",
                hint="e.g. leadledger decay --customer-value 100000 --sqls 40 --customers 10 "
                "--neglected 5",
            )
        d = ctx.cfg.decay
        require_stages(ctx, "decay", [d.stage, d.won_stage])
        as_of, clock = _instant(ctx, self.as_of)
        if self.window.days < 1:
            raise InvalidArgument(
                f"--history '{self.window}' must be at least one day", hint="e.g. 365d"
            )
        s, e, notes = resolve_range(ctx, self.start, self.end, "month", periods_back=0)
        return Resolved(resolved(self, as_of=as_of, start=s, end=e), tuple(notes), clock)

    def _standalone(self, ctx: Ctx) -> DecayParams:
        if self.sqls is None or self.customers is None:
            raise InvalidArgument(
                "the standalone decay needs both --sqls and --customers",
                hint="e.g. --customer-value 100000 --sqls 40 --customers 10 --neglected 5",
            )
        customer_value = self.customer_value
        if customer_value is None and ctx.has_project and ctx.cfg.decay.customer_value:
            customer_value = ctx.cfg.decay.customer_value
        if customer_value is None:
            raise InvalidArgument(
                "the standalone decay needs --customer-value",
                hint="the value of one customer, e.g. --customer-value 100000",
            )
        value = _money(customer_value, "customer-value")
        n = _count(self.sqls, "sqls", low=1)
        won = _count(self.customers, "customers")
        lost = _count(self.neglected if self.neglected is not None else 0, "neglected")
        if won > n:
            raise InvalidArgument(f"--customers {won} is more than --sqls {n}")
        if lost > n:
            raise InvalidArgument(f"--neglected {lost} is more than --sqls {n}")
        return resolved(self, customer_value=value, sqls=n, customers=won, neglected=lost)


DECAY_COLUMNS = (
    "customer_value",
    "customer_value_source",
    "history_from",
    "history_to",
    "history_sqls",
    "history_customers",
    "sql_to_customer_rate",
    "value_per_sql",
    "sqls",
    "neglected",
    "expected_customers",
    "customers_lost",
    "expected_revenue",
    "value_lost",
    "open_sqls",
    "value_at_risk",
    "value_lost_reason",
    "value_at_risk_reason",
)
#: What needs to know who was followed up: no value without activity data.
FOLLOW_UP_COLUMNS = (
    "neglected",
    "expected_customers",
    "customers_lost",
    "expected_revenue",
    "value_lost",
    "open_sqls",
    "value_at_risk",
)


@report(
    "decay",
    params=DecayParams,
    columns=DECAY_COLUMNS,
    tables=("curve", "at_risk"),
    cli="decay",
    api="/decay",
)
def report_decay(ctx: Ctx, p: DecayParams) -> Report:
    """Lead decay in money: value per SQL, the decay curve by first-follow-up delay, value at
    risk now and value lost by the SQLs of --from/--to. With --sqls and --customers it is plain
    arithmetic on the given counts and needs no project.

    Example: leadledger decay --customer-value 100000 --sqls 40 --customers 10 --neglected 5
    """
    if p.standalone:
        return _decay_standalone(p)
    ctx.progress("measuring decay")
    return _decay_history(ctx, p)


def _decay_standalone(p: DecayParams) -> Report:
    assert p.customer_value is not None and p.sqls is not None and p.customers is not None
    value, n, won = float(p.customer_value), int(p.sqls), int(p.customers)
    lost = int(p.neglected or 0)
    row = dc.decay_arithmetic(customer_value=value, sqls=n, customers=won, neglected=lost)
    notes = [
        "value_per_sql = customer_value × customers ÷ sqls; neglected SQLs lose all their value",
        "expected_customers = (sqls − neglected) × customers ÷ sqls; expected_revenue = "
        "expected_customers × customer_value; value_lost = neglected × value_per_sql",
    ]
    return Report(
        "decay",
        {
            "mode": "standalone",
            "customer_value": value,
            "sqls": n,
            "customers": won,
            "neglected": lost,
        },
        pd.DataFrame([row]),
        notes,
        title="Lead decay (given counts)",
    )


def _decay_history(ctx: Ctx, p: DecayParams) -> Report:
    assert p.start is not None and p.end is not None
    cfg = ctx.cfg
    d = cfg.decay
    as_of_ts = as_of_instant(ctx, p.as_of)
    today = as_of_ts.tz_convert(cfg.timezone).date()
    h_end = today
    h_start = p.window.start_before(today)
    s, e = p.start, p.end
    notes: list[str] = []
    hours = business_hours(cfg)
    tables = ctx.tables()
    days = business_days(tables, cfg, hours, as_of_ts, ctx.execute)
    delays = dc.sql_delays(
        tables,
        cfg,
        as_of=as_of_ts,
        days=days,
        business_day_seconds=hours.day_seconds,
        fields=WHO,
    )
    in_history = delays.filter(in_local_days(delays.sql_at, h_start, h_end))
    counts = ctx.execute(dc.curve_counts(in_history))
    curve = dc.decay_curve(counts, d)
    n = int(curve["sqls"].sum())
    won = int(curve["customers"].sum())
    if n == 0 or won == 0:
        raise NotEnoughHistory(
            f"no {d.stage} that entered {h_start} to {h_end} reached {d.won_stage}"
            if n
            else f"no lead entered {d.stage} from {h_start} to {h_end}",
            hint="widen --history, or give the counts: --customer-value X --sqls N --customers M",
        )
    value, source = _customer_value(ctx, p.customer_value, h_start, h_end)
    rate = won / n
    value_per_sql = value * won / n
    shares = dc.bucket_shares(curve, d)
    valued = dc.valued_sqls(delays, dc.shares_table(shares), value_per_sql)

    period = valued.filter(in_local_days(valued.sql_at, s, e))
    lost = ctx.execute(
        period.aggregate(
            sqls=period.count(),
            neglected=(period.remaining_share < 1).sum().cast("int64"),
            remaining=period.remaining_share.sum(),
            value_lost=period.value_lost.sum(),
        )
    ).iloc[0]
    risky = valued.filter(valued.open & ~valued.followed_up)
    risk = ctx.execute(
        risky.aggregate(open_sqls=risky.count(), value_at_risk=risky.value_lost.sum())
    ).iloc[0]
    listing = risky.order_by([ibis.desc("value_lost"), ibis.desc("delay_days"), "lead_id"])
    if p.limit is not None:
        listing = listing.limit(p.limit)
    at_risk = ctx.execute(listing)
    at_risk = pd.DataFrame(
        {
            "lead_id": at_risk["lead_id"],
            "owner": at_risk["owner"],
            "channel": at_risk["channel"],
            "sql_at": _local(at_risk["sql_at"], cfg.timezone),
            "untouched_business_days": at_risk["delay_business_days"],
            "untouched_days": at_risk["delay_days"],
            "limit_days": at_risk["limit_days"],
            "remaining_share": at_risk["remaining_share"],
            "share_source": at_risk["share_source"],
            "value_at_risk": at_risk["value_lost"],
        }
    )
    period_sqls = int(lost["sqls"])
    remaining = 0.0 if pd.isna(lost["remaining"]) else float(lost["remaining"])
    expected = remaining * rate
    row = {
        "customer_value": value,
        "customer_value_source": source,
        "history_from": h_start,
        "history_to": h_end,
        "history_sqls": n,
        "history_customers": won,
        "sql_to_customer_rate": rate,
        "value_per_sql": value_per_sql,
        "sqls": period_sqls,
        "neglected": int(lost["neglected"]) if period_sqls else 0,
        "expected_customers": expected,
        "customers_lost": period_sqls * rate - expected,
        "expected_revenue": expected * value,
        "value_lost": 0.0 if pd.isna(lost["value_lost"]) else float(lost["value_lost"]),
        "open_sqls": int(risk["open_sqls"]),
        "value_at_risk": 0.0 if pd.isna(risk["value_at_risk"]) else float(risk["value_at_risk"]),
    }
    row["value_lost_reason"] = row["value_at_risk_reason"] = None
    no_data = not bool(ctx.execute(sl.has_activity_data(tables, cfg, as_of_ts)))
    if no_data:
        # nobody can say which SQLs were followed up: no value lost or at risk, not "all of it"
        for c in FOLLOW_UP_COLUMNS:
            row[c] = None
        row["value_lost_reason"] = row["value_at_risk_reason"] = sl.NO_ACTIVITY_DATA
        at_risk = at_risk.iloc[0:0]
        notes.append(
            f"no activity data: the ledger holds no activity and no sales touch as of "
            f"{as_of_ts.isoformat()}, so no {d.stage} can be told followed up or not: "
            f"value_lost, value_at_risk and the counts that need follow-ups are no data "
            f"(reason {sl.NO_ACTIVITY_DATA}), not every {d.stage} at risk; the curve shows them "
            "all under no_follow_up (import activities: leadledger import activities FILE "
            "--preset hubspot-engagements or salesforce-tasks)"
        )
    thin = curve[(curve["source"] == "limit")]["bucket"].tolist()
    measured = curve[curve["source"] != "limit"]["bucket"].tolist()
    notes += [
        f"value_per_sql = customer_value ({source}) × {d.stage}→{d.won_stage} rate of the "
        f"{d.stage}s that entered {h_start} to {h_end} (as of {as_of_ts.isoformat()})",
        f"delay = business days from entering {d.stage} to the first sales touch (or, with none, "
        "to leaving: won or a side state, else to the as-of time); remaining_share = the "
        "bucket's conversion ÷ the fastest measured bucket's (capped at 1)",
        (
            f"buckets measured from history: {', '.join(measured)}; "
            if measured
            else "no bucket has enough history for a measured curve; "
        )
        + (
            f"under {d.min_per_bucket} SQLs ({', '.join(thin)}) the time limit decides: "
            f"remaining 1 within limit_days ({d.limit_days:g} days"
            + (", segment limits apply" if d.limits else "")
            + "), 0 past it"
            if thin
            else "every bucket is measured"
        ),
        f"value_lost = Σ value_per_sql × (1 − remaining_share) over the {d.stage}s that entered "
        f"{s} to {e}; neglected = those with remaining_share < 1; expected_customers = Σ "
        "remaining_share × rate",
        f"value_at_risk = the same over the open {d.stage}s (no {d.won_stage}, no side state) "
        "not followed up yet, at their current untouched delay (companion table at_risk"
        + (f", the {p.limit} largest" if p.limit is not None else "")
        + ")",
    ]
    return Report(
        "decay",
        {
            "mode": "history",
            "from": s,
            "to": e,
            "as_of": as_of_ts,
            "history": p.history.text if p.history is not None else None,
            "customer_value": value,
        },
        pd.DataFrame([row]),
        notes,
        title="Lead decay in money",
        table_columns=[
            "customer_value",
            "sql_to_customer_rate",
            "value_per_sql",
            "sqls",
            "neglected",
            "expected_customers",
            "value_lost",
            "open_sqls",
            "value_at_risk",
        ],
        extra={
            "curve": (f"Decay curve ({h_start} to {h_end})", curve),
            "at_risk": (f"Open {_title(ctx, d.stage)}s at risk now", at_risk),
        },
    )


def _title(ctx: Ctx, stage: str) -> str:
    return next((s.title for s in ctx.cfg.stages if s.key == stage), stage)


def _customer_value(ctx: Ctx, given: float | None, start: Any, end: Any) -> tuple[float, str]:
    """The value of one customer: the argument, else ``decay.customer_value``, else the mean
    amount of the deals won (closed) in the history window."""
    if given is not None:
        return _money(given, "customer-value"), "argument"
    if ctx.cfg.decay.customer_value:
        return float(ctx.cfg.decay.customer_value), "config"
    deals = current_deals(ctx.tables(), ctx.cfg)
    won = deals.filter(
        (deals.status == "won")
        & deals.amount.notnull()
        & in_local_days(deals.closed_at, start, end)
    )
    mean = ctx.execute(won.amount.mean())
    if mean is None or pd.isna(mean) or mean <= 0:
        raise NotEnoughHistory(
            f"no won deal with an amount closed from {start} to {end}",
            hint="set decay.customer_value in leadledger.yaml or pass --customer-value",
        )
    return float(mean), "won deals"


# -- alerts ---------------------------------------------------------------------------------------
def _webhook(value: Any, info: ValidationInfo) -> str | None:
    if value is not None and urlsplit(value).scheme not in ("http", "https"):
        raise _bad(info, f"{{flag}} '{value}' is not an http(s) URL", value)
    return value  # type: ignore[no-any-return]


def _timeout(value: Any, info: ValidationInfo) -> Any:
    if value <= 0:
        raise _bad(info, "{flag} must be positive", value)
    return value


def _retries(value: Any, info: ValidationInfo) -> Any:
    if value < 0:
        raise _bad(info, "{flag} must not be negative", value)
    return value


class AlertsParams(Params):
    """``leadledger alerts``. Only the CLI sends (``--webhook``): the API's alerts never do."""

    webhook: Annotated[
        str | None,
        BeforeValidator(_webhook),
        Surface(api=False),
        Field(
            description="POST new alerts to this URL as Slack-compatible JSON (each alert once)."
        ),
    ] = None
    goal: Annotated[
        str | None,
        Field(description="Pacing of this goal (default: every goal covering the as-of day)."),
    ] = None
    timeout: Annotated[
        float,
        BeforeValidator(_timeout),
        Surface(api=False),
        Field(description="Seconds per webhook try."),
    ] = 10.0
    retries: Annotated[
        int,
        BeforeValidator(_retries),
        Surface(api=False),
        Field(description="Retries after a 5xx, 429 or connection failure."),
    ] = 3
    as_of: AsOf = None
    backoff: Annotated[
        float,
        Surface(cli=False, api=False),
        Field(description="Seconds before the first retry; doubled at each further try."),
    ] = 1.0

    def side_effects(self) -> bool:
        return self.webhook is not None  # sending is not a read

    def resolve(self, ctx: Ctx) -> Resolved[AlertsParams]:
        as_of, clock = _instant(ctx, self.as_of)
        return Resolved(resolved(self, as_of=as_of), (), clock)


@report(
    "alerts",
    params=AlertsParams,
    columns=tuple(delivery.ALERT_COLUMNS),
    cli="alerts",
    api="/alerts",
)
def report_alerts(ctx: Ctx, p: AlertsParams) -> Report:
    """SLA breaches and pacing shortfalls as a table or JSON; with --webhook, the ones not sent
    to it before are POSTed (timeout, retries) and recorded, so nothing is sent twice.

    Example: leadledger alerts --webhook https://hooks.slack.com/services/T000/B000/XXXX
    """
    as_of_ts = as_of_instant(ctx, p.as_of)
    webhook = p.webhook
    tables = ctx.tables()
    ctx.progress("checking SLAs")
    rows = delivery.sla_alerts(tables, ctx.cfg, as_of_ts, ctx.execute)
    ctx.progress("checking pace")
    rows += delivery.pacing_alerts(tables, ctx.cfg, ctx.calendar, as_of_ts, p.goal, ctx.execute)
    target = delivery.target_id(webhook) if webhook else None
    already = delivery.sent_keys(ctx.table("alerts_sent"), target, ctx.execute)
    for r in rows:
        r["status"] = "already_sent" if r["alert_key"] in already else "new"
    new = [r for r in rows if r["status"] == "new"]
    notes = [
        f"{len(new)} new alert(s), {len(rows) - len(new)} already sent"
        + (" to this webhook" if webhook else ""),
        "alert_key identifies an alert: an SLA breach by SLA, lead and clock start; a pacing "
        "shortfall by goal, stage and period; a key is recorded in alerts_sent only after the "
        "webhook answered 2xx",
    ]
    params: dict[str, Any] = {
        "as_of": as_of_ts,
        "goal": p.goal,
        "webhook": delivery.redact(webhook) if webhook else None,
        "sent": 0,
    }
    if webhook and new:
        ctx.progress("sending")
        sent = delivery.send_alerts(
            ctx.store,
            new,
            webhook,
            target=target or "",
            timeout=p.timeout,
            retries=p.retries,
            backoff=p.backoff,
        )
        for r in new:
            if r["alert_key"] in sent:
                r["status"] = "sent"
        params["sent"] = len(sent)
        notes[0] = f"{len(sent)} alert(s) sent, {len(rows) - len(new)} already sent before"
    frame = pd.DataFrame(rows, columns=delivery.ALERT_COLUMNS)
    for c in ("started_at", "due_at"):
        frame[c] = frame[c].astype(object)
    return Report(
        "alerts",
        params,
        frame,
        notes,
        title="Alerts",
        table_columns=["kind", "subject", "stage", "lead_id", "owner", "late_by", "unit", "status"],
    )
