"""The money reports: ``report costs`` (spend, cost per stage, CAC, payback, planned vs actual)
and ``report roi`` (attributed pipeline and revenue against spend, reconciled with the deals
table). The ratios are the metrics' (``leadledger.metrics.costs``); the credits are the
attribution runner's (``leadledger.attribution.runner``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import ibis
import numpy as np
import pandas as pd
from pydantic import BeforeValidator, Field, ValidationInfo

from leadledger.attribution import check_model
from leadledger.attribution.runner import Credits, credits
from leadledger.errors import InvalidArgument, UnknownField
from leadledger.metrics import costs as mc
from leadledger.planning import history
from leadledger.reports.attribution import Lookback, days_of
from leadledger.reports.common import require_stages, resolve_range
from leadledger.reports.context import Ctx
from leadledger.reports.params import From, Params, Period, To, resolved
from leadledger.reports.registry import Resolved, report
from leadledger.reports.result import Report
from leadledger.suggest import did_you_mean

__all__ = ["UNTAGGED_RULES", "CostsParams", "RoiParams", "planned_vs_actual"]

UNTAGGED_RULES = ("by_leads", "even", "unallocated")
ROI_KEYS = ("channel", "campaign")


# -- parameters ------------------------------------------------------------------------------------
def _key_text(value: Any, info: ValidationInfo) -> str:
    """``--by`` of the money reports: one key (a list from the API, like the other reports'
    ``by``, is joined); blank is ``channel``. Whether the key exists is ``resolve``'s."""
    if isinstance(value, list | tuple):
        value = ",".join(str(b) for b in value)
    return str(value or "channel").strip()


Untagged = Annotated[
    str | None,
    Field(
        description="Costs without a channel: by_leads, even or unallocated "
        "(default: costs.untagged in leadledger.yaml)."
    ),
]


def _check_by(ctx: Ctx, by: str, valid: tuple[str, ...]) -> str:
    if by not in valid:
        raise UnknownField(
            f"--by '{by}' is not one of {', '.join(valid)}",
            hint=did_you_mean(by, valid),
        )
    if by == "persona" and "persona" not in ctx.cfg.attributes:
        raise UnknownField(
            "--by persona needs a lead attribute 'persona'",
            hint="add persona to 'attributes' in leadledger.yaml and import it with the leads",
        )
    return by


def _check_untagged(value: str | None, default: str) -> str:
    rule = str(value or default)
    if rule not in UNTAGGED_RULES:
        raise InvalidArgument(
            f"--untagged '{rule}' is not one of {', '.join(UNTAGGED_RULES)}",
            hint=did_you_mean(rule, UNTAGGED_RULES),
        )
    return rule


