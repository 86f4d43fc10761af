"""Bind planning to a workspace: the reverse funnel (``plan``), goals, pacing and what-if.

Rates not given are measured over a trailing history window as flow ratios (entered T ÷ entered S
in the window): a plan is about volumes per period, and unlike a cohort rate a flow ratio does not
sag for cohorts too young to have converted.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import re
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from leadledger.config.models import Calendar, Goal, ProjectConfig
from leadledger.errors import ConfigError, GoalNotFound, InvalidArgument, NotEnoughHistory
from leadledger.planning import history
from leadledger.planning import whatif as wi
from leadledger.planning.reverse_funnel import (
    PLAN_STAGES,
    RATE_STEPS,
    RATES,
    Rate,
    exact,
    reverse_funnel,
    spread_by_working_days,
)
from leadledger.report import Report
from leadledger.reports.legacy import parse_date
from leadledger.workdays import WorkCalendar

if TYPE_CHECKING:
    from leadledger.service import Workspace

#: The what-if group of leads without a channel.
NO_CHANNEL = "(none)"
#: Stages a measured plan needs in the project's funnel.
PLAN_FUNNEL = ("lead", "mql", "sql", "customer")


# -- parameters ----------------------------------------------------------------------------------
#: The longest --history window per unit: a century (longer ones step dates out of range).
LONGEST_HISTORY = {"d": 36_525, "w": 5_217, "m": 1_200, "y": 100}


def parse_history(value: str) -> tuple[int, str]:
    """'12m', '1y', '26w', '90d' → (n, unit); at most a century (LONGEST_HISTORY)."""
    m = re.fullmatch(r"\s*(\d+)\s*([dwmy])\s*", str(value))
    if not m or int(m.group(1)) == 0:
        raise InvalidArgument(
            f"--history '{value}' is not a window", hint="use e.g. 12m, 6m, 1y, 26w or 90d"
        )
    n, unit = int(m.group(1)), m.group(2)
    if n > LONGEST_HISTORY[unit]:
        raise InvalidArgument(
            f"--history '{value}' is longer than the longest supported window, a century "
            f"({LONGEST_HISTORY[unit]:,}{unit})",
            hint="use e.g. 12m, 6m, 1y, 26w or 90d",
        )
    return n, unit


def _months_back(day: dt.date, months: int) -> dt.date:
    m0 = day.year * 12 + day.month - 1 - months
    y, m = divmod(m0, 12)
    return dt.date(y, m + 1, min(day.day, _calendar.monthrange(y, m + 1)[1]))


def history_window(ws: Workspace, history_text: str) -> tuple[dt.date, dt.date]:
    """The trailing window ending on the last day with data (or today): [start, end]."""
    from leadledger.reports.legacy import last_activity_date

    n, unit = parse_history(history_text)
    today = ws.today()
    last = last_activity_date(ws)
    end = min(today, last) if last else today
    if unit == "d":
        start = end - dt.timedelta(days=n - 1)
    elif unit == "w":
        start = end - dt.timedelta(days=7 * n - 1)
    else:
        start = _months_back(end, n * (12 if unit == "y" else 1)) + dt.timedelta(days=1)
    return start, end


def _rate_arg(value: Any, name: str) -> Fraction | None:
    if value is None:
        return None
    try:
        rate = exact(value if not isinstance(value, str) else value.strip())
    except (ValueError, ZeroDivisionError) as exc:
        raise InvalidArgument(f"--{name.replace('_', '-')} '{value}' is not a number") from exc
    if not 0 < rate <= 1:
        raise InvalidArgument(
            f"--{name.replace('_', '-')} {value} must be a rate in (0, 1]",
            hint="write 25 % as 0.25",
        )
    return rate


def _positive(value: Any, name: str) -> Fraction | None:
    if value is None:
        return None
    try:
        number = exact(value if not isinstance(value, str) else value.strip())
    except (ValueError, ZeroDivisionError) as exc:
        raise InvalidArgument(f"--{name} '{value}' is not a number") from exc
    if number <= 0:
        raise InvalidArgument(f"--{name} must be positive, not {value}")
    return number


def _where(channel: str | None, campaign: str | None) -> dict[str, list[str]]:
    where: dict[str, list[str]] = {}
    if channel:
        where["channel"] = [channel]
    if campaign:
        where["campaign"] = [campaign]
    return where


# -- measuring the history -------------------------------------------------------------------------
def measured(
    ws: Workspace, start: dt.date, end: dt.date, where: dict[str, list[str]]
) -> dict[str, Any]:
    """Counts of the window: entered per stage, visits, spend, won deals."""
    tables = ws.store.tables()
    entered = ws.store.execute(
        history.entries_by_stage(tables, ws.cfg, start=start, end=end, where=where)
    )
    counts = {str(r.stage): int(r.entered) for r in entered.itertuples()}
    v = ws.store.execute(history.visits(tables, start=start, end=end, where=where))
    s = ws.store.execute(history.spend(tables, start=start, end=end, where=where))
    w = ws.store.execute(history.won_deals(tables, start=start, end=end, where=where))
    if where:  # costs not tagged at all cannot be placed in a channel: say how much
        everything = ws.store.execute(history.spend(tables, start=start, end=end))
        s = s.assign(unallocated=everything["unallocated"].to_numpy())

    def one(frame: pd.DataFrame, col: str) -> float:
        if frame.empty or pd.isna(frame[col].iloc[0]):
            return 0.0
        return float(frame[col].iloc[0])

    return {
        "entered": counts,
        "visits": int(one(v, "visits")),
        "spend": one(s, "spend"),
        "unallocated": one(s, "unallocated"),
        "won": int(one(w, "won")),
        "revenue": one(w, "revenue"),
    }


def _measured_rate(name: str, m: dict[str, Any], window: str) -> Rate:
    src, dst = RATE_STEPS[name]
    den = m["visits"] if src == "visitor" else m["entered"].get(src, 0)
    num = m["entered"].get(dst, 0)
    if den == 0:
        what = "no traffic imported" if src == "visitor" else f"no lead entered {src}"
        return Rate(None, "unavailable", f"{what} in {window}")
    label = "visits" if src == "visitor" else f"entered {src}"
    detail = f"{num:,} entered {dst} ÷ {den:,} {label}, {window}"
    if num == 0:
        return Rate(None, "unavailable", f"{detail}: a rate of 0 cannot be planned backwards")
    if num > den:
        # a flow ratio above 1: a short window, or stages entered out of order; never used
        return Rate(
            None,
            "unavailable",
            f"{detail} = {num / den:.2f} > 1: widen --history or give the rate",
        )
    return Rate(Fraction(num, den), "measured", detail)


# -- plan ------------------------------------------------------------------------------------------
def plan_report(
    ws: Workspace | None,
    *,
    revenue: Any,
    deal_size: Any = None,
    close_rate: Any = None,
    mql_to_sql: Any = None,
    lead_to_mql: Any = None,
    visit_to_lead: Any = None,
    start: Any = None,
    end: Any = None,
    history_text: str = "12m",
    channel: str | None = None,
    campaign: str | None = None,
) -> Report:
    """The reverse funnel from a revenue target: counts per stage for the plan period, per working
    day and per month, with the source of every rate and, with measured costs, the budget."""
    target = _positive(revenue, "revenue")
    assert target is not None or revenue is None
    if target is None:
        raise InvalidArgument("--revenue is required", hint="e.g. --revenue 10000000")
    given = {
        "close_rate": _rate_arg(close_rate, "close_rate"),
        "mql_to_sql": _rate_arg(mql_to_sql, "mql_to_sql"),
        "lead_to_mql": _rate_arg(lead_to_mql, "lead_to_mql"),
        "visit_to_lead": _rate_arg(visit_to_lead, "visit_to_lead"),
    }
    size = _positive(deal_size, "deal-size")
    parse_history(history_text)
    where = _where(channel, campaign)
    if ws is None and where:
        raise InvalidArgument("--channel and --campaign need a project", hint="pass --project DIR")
    today = ws.today() if ws else dt.date.today()
    s_given, e_given = parse_date(start, "from"), parse_date(end, "to")
    if s_given is None and e_given is not None:  # the year that ends on --to
        s_given = _months_back(e_given, 12) + dt.timedelta(days=1)
    s = s_given or dt.date(today.year + 1, 1, 1)
    e = e_given or (_months_back(s, -12) - dt.timedelta(days=1))
    if e < s:
        raise InvalidArgument(f"--from {s} is after --to {e}")

    notes: list[str] = []
    m: dict[str, Any] | None = None
    window = ""
    need_history = size is None or any(v is None for v in given.values())
    if ws is not None and need_history:
        h_start, h_end = history_window(ws, history_text)
        window = f"{h_start.isoformat()}–{h_end.isoformat()}"
        missing = [st for st in PLAN_FUNNEL if st not in ws.cfg.stage_keys]
        if missing:
            notes.append(
                f"the project has no stage {', '.join(missing)}: rates that need it cannot be "
                "measured"
            )
        m = measured(ws, h_start, h_end, where)
    rates: dict[str, Rate] = {}
    for name in RATES:
        if given[name] is not None:
            rates[name] = Rate(given[name], "given")
        elif m is not None:
            rates[name] = _measured_rate(name, m, window)
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

    cal = ws.calendar if ws else WorkCalendar(Calendar())
    if ws is None:
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
    rate_of = {"customer": None, **{RATE_STEPS[r][0]: r for r in RATES}}
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
        "history": history_text if m is not None else None,
        "history_from": window.split("–")[0] if window else None,
        "history_to": window.split("–")[1] if window else None,
        "channel": channel,
        "campaign": campaign,
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
                    if where
                    else f"; {m['unallocated']:,.2f} of it is not tagged to a channel or campaign"
                )
                if m["unallocated"]
                else ""
            )
        )
    elif m is not None and where and m["spend"] == 0:
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


# -- goals -------------------------------------------------------------------------------------
def save_goal(ws: Workspace, name: str, plan: Report, *, force: bool = False) -> Path:
    """Write the plan into leadledger.yaml's ``goals`` (comments kept), validated first."""
    from leadledger.config import CONFIG_NAME, validate_config
    from leadledger.config.loader import load_config_data

    path = ws.project_dir / CONFIG_NAME
    data = load_config_data(path)
    goals = data.get("goals") if isinstance(data, dict) else None
    if goals is None:
        goals = []
    existing = [i for i, g in enumerate(goals) if isinstance(g, dict) and g.get("name") == name]
    if existing and not force:
        raise InvalidArgument(
            f"goal '{name}' already exists in {path}", hint="pass --force to replace it"
        )
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
    Goal.model_validate(entry)
    new_goals = list(goals)
    if existing:
        new_goals[existing[0]] = entry
    else:
        new_goals.append(entry)
    text = _write_goals(path, new_goals)
    tmp = path.with_name(path.name + ".new")
    tmp.write_text(text, encoding="utf-8")
    cfg, issues = validate_config(tmp)
    errors = [i for i in issues if i.severity == "error"]
    if cfg is None or errors:
        tmp.unlink()
        raise ConfigError(
            f"saving goal '{name}' would make {path} invalid: "
            + (errors[0].render() if errors else "it no longer loads"),
            issues=errors,
        )
    tmp.replace(path)
    return path


