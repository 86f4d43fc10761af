"""SLA clocks between marketing and sales (seed 003): who answered in time, who is late now.

One clock per lead and SLA:

- **starts** at the lead's first (real) entry into the SLA's ``start`` stage, for leads matching
  the SLA's ``where`` filter and only if that entry is at or before the as-of time;
- **stops** at the first response at or after the start — an imported sales activity of a kind
  in ``activities.response_kinds`` (with ``activities.outbound_only``, not an inbound e-mail) or
  a touch whose kind is in ``sales_touch_kinds`` (compared case-insensitively), whichever comes
  first — or, for ``until: STAGE``, at the first entry at or after the start into that stage or,
  when skipped stages count as reached (``count_skipped_stages``), into any later stage;
- is **closed** without a breach when a side state (disqualified, recycled, lost) is entered at
  or after the start and before the stop (or with no stop yet), within the limit; entered after
  the limit ran out, the clock is **breached** (a late disqualification does not hide a breach).

Elapsed time is business time (``leadledger.planning.business_time``) for ``business_hours`` and
``business_days`` and calendar time for ``hours`` and ``days``. Statuses: ``met`` (stopped within
the limit), ``breached`` (stopped late), ``open_breached`` (running past the limit at the as-of
time), ``open`` (running within it), ``closed``. Everything after the as-of time is ignored: the
ledger as it was then.

**Activity data.** A lead *has activity data* when it has any imported activity (any kind or
direction) or any sales touch by the as-of time; each clock says so (``has_activity``) and the
breach rates count the clocks of leads without (``no_activity_leads``). A ledger with neither
(``has_activity_data``) cannot tell a lead nobody called from a project that imported no calls:
the report gives no breach rate for its ``until: sales_touch`` SLAs (reason
``no_activity_data``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from leadledger.config.models import ProjectConfig, Sla
from leadledger.ledger.derived import (
    Tables,
    at_col,
    current_activities,
    journeys,
    match_where,
    stage_entries,
)
from leadledger.planning.business_time import (
    business_days,
    business_hours,
    elapsed_seconds,
    is_business,
    unit_seconds,
)

STATUSES = ("met", "breached", "open_breached", "open", "closed")
#: Why a sales-touch SLA has no breach rate: the ledger holds no activity and no sales touch.
NO_ACTIVITY_DATA = "no_activity_data"
#: Statuses that decided the SLA: the denominator of the breach rate.
DECIDED = ("met", "breached", "open_breached")


def stop_stages(cfg: ProjectConfig, until: str) -> list[str]:
    """The stages whose entry stops an ``until: STAGE`` clock."""
    keys = cfg.stage_keys
    return keys[keys.index(until) :] if cfg.count_skipped_stages else [until]


def sla_clocks(
    tables: Tables,
    cfg: ProjectConfig,
    sla: Sla,
    *,
    as_of: object,
    days: ir.Table | None,
    business_day_seconds: float,
    fields: Sequence[str] = (),
) -> ir.Table:
    """One row per clock of ``sla``.

    Columns: sla, lead_id, fields…, started_at, stopped_at, stopped_by (``sales_touch``, the
    stage, or the side state that closed it), status, elapsed, within, unit, late_by (elapsed −
    within for breached and open_breached, else NULL), elapsed_s, limit_s, has_activity (the
    lead has an activity or a sales touch by ``as_of``, whenever it was). ``days`` is the
    per-day business calendar (needed for business units, covering every day from the first
    start to the as-of time); ``elapsed`` and ``late_by`` are in the SLA's unit.
    """
    extra = [f for f in sla.where if f not in fields]
    j = journeys(tables, cfg, fields=[*fields, *extra], side_states=False, as_of=as_of)
    started = j.filter(j[at_col(sla.start)].notnull() & match_where(j, sla.where))
    starts = started.select("lead_id", *fields, started_at=started[at_col(sla.start)])

    # what happened at or after the start: the first stop-stage entry, the first side state
    entries = stage_entries(tables, cfg, as_of=as_of)
    entries = entries.filter(entries.entered_at <= as_of)
    ej = entries.join(starts.select("lead_id", _s=starts.started_at), "lead_id")
    ej = ej.filter(ej.entered_at >= ej._s)
    side = ej.stage.isin(cfg.side_state_keys)
    aggs: dict[str, ir.Value] = {
        "_side_at": ej.entered_at.min(where=side),
        "_side": ej.stage.argmin(ej.entered_at, where=side),
    }
    if sla.until != "sales_touch":
        aggs["_stop_at"] = ej.entered_at.min(where=ej.stage.isin(stop_stages(cfg, sla.until)))
        aggs["_stop_by"] = ej.stage.argmin(
            ej.entered_at, where=ej.stage.isin(stop_stages(cfg, sla.until))
        )
    after = ej.group_by("lead_id").agg(**aggs)
    clocks = _join(starts, after, list(aggs))
    if sla.until == "sales_touch":
        first = first_sales_touch(
            tables, cfg, starts.select("lead_id", _s=starts.started_at), as_of
        )
        clocks = _join(clocks, first.rename(_stop_at="first_touch_at"), ["_stop_at"])
        clocks = clocks.mutate(
            _stop_by=ibis.cases(
                (clocks._stop_at.notnull(), ibis.literal("sales_touch")),
                else_=ibis.null().cast("string"),
            )
        )

    active = activity_leads(tables, cfg, as_of)
    joined = clocks.left_join(active, clocks.lead_id == active.lead_id)
    clocks = joined.select(
        *[clocks[c] for c in clocks.columns], has_activity=active.lead_id.notnull()
    )

    closed = clocks._side_at.notnull() & (
        clocks._stop_at.isnull() | (clocks._side_at < clocks._stop_at)
    )
    clocks = clocks.mutate(
        _closed=closed,
        _as_of=ibis.literal(as_of).cast(clocks.started_at.type()),
    )
    clocks = clocks.mutate(
        stopped_at=ibis.cases((clocks._closed, clocks._side_at), else_=clocks._stop_at),
        stopped_by=ibis.cases((clocks._closed, clocks._side), else_=clocks._stop_by),
        _end=ibis.cases(
            (clocks._closed, clocks._side_at),
            (clocks._stop_at.notnull(), clocks._stop_at),
            else_=clocks._as_of,
        ),
    )
    business = is_business(sla.unit)
    clocks = elapsed_seconds(
        clocks, "started_at", "_end", business=business, days=days, name="elapsed_s"
    )
    per_unit = unit_seconds(sla.unit, business_day_seconds)
    # in seconds, rounded: 8 business hours must not become 28799.999999 s
    limit_s = round(sla.within * per_unit, 6)
    over = clocks.elapsed_s > limit_s
    status = ibis.cases(
        # a lead disqualified after its limit had run out waited too long: still a breach
        (clocks._closed & over, "breached"),
        (clocks._closed, "closed"),
        (clocks._stop_at.notnull() & over, "breached"),
        (clocks._stop_at.notnull(), "met"),
        (over, "open_breached"),
        else_="open",
    )
    clocks = clocks.mutate(status=status)
    late = clocks.status.isin(["breached", "open_breached"])
    return clocks.select(
        sla=ibis.literal(sla.name),
        lead_id=clocks.lead_id,
        **{f: clocks[f] for f in fields},
        started_at=clocks.started_at,
        stopped_at=clocks.stopped_at,
        stopped_by=clocks.stopped_by,
        status=clocks.status,
        elapsed=clocks.elapsed_s / per_unit,
        within=ibis.literal(float(sla.within)),
        unit=ibis.literal(sla.unit),
        late_by=ibis.cases((late, (clocks.elapsed_s - limit_s) / per_unit), else_=None),
        elapsed_s=clocks.elapsed_s,
        limit_s=ibis.literal(limit_s),
        has_activity=clocks.has_activity,
    )


def sales_touches(tables: Tables, cfg: ProjectConfig, as_of: object) -> ir.Table:
    """The touches of a kind in ``sales_touch_kinds`` (case-insensitive) with a lead, at or
    before ``as_of``: columns lead_id, at."""
    t = tables["touches"]
    kinds = [k.casefold() for k in cfg.sales_touch_kinds]
    t = t.filter(t.lead_id.notnull() & t.kind.lower().isin(kinds) & (t.at <= as_of))
    return t.select("lead_id", "at")


def response_activities(tables: Tables, cfg: ProjectConfig, as_of: object) -> ir.Table:
    """The current activities with a lead that are a response to it, at or before ``as_of``: a
    kind in ``activities.response_kinds``, and with ``outbound_only`` not an inbound e-mail (an
    e-mail from the lead is not an answer to it; unknown direction counts). Columns: lead_id,
    at."""
    a = current_activities(tables)
    conf = cfg.activities
    cond = a.lead_id.notnull() & a.kind.isin(list(conf.response_kinds)) & (a.at <= as_of)
    if conf.outbound_only:
        inbound_email = (a.kind == "email") & (a.direction == "inbound")
        cond &= ~inbound_email.fill_null(False)
    return a.filter(cond).select("lead_id", "at")


def responses(tables: Tables, cfg: ProjectConfig, as_of: object) -> ir.Table:
    """Every response to a lead by ``as_of``: the response activities and the sales touches,
    one source beside the other. Columns: lead_id, at."""
    return ibis.union(
        response_activities(tables, cfg, as_of), sales_touches(tables, cfg, as_of), distinct=False
    )


def first_sales_touch(
    tables: Tables, cfg: ProjectConfig, starts: ir.Table, as_of: object
) -> ir.Table:
    """Per lead of ``starts`` (lead_id, _s), the first response (a response activity or a sales
    touch, whichever came first) at or after ``_s`` and at or before ``as_of``: columns lead_id,
    first_touch_at (leads without one are absent)."""
    r = responses(tables, cfg, as_of)
    tj = r.join(starts, "lead_id")
    tj = tj.filter(tj.at >= tj._s)
    return tj.group_by("lead_id").agg(first_touch_at=tj.at.min())


def activity_leads(tables: Tables, cfg: ProjectConfig, as_of: object) -> ir.Table:
    """The leads with activity data by ``as_of``: any activity with the lead (any kind or
    direction: a note is data too) or any sales touch. Column: lead_id (distinct)."""
    a = current_activities(tables)
    a = a.filter(a.lead_id.notnull() & (a.at <= as_of)).select("lead_id")
    t = sales_touches(tables, cfg, as_of).select("lead_id")
    return ibis.union(a, t, distinct=True)


def has_activity_data(tables: Tables, cfg: ProjectConfig, as_of: object) -> ir.BooleanScalar:
    """Whether the ledger holds any activity (with a lead or only an account) or any sales
    touch by ``as_of``: without either, a clock waiting for a response says nothing."""
    a = tables["activities"]
    a = a.filter(a.at <= as_of).select(one=ibis.literal(1)).limit(1)
    t = sales_touches(tables, cfg, as_of).select(one=ibis.literal(1)).limit(1)
    return ibis.union(a, t, distinct=False).count() > 0


def _join(left: ir.Table, right: ir.Table, cols: Sequence[str]) -> ir.Table:
    """``left`` with ``right``'s ``cols`` on lead_id (left join, explicit projection)."""
    joined = left.left_join(right, left.lead_id == right.lead_id)
    return joined.select(*[left[c] for c in left.columns], *[right[c] for c in cols])


