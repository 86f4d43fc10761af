"""Bind the money metrics to a workspace: ``report costs`` (spend, cost per stage, CAC, payback,
planned vs actual) and ``report roi`` (attributed pipeline and revenue against spend, reconciled
with the deals table). Both are in the ``REPORTS`` registry of ``leadledger.reports``."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from leadledger.errors import InvalidArgument, UnknownField
from leadledger.metrics import costs as mc
from leadledger.planning import history
from leadledger.report import Report
from leadledger.reports.legacy import (
    _frame,
    check_period,
    parse_window,
    register,
    require_stages,
    resolve_range,
)
from leadledger.suggest import did_you_mean

if TYPE_CHECKING:
    from leadledger.service import Workspace

UNTAGGED_RULES = ("by_leads", "even", "unallocated")
ROI_KEYS = ("channel", "campaign")


def _check_by(ws: Workspace, by: Any, valid: tuple[str, ...]) -> str:
    if isinstance(by, (list, tuple)):  # the API's by=["channel"], like the other reports
        by = ",".join(str(b) for b in by)
    by = str(by or "channel").strip()
    if by not in valid:
        raise UnknownField(
            f"--by '{by}' is not one of {', '.join(valid)}",
            hint=did_you_mean(by, valid),
        )
    if by == "persona" and "persona" not in ws.cfg.attributes:
        raise UnknownField(
            "--by persona needs a lead attribute 'persona'",
            hint="add persona to 'attributes' in leadledger.yaml and import it with the leads",
        )
    return by


def _check_untagged(value: Any, default: str) -> str:
    rule = str(value or default)
    if rule not in UNTAGGED_RULES:
        raise InvalidArgument(
            f"--untagged '{rule}' is not one of {', '.join(UNTAGGED_RULES)}",
            hint=did_you_mean(rule, UNTAGGED_RULES),
        )
    return rule


def _div(num: pd.Series, den: pd.Series) -> pd.Series:
    """num ÷ den as floats, NaN where den is 0 or missing (never inf)."""
    n = pd.to_numeric(num, errors="coerce").astype("float64")
    d = pd.to_numeric(den, errors="coerce").astype("float64")
    return pd.Series(np.where(d > 0, n / d.where(d > 0, 1.0), np.nan), index=num.index)


def _cost_per(spend: pd.Series, count: pd.Series) -> pd.Series:
    """The metric's rule in pandas, for totals: NaN where the count is 0 or no spend."""
    out = _div(spend, count)
    return out.where(pd.to_numeric(spend, errors="coerce") > 0)