def _write_goals(path: Path, goals: list[Any]) -> str:
    """The config text with ``goals:`` replaced, the rest of the file (comments) untouched."""
    import io

    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    yaml = YAML()
    yaml.preserve_quotes = True
    with path.open(encoding="utf-8") as fh:
        doc = yaml.load(fh)
    seq = CommentedSeq()
    for g in goals:
        item = CommentedMap()
        for k, v in dict(g).items():
            if isinstance(v, dict):
                inner = CommentedMap(v)
                inner.fa.set_flow_style()
                item[k] = inner
            else:
                item[k] = v
        seq.append(item)
    doc["goals"] = seq
    buf = io.StringIO()
    yaml.dump(doc, buf)
    return buf.getvalue()


def find_goal(cfg: ProjectConfig, name: str | None, day: dt.date) -> Goal:
    goals = cfg.goals
    if name is not None:
        for g in goals:
            if g.name == name:
                return g
        raise GoalNotFound(
            f"no goal '{name}' in leadledger.yaml",
            hint=f"goals: {', '.join(g.name for g in goals)}"
            if goals
            else "save one with 'leadledger plan ... --save NAME'",
        )
    covering = [g for g in goals if g.start <= day <= g.end]
    if len(covering) == 1:
        return covering[0]
    if not covering:
        raise GoalNotFound(
            f"no goal covers {day.isoformat()}",
            hint="save one with 'leadledger plan ... --save NAME', or pass --goal NAME "
            "and --as-of a day inside it",
        )
    raise GoalNotFound(
        f"{len(covering)} goals cover {day.isoformat()}: " + ", ".join(g.name for g in covering),
        hint="pick one with --goal NAME",
    )


