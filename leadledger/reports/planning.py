"""The planning reports: ``plan`` (the reverse funnel from a revenue target), ``pace`` (a goal's
actual vs required per working day) and ``whatif`` (a scenario against the history's baseline).

Rates not given are measured over a trailing history window as flow ratios (entered T ÷ entered
S in the window, ``leadledger.planning.history``): a plan is about volumes per period, and unlike
a cohort rate a flow ratio does not sag for cohorts too young to have converted. A plan saved as
a goal goes into ``leadledger.yaml`` through ``leadledger.config.goals``.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from pydantic import BeforeValidator, Field, ValidationInfo, model_validator

from leadledger.config.goals import find_goal
from leadledger.config.models import Calendar
from leadledger.errors import InvalidArgument, NotEnoughHistory
from leadledger.planning import whatif as wi
from leadledger.planning.history import PLAN_FUNNEL, Measured, baseline, measured, measured_rate
from leadledger.planning.pace import check_day_in_goal, goal_pace
from leadledger.planning.pace import where as _where
from leadledger.planning.reverse_funnel import (
    PLAN_STAGES,
    RATE_STEPS,
    RATES,
    Rate,
    exact,
    reverse_funnel,
    spread_by_working_days,
)
from leadledger.reports.common import default_end, require_stages
from leadledger.reports.context import Ctx
from leadledger.reports.params import (
    PERIODS,
    BadParam,
    Duration,
    Params,
    Surface,
    choice,
    duration,
    months_back,
    parse_day,
    resolved,
)
from leadledger.reports.registry import Resolved, report
from leadledger.reports.result import Report
from leadledger.workdays import WorkCalendar

__all__ = [
    "PaceParams",
    "PlanParams",
    "WhatifParams",
    "goal_entry",
    "history_window",
    "load_scenario",
]


# -- parameters -----------------------------------------------------------------------------------
def _bad(info: ValidationInfo, message: str, value: Any, hint: str | None = None) -> BadParam:
    exc = BadParam(message, value, hint)
    exc.field = info.field_name
    return exc


#: ``--history`` of plan and whatif: the one duration grammar in whole days, weeks, months or
#: years, a unit always written, a century at most (1,200m, 100y, 5,217w, 36,525d).
HISTORY_EXAMPLES = "12m, 6m, 1y, 26w or 90d"
_history_grammar = duration(
    examples=HISTORY_EXAMPLES, noun="window", units="dwmy", whole=True, longest="units"
)


def _history(value: Any, info: ValidationInfo) -> Duration:
    """A trailing window: ``12m``, ``6m``, ``1y``, ``26w``, ``90d`` (a bare number, nothing or 0
    is not a window)."""
    if isinstance(value, Duration):
        return value
    text = value.strip() if isinstance(value, str) else ""
    if not text or not text[-1].isalpha():  # None, a number, '' or '12': no unit
        raise _bad(
            info, f"{{flag}} '{value}' is not a window", value, f"use e.g. {HISTORY_EXAMPLES}"
        )
    d = _history_grammar(value, info)
    if d is None or d.n == 0:
        raise _bad(
            info, f"{{flag}} '{value}' is not a window", value, f"use e.g. {HISTORY_EXAMPLES}"
        )
    return d


History = Annotated[
    Duration,
    BeforeValidator(_history),
    Surface(raw=str),
    Field(description="Trailing window that measures rates not given: 12m, 6m, 1y, 26w, 90d."),
]


def _day(value: Any, info: ValidationInfo) -> dt.date | None:
    """YYYY-MM-DD (years 1900–2100), named by the field's option."""
    try:
        return parse_day(value, "{flag}")
    except InvalidArgument as exc:
        raise _bad(info, exc.message, value, exc.hint) from None


#: A day as the API takes it for plan and pace (text, no date format in the schema).
PlainDay = Annotated[dt.date | None, BeforeValidator(_day), Surface(raw=str | None)]


def _number(value: Any, info: ValidationInfo) -> Fraction:
    """The exact fraction the user wrote (0.2 is 1/5); 'is not a number' otherwise."""
    try:
        return exact(value if not isinstance(value, str) else value.strip())
    except (ValueError, ZeroDivisionError) as exc:
        raise _bad(info, f"{{flag}} '{value}' is not a number", value) from exc


