"""Protection: SLA breaches, lead decay in money, and alerts, bound to a workspace.

The metrics are in ``leadledger.planning.sla``, ``.decay`` and ``.business_time`` (pure Ibis
expressions); this module parses the parameters, builds the per-day business calendar, runs the
expressions on the store and wraps each result in a :class:`~leadledger.report.Report`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import ibis
import ibis.expr.types as ir
import pandas as pd

from leadledger.config.models import Sla
from leadledger.errors import InvalidArgument, NotEnoughHistory
from leadledger.ledger.derived import current_deals, in_local_days, local_date, period_of
from leadledger.ledger.derived import stage_entries as _stage_entries
from leadledger.planning import decay as dc
from leadledger.planning import sla as sl
from leadledger.planning.business_time import days_table, is_business, unit_seconds
from leadledger.report import Report
from leadledger.reports.legacy import (
    check_period,
    parse_as_of,
    parse_fields,
    parse_limit,
    parse_window,
    require_stages,
    resolve_range,
)
from leadledger.suggest import did_you_mean
from leadledger.workdays import BusinessHours

if TYPE_CHECKING:
    from leadledger.service import Workspace

VIEWS = ("breaches", "rates", "clocks")
#: Lead fields every SLA breach and at-risk SQL is listed with.
WHO = ("owner", "channel")
DEFAULT_HISTORY = "365d"


# -- shared ---------------------------------------------------------------------------------------
def business_hours(ws: Workspace) -> BusinessHours:
    return BusinessHours(ws.cfg.calendar, ws.cfg.timezone)


def business_days(ws: Workspace, hours: BusinessHours, as_of: pd.Timestamp) -> ir.Table:
    """The per-day business calendar from the first stage entry in the ledger to the day after
    ``as_of`` (every instant a clock or a delay can reach)."""
    e = _stage_entries(ws.store.tables(), ws.cfg)
    first = ws.store.execute(local_date(e.entered_at).min())
    last = as_of.tz_convert(ws.cfg.timezone).date() + dt.timedelta(days=1)
    start = pd.Timestamp(first).date() if first is not None and not pd.isna(first) else last
    start = min(start, last) - dt.timedelta(days=1)
    return days_table(hours.days(start, last))


def _local(series: pd.Series, tz: str) -> pd.Series:
    """UTC instants shown in the project's time zone (ISO with the offset in JSON)."""
    s = pd.to_datetime(series, utc=True)
    return s.dt.tz_convert(tz)


def _pick_slas(ws: Workspace, name: str | None) -> list[Sla]:
    slas = list(ws.cfg.slas)
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


def all_clocks(
    ws: Workspace, slas: Sequence[Sla], *, as_of: pd.Timestamp, fields: Sequence[str]
) -> ir.Table:
    """Every clock of ``slas`` as of ``as_of``, one union (see ``planning.sla.sla_clocks``)."""
    hours = business_hours(ws)
    days = business_days(ws, hours, as_of) if any(is_business(s.unit) for s in slas) else None
    tables = ws.store.tables()
    parts = [
        sl.sla_clocks(
            tables,
            ws.cfg,
            s,
            as_of=as_of,
            days=days,
            business_day_seconds=hours.day_seconds,
            fields=fields,
        )
        for s in slas
    ]
    return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]


def due_at(ws: Workspace, frame: pd.DataFrame) -> pd.Series:
    """When each clock of ``frame`` (sla, started_at) fell due: ``within`` business time after
    the start for business units (a clock started outside hours starts at the next opening),
    calendar time otherwise."""
    hours = business_hours(ws)
    by_name = {s.name: s for s in ws.cfg.slas}
    out = []
    for name, started in zip(
        frame["sla"], pd.to_datetime(frame["started_at"], utc=True), strict=True
    ):
        s = by_name[name]
        seconds = round(s.within * unit_seconds(s.unit, hours.day_seconds), 6)
        if is_business(s.unit):
            out.append(pd.Timestamp(hours.add(started.to_pydatetime(), seconds)))
        else:
            out.append(started + pd.Timedelta(seconds=seconds))
    return pd.Series(pd.to_datetime(out, utc=True), index=frame.index, dtype="datetime64[ns, UTC]")