# -- pace ---------------------------------------------------------------------------------------
def pace_report(
    ws: Workspace, *, goal: str | None = None, as_of: Any = None, period: str = "month"
) -> Report:
    """Actual per working day vs required per working day for the current period of a goal."""
    from leadledger.reports.legacy import check_period

    check_period(period)
    day = parse_date(as_of, "as-of") or ws.today()
    g = find_goal(ws.cfg, goal, day)
    if not g.start <= day <= g.end:
        raise InvalidArgument(
            f"--as-of {day} is outside goal '{g.name}' ({g.start} to {g.end})",
            hint="pass --as-of a day inside the goal's period",
        )
    cal = ws.calendar
    rows_cal = cal.periods(g.start, g.end, period).to_dict(orient="records")
    # the goal's periods, clipped to the goal, and their working days inside it
    periods = [(max(r["period"], g.start), min(r["period_end"], g.end)) for r in rows_cal]
    weights = [int(r["working_days_in_range"]) for r in rows_cal]
    if sum(weights) == 0:
        raise InvalidArgument(
            f"goal '{g.name}' ({g.start} to {g.end}) has no working day to pace",
        )
    idx = next(i for i, (a, b) in enumerate(periods) if a <= day <= b)
    p_start, p_end = periods[idx]
    wd = weights[idx]
    elapsed = cal.working_days(p_start, day)
    left = cal.working_days(day + dt.timedelta(days=1), p_end)
    where = _where(g.channel, g.campaign)
    tables = ws.store.tables()
    entered = ws.store.execute(
        history.entries_by_stage(tables, ws.cfg, start=p_start, end=day, where=where)
    )
    actual = {str(r.stage): int(r.entered) for r in entered.itertuples()}
    if "visitor" in g.counts:
        v = ws.store.execute(history.visits(tables, start=p_start, end=day, where=where))
        actual["visitor"] = 0 if v.empty or pd.isna(v["visits"].iloc[0]) else int(v["visits"][0])
    order = ["visitor", *ws.cfg.stage_keys]
    rows = []
    for stage in sorted(g.counts, key=lambda st: order.index(st) if st in order else 99):
        target = spread_by_working_days(g.counts[stage], weights)[idx]
        got = actual.get(stage, 0)
        per_day = got / elapsed if elapsed else None
        projected = got + (per_day or 0.0) * left
        rows.append(
            {
                "goal": g.name,
                "period_start": p_start,
                "period_end": p_end,
                "stage": stage,
                "target": target,
                "actual": got,
                "working_days": wd,
                "working_days_elapsed": elapsed,
                "working_days_left": left,
                "required_per_working_day": target / wd if wd else None,
                "actual_per_working_day": per_day,
                "needed_per_remaining_working_day": max(target - got, 0) / left if left else None,
                "projected": projected,
                "projected_share": projected / target if target else None,
                # before the first working day there is no pace to judge
                "behind": bool(projected < target) if elapsed else None,
            }
        )
    frame = pd.DataFrame(rows)
    behind = [i for i, row in enumerate(rows) if row["behind"]]
    frame["first_behind"] = [bool(behind) and i == behind[0] for i in range(len(rows))]
    notes = [
        f"target = the goal's count for the stage spread over its {period}s by working days; "
        f"actual = entered {p_start.isoformat()} to {day.isoformat()} (first entry, local days)",
        "projected = actual + actual_per_working_day × working_days_left; behind = projected < "
        "target; first_behind = the first stage down the funnel that is behind (fix it first: "
        "every stage below it follows)",
    ]
    if not elapsed:
        notes.insert(
            0,
            f"no working day of the {period} has passed by {day.isoformat()}: there is no pace "
            "to judge yet (behind is empty)",
        )
    if behind:
        first = rows[behind[0]]
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
        frame,
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