def _totals(ws: Workspace, frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """The report's rows summed over its periods, per key, ratios recomputed from the sums."""
    sums = ["spend", "allocated_spend", *mc.COUNT_COLUMNS, "revenue"]
    if frame.empty:
        return pd.DataFrame(columns=[by, *frame.columns.drop(["period", by])])
    t = frame.groupby(by, dropna=False, sort=True)[sums].sum().reset_index()
    for count, per in mc.COST_PER.items():
        t[per] = _cost_per(t["spend"], t[count])
    margin = _div(t["revenue"], t["won_deals"]) * (
        ws.cfg.costs.gross_margin / ws.cfg.costs.contract_months
    )
    t["monthly_margin_per_customer"] = margin
    t["payback_months"] = _div(t["cac"], margin)
    return t[[by, *[c for c in frame.columns if c not in ("period", by)]]]


def planned_vs_actual(ws: Workspace, end: dt.date) -> pd.DataFrame:
    """Every goal that started by ``end``: budget and stage targets against actual spend and
    entries from the goal's start to ``through`` = min(goal end, ``end``).

    The budget is prorated by calendar days (spend is spread over calendar days), the stage
    targets by working days (like ``pace``). Spend is the goal's tagged spend (costs with the
    goal's channel and/or campaign; all costs when it has neither); entries are those of leads
    with the goal's channel / campaign."""
    cal = ws.calendar
    tables = ws.store.tables()
    rows: list[dict[str, Any]] = []
    for g in ws.cfg.goals:
        if g.start > end:
            continue
        through = min(g.end, end)
        head = {
            "goal": g.name,
            "channel": g.channel,
            "campaign": g.campaign,
            "start": g.start,
            "end": g.end,
            "through": through,
        }
        where: dict[str, list[str]] = {}
        if g.channel:
            where["channel"] = [g.channel]
        if g.campaign:
            where["campaign"] = [g.campaign]
        if g.budget is not None:
            days = (g.end - g.start).days + 1
            elapsed = (through - g.start).days + 1
            s = ws.store.execute(
                mc.goal_spend(
                    tables, start=g.start, end=through, channel=g.channel, campaign=g.campaign
                )
            )
            spent = float(s["spend"].iloc[0]) if len(s) and pd.notna(s["spend"].iloc[0]) else 0.0
            rows.append(
                {
                    **head,
                    "measure": "spend",
                    "planned": float(g.budget),
                    "planned_to_date": float(g.budget) * elapsed / days,
                    "actual": spent,
                }
            )
        if g.counts:
            entered = ws.store.execute(
                history.entries_by_stage(tables, ws.cfg, start=g.start, end=through, where=where)
            )
            actual = {str(r.stage): float(r.entered) for r in entered.itertuples()}
            if "visitor" in g.counts:
                v = ws.store.execute(
                    history.visits(tables, start=g.start, end=through, where=where)
                )
                visits = v["visits"].iloc[0] if len(v) else None
                actual["visitor"] = 0.0 if visits is None or pd.isna(visits) else float(visits)
            wd_all = cal.working_days(g.start, g.end)
            wd_done = cal.working_days(g.start, through)
            order = ["visitor", *ws.cfg.stage_keys]
            for stage in sorted(g.counts, key=lambda s: order.index(s) if s in order else 99):
                target = float(g.counts[stage])
                rows.append(
                    {
                        **head,
                        "measure": stage,
                        "planned": target,
                        "planned_to_date": target * wd_done / wd_all if wd_all else None,
                        "actual": actual.get(stage, 0.0),
                    }
                )
    cols = [
        "goal",
        "channel",
        "campaign",
        "start",
        "end",
        "through",
        "measure",
        "planned",
        "planned_to_date",
        "actual",
        "attainment",
        "remaining",
    ]
    if not rows:
        return pd.DataFrame(columns=cols)
    df = pd.DataFrame(rows)
    df["attainment"] = _div(df["actual"], df["planned_to_date"])
    df["remaining"] = df["planned"] - df["actual"]
    return df[cols]


# -- report costs ----------------------------------------------------------------------------------
@register("costs")
def report_costs(
    ws: Workspace,
    *,
    start: Any = None,
    end: Any = None,
    period: str = "month",
    by: Any = "channel",
    untagged: Any = None,
) -> Report:
    """Spend, counts and cost per stage per period and channel / campaign / category / persona;
    totals over the range, and goals' budgets and targets against actual (companion tables)."""
    period = check_period(period)
    key = _check_by(ws, by, mc.COST_KEYS)
    rule = _check_untagged(untagged, ws.cfg.costs.untagged)
    s, e, notes = resolve_range(ws, start, end, period)
    tables = ws.store.tables()
    expr = mc.cost_per_stage(tables, ws.cfg, by=key, start=s, end=e, period=period, untagged=rule)
    df = _frame(ws, expr)
    total_spend = ws.store.execute(history.spend(tables, start=s, end=e))
    spend_all = float(total_spend["spend"].iloc[0]) if len(total_spend) else 0.0
    spend_all = 0.0 if pd.isna(spend_all) else spend_all
    totals = _totals(ws, df, key)
    planned = planned_vs_actual(ws, e)
    notes += [
        "spend = the part of each cost that falls in the period: a cost over several days "
        "(a month's invoice) is spread evenly over its calendar days; "
        f"total spend {spend_all:,.2f} {ws.cfg.currency} from {s} to {e}",
        "counts = leads whose first entry into the stage falls in the period "
        f"({ws.cfg.timezone}), keyed by the lead's own {key if key != 'category' else 'fields'}"
        "; inquiries = touches of kind "
        + (", ".join(ws.cfg.costs.inquiry_kinds) or "(none configured)")
        + "; cost per stage = spend ÷ count (empty where the count is 0 or no spend is "
        "recorded); cac = spend ÷ new customers",
        "payback_months = cac ÷ monthly margin per customer, where monthly margin = mean amount "
        f"of the deals won in the period ÷ {ws.cfg.costs.contract_months:g} months "
        f"(costs.contract_months) × {ws.cfg.costs.gross_margin:g} (costs.gross_margin)",
    ]
    if key == "channel":
        moved = float(df["allocated_spend"].sum()) if len(df) else 0.0
        left = float(df.loc[df["channel"] == mc.UNALLOCATED, "spend"].sum()) if len(df) else 0.0
        rule_text = {
            "unallocated": "kept apart in the row (unallocated)",
            "even": "split evenly over the configured channels",
            "by_leads": "split over the channels by their share of the period's new leads "
            "(leads with a channel)",
        }[rule]
        notes.append(
            f"costs without a channel (untagged: {rule}): {rule_text}; allocated "
            f"{moved:,.2f}, left unallocated {left:,.2f}"
        )
    elif key == "campaign":
        notes.append(
            "costs without a campaign (agency fees, salaries, tools) are shown apart as "
            f"{mc.NO_CAMPAIGN}; leads without a campaign are the row with an empty campaign"
        )
    elif key == "category":
        notes.append(
            "by category: each row's counts are the period's totals (every lead), so cost per "
            "stage says what that category of spend costs per lead, MQL, … of the whole funnel"
        )
    else:
        mapped = ws.cfg.costs.campaign_personas
        notes.append(
            "persona spend = spend of the campaigns mapped to a persona (costs.campaign_personas"
            + (f": {len(mapped)} campaign(s)" if mapped else ": none configured")
            + f"); other spend is shown apart as {mc.NO_PERSONA}; leads without a persona are "
            "the row with an empty persona"
        )
    missing = [
        st for st in ("mql", "sql", "opportunity", "customer") if st not in ws.cfg.stage_keys
    ]
    if missing:
        notes.append(f"this project has no stage {', '.join(missing)}: those counts are 0")
    extra: dict[str, tuple[str, pd.DataFrame]] = {
        "totals": (f"Totals {s} to {e}", totals),
    }
    if len(planned):
        extra["planned"] = ("Goals: planned vs actual", planned)
        notes.append(
            "planned: a goal's budget is prorated by calendar days (planned_to_date), its stage "
            "targets by working days; actual spend = costs tagged with the goal's channel / "
            "campaign; attainment = actual ÷ planned_to_date"
        )
    return Report(
        "costs",
        {"from": s, "to": e, "period": period, "by": [key], "untagged": rule},
        df,
        notes,
        title=f"Spend and cost per stage by {key}",
        table_columns=[
            "period",
            key,
            "spend",
            "leads",
            "mqls",
            "sqls",
            "customers",
            "cost_per_lead",
            "cost_per_mql",
            "cost_per_sql",
            "cac",
            "payback_months",
        ],
        extra=extra,
    )


# -- report roi ------------------------------------------------------------------------------------
BUCKET_TEXT = {
    "deals_table": "{what} in the deals table, dated {date} in range",
    "attributed": "credited to {by} values by the model",
    "no_touch_in_window": "converted in range but no touch in the lookback window",
    "dated_outside_range": "deals of leads converted in range, dated {date} outside it "
    "(subtracted)",
    "no_lead": "deals without a lead in the ledger",
    "lead_not_converted": "deals whose lead never entered {stage}",
    "converted_outside_range": "deals whose lead entered {stage} outside the range",
}
SIGN = {"dated_outside_range": -1.0}


def _reconcile(
    ws: Workspace,
    measure: str,
    stage: str,
    credit: Any,
    by: str,
    start: dt.date,
    end: dt.date,
) -> tuple[pd.DataFrame, list[str]]:
    """Rows: deals table total, then every bucket that makes it (signed amounts)."""
    b = ws.store.execute(
        mc.deal_buckets(ws.store.tables(), ws.cfg, stage=stage, start=start, end=end)
    )
    got = {str(r.bucket): (int(r.deals), float(r.amount)) for r in b.itertuples()}
    what = "won revenue" if stage == "customer" else "pipeline (deal amounts)"
    date = "closed_at" if stage == "customer" else "created_at"
    attributed = float(credit.frame["value"].sum()) if len(credit.frame) else 0.0
    attributed_leads = float(credit.converted) - float(credit.unattributed_conversions)
    rows = [
        ("deals_table", None, *got["deals_table"]),
        ("attributed", attributed_leads, None, attributed),
        (
            "no_touch_in_window",
            float(credit.unattributed_conversions),
            None,
            float(credit.unattributed_value),
        ),
        ("dated_outside_range", None, *got["dated_outside_range"]),
        ("no_lead", None, *got["no_lead"]),
        ("lead_not_converted", None, *got["lead_not_converted"]),
        ("converted_outside_range", None, *got["converted_outside_range"]),
    ]
    frame = pd.DataFrame(
        [
            {
                "measure": measure,
                "bucket": name,
                "leads": leads,
                "deals": deals,
                "amount": amount * SIGN.get(name, 1.0),
                "description": BUCKET_TEXT[name].format(what=what, date=date, stage=stage, by=by),
            }
            for name, leads, deals, amount in rows
        ]
    )
    notes: list[str] = []
    parts = float(frame.loc[frame["bucket"] != "deals_table", "amount"].sum())
    table = got["deals_table"][1]
    converted = got["converted_in_range"][1]
    cur = ws.cfg.currency
    if abs(converted - float(credit.converted_value)) > 1e-6 * max(1.0, abs(converted)):
        notes.append(
            f"{measure}: attribution converted {float(credit.converted_value):,.2f} {cur} but the "
            f"deals of leads converted in range hold {converted:,.2f}: the buckets do not add up"
        )
    elif abs(parts - table) <= 1e-6 * max(1.0, abs(table)):
        pieces = [
            f"{bucket} {amount:,.2f}"
            for bucket, amount in zip(frame["bucket"], frame["amount"], strict=True)
            if bucket not in ("deals_table", "attributed") and abs(float(amount)) > 0
        ]
        notes.append(
            f"{measure}: the deals table's {table:,.2f} {cur} ({date} in range) = attributed "
            f"{attributed:,.2f}"
            + ("".join(f" + {p}" for p in pieces) if pieces else "")
            + " (reconciliation table)"
        )
    else:
        notes.append(f"{measure}: buckets sum to {parts:,.2f}, the deals table {table:,.2f}")
    return frame, notes


def _credit_frame(credit: Any, by: str, prefix: tuple[str, str]) -> pd.DataFrame:
    f = credit.frame[[by, "conversions", "value"]].copy()
    f = f.groupby(by, dropna=False, sort=False)[["conversions", "value"]].sum().reset_index()
    return f.rename(
        columns={"conversions": f"attributed_{prefix[0]}", "value": f"attributed_{prefix[1]}"}
    )


@register("roi")
def report_roi(
    ws: Workspace,
    *,
    model: str | None = None,
    by: Any = "channel",
    start: Any = None,
    end: Any = None,
    lookback: Any = None,
    untagged: Any = None,
    **model_params: Any,
) -> Report:
    """Spend, attributed pipeline and revenue, ROI, ROAS and CAC per channel or campaign."""
    from leadledger.attribution_reports import credits

    require_stages(ws, "roi", ["customer"])
    key = _check_by(ws, by, ROI_KEYS)
    rule = _check_untagged(untagged, ws.cfg.costs.untagged)
    model = model or ws.cfg.attribution.model
    lookback_days = parse_window(lookback, "lookback")
    if lookback_days is None:
        lookback_days = ws.cfg.attribution.lookback_days
    s, e, notes = resolve_range(ws, start, end, "month")
    tables = ws.store.tables()
    spend = _frame(
        ws, mc.spend_by(tables, ws.cfg, by=key, start=s, end=e, period="month", untagged=rule)
    )
    spend = spend.groupby(key, dropna=False, sort=False)[["spend"]].sum().reset_index()
    common: dict[str, Any] = {
        "model": model,
        "by": key,
        "lookback_days": lookback_days,
        "start": s,
        "end": e,
    }
    revenue = credits(ws, conversion="customer", value="amount", **common, **model_params)
    has_pipeline = "opportunity" in ws.cfg.stage_keys
    pipeline = (
        credits(ws, conversion="opportunity", value="amount", **common, **model_params)
        if has_pipeline
        else None
    )
    parts = [spend, _credit_frame(revenue, key, ("customers", "revenue"))]
    if pipeline is not None:
        parts.append(_credit_frame(pipeline, key, ("opportunities", "pipeline")))
    df = parts[0]
    for p in parts[1:]:
        df = _outer(df, p, key)
    for col in (
        "spend",
        "attributed_opportunities",
        "attributed_pipeline",
        "attributed_customers",
        "attributed_revenue",
    ):
        df[col] = pd.to_numeric(df[col], errors="coerce").fillna(0.0) if col in df else 0.0
    df["roi"] = (df["attributed_revenue"] - df["spend"]) / df["spend"].where(df["spend"] > 0)
    df["roas"] = _div(df["attributed_revenue"], df["spend"])
    df["cac"] = _cost_per(df["spend"], df["attributed_customers"])
    df["pipeline_per_spend"] = _div(df["attributed_pipeline"], df["spend"])
    df = df.sort_values(
        ["attributed_revenue", "spend"], ascending=False, kind="stable"
    ).reset_index(drop=True)
    df = df[
        [
            key,
            "spend",
            "attributed_opportunities",
            "attributed_pipeline",
            "attributed_customers",
            "attributed_revenue",
            "roi",
            "roas",
            "cac",
            "pipeline_per_spend",
        ]
    ]
    recon, rnotes = _reconcile(ws, "revenue", "customer", revenue, key, s, e)
    frames = [recon]
    notes += rnotes
    if pipeline is not None:
        precon, pnotes = _reconcile(ws, "pipeline", "opportunity", pipeline, key, s, e)
        frames.append(precon)
        notes += pnotes
    else:
        notes.append("this project has no stage 'opportunity': no attributed pipeline")
    cur = ws.cfg.currency
    total_spend = float(df["spend"].sum())
    no_credit = df[(df["spend"] > 0) & (df["attributed_revenue"] == 0)]
    no_cost = df[(df["spend"] == 0) & (df["attributed_revenue"] > 0)]
    total_rev = float(df["attributed_revenue"].sum())
    notes += [
        f"model {model}: credit for a conversion is split over the lead's touches before it"
        + (f" within {lookback_days:g} days" if lookback_days else " within the lookback window")
        + "; attributed revenue = won deal amounts of leads entering customer in range, "
        "attributed pipeline = deal amounts of leads entering opportunity in range",
        "roi = (attributed_revenue − spend) ÷ spend; roas = attributed_revenue ÷ spend; "
        "cac = spend ÷ attributed customers",
        f"spend {total_spend:,.2f} {cur} from {s} to {e} (a cost is spread over its days; "
        f"untagged: {rule}); overall roi "
        + (f"{(total_rev - total_spend) / total_spend:.1%}" if total_spend > 0 else "n/a"),
    ]
    if len(no_credit):
        notes.append(
            f"spend with no credited revenue (roi −100 %): {float(no_credit['spend'].sum()):,.2f} "
            f"{cur} in {len(no_credit)} row(s)"
            + (f", including {mc.UNALLOCATED}" if (no_credit[key] == mc.UNALLOCATED).any() else "")
        )
    if len(no_cost):
        notes.append(
            f"no cost: {len(no_cost)} row(s) with credited revenue "
            f"{float(no_cost['attributed_revenue'].sum()):,.2f} {cur} and no spend recorded "
            "(roi, roas and cac empty)"
        )
    if key == "campaign":
        notes.append(
            f"{mc.NO_CAMPAIGN} holds both the spend without a campaign (fees, salaries, tools) "
            "and the credit of touches without a campaign (organic, direct): its roi mixes them"
        )
    notes += [str(n) for n in getattr(revenue, "notes", [])]
    return Report(
        "roi",
        {
            "from": s,
            "to": e,
            "model": model,
            "by": [key],
            "lookback_days": lookback_days,
            "untagged": rule,
        },
        df,
        notes,
        title=f"ROI by {key} ({model})",
        extra={"reconciliation": ("Reconciliation with the deals table", pd.concat(frames))},
    )


def _outer(left: pd.DataFrame, right: pd.DataFrame, key: str) -> pd.DataFrame:
    """Outer merge on ``key`` where a missing key (NaN/None) matches a missing key."""
    marker = "\x00none"
    a = left.assign(**{key: left[key].astype(object).where(left[key].notna(), marker)})
    b = right.assign(**{key: right[key].astype(object).where(right[key].notna(), marker)})
    out = a.merge(b, on=key, how="outer")
    out[key] = out[key].where(out[key] != marker, None)
    return out