def _rate(value: Any, info: ValidationInfo) -> Fraction | None:
    """A given rate: a number in (0, 1], kept exact."""
    if value is None:
        return None
    rate = _number(value, info)
    if not 0 < rate <= 1:
        raise _bad(info, f"{{flag}} {value} must be a rate in (0, 1]", value, "write 25 % as 0.25")
    return rate


def _positive(value: Any, info: ValidationInfo) -> Fraction | None:
    """A number > 0, kept exact."""
    if value is None:
        return None
    number = _number(value, info)
    if number <= 0:
        raise _bad(info, f"{{flag}} must be positive, not {value}", value)
    return number


_NO_INF = (("allow_inf_nan", False),)
GivenRate = Annotated[
    Fraction | None, BeforeValidator(_rate), Surface(raw=float | None, query=_NO_INF)
]


def history_window(ctx: Ctx, history: Duration) -> tuple[dt.date, dt.date]:
    """The trailing window of length ``history`` ending on the last day with data (or today):
    [start, end], whole calendar months for ``m``/``y``."""
    end, _notes = default_end(ctx)
    return history.start_before(end), end


# -- plan -----------------------------------------------------------------------------------------
class PlanParams(Params):
    """``leadledger plan``."""

    revenue: Annotated[
        Fraction,
        BeforeValidator(_positive),
        Surface(raw=float, query=(("gt", 0), *_NO_INF)),
        Field(description="Revenue target of the plan period."),
    ]
    deal_size: Annotated[
        Fraction | None,
        BeforeValidator(_positive),
        Surface(raw=float | None, query=_NO_INF),
        Field(description="Average deal (default: mean won deal in history)."),
    ] = None
    close_rate: Annotated[GivenRate, Field(description="SQL → customer rate, e.g. 0.25.")] = None
    mql_to_sql: Annotated[GivenRate, Field(description="MQL → SQL rate.")] = None
    lead_to_mql: Annotated[GivenRate, Field(description="Lead → MQL rate.")] = None
    visit_to_lead: Annotated[GivenRate, Field(description="Visitor → lead rate.")] = None
    start: Annotated[
        PlainDay,
        Surface(flag="--from", api_name="from"),
        Field(description="First day of the plan (default: 1 January next year)."),
    ] = None
    end: Annotated[
        PlainDay,
        Surface(flag="--to", api_name="to"),
        Field(description="Last day of the plan (default: a year after --from)."),
    ] = None
    history: History = "12m"  # type: ignore[assignment]  # parsed into a Duration
    channel: Annotated[
        str | None, Field(description="Plan one channel (rates measured on it).")
    ] = None
    campaign: Annotated[str | None, Field(description="Plan one campaign.")] = None

    @model_validator(mode="before")
    @classmethod
    def _revenue_given(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("revenue") is None:
            raise InvalidArgument("--revenue is required", hint="e.g. --revenue 10000000")
        return data

    def project_use(self) -> str:
        return "optional"  # every rate given: no project needed

    def resolve(self, ctx: Ctx) -> Resolved[PlanParams]:
        if not ctx.has_project and _where(self.channel, self.campaign):
            raise InvalidArgument(
                "--channel and --campaign need a project", hint="pass --project DIR"
            )
        today = ctx.today()
        s_given, e_given = self.start, self.end
        if s_given is None and e_given is not None:  # the year that ends on --to
            s_given = months_back(e_given, 12) + dt.timedelta(days=1)
        s = s_given or dt.date(today.year + 1, 1, 1)
        e = e_given or (months_back(s, -12) - dt.timedelta(days=1))
        if e < s:
            raise InvalidArgument(f"--from {s} is after --to {e}")
        return Resolved(resolved(self, start=s, end=e))


PLAN_COLUMNS = (
    "stage",
    "count",
    "per_working_day",
    "per_month",
    "rate_name",
    "rate",
    "rate_source",
    "rate_detail",
    "cost_per",
    "budget",
)


@report(
    "plan", params=PlanParams, columns=PLAN_COLUMNS, tables=("months",), cli="plan", api="/plan"
)
def report_plan(ctx: Ctx, p: PlanParams) -> Report:
    """Reverse funnel: from a revenue target to the customers, SQLs, MQLs, leads and visits it
    needs, per working day and per month. Rates not given are measured from the project's
    history (flow ratios over --history), and the output names the source of every rate.

    Example: leadledger plan --revenue 10000000 --deal-size 50000 --close-rate 0.25
    --mql-to-sql 0.20
    """
    assert p.start is not None and p.end is not None
    target, size, s, e = p.revenue, p.deal_size, p.start, p.end
    given: dict[str, Fraction | None] = {name: getattr(p, name) for name in RATES}
    where_ = _where(p.channel, p.campaign)
    notes: list[str] = []
    m: Measured | None = None
    window = ""
    need_history = size is None or any(v is None for v in given.values())
    if ctx.has_project and need_history:
        h_start, h_end = history_window(ctx, p.history)
        window = f"{h_start.isoformat()}–{h_end.isoformat()}"
        missing = [st for st in PLAN_FUNNEL if st not in ctx.cfg.stage_keys]
        if missing:
            notes.append(
                f"the project has no stage {', '.join(missing)}: rates that need it cannot be "
                "measured"
            )
        m = measured(ctx.tables(), ctx.cfg, h_start, h_end, where_, ctx.execute)
    rates: dict[str, Rate] = {}
    for name in RATES:
        value = given[name]
        if value is not None:
            rates[name] = Rate(value, "given")
        elif m is not None:
            rates[name] = measured_rate(name, m, window)
        else:
            rates[name] = Rate(None, "unavailable", "not given, and no project to measure it in")
    if size is None:
        if m is None or m["won"] == 0:
            raise NotEnoughHistory(
                "--deal-size was not given and no won deal in the history window to measure it",
                hint="pass --deal-size, or import deals",
            )
        size = exact(m["revenue"]) / m["won"]
        deal_source = f"measured: mean of {m['won']:,} won deals, {window}"
    else:
        deal_source = "given"
    if rates["close_rate"].value is None:
        raise NotEnoughHistory(
            "--close-rate was not given and cannot be measured: " + rates["close_rate"].detail,
            hint="pass --close-rate (SQL → customer), e.g. 0.25",
        )
    counts = reverse_funnel(target, size, rates)

    cal = ctx.calendar if ctx.has_project else WorkCalendar(Calendar())
    if not ctx.has_project:
        notes.append("no project: working days are Monday–Friday without holidays")
    wd = cal.working_days(s, e)
    if wd == 0:
        raise InvalidArgument(
            f"the plan period {s} to {e} has no working day",
            hint="a plan is paced per working day: pick a period with working days",
        )
    months = [
        (r["period"], int(r["working_days_in_range"]))
        for r in cal.periods(s, e, "month").to_dict(orient="records")
    ]
    month_length = Fraction((e - s).days + 1) / (Fraction(36525, 100) / 12)
    rate_of: dict[str, str | None] = {"customer": None, **{RATE_STEPS[r][0]: r for r in RATES}}
    cost_per: dict[str, float | None] = {}
    if m is not None and m["spend"] > 0:
        for stage in PLAN_STAGES:
            n = m["visits"] if stage == "visitor" else m["entered"].get(stage, 0)
            cost_per[stage] = m["spend"] / n if n else None
    rows = []
    for stage, count in counts:
        rname = rate_of[stage]
        rate = rates[rname] if rname else None
        cpu = cost_per.get(stage)
        rows.append(
            {
                "stage": stage,
                "count": count,
                "per_working_day": count / wd if count is not None and wd else None,
                "per_month": float(count / month_length) if count is not None else None,
                "rate_name": rname,
                "rate": float(rate.value) if rate and rate.value is not None else None,
                "rate_source": rate.source if rate else None,
                "rate_detail": rate.detail if rate else None,
                "cost_per": cpu,
                "budget": cpu * count if stage == "lead" and cpu and count is not None else None,
            }
        )
    frame = pd.DataFrame(rows)
    month_rows = []
    spreads = {
        stage: spread_by_working_days(count, [mw for _m, mw in months])
        for stage, count in counts
        if count is not None
    }
    for i, (month, mwd) in enumerate(months):
        row: dict[str, Any] = {"month": month, "working_days": mwd}
        for stage, _count in counts:
            row[stage] = spreads[stage][i] if stage in spreads else None
        row["lead_per_working_day"] = (
            spreads["lead"][i] / mwd if "lead" in spreads and mwd else None
        )
        month_rows.append(row)
    budget = frame.loc[frame["stage"] == "lead", "budget"].iloc[0]
    params = {
        "revenue": float(target),
        "deal_size": float(size),
        "deal_size_source": deal_source,
        "from": s,
        "to": e,
        "working_days": wd,
        "history": p.history.text if m is not None else None,
        "history_from": window.split("–")[0] if window else None,
        "history_to": window.split("–")[1] if window else None,
        "channel": p.channel,
        "campaign": p.campaign,
        "budget": None if pd.isna(budget) else float(budget),
    }
    notes += [
        "customers = revenue ÷ deal size; sql = customers ÷ close_rate (SQL → customer); mql = "
        "sql ÷ mql_to_sql; lead = mql ÷ lead_to_mql; visitor = lead ÷ visit_to_lead; each "
        "rounded up to whole units before the next step",
        f"per_working_day = count ÷ {wd} working days from {s.isoformat()} to {e.isoformat()}; "
        "months split the counts in proportion to their working days",
    ]
    if m is not None:
        notes.append(
            "measured rates are flow ratios over the history window (entered T ÷ entered S), "
            "so they do not sag for recent cohorts"
        )
    unavailable = [r for r in RATES if rates[r].value is None]
    if unavailable:
        notes.append(
            "no count above a rate that is neither given nor measurable: "
            + "; ".join(f"{r}: {rates[r].detail}" for r in unavailable)
        )
    if params["budget"] is not None and m is not None:
        notes.append(
            f"budget = leads × measured cost per lead ({m['spend']:,.2f} spent ÷ "
            f"{m['entered'].get('lead', 0):,} leads in the history window)"
            + (
                (
                    f"; {m['unallocated']:,.2f} more was spent untagged (salaries, tools) and "
                    "is not in this budget"
                    if where_
                    else f"; {m['unallocated']:,.2f} of it is not tagged to a channel or campaign"
                )
                if m["unallocated"]
                else ""
            )
        )
    elif m is not None and where_ and m["spend"] == 0:
        notes.append("no cost tagged with this channel/campaign in the history window: no budget")
    return Report(
        "plan",
        params,
        frame,
        notes,
        title=f"Plan: {float(target):,.0f} revenue at {float(size):,.0f} per deal",
        table_columns=[
            "stage",
            "count",
            "per_working_day",
            "per_month",
            "rate_name",
            "rate",
            "rate_source",
            "cost_per",
            "budget",
        ],
        extra={"months": ("Plan per month", pd.DataFrame(month_rows))},
    )


def goal_entry(name: str, plan: Report) -> dict[str, Any]:
    """A plan as a goal of ``leadledger.yaml`` (``leadledger.config.goals.save_goal``): its
    period, counts per stage, revenue, deal size, rates and, where known, channel, campaign
    and budget."""
    p = plan.params
    counts = {str(r["stage"]): int(r["count"]) for r in plan.rows() if r["count"] is not None}
    rates = {str(r["rate_name"]): r["rate"] for r in plan.rows() if r["rate"] is not None}
    entry: dict[str, Any] = {
        "name": name,
        "start": p["from"],
        "end": p["to"],
        "counts": counts,
        "revenue": p["revenue"],
        "deal_size": p["deal_size"],
        "rates": rates,
    }
    if p.get("channel"):
        entry["channel"] = p["channel"]
    if p.get("campaign"):
        entry["campaign"] = p["campaign"]
    if p.get("budget") is not None:
        entry["budget"] = round(float(p["budget"]), 2)
    return entry


# -- pace -----------------------------------------------------------------------------------------
class PaceParams(Params):
    """``leadledger pace``."""

    goal: Annotated[
        str | None, Field(description="Goal name (default: the one goal covering --as-of).")
    ] = None
    as_of: Annotated[
        PlainDay,
        Surface(blank_is_none=True),
        Field(description="The day to measure up to (default: today)."),
    ] = None
    period: Annotated[
        str, BeforeValidator(choice(PERIODS)), Field(description="month, quarter, week or year.")
    ] = "month"

    def resolve(self, ctx: Ctx) -> Resolved[PaceParams]:
        day = self.as_of or ctx.today()
        g = find_goal(ctx.cfg, self.goal, day)
        check_day_in_goal(g, day)
        return Resolved(resolved(self, as_of=day, goal=g.name))


PACE_COLUMNS = (
    "goal",
    "period_start",
    "period_end",
    "stage",
    "target",
    "actual",
    "working_days",
    "working_days_elapsed",
    "working_days_left",
    "required_per_working_day",
    "actual_per_working_day",
    "needed_per_remaining_working_day",
    "projected",
    "projected_share",
    "behind",
    "first_behind",
)


@report("pace", params=PaceParams, columns=PACE_COLUMNS, cli="pace", api="/pace")
def report_pace(ctx: Ctx, p: PaceParams) -> Report:
    """Are we on pace? For the current period of a goal: actual vs required per working day
    for each stage, the projection to the period's end, and the stage that is behind first.

    Example: leadledger pace --goal plan_2027 --as-of 2027-03-15
    """
    assert p.as_of is not None
    day, period = p.as_of, p.period
    g = find_goal(ctx.cfg, p.goal, day)
    pace = goal_pace(ctx.tables(), ctx.cfg, ctx.calendar, g, day, period, ctx.execute)
    p_start, p_end = pace.period_start, pace.period_end
    notes = [
        f"target = the goal's count for the stage spread over its {period}s by working days; "
        f"actual = entered {p_start.isoformat()} to {day.isoformat()} (first entry, local days)",
        "projected = actual + actual_per_working_day × working_days_left; behind = projected < "
        "target; first_behind = the first stage down the funnel that is behind (fix it first: "
        "every stage below it follows)",
    ]
    if not pace.working_days_elapsed:
        notes.insert(
            0,
            f"no working day of the {period} has passed by {day.isoformat()}: there is no pace "
            "to judge yet (behind is empty)",
        )
    first = pace.first_behind
    if first is not None:
        notes.insert(
            0,
            f"{first['stage']} is behind first: {first['actual_per_working_day'] or 0:,.2f} per "
            f"working day against {first['required_per_working_day']:,.2f} required",
        )
    if g.channel or g.campaign:
        notes.append(f"only leads of {_where(g.channel, g.campaign)}")
    return Report(
        "pace",
        {"goal": g.name, "as_of": day, "period": period, "from": p_start, "to": p_end},
        pace.frame,
        notes,
        title=f"Pace of goal {g.name}, {p_start.isoformat()} to {p_end.isoformat()}",
        table_columns=[
            "stage",
            "target",
            "actual",
            "required_per_working_day",
            "actual_per_working_day",
            "needed_per_remaining_working_day",
            "projected",
            "projected_share",
            "behind",
            "first_behind",
        ],
    )


# -- what-if --------------------------------------------------------------------------------------
def _texts(value: Any, info: ValidationInfo) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


class WhatifParams(Params):
    """``leadledger whatif``."""

    overrides: Annotated[
        tuple[str, ...],
        BeforeValidator(_texts),
        Surface(flag="--set", api_name="set", raw=list[str] | None),
        Field(
            description="KEY[.CHANNEL]=VALUE: leads, lead_to_mql, mql_to_sql, close_rate, "
            "deal_size or cost; VALUE 0.3, +20%, -10% or +2pt. Repeatable."
        ),
    ] = ()
    scenario: Annotated[
        Path | None,
        Surface(api=False),
        Field(description="YAML scenario file with a 'set:' mapping."),
    ] = None
    history: History = "12m"  # type: ignore[assignment]  # parsed into a Duration

    def resolve(self, ctx: Ctx) -> Resolved[WhatifParams]:
        require_stages(ctx, "whatif", PLAN_FUNNEL)
        return Resolved(self)


def load_scenario(path: Path) -> list[str]:
    """A scenario file: YAML ``set:`` as a mapping (``close_rate: 0.3``) or a list of
    ``KEY=VALUE`` strings."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    if not path.is_file():
        raise InvalidArgument(f"scenario file {path} does not exist")
    try:
        # every scalar as written: "+0.05" keeps its sign (a safe load would read 0.05)
        data = YAML(typ="base").load(path.read_text(encoding="utf-8"))
    except YAMLError as exc:
        raise InvalidArgument(f"{path}: not valid YAML: {exc}") from exc
    items = data.get("set") if isinstance(data, dict) else None
    if isinstance(items, dict):
        return [f"{k}={v}" for k, v in items.items()]
    if isinstance(items, list) and all(isinstance(i, str) for i in items):
        return list(items)
    raise InvalidArgument(
        f"{path}: expected a 'set:' mapping, e.g. set: {{close_rate: 0.3, cost.paid_search: "
        "'+20%'}}"
    )


@report(
    "whatif",
    params=WhatifParams,
    columns=("metric", "baseline", "scenario", "change", "change_rel"),
    tables=("sensitivity", "channels"),
    cli="whatif",
    api="/whatif",
)
def report_whatif(ctx: Ctx, p: WhatifParams) -> Report:
    """What if a rate, a cost or a volume changes? Downstream counts, revenue, cost and ROI
    against the baseline of the history window, per channel, and the sensitivity of revenue to
    every lever (+1 point, +10 %).

    Example: leadledger whatif --set close_rate=0.3 --set cost.paid_search=+20%
    """
    start, end = history_window(ctx, p.history)
    base, overhead, base_notes = baseline(ctx.tables(), ctx.cfg, start, end, ctx.execute)
    texts = [*(load_scenario(p.scenario) if p.scenario else []), *p.overrides]
    try:
        parsed = [wi.parse_override(t, list(base["channel"])) for t in texts]
        scen = wi.apply(base, parsed)
    except wi.OverrideError as exc:
        raise InvalidArgument(
            str(exc), hint="e.g. --set close_rate=0.3 --set cost.paid_search=+20%"
        ) from exc
    b = wi.totals(base, overhead)
    sc = wi.totals(scen, overhead)
    rows = []
    for metric in ("leads", "mqls", "sqls", "customers", "revenue", "cost", "roi", "roas", "cac"):
        bv, sv = b[metric], sc[metric]
        rows.append(
            {
                "metric": metric,
                "baseline": bv,
                "scenario": sv,
                "change": None if bv is None or sv is None else sv - bv,
                "change_rel": None if not bv or sv is None else sv / bv - 1,
            }
        )
    bo, so = wi.outcomes(base), wi.outcomes(scen)
    channels = pd.DataFrame(
        {
            "channel": bo["channel"],
            "leads": bo["leads"],
            "leads_scenario": so["leads"],
            "customers": bo["customers"],
            "customers_scenario": so["customers"],
            "revenue": bo["revenue"],
            "revenue_scenario": so["revenue"],
            "cost": bo["cost"],
            "cost_scenario": so["cost"],
        }
    )
    sens = wi.sensitivity(scen, overhead)
    best = sens[sens["moves_revenue_most"]]
    notes = [
        f"baseline = the funnel per channel from {start.isoformat()} to {end.isoformat()} "
        "(history window): leads × lead_to_mql × mql_to_sql × close_rate = customers (flow "
        "ratios), × deal size = revenue; roi = (revenue − cost) ÷ cost",
        "a channel's spend change moves its leads at its measured cost per lead; spend not "
        f"tagged to a channel ({overhead:,.2f}) stays fixed",
        *base_notes,
    ]
    if texts:
        notes.append("scenario: " + "; ".join(texts))
    if len(best):
        top = best.iloc[0]
        notes.insert(
            0,
            f"the lever that moves revenue most: +1 point of {top['lever']} adds "
            f"{top['revenue_change_plus_1pt']:,.2f} revenue",
        )
    return Report(
        "whatif",
        {
            "history": p.history.text,
            "history_from": start,
            "history_to": end,
            "set": texts,
            "overhead": overhead,
        },
        pd.DataFrame(rows),
        notes,
        title="What if: scenario against the baseline",
        extra={
            "sensitivity": ("Sensitivity of revenue (on the scenario)", sens),
            "channels": ("Per channel", channels),
        },
    )