# -- planned vs actual ----------------------------------------------------------------------------
PLANNED_COLUMNS = [
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


def planned_vs_actual(ctx: Ctx, end: dt.date) -> pd.DataFrame:
    """Every goal that started by ``end``: budget and stage targets against actual spend and
    entries from the goal's start to ``through`` = min(goal end, ``end``).

    The budget is prorated by calendar days (spend is spread over calendar days), the stage
    targets by working days (like ``pace``). Spend is the goal's tagged spend (costs with the
    goal's channel and/or campaign; all costs when it has neither); entries are those of leads
    with the goal's channel / campaign. Attainment and remaining: ``metrics.costs.attainment``."""
    cfg, cal = ctx.cfg, ctx.calendar
    tables = ctx.tables()
    rows: list[dict[str, Any]] = []
    for g in cfg.goals:
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
            s = ctx.execute(
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
            entered = ctx.execute(
                history.entries_by_stage(tables, cfg, start=g.start, end=through, where=where)
            )
            actual = {str(r.stage): float(r.entered) for r in entered.itertuples()}
            if "visitor" in g.counts:
                v = ctx.execute(history.visits(tables, start=g.start, end=through, where=where))
                visits = v["visits"].iloc[0] if len(v) else None
                actual["visitor"] = 0.0 if visits is None or pd.isna(visits) else float(visits)
            wd_all = cal.working_days(g.start, g.end)
            wd_done = cal.working_days(g.start, through)
            order = ["visitor", *cfg.stage_keys]
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
    if not rows:
        return pd.DataFrame(columns=PLANNED_COLUMNS)
    df = pd.DataFrame(rows)
    numbers = ("planned", "planned_to_date", "actual")
    t = ibis.memtable(
        pd.DataFrame(
            {
                "_row": np.arange(len(df), dtype="int64"),
                **{c: pd.to_numeric(df[c]).astype("float64") for c in numbers},
            }
        ),
        schema={"_row": "int64", **dict.fromkeys(numbers, "float64")},
    )
    got = ctx.execute(mc.attainment(t).select("_row", "attainment", "remaining").order_by("_row"))
    for c in ("attainment", "remaining"):
        df[c] = got[c].astype("float64").to_numpy()
    return df[PLANNED_COLUMNS]


# -- report costs ----------------------------------------------------------------------------------
class CostsParams(Params):
    """``leadledger report costs``."""

    by: Annotated[
        str,
        BeforeValidator(_key_text),
        Field(description="channel, campaign, category or persona."),
    ] = "channel"
    untagged: Untagged = None
    start: From = None
    end: To = None
    period: Period = "month"

    def resolve(self, ctx: Ctx) -> Resolved[CostsParams]:
        key = _check_by(ctx, self.by, mc.COST_KEYS)
        rule = _check_untagged(self.untagged, ctx.cfg.costs.untagged)
        s, e, notes = resolve_range(ctx, self.start, self.end, self.period)
        return Resolved(resolved(self, by=key, untagged=rule, start=s, end=e), tuple(notes))


@report(
    "costs",
    params=CostsParams,
    columns=("period", *mc.COST_COLUMNS),
    tables=("totals", "planned"),
    cli="report costs",
    api="/reports/costs",
)
def report_costs(ctx: Ctx, p: CostsParams) -> Report:
    """Spend, cost per inquiry, lead, MQL, SQL, opportunity and customer (CAC), payback months,
    and goals' budgets vs actual.

    Example: leadledger report costs --by channel --period month --from 2025-01-01
    """
    assert p.start is not None and p.end is not None and p.untagged is not None
    key, rule, s, e, cfg = p.by, p.untagged, p.start, p.end, ctx.cfg
    tables = ctx.tables()
    expr = mc.cost_per_stage(tables, cfg, by=key, start=s, end=e, period=p.period, untagged=rule)
    with ctx.scratch() as scratch:  # the periods' rows once: the table and its totals read them
        kept = scratch.keep(expr)
        df = ctx.frame(kept.order_by(["period", key]))
        totals = ctx.frame(mc.cost_totals(kept, cfg, by=key))
    # the totals in the key's order (a missing key last), whatever the engine's collation
    totals = totals.sort_values(key, na_position="last", kind="stable").reset_index(drop=True)
    total_spend = ctx.execute(history.spend(tables, start=s, end=e))
    spend_all = float(total_spend["spend"].iloc[0]) if len(total_spend) else 0.0
    spend_all = 0.0 if pd.isna(spend_all) else spend_all
    planned = planned_vs_actual(ctx, e)
    notes = [
        "spend = the part of each cost that falls in the period: a cost over several days "
        "(a month's invoice) is spread evenly over its calendar days; "
        f"total spend {spend_all:,.2f} {cfg.currency} from {s} to {e}",
        "counts = leads whose first entry into the stage falls in the period "
        f"({cfg.timezone}), keyed by the lead's own {key if key != 'category' else 'fields'}"
        "; inquiries = touches of kind "
        + (", ".join(cfg.costs.inquiry_kinds) or "(none configured)")
        + "; cost per stage = spend ÷ count (empty where the count is 0 or no spend is "
        "recorded); cac = spend ÷ new customers",
        "payback_months = cac ÷ monthly margin per customer, where monthly margin = mean amount "
        f"of the deals won in the period ÷ {cfg.costs.contract_months:g} months "
        f"(costs.contract_months) × {cfg.costs.gross_margin:g} (costs.gross_margin)",
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
        mapped = cfg.costs.campaign_personas
        notes.append(
            "persona spend = spend of the campaigns mapped to a persona (costs.campaign_personas"
            + (f": {len(mapped)} campaign(s)" if mapped else ": none configured")
            + f"); other spend is shown apart as {mc.NO_PERSONA}; leads without a persona are "
            "the row with an empty persona"
        )
    missing = [st for st in ("mql", "sql", "opportunity", "customer") if st not in cfg.stage_keys]
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
        {"from": s, "to": e, "period": p.period, "by": [key], "untagged": rule},
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
class RoiParams(Params):
    """``leadledger report roi``."""

    model: Annotated[
        str | None,
        Field(description="Attribution model (default: attribution.model in leadledger.yaml)."),
    ] = None
    by: Annotated[str, BeforeValidator(_key_text), Field(description="channel or campaign.")] = (
        "channel"
    )
    lookback: Lookback = None
    untagged: Untagged = None
    start: From = None
    end: To = None

    def resolve(self, ctx: Ctx) -> Resolved[RoiParams]:
        cfg = ctx.cfg
        require_stages(ctx, "roi", ["customer"])
        key = _check_by(ctx, self.by, ROI_KEYS)
        rule = _check_untagged(self.untagged, cfg.costs.untagged)
        model = self.model or cfg.attribution.model
        lookback = self.lookback or days_of(cfg.attribution.lookback_days)
        s, e, notes = resolve_range(ctx, self.start, self.end, "month")
        check_model(model)
        if lookback.days <= 0:
            raise InvalidArgument(f"--lookback '{lookback.days}' must be longer than 0")
        return Resolved(
            resolved(self, model=model, by=key, lookback=lookback, untagged=rule, start=s, end=e),
            tuple(notes),
        )


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
ROI_COLUMNS = (*mc.ROI_INPUTS, "roi", "roas", "cac", "pipeline_per_spend")


def _reconcile(
    ctx: Ctx,
    measure: str,
    stage: str,
    credit: Credits,
    by: str,
    start: dt.date,
    end: dt.date,
) -> tuple[pd.DataFrame, list[str]]:
    """Rows: deals table total, then every bucket that makes it (signed amounts)."""
    b = ctx.execute(mc.deal_buckets(ctx.tables(), ctx.cfg, stage=stage, start=start, end=end))
    got = {str(r.bucket): (int(r.deals), float(r.amount)) for r in b.itertuples()}
    what = "won revenue" if stage == "customer" else "pipeline (deal amounts)"
    date = "closed_at" if stage == "customer" else "created_at"
    attributed = float(credit.frame["value"].sum()) if len(credit.frame) else 0.0
    attributed_leads = float(credit.converted) - float(credit.unattributed_conversions)
    rows: list[tuple[str, float | None, int | None, float]] = [
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
    cur = ctx.cfg.currency
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


def _credit_frame(credit: Credits, by: str, prefix: tuple[str, str]) -> pd.DataFrame:
    f = credit.frame[[by, "conversions", "value"]].copy()
    f = f.groupby(by, dropna=False, sort=False)[["conversions", "value"]].sum().reset_index()
    return f.rename(
        columns={"conversions": f"attributed_{prefix[0]}", "value": f"attributed_{prefix[1]}"}
    )


def _outer(left: pd.DataFrame, right: pd.DataFrame, key: str) -> pd.DataFrame:
    """Outer merge on ``key`` where a missing key (NaN/None) matches a missing key."""
    marker = "\x00none"
    a = left.assign(**{key: left[key].astype(object).where(left[key].notna(), marker)})
    b = right.assign(**{key: right[key].astype(object).where(right[key].notna(), marker)})
    out = a.merge(b, on=key, how="outer")
    out[key] = out[key].where(out[key] != marker, None)
    return out


def _with_roi(ctx: Ctx, df: pd.DataFrame) -> tuple[pd.DataFrame, float | None]:
    """``df`` with ``metrics.costs.roi_ratios`` per row, and the overall roi (of the sums), in
    one query on the project's engine."""
    schema = {"_row": "int64", **dict.fromkeys(mc.ROI_INPUTS, "float64")}
    t = ibis.memtable(
        pd.DataFrame(
            {
                "_row": np.arange(len(df), dtype="int64"),
                **{c: df[c].astype("float64").to_numpy() for c in mc.ROI_INPUTS},
            }
        ),
        schema=schema,
    )
    ratios = ("roi", "roas", "cac", "pipeline_per_spend")
    rows = mc.roi_ratios(t).select("_row", *ratios)
    sums = t.agg(**{c: t[c].sum() for c in mc.ROI_INPUTS})
    overall = mc.roi_ratios(sums.mutate(_row=ibis.literal(-1, type="int64")))
    overall = overall.select("_row", *ratios)
    got = ctx.execute(ibis.union(overall, rows, distinct=False).order_by("_row"))
    out = df.copy()
    for c in ratios:
        out[c] = got[c].iloc[1:].astype("float64").to_numpy()
    first = got["roi"].iloc[0]
    return out, None if first is None or pd.isna(first) else float(first)


@report(
    "roi",
    params=RoiParams,
    columns=ROI_COLUMNS,
    tables=("reconciliation",),
    cli="report roi",
    api="/reports/roi",
)
def report_roi(ctx: Ctx, p: RoiParams) -> Report:
    """Spend, attributed pipeline and revenue, ROI, ROAS and CAC per channel or campaign,
    reconciled with the deals table.

    Example: leadledger report roi --model w_shaped --by campaign --from 2025-01-01 --to 2025-12-31
    """
    assert p.model is not None and p.lookback is not None and p.untagged is not None
    assert p.start is not None and p.end is not None
    ctx.progress("attributing")
    cfg, key, model, rule, s, e = ctx.cfg, p.by, p.model, p.untagged, p.start, p.end
    lookback_days = p.lookback.days
    tables = ctx.tables()
    spend = ctx.frame(mc.spend_total_by(tables, cfg, by=key, start=s, end=e, untagged=rule))

    def credited(stage: str) -> Credits:
        with ctx.scratch() as scratch:
            return credits(
                tables,
                cfg,
                ctx.execute,
                scratch,
                model=model,
                by=key,
                conversion=stage,
                lookback_days=lookback_days,
                start=s,
                end=e,
                value="amount",
            )

    revenue = credited("customer")
    pipeline = credited("opportunity") if "opportunity" in cfg.stage_keys else None
    parts = [spend, _credit_frame(revenue, key, ("customers", "revenue"))]
    if pipeline is not None:
        parts.append(_credit_frame(pipeline, key, ("opportunities", "pipeline")))
    df = parts[0]
    for part in parts[1:]:
        df = _outer(df, part, key)
    for col in mc.ROI_INPUTS:
        df[col] = pd.to_numeric(df[col], errors="coerce").fillna(0.0) if col in df else 0.0
    df, overall = _with_roi(ctx, df)
    df = df.sort_values(
        ["attributed_revenue", "spend"], ascending=False, kind="stable"
    ).reset_index(drop=True)
    df = df[[key, *ROI_COLUMNS]]
    recon, rnotes = _reconcile(ctx, "revenue", "customer", revenue, key, s, e)
    frames = [recon]
    notes = list(rnotes)
    if pipeline is not None:
        precon, pnotes = _reconcile(ctx, "pipeline", "opportunity", pipeline, key, s, e)
        frames.append(precon)
        notes += pnotes
    else:
        notes.append("this project has no stage 'opportunity': no attributed pipeline")
    cur = cfg.currency
    total_spend = float(df["spend"].sum())
    no_credit = df[(df["spend"] > 0) & (df["attributed_revenue"] == 0)]
    no_cost = df[(df["spend"] == 0) & (df["attributed_revenue"] > 0)]
    notes += [
        f"model {model}: credit for a conversion is split over the lead's touches before it"
        + (f" within {lookback_days:g} days" if lookback_days else " within the lookback window")
        + "; attributed revenue = won deal amounts of leads entering customer in range, "
        "attributed pipeline = deal amounts of leads entering opportunity in range",
        "roi = (attributed_revenue − spend) ÷ spend; roas = attributed_revenue ÷ spend; "
        "cac = spend ÷ attributed customers",
        f"spend {total_spend:,.2f} {cur} from {s} to {e} (a cost is spread over its days; "
        f"untagged: {rule}); overall roi " + (f"{overall:.1%}" if overall is not None else "n/a"),
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
    notes += [str(n) for n in revenue.notes]
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