# -- sla ------------------------------------------------------------------------------------------
def sla_report(
    ws: Workspace,
    *,
    start: Any = None,
    end: Any = None,
    period: str | None = "month",
    by: Any = None,
    as_of: Any = None,
    view: str = "breaches",
    sla: str | None = None,
) -> Report:
    """SLA clocks of the leads whose clock started in [start, end] (local days).

    ``view``: ``breaches`` (default) lists the open breaches as of ``as_of`` (lead, owner,
    channel, sla, started, due, late_by in the SLA's unit); ``rates`` counts clocks by status
    per SLA, period (of the start) and ``by`` fields, with the breach rate; ``clocks`` lists every
    clock with its status."""
    if view not in VIEWS:
        raise InvalidArgument(
            f"--view '{view}' is not one of {', '.join(VIEWS)}", hint=did_you_mean(view, VIEWS)
        )
    if period is not None:
        check_period(period)
    slas = _pick_slas(ws, sla)
    fields = parse_fields(ws, by)
    listed = list(dict.fromkeys([*WHO, *fields]))
    s, e, notes = resolve_range(ws, start, end, period or "month")
    as_of_ts = parse_as_of(ws, as_of)
    clocks = all_clocks(ws, slas, as_of=as_of_ts, fields=listed if view != "rates" else fields)
    clocks = clocks.filter(in_local_days(clocks.started_at, s, e))
    tz = ws.cfg.timezone
    params: dict[str, Any] = {
        "from": s,
        "to": e,
        "period": period,
        "by": fields,
        "as_of": as_of_ts,
        "view": view,
        "sla": sla,
    }
    notes.append(
        "a clock starts at the lead's first entry into the SLA's start stage and stops at the "
        "first sales touch (kinds: " + ", ".join(ws.cfg.sales_touch_kinds) + ") or the first "
        "entry into its until stage at or after it; a side state entered first closes it "
        "without a breach"
    )
    notes.append(
        "business time counts only business hours ("
        + "–".join(t.strftime("%H:%M") for t in ws.cfg.calendar.business_hours)
        + f", {tz}) on working days; a business day is one day's business hours"
    )
    if view == "rates":
        keys = ["sla", *(["period"] if period else []), *fields]
        if period:
            clocks = clocks.mutate(period=period_of(clocks.started_at, period))
        df = ws.store.execute(sl.breach_rates(clocks, keys).order_by(keys))
        if "period" in df.columns:
            df["period"] = pd.to_datetime(df["period"]).dt.date
        notes.append(
            "breach_rate = (breached + open_breached) ÷ decided, decided = met + breached + "
            f"open_breached as of {as_of_ts.isoformat()}; open and closed clocks are not in it"
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
            ],
        )
    if view == "breaches":
        clocks = clocks.filter(clocks.status == "open_breached")
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
    df = ws.store.execute(clocks.order_by(order))
    if view == "breaches":
        df["due_at"] = due_at(ws, df) if len(df) else pd.Series(dtype="datetime64[ns, UTC]")
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
def _count(value: Any, name: str, *, low: int = 0) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"--{name} '{value}' is not a number") from exc
    if not number.is_integer() or number < low:
        raise InvalidArgument(f"--{name} must be a whole number ≥ {low}, got {value}")
    return int(number)


def _money(value: Any, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"--{name} '{value}' is not a number") from exc
    if not math.isfinite(number) or number <= 0:
        raise InvalidArgument(f"--{name} must be a positive amount, got {value}")
    return number


def is_standalone(sqls: Any, customers: Any, neglected: Any) -> bool:
    """Whether ``decay`` runs on the given counts alone (no project needed)."""
    return sqls is not None or customers is not None or neglected is not None


