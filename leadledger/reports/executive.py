"""The executive report (``leadledger export report``, the dashboard's Executive page and
``GET /api/v1/executive``): seed 000's six keys plus the ROI over one range.

It only reads, and it is assembled from the very reports the CLI prints (``report stages``,
``conversion``, ``sourced``, ``roi``, ``pace``), run through the registry with the same range,
so its numbers are theirs.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BeforeValidator, Field

from leadledger.errors import GoalNotFound, InvalidArgument
from leadledger.reports.common import resolve_range
from leadledger.reports.context import Ctx
from leadledger.reports.funnel import ConversionParams, SourcedParams, StagesParams
from leadledger.reports.money import RoiParams
from leadledger.reports.params import AsOf, Duration, From, Params, Period, Surface, To, duration
from leadledger.reports.planning import PaceParams
from leadledger.reports.registry import Resolved, report, run
from leadledger.reports.result import Report
from leadledger.workdays import next_period_start, period_start

__all__ = ["ExecutiveParams", "cohort_maturity"]

# -- executive summary -------------------------------------------------------------------------
KEY_COLUMNS = [
    "key",
    "label",
    "unit",
    "latest_period",
    "latest",
    "previous",
    "change_rel",
    "maturing",
    "total",
]
#: A lead → customer cohort is *mature* once every lead in it has had this many days to convert
#: (the last day of the cohort + this ≤ the as-of). It is the outcome window the project uses
#: for "did this lead become a customer" (the predictive model's ``window_days`` default,
#: ``scoring.model_store.DEFAULTS``: a lead's outcome is known once that window has closed); a
#: younger cohort's rate still grows, so its change is no fall.
MATURITY_DAYS = 180.0
#: The executive summary's keys, in seed 000's order, then ROI.
KEYS = {
    "lead_goal": "Lead goal (pace)",
    "traffic": "Traffic per month",
    "leads_per_working_day": "Leads per working day",
    "marketing_customers": "Customers from marketing",
    "mqls_by_persona": "MQLs by persona",
    "lead_to_customer": "Lead-to-customer conversion",
    "roi": "Marketing ROI",
}


def _ratio(num: float, den: float) -> float:
    return num / den if den else float("nan")


def _change(latest: float, previous: float) -> float:
    return (latest - previous) / previous if previous else float("nan")


def _last_two(frame: pd.DataFrame, col: str) -> tuple[str | None, float, float]:
    if frame.empty:
        return None, float("nan"), float("nan")
    frame = frame.sort_values("period")
    last = frame.iloc[-1]
    prev = float(frame.iloc[-2][col]) if len(frame) > 1 else float("nan")
    return str(pd.Timestamp(last["period"]).date()), float(last[col]), prev


def _row(
    key: str, unit: str, period: str | None, latest: float, previous: float, total: float
) -> dict[str, Any]:
    return {
        "key": key,
        "label": KEYS[key],
        "unit": unit,
        "latest_period": period,
        "latest": latest,
        "previous": previous,
        "change_rel": _change(latest, previous),
        "maturing": False,
        "total": total,
    }


def cohort_maturity(
    cohorts: pd.DataFrame, *, period: str, end: dt.date, as_of_day: dt.date, days: float
) -> pd.DataFrame:
    """``cohorts`` (a ``period`` column) with ``matures_on`` = the cohort's last day (its period's,
    or the range's ``end`` when that comes first) + ``days``, and ``mature`` = ``matures_on`` ≤
    ``as_of_day``: every lead in the cohort has had ``days`` to convert."""
    out = cohorts.copy()
    on = []
    for value in out["period"]:
        first = pd.Timestamp(value).date()
        last = min(next_period_start(period_start(first, period), period), end + dt.timedelta(1))
        on.append(last - dt.timedelta(days=1) + dt.timedelta(days=math.ceil(days)))
    out["matures_on"] = pd.Series(on, index=out.index, dtype=object)
    out["mature"] = pd.Series([d <= as_of_day for d in on], index=out.index, dtype=bool)
    return out


class ExecutiveParams(Params):
    """``leadledger export report`` and ``GET /api/v1/executive``."""

    # (the API has always documented these two as plain text, without format: date)
    start: Annotated[From, Surface(query=(("json_schema_extra", {}),))] = None
    end: Annotated[To, Surface(query=(("json_schema_extra", {}),))] = None
    period: Period = "month"
    #: The conversion report's as-of (default now); Python only.
    as_of: Annotated[AsOf, Surface(cli=False, api=False)] = None
    #: A lead → customer cohort younger than this is *maturing* (default MATURITY_DAYS);
    #: Python only.
    maturity: Annotated[
        Duration | None,
        BeforeValidator(duration(examples="180d", positive=None)),
        Surface(cli=False, api=False, raw=str | None),
        Field(description="Cohorts younger than this are maturing, e.g. 180d."),
    ] = None

    def resolve(self, ctx: Ctx) -> Resolved[ExecutiveParams]:
        if self.maturity is not None and self.maturity.n < 0:
            raise InvalidArgument(
                f"--maturity '{self.maturity}' must not be negative", hint="e.g. 180d"
            )
        s, e, notes = resolve_range(ctx, self.start, self.end, self.period)
        return Resolved(self.model_copy(update={"start": s, "end": e}), tuple(notes))


@report(
    "executive",
    params=ExecutiveParams,
    columns=tuple(KEY_COLUMNS),
    tables=("goal", "traffic", "per_working_day", "sourced", "personas", "conversion", "roi"),
    api="/executive",
    api_errors=False,
)
def executive_report(ctx: Ctx, p: ExecutiveParams) -> Report:
    """Seed 000's six keys and the ROI (`leadledger export report --format json`); companion
    tables traffic, per_working_day, sourced, personas, conversion, roi (and goal)."""

    assert p.start is not None and p.end is not None
    s, e, period, as_of = p.start, p.end, p.period, p.as_of
    maturity_days = p.maturity.days if p.maturity is not None else MATURITY_DAYS
    notes: list[str] = []
    keys = ctx.cfg.stage_keys
    first, last = keys[0], keys[-1]
    mql = "mql" if "mql" in keys else keys[min(1, len(keys) - 1)]
    common: dict[str, Any] = {"start": s, "end": e, "period": period}
    rows: list[dict[str, Any]] = []
    extra: dict[str, tuple[str, pd.DataFrame]] = {}

    # 1. lead goal: the pace of the goal covering the range's last day
    goal_note = None
    try:
        pace = run(ctx, PaceParams(as_of=e, period=period))
        pf = pace.frame
        pick = pf[pf["stage"] == mql] if (pf["stage"] == mql).any() else pf.head(1)
        r = pick.iloc[0]
        rows.append(
            {
                "key": "lead_goal",
                "label": f"{KEYS['lead_goal']}: {pace.params['goal']} ({r['stage']})",
                "unit": "count",
                "latest_period": str(pace.params["from"]),
                "latest": float(r["actual"]),
                "previous": float("nan"),
                "change_rel": float("nan"),
                "maturing": False,
                "total": float(r["target"]),
            }
        )
        extra["goal"] = (pace.title or "Pace", pf)
        goal_note = (
            f"lead goal: goal '{pace.params['goal']}' as of {e}: latest = actual, total = target "
            "of its current period (leadledger pace)"
        )
    except (GoalNotFound, InvalidArgument) as exc:
        rows.append(_row("lead_goal", "count", None, float("nan"), float("nan"), float("nan")))
        goal_note = f"lead goal: {exc.message} (save one with 'leadledger plan … --save NAME')"

    # 2. traffic per period (visitor → lead)
    traffic = run(ctx, ConversionParams(from_stage="visitor", to_stage=first, **common))
    tf = traffic.frame
    tcols = [c for c in ("period", "visits", "leads", "entered", "converted", "rate") if c in tf]
    visits_col = "entered" if "entered" in tf.columns else "visits"
    last_p, lat, prev = _last_two(tf, visits_col)
    rows.append(_row("traffic", "visits", last_p, lat, prev, float(tf[visits_col].sum())))
    rows[-1]["label"] = f"Traffic per {period}"
    tf = tf[tcols].rename(columns={"entered": "visits", "converted": "leads", "rate": "lead_rate"})
    extra["traffic"] = (f"Traffic per {period} (report conversion --from-stage visitor)", tf)

    # 3. leads per working day (report stages)
    stages = run(ctx, StagesParams(**common))
    sf = stages.frame
    lead_rows = sf[sf["stage"] == first]
    last_p, lat, prev = _last_two(lead_rows, "per_working_day")
    total = _ratio(
        float(lead_rows["entered"].sum()), float(lead_rows["working_days_elapsed"].sum())
    )
    rows.append(_row("leads_per_working_day", "per working day", last_p, lat, prev, total))
    shown = [k for k in keys if k in (first, mql, "sql")]
    extra["per_working_day"] = (
        "Entered per working day (report stages)",
        sf[sf["stage"].isin(shown)][
            ["period", "stage", "entered", "working_days_elapsed", "per_working_day"]
        ].reset_index(drop=True),
    )

    # 4. customers from marketing (report sourced)
    sourced = run(ctx, SourcedParams(**common))
    mf = sourced.frame
    last_p, lat, prev = _last_two(mf, "marketing_sourced")
    rows.append(
        _row(
            "marketing_customers",
            "customers",
            last_p,
            lat,
            prev,
            float(mf["marketing_sourced"].sum()) if len(mf) else 0.0,
        )
    )
    extra["sourced"] = (
        "Customers from marketing (report sourced)",
        mf[
            [
                "period",
                "customers",
                "marketing_sourced",
                "sales_sourced",
                "marketing_share",
                "band_low",
                "band_high",
                "band_status",
            ]
        ],
    )

    # 5. MQLs by persona (report stages --by persona)
    attr = "persona" if "persona" in ctx.cfg.attributes else None
    if attr:
        by = run(ctx, StagesParams(by=attr, **common)).frame
        by = by[by["stage"] == mql]
        per = (
            by.groupby(attr, dropna=False)["entered"]
            .sum()
            .reset_index()
            .rename(columns={"entered": "mqls"})
            .sort_values(["mqls", attr], ascending=[False, True])
            .reset_index(drop=True)
        )
        per[attr] = per[attr].astype(object).where(per[attr].notna(), "(none)")
        per["share"] = per["mqls"] / per["mqls"].sum() if per["mqls"].sum() else np.nan
        lat_p = by.groupby("period")["entered"].sum().reset_index()
        last_p, lat, prev = _last_two(lat_p, "entered")
        rows.append(_row("mqls_by_persona", "MQLs", last_p, lat, prev, float(per["mqls"].sum())))
        extra["personas"] = (f"{mql.upper()}s by persona (report stages --by persona)", per)
    else:
        rows.append(_row("mqls_by_persona", "MQLs", None, float("nan"), float("nan"), np.nan))
        notes.append("MQLs by persona: the project has no 'persona' attribute (attributes:)")

    # 6. lead-to-customer conversion (report conversion)
    conv = run(ctx, ConversionParams(from_stage=first, to_stage=last, as_of=as_of, **common))
    as_of_day = pd.Timestamp(conv.params["as_of"]).tz_convert(ctx.cfg.timezone).date()
    cf = cohort_maturity(
        conv.frame.sort_values("period").reset_index(drop=True),
        period=period,
        end=e,
        as_of_day=as_of_day,
        days=maturity_days,
    )
    last_p, lat, prev = _last_two(cf, "rate")
    total = _ratio(float(cf["converted"].sum()), float(cf["entered"].sum())) if len(cf) else np.nan
    row = _row("lead_to_customer", "rate", last_p, lat, prev, total)
    young = [str(pd.Timestamp(v).date()) for v in cf.loc[~cf["mature"], "period"]]
    if len(cf) and not bool(cf["mature"].iloc[-1]):
        # its leads are still converting: a lower rate than the cohort before is no fall
        row.update(change_rel=float("nan"), maturing=True)
    rows.append(row)
    extra["conversion"] = (
        f"{first} → {last} by cohort (report conversion)",
        cf[["period", "entered", "converted", "rate", "matures_on", "mature"]],
    )
    notes.append(
        f"lead → customer: a cohort is mature once its last day + {maturity_days:g} days is on "
        f"or before the as-of ({as_of_day}): every lead in it has had {maturity_days:g} days to "
        "become a customer; "
        + (
            f"{len(young)} of {len(cf)} cohort(s) are still maturing ({', '.join(young)}): their "
            "rates will still grow, so the last cohort's change is not shown (maturing)"
            if young
            else ("every cohort of the range is mature" if len(cf) else "no cohort in the range")
        )
    )

    # ROI (report roi, over the whole range)
    roi = run(ctx, RoiParams(start=s, end=e))
    rf = roi.frame
    spend = float(rf["spend"].sum())
    revenue = float(rf["attributed_revenue"].sum())
    rows.append(
        {
            **_row(
                "roi", "ratio", None, float("nan"), float("nan"), _ratio(revenue - spend, spend)
            ),
            "latest_period": None,
        }
    )
    key_col = roi.params["by"][0] if roi.params.get("by") else rf.columns[0]
    extra["roi"] = (
        f"ROI by {key_col} ({roi.params.get('model')}, report roi)",
        rf[[key_col, "spend", "attributed_revenue", "roi"]],
    )
    frame = pd.DataFrame(rows, columns=KEY_COLUMNS)
    notes += [
        "latest = the last period of the range, previous = the one before, change_rel = "
        "latest ÷ previous − 1, a ratio (0.25 = +25 %); total = the whole range (per working "
        "day: entered ÷ working days; conversion: converted ÷ entered over the cohorts, "
        "maturing ones included; roi = (revenue − spend) ÷ spend)",
    ]
    if goal_note:
        notes.append(goal_note)
    params = {
        "from": s,
        "to": e,
        "period": period,
        "as_of": conv.params["as_of"],
        "maturity_days": maturity_days,
        "model": roi.params.get("model"),
        "spend": spend,
        "attributed_revenue": revenue,
        "roi": _ratio(revenue - spend, spend),
    }
    return Report(
        "executive",
        params,
        frame,
        notes,
        title=f"Executive report, {s.isoformat()} to {e.isoformat()}",
        extra=extra,
    )