# -- what-if -----------------------------------------------------------------------------------
def baseline(ws: Workspace, start: dt.date, end: dt.date) -> tuple[pd.DataFrame, float, list[str]]:
    """One row per lead channel over the window: leads, measured flow ratios, deal size, spend;
    and the spend not tagged to a channel (fixed overhead)."""
    from leadledger.reports.legacy import require_stages

    require_stages(ws, "whatif", PLAN_FUNNEL)
    tables = ws.store.tables()
    e = ws.store.execute(
        history.entries_by_stage(tables, ws.cfg, start=start, end=end, by=["channel"])
    )
    # leads without a channel are a group of their own, never dropped
    e["channel"] = e["channel"].astype(object).where(e["channel"].notna(), NO_CHANNEL)
    wide = e.pivot_table(index="channel", columns="stage", values="entered", aggfunc="sum")
    wide = wide.reindex(columns=list(PLAN_FUNNEL)).fillna(0)
    spend = ws.store.execute(history.spend(tables, start=start, end=end, by=["channel"]))
    won = ws.store.execute(history.won_deals(tables, start=start, end=end))
    total_won = 0 if won.empty or pd.isna(won["won"].iloc[0]) else int(won["won"].iloc[0])
    mean_deal = float(won["revenue"].iloc[0]) / total_won if total_won else 0.0
    notes: list[str] = []
    rows = []
    by_channel: dict[Any, float] = {
        r.channel: float(r.spend) for r in spend.itertuples() if not pd.isna(r.spend)
    }
    deal_by = _deal_size_by_channel(ws, start, end)
    for channel, r in wide.iterrows():
        if r["lead"] == 0:
            continue
        rows.append(
            {
                "channel": str(channel),
                "leads": float(r["lead"]),
                "lead_to_mql": r["mql"] / r["lead"],
                "mql_to_sql": r["sql"] / r["mql"] if r["mql"] else 0.0,
                "close_rate": r["customer"] / r["sql"] if r["sql"] else 0.0,
                "deal_size": deal_by.get(str(channel), mean_deal),
                "cost": by_channel.get(channel, 0.0),
            }
        )
    overhead = sum(v for k, v in by_channel.items() if k is None or pd.isna(k))
    overhead += sum(
        v for k, v in by_channel.items() if k is not None and not pd.isna(k) and k not in wide.index
    )
    if not rows:
        raise NotEnoughHistory(
            f"no lead entered the funnel from {start} to {end}",
            hint="import leads, or widen --history",
        )
    missing_deal = [r["channel"] for r in rows if str(r["channel"]) not in deal_by]
    if missing_deal and mean_deal:
        notes.append(
            f"no won deal of {', '.join(missing_deal)} in the window: their deal size is the "
            f"overall mean, {mean_deal:,.2f}"
        )
    return pd.DataFrame(rows, columns=list(wi.BASELINE_COLUMNS)), overhead, notes


def _deal_size_by_channel(ws: Workspace, start: dt.date, end: dt.date) -> dict[str, float]:
    """Mean won deal per configured channel (one query; channels without a won deal absent)."""
    w = ws.store.execute(history.won_deals(ws.store.tables(), start=start, end=end, by=["channel"]))
    configured = {c.key for c in ws.cfg.channels}
    return {
        str(r.channel): float(r.revenue) / int(r.won)
        for r in w.itertuples()
        if r.channel in configured and r.won
    }


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


def whatif_report(
    ws: Workspace,
    *,
    overrides: Sequence[str] = (),
    scenario: Path | None = None,
    history_text: str = "12m",
) -> Report:
    start, end = history_window(ws, history_text)
    base, overhead, notes = baseline(ws, start, end)
    texts = [*(load_scenario(scenario) if scenario else []), *overrides]
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
        *notes,
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
            "history": history_text,
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