def decay_report(
    ws: Workspace | None,
    *,
    customer_value: Any = None,
    sqls: Any = None,
    customers: Any = None,
    neglected: Any = None,
    start: Any = None,
    end: Any = None,
    as_of: Any = None,
    history: Any = DEFAULT_HISTORY,
    limit: int | None = 50,
) -> Report:
    """Lead decay in money.

    Standalone (``sqls`` and ``customers`` given, ``ws`` may be None): seed 003's arithmetic on
    the given counts, one row. From the project's history otherwise: value per SQL, the decay
    curve (companion table ``curve``), the SQLs at risk now (companion table ``at_risk``, the
    ``limit`` largest) and the value lost by the SQLs that entered in [start, end]."""
    if is_standalone(sqls, customers, neglected):
        return _decay_standalone(ws, customer_value, sqls, customers, neglected)
    if ws is None:
        raise InvalidArgument(
            "decay needs a project, or --customer-value, --sqls and --customers",
            hint="e.g. leadledger decay --customer-value 100000 --sqls 40 --customers 10 "
            "--neglected 5",
        )
    return _decay_history(
        ws,
        customer_value=customer_value,
        start=start,
        end=end,
        as_of=as_of,
        history=history,
        limit=limit,
    )


def _decay_standalone(
    ws: Workspace | None, customer_value: Any, sqls: Any, customers: Any, neglected: Any
) -> Report:
    if sqls is None or customers is None:
        raise InvalidArgument(
            "the standalone decay needs both --sqls and --customers",
            hint="e.g. --customer-value 100000 --sqls 40 --customers 10 --neglected 5",
        )
    if customer_value is None and ws is not None and ws.cfg.decay.customer_value:
        customer_value = ws.cfg.decay.customer_value
    if customer_value is None:
        raise InvalidArgument(
            "the standalone decay needs --customer-value",
            hint="the value of one customer, e.g. --customer-value 100000",
        )
    value = _money(customer_value, "customer-value")
    n = _count(sqls, "sqls", low=1)
    won = _count(customers, "customers")
    lost = _count(neglected if neglected is not None else 0, "neglected")
    if won > n:
        raise InvalidArgument(f"--customers {won} is more than --sqls {n}")
    if lost > n:
        raise InvalidArgument(f"--neglected {lost} is more than --sqls {n}")
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


def _decay_history(
    ws: Workspace,
    *,
    customer_value: Any,
    start: Any,
    end: Any,
    as_of: Any,
    history: Any,
    limit: int | None,
) -> Report:
    cfg = ws.cfg
    d = cfg.decay
    require_stages(ws, "decay", [d.stage, d.won_stage])
    as_of_ts = parse_as_of(ws, as_of)
    today = as_of_ts.tz_convert(cfg.timezone).date()
    window = parse_window(history if history is not None else DEFAULT_HISTORY, "history")
    limit = parse_limit(limit) if limit is not None else None
    if window is None or window < 1:
        raise InvalidArgument(f"--history '{history}' must be at least one day", hint="e.g. 365d")
    h_end = today
    h_start = today - dt.timedelta(days=math.ceil(window) - 1)
    s, e, notes = resolve_range(ws, start, end, "month", periods_back=0)
    hours = business_hours(ws)
    days = business_days(ws, hours, as_of_ts)
    tables = ws.store.tables()
    delays = dc.sql_delays(
        tables,
        cfg,
        as_of=as_of_ts,
        days=days,
        business_day_seconds=hours.day_seconds,
        fields=WHO,
    )
    in_history = delays.filter(in_local_days(delays.sql_at, h_start, h_end))
    counts = ws.store.execute(dc.curve_counts(in_history))
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
    value, source = _customer_value(ws, customer_value, h_start, h_end)
    rate = won / n
    value_per_sql = value * won / n
    shares = dc.bucket_shares(curve, d)
    valued = dc.valued_sqls(delays, dc.shares_table(shares), value_per_sql)

    period = valued.filter(in_local_days(valued.sql_at, s, e))
    lost = ws.store.execute(
        period.aggregate(
            sqls=period.count(),
            neglected=(period.remaining_share < 1).sum().cast("int64"),
            remaining=period.remaining_share.sum(),
            value_lost=period.value_lost.sum(),
        )
    ).iloc[0]
    risky = valued.filter(valued.open & ~valued.followed_up)
    risk = ws.store.execute(
        risky.aggregate(open_sqls=risky.count(), value_at_risk=risky.value_lost.sum())
    ).iloc[0]
    listing = risky.order_by([ibis.desc("value_lost"), ibis.desc("delay_days"), "lead_id"])
    if limit is not None:
        listing = listing.limit(limit)
    at_risk = ws.store.execute(listing)
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
        + (f", the {limit} largest" if limit is not None else "")
        + ")",
    ]
    return Report(
        "decay",
        {
            "mode": "history",
            "from": s,
            "to": e,
            "as_of": as_of_ts,
            "history": history,
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
            "at_risk": (f"Open {_title(ws, d.stage)}s at risk now", at_risk),
        },
    )