def breach_rates(clocks: ir.Table, keys: Sequence[str]) -> ir.Table:
    """Clocks counted by status per ``keys`` (e.g. sla, period, owner).

    Columns: keys…, unit, started, met, breached, open_breached, open, closed, decided,
    breach_rate = (breached + open_breached) ÷ decided, median_elapsed (decided clocks, in the
    SLA's unit), mean_late_by (breached and open_breached), no_activity_leads (clocks of leads
    with no activity data at all)."""
    c = clocks
    counts = {s: (c.status == s).sum().cast("int64") for s in STATUSES}
    decided = c.status.isin(list(DECIDED))
    agg = c.group_by(list(keys)).agg(
        unit=c.unit.max(),
        started=c.count(),
        **counts,
        decided=decided.sum().cast("int64"),
        median_elapsed=c.elapsed.quantile(0.5, where=decided),
        mean_late_by=c.late_by.mean(),
        no_activity_leads=(~c.has_activity).sum().cast("int64"),
    )
    late = (agg.breached + agg.open_breached).cast("float64")
    rate = ibis.cases((agg.decided > 0, late / agg.decided.cast("float64")), else_=None)
    return agg.mutate(breach_rate=rate).select(
        *keys,
        "unit",
        "started",
        "met",
        "breached",
        "open_breached",
        "open",
        "closed",
        "decided",
        "breach_rate",
        "median_elapsed",
        "mean_late_by",
        "no_activity_leads",
    )


def all_clocks(
    tables: Tables,
    cfg: ProjectConfig,
    slas: Sequence[Sla],
    *,
    as_of: pd.Timestamp,
    fields: Sequence[str],
    run: Callable[[ir.Expr], Any],
) -> ir.Table:
    """Every clock of ``slas`` as of ``as_of``, one union (see ``sla_clocks``); ``run`` runs an
    expression on the project's engine (the business calendar starts at the ledger's first
    stage entry)."""
    hours = business_hours(cfg)
    days = (
        business_days(tables, cfg, hours, as_of, run)
        if any(is_business(s.unit) for s in slas)
        else None
    )
    parts = [
        sla_clocks(
            tables,
            cfg,
            s,
            as_of=as_of,
            days=days,
            business_day_seconds=hours.day_seconds,
            fields=fields,
        )
        for s in slas
    ]
    return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]


def due_at(cfg: ProjectConfig, frame: pd.DataFrame) -> pd.Series:
    """When each clock of ``frame`` (columns sla, started_at) fell due: ``within`` business time
    after the start for business units (a clock started outside hours starts at the next
    opening), calendar time otherwise."""
    hours = business_hours(cfg)
    by_name = {s.name: s for s in cfg.slas}
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