def _title(ws: Workspace, stage: str) -> str:
    return next((s.title for s in ws.cfg.stages if s.key == stage), stage)


def _customer_value(ws: Workspace, given: Any, start: dt.date, end: dt.date) -> tuple[float, str]:
    """The value of one customer: the argument, else ``decay.customer_value``, else the mean
    amount of the deals won (closed) in the history window."""
    if given is not None:
        return _money(given, "customer-value"), "argument"
    if ws.cfg.decay.customer_value:
        return float(ws.cfg.decay.customer_value), "config"
    deals = current_deals(ws.store.tables())
    won = deals.filter(
        (deals.status == "won")
        & deals.amount.notnull()
        & in_local_days(deals.closed_at, start, end)
    )
    mean = ws.store.execute(won.amount.mean())
    if mean is None or pd.isna(mean) or mean <= 0:
        raise NotEnoughHistory(
            f"no won deal with an amount closed from {start} to {end}",
            hint="set decay.customer_value in leadledger.yaml or pass --customer-value",
        )
    return float(mean), "won deals"


# -- alerts ---------------------------------------------------------------------------------------
def target_id(webhook: str) -> str:
    """How a webhook is recorded in ``alerts_sent``: a hash, never the URL (Slack webhook URLs
    are secrets)."""
    return "webhook:" + hashlib.sha256(webhook.encode("utf-8")).hexdigest()[:16]


def redact(webhook: str) -> str:
    """The webhook as shown in reports: scheme and host only."""
    parts = urlsplit(webhook)
    return f"{parts.scheme}://{parts.netloc}/…" if parts.netloc else "…"


ALERT_COLUMNS = [
    "alert_key",
    "kind",
    "subject",
    "lead_id",
    "owner",
    "channel",
    "stage",
    "started_at",
    "due_at",
    "late_by",
    "unit",
    "message",
    "status",
]


def sla_alerts(ws: Workspace, as_of: pd.Timestamp) -> list[dict[str, Any]]:
    """One alert per open SLA breach as of ``as_of`` (every SLA, any start date)."""
    if not ws.cfg.slas:
        return []
    clocks = all_clocks(ws, ws.cfg.slas, as_of=as_of, fields=WHO)
    df = ws.store.execute(
        clocks.filter(clocks.status == "open_breached").order_by(["sla", "lead_id"])
    )
    if df.empty:
        return []
    df["due_at"] = due_at(ws, df)
    by_name = {s.name: s for s in ws.cfg.slas}
    tz = ws.cfg.timezone
    out = []
    for rec in df.to_dict(orient="records"):
        started = pd.Timestamp(rec["started_at"]).tz_convert("UTC")
        s = by_name[rec["sla"]]
        out.append(
            {
                "alert_key": f"sla_breach:{s.name}:{rec['lead_id']}:{started.isoformat()}",
                "kind": "sla_breach",
                "subject": s.name,
                "lead_id": rec["lead_id"],
                "owner": rec["owner"],
                "channel": rec["channel"],
                "stage": s.start,
                "started_at": started.tz_convert(tz),
                "due_at": pd.Timestamp(rec["due_at"]).tz_convert(tz),
                "late_by": float(rec["late_by"]),
                "unit": s.unit,
                "message": f"SLA {s.name}: lead {rec['lead_id']} (owner {rec['owner'] or '–'}) "
                f"is {_amount(float(rec['late_by']), s.unit)} late (limit "
                f"{_amount(s.within, s.unit)} from entering {s.start})",
            }
        )
    return out


def _amount(value: float, unit: str) -> str:
    """``4.5 business hours``, ``1 day``: a number with its unit, for messages."""
    text = unit.replace("_", " ")
    return f"{value:,.1f}".removesuffix(".0") + " " + (text[:-1] if value == 1 else text)


def pacing_alerts(ws: Workspace, as_of: pd.Timestamp, goal: str | None) -> list[dict[str, Any]]:
    """One alert per stage behind its goal in the current period (``pace``), for the named goal
    or every goal whose period holds the as-of day."""
    if not ws.cfg.goals and goal is None:
        return []
    from leadledger.planning_reports import find_goal, pace_report  # written alongside

    day = as_of.tz_convert(ws.cfg.timezone).date()
    names = (
        [find_goal(ws.cfg, goal, day).name]
        if goal is not None
        else [g.name for g in ws.cfg.goals if g.start <= day <= g.end]
    )
    out = []
    for name in names:
        frame = pace_report(ws, goal=name, as_of=day).frame
        for rec in frame.to_dict(orient="records"):
            if not rec.get("behind"):
                continue
            period_start = pd.Timestamp(rec["period_start"]).date().isoformat()
            actual = rec.get("actual_per_working_day") or 0.0
            out.append(
                {
                    "alert_key": f"pacing:{name}:{rec['stage']}:{period_start}",
                    "kind": "pacing",
                    "subject": name,
                    "lead_id": None,
                    "owner": None,
                    "channel": None,
                    "stage": rec["stage"],
                    "started_at": None,
                    "due_at": None,
                    "late_by": None,
                    "unit": None,
                    "message": f"goal {name}: {rec['stage']} is behind pace since "
                    f"{period_start}: {actual:,.2f} per working day against "
                    f"{float(rec['required_per_working_day'] or 0):,.2f} required; projected "
                    f"{float(rec['projected']):,.0f} of {float(rec['target']):,.0f}"
                    + (" (fix first)" if rec.get("first_behind") else ""),
                }
            )
    return out


def sent_keys(ws: Workspace, target: str | None) -> set[str]:
    """Alert keys already delivered (to ``target``, or to any webhook when None)."""
    t = ws.store.table("alerts_sent")
    if target is not None:
        t = t.filter(t.target == target)
    return set(ws.store.execute(t.select("alert_key").distinct())["alert_key"])


def alerts(
    ws: Workspace,
    *,
    webhook: str | None = None,
    as_of: Any = None,
    goal: str | None = None,
    timeout: float = 10.0,
    retries: int = 3,
    backoff: float = 1.0,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Current alerts: open SLA breaches and pacing shortfalls. With ``webhook``, the alerts not
    yet delivered to it are POSTed as Slack-compatible JSON (timeout, retries with backoff) and
    recorded in ``alerts_sent`` after a 2xx, so nothing is sent twice; ``WebhookFailed`` when
    the receiver does not accept them (nothing is recorded then)."""
    from leadledger import alerts as delivery

    if webhook is not None and urlsplit(webhook).scheme not in ("http", "https"):
        raise InvalidArgument(f"--webhook '{webhook}' is not an http(s) URL")
    if timeout <= 0:
        raise InvalidArgument("--timeout must be positive")
    if retries < 0:
        raise InvalidArgument("--retries must not be negative")
    as_of_ts = parse_as_of(ws, as_of)
    say = progress or (lambda _msg: None)
    say("checking SLAs")
    rows = sla_alerts(ws, as_of_ts)
    say("checking pace")
    rows += pacing_alerts(ws, as_of_ts, goal)
    target = target_id(webhook) if webhook else None
    already = sent_keys(ws, target)
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
        "goal": goal,
        "webhook": redact(webhook) if webhook else None,
        "sent": 0,
    }
    if webhook and new:
        say("sending")
        sent = delivery.send_alerts(
            ws.store,
            new,
            webhook,
            target=target or "",
            timeout=timeout,
            retries=retries,
            backoff=backoff,
        )
        for r in new:
            if r["alert_key"] in sent:
                r["status"] = "sent"
        params["sent"] = len(sent)
        notes[0] = f"{len(sent)} alert(s) sent, {len(rows) - len(new)} already sent before"
    frame = pd.DataFrame(rows, columns=ALERT_COLUMNS)
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
