"""Derived views of the ledger, as Ibis expressions: current versions, stage entries, journeys.

Nothing here is stored: current stage, first-touch source and first entry per stage are always
computed from the append-only facts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ibis
import ibis.expr.types as ir

from leadledger.config.models import ProjectConfig

Tables = Mapping[str, ir.Table]
COST_KEY = (
    "cost_id",
    "period_start",
    "period_end",
    "channel",
    "campaign",
    "category",
    "description",
)
TRAFFIC_KEY = ("day", "channel", "landing_page", "campaign")


def current(table: ir.Table, key: Sequence[str]) -> ir.Table:
    """The latest imported version of each record (by batch, then row within the batch)."""
    w = ibis.window(
        group_by=[table[k] for k in key],
        order_by=[ibis.desc(table.batch_no), ibis.desc(table.row_no)],
    )
    ranked = table.mutate(_version=ibis.row_number().over(w))
    return ranked.filter(ranked._version == 0).drop("_version")


#: Orders rows by import: batch_no * ROW_SPAN + row_no (row numbers stay below ROW_SPAN).
ROW_SPAN = 10_000_000_000
LEAD_BOOKKEEPING = ("row_id", "batch_no", "row_no", "imported_at")


def current_leads(tables: Tables) -> ir.Table:
    """Each lead as the CRM sees it now: a field-wise merge of its rows (partial updates).

    For every field, the value of the latest row (by batch, then row within the batch) where
    the field is not null; a null in a later row means "not in that file", never "cleared".
    ``row_id``, ``batch_no``, ``row_no`` and ``imported_at`` are those of the lead's latest row.
    Leads with a single row (most of them) are passed through without aggregation; the others
    are merged with filtered ``argmax`` (DuckDB: ordered ``first``; PostgreSQL: ``array_agg``).
    """
    t = tables["leads"]
    counts = t.group_by("lead_id").agg(_rows=t.count())
    single = t.semi_join(counts.filter(counts._rows == 1).select("lead_id"), "lead_id")
    many = t.semi_join(counts.filter(counts._rows > 1).select("lead_id"), "lead_id")
    order = many.batch_no * ROW_SPAN + many.row_no
    aggs: dict[str, ir.Value] = {}
    for name in t.columns:
        if name == "lead_id":
            continue
        col = many[name]
        aggs[name] = (
            col.argmax(order)
            if name in LEAD_BOOKKEEPING
            else col.argmax(order, where=col.notnull())
        )
    merged = many.group_by("lead_id").agg(**aggs)
    return single.select(*merged.columns).union(merged, distinct=False)


def current_deals(tables: Tables, cfg: ProjectConfig) -> ir.Table:
    """Each deal's latest version, its ``status`` resolved: the row's own status where it has
    one, else its CRM stage's (``deal_stages.stages``, matched case-insensitively); NULL for a
    deal whose stage no entry knows (counted in no stage; ``leadledger check`` lists it)."""
    d = current(tables["deals"], ["deal_id"])
    return d.mutate(status=d.status.coalesce(deal_stage_status(d.stage, cfg)))


def deal_stage_status(stage: ir.StringValue, cfg: ProjectConfig) -> ir.StringValue:
    """The status (open, won, lost) a CRM deal stage stands for; NULL for an unknown stage."""
    by_status: dict[str, list[str]] = {}
    for value, st in cfg.deal_stages.value_map().items():
        by_status.setdefault(st.status, []).append(value)
    folded = stage.strip().lower()
    branches = [(folded.isin(values), ibis.literal(status)) for status, values in by_status.items()]
    if not branches:
        return ibis.null().cast("string")
    return ibis.cases(*branches, else_=ibis.null().cast("string"))


def deal_links(tables: Tables, cfg: ProjectConfig) -> ir.Table:
    """Every (deal, contact) link, from the deal row's ``lead_id`` (its primary contact), its
    multi-valued ``contact_ids`` (split on ``deal_contacts.separators``) and the imported
    ``deal_contacts`` (role, is_primary), one row per pair.

    Columns: deal_id, lead_id, role, is_primary, weight (the contact's share of the deal's
    credit under ``deal_contacts.credit``; a deal's weights sum to 1), counted (true on exactly
    one link per deal: the primary contact, else the lowest id — where a deal is counted once,
    by a contact's attribute)."""
    d = current(tables["deals"], ["deal_id"])
    parts = [
        d.filter(d.lead_id.notnull() & (d.lead_id.strip() != "")).select(
            deal_id=d.deal_id,
            lead_id=d.lead_id.strip(),
            role=ibis.null().cast("string"),
            is_primary=ibis.literal(1),
        )
    ]
    seps = cfg.deal_contacts.separators
    if seps:
        ids = d.contact_ids
        for sep in seps[1:]:
            ids = ids.replace(sep, seps[0])
        listed = d.filter(d.contact_ids.notnull()).select(
            deal_id=d.deal_id, _id=ids.split(seps[0]).unnest()
        )
        listed = listed.filter(listed._id.strip() != "")
        parts.append(
            listed.select(
                deal_id=listed.deal_id,
                lead_id=listed._id.strip(),
                role=ibis.null().cast("string"),
                is_primary=ibis.literal(0),
            )
        )
    dc = current(tables["deal_contacts"], ["deal_id", "lead_id"])
    parts.append(
        dc.select(
            deal_id=dc.deal_id,
            lead_id=dc.lead_id.strip(),
            role=dc.role,
            is_primary=ibis.cases((dc.is_primary, 1), else_=0),
        )
    )
    u = ibis.union(*parts, distinct=False)
    links = u.group_by(["deal_id", "lead_id"]).agg(role=u.role.max(), _p=u.is_primary.max())
    w = _credit_weight(links, cfg)
    links = links.mutate(_w=w)
    per_deal = ibis.window(group_by=links.deal_id)
    first = ibis.window(group_by=links.deal_id, order_by=[ibis.desc(links._p), links.lead_id])
    total = links._w.sum().over(per_deal)
    n = links.count().over(per_deal).cast("float64")
    return links.select(
        "deal_id",
        "lead_id",
        "role",
        is_primary=links._p == 1,
        weight=ibis.cases((total > 0, links._w / total), else_=1.0 / n),
        counted=ibis.row_number().over(first) == 0,
    )


def _credit_weight(links: ir.Table, cfg: ProjectConfig) -> ir.FloatingValue:
    """A link's unnormalised credit weight (``deal_links`` divides by the deal's total; a deal
    whose weights are all 0 — ``primary`` with no primary contact — shares equally)."""
    dc = cfg.deal_contacts
    if dc.credit == "primary":
        return links._p.cast("float64")
    if dc.credit == "role":
        role = links.role.strip().lower()
        branches = [
            (role == name.strip().casefold(), ibis.literal(float(weight)))
            for name, weight in dc.role_weights.items()
        ]
        other = ibis.literal(float(dc.other_role_weight))
        return ibis.cases(*branches, else_=other) if branches else other
    return ibis.literal(1.0)


def deal_credits(tables: Tables, cfg: ProjectConfig) -> ir.Table:
    """The current deals, one row per linked contact: every column of :func:`current_deals`
    with ``lead_id`` the contact's, ``amount`` the contact's credited share of the deal's
    amount (``weight`` × amount: a deal's rows sum to its amount), ``deal_amount``, ``weight``
    and ``counted`` (one row per deal). A deal with no contact has one row with a NULL
    ``lead_id``, its whole amount and ``counted``: money is never lost on the way."""
    d = current_deals(tables, cfg)
    links = deal_links(tables, cfg)
    j = d.left_join(links, d.deal_id == links.deal_id)
    cols = [d[c] for c in d.columns if c not in ("lead_id", "amount")]
    return j.select(
        *cols,
        lead_id=links.lead_id,
        amount=d.amount * links.weight.coalesce(1.0),
        deal_amount=d.amount,
        weight=links.weight.coalesce(1.0),
        counted=links.counted.coalesce(True),
    )


def current_activities(tables: Tables) -> ir.Table:
    """Each sales activity as the CRM sees it now: the latest imported row per activity_id (a
    re-exported activity whose outcome or date changed replaces the older row)."""
    return current(tables["activities"], ["activity_id"])


def current_costs(tables: Tables) -> ir.Table:
    return current(tables["costs"], COST_KEY)


def current_traffic(tables: Tables) -> ir.Table:
    return current(tables["traffic"], TRAFFIC_KEY)


def stage_entries(
    tables: Tables,
    cfg: ProjectConfig,
    *,
    as_of: object | None = None,
    side_states: bool = True,
) -> ir.Table:
    """Every stage entry: the stage events, each lead's creation as entry into the first
    stage, and the entries deals make (:func:`deal_stage_entries`). Columns: lead_id, stage,
    entered_at, reason. ``as_of``: the deals as they stood then (an entry after it may remain:
    callers filter entries by time). ``side_states=False``: a caller that reads only the
    ordered stages is spared the deals' side-state entries (the per-contact "all lost"
    aggregate); the stage events' side states are still there."""
    ev = tables["stage_events"].select("lead_id", "stage", "entered_at", "reason")
    leads = current_leads(tables)
    created = leads.select(
        lead_id=leads.lead_id,
        stage=ibis.literal(cfg.stage_keys[0]),
        entered_at=leads.created_at,
        reason=ibis.null().cast("string"),
    )
    parts = [ev, created]
    from_deals = deal_stage_entries(tables, cfg, as_of=as_of, side_states=side_states)
    if from_deals is not None:
        parts.append(from_deals)
    return ibis.union(*parts, distinct=False)


def deal_targets(cfg: ProjectConfig) -> dict[str, str]:
    """``created``/``won``/``lost`` → the stage or side state a deal makes its contacts enter,
    for the targets this project has (a funnel without ``opportunity`` gets no creation
    entries; ``leadledger validate`` says so when ``deal_stages`` names a missing one)."""
    ds = cfg.deal_stages
    out: dict[str, str] = {}
    for name, value, valid in (
        ("created", ds.created, cfg.stage_keys),
        ("won", ds.won, cfg.stage_keys),
        ("lost", ds.lost, cfg.side_state_keys),
    ):
        if value is not None and value in valid:
            out[name] = value
    return out


def deal_stage_entries(
    tables: Tables, cfg: ProjectConfig, *, as_of: object | None = None, side_states: bool = True
) -> ir.Table | None:
    """The stage entries deals make, for every contact linked to them (derived from the deals
    as they are now, so a re-imported deal that changed status changes the funnel):

    - created → ``deal_stages.created`` (``opportunity``) at the deal's ``created_at``;
    - won → ``deal_stages.won`` (``customer``) at its ``closed_at``;
    - all of a contact's deals lost → ``deal_stages.lost`` at the last one's ``closed_at`` (a
      contact with another deal open or won is not lost).

    A deal whose status is unknown (a stage no ``deal_stages`` entry knows) makes none, nor
    does a link to a contact that is not in the leads table.
    ``as_of``: only deals created by then; one closed after it is open then. Columns: lead_id,
    stage, entered_at, reason. None when the project has no stage for deals to enter.
    ``side_states=False`` leaves out the lost entries."""
    targets = deal_targets(cfg)
    if not side_states:
        targets.pop("lost", None)
    if not targets:
        return None
    d = current_deals(tables, cfg)
    d = d.filter(d.status.notnull())
    status = d.status
    if as_of is not None:
        cut = ibis.literal(as_of).cast(d.created_at.type())
        d = d.filter(d.created_at <= cut)
        status = ibis.cases(
            ((d.status != "open") & (d.closed_at <= cut), d.status), else_=ibis.literal("open")
        )
    d = d.select("deal_id", "created_at", "closed_at", _status=status)
    # a link to a contact that is not a lead is kept (the lead may come later; ``check`` lists
    # it) but makes no entry: only leads are in the funnel
    links = deal_links(tables, cfg).select("deal_id", "lead_id")
    links = links.semi_join(current_leads(tables).select("lead_id"), "lead_id")
    j = d.join(links, "deal_id")
    null = ibis.null().cast("string")
    parts = []
    if "created" in targets:
        parts.append(
            j.select(
                "lead_id",
                stage=ibis.literal(targets["created"]),
                entered_at=j.created_at,
                reason=null,
            )
        )
    if "won" in targets:
        won = j.filter((j._status == "won") & j.closed_at.notnull())
        parts.append(
            won.select(
                "lead_id", stage=ibis.literal(targets["won"]), entered_at=won.closed_at, reason=null
            )
        )
    if "lost" in targets:
        g = j.group_by("lead_id").agg(
            _n=j.count(),
            _lost=(j._status == "lost").sum(),
            _at=j.closed_at.max(where=j._status == "lost"),
        )
        g = g.filter((g._n == g._lost) & g._at.notnull())
        parts.append(
            g.select("lead_id", stage=ibis.literal(targets["lost"]), entered_at=g._at, reason=null)
        )
    return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]


#: Sources of stage events leadledger derives from the ledger itself (``leadledger score``'s MQL
#: and recycled events): facts, but not new data — they never move "the last day with data".
DERIVED_SOURCES = ("leadledger score",)


def imported_stage_entries(tables: Tables, cfg: ProjectConfig) -> ir.Table:
    """``stage_entries`` without the events leadledger wrote itself (``DERIVED_SOURCES``): what
    the data's own end is measured on."""
    ev = tables["stage_events"]
    ev = ev.filter(ev.source.isnull() | ~ev.source.isin(DERIVED_SOURCES))
    return stage_entries({**tables, "stage_events": ev}, cfg)


def at_col(stage: str) -> str:
    return f"{stage}_at"


def reached_col(stage: str) -> str:
    return f"{stage}_reached_at"


def journeys(
    tables: Tables,
    cfg: ProjectConfig,
    *,
    fields: Sequence[str] = (),
    count_skipped: bool | None = None,
    side_states: bool = True,
    reasons: bool = False,
    as_of: object | None = None,
) -> ir.Table:
    """One row per lead: first entry into every stage and side state, and when it *reached*
    each stage.

    ``<stage>_at`` is the first real entry. ``<stage>_reached_at`` is the first entry, or, when
    skipped stages count as reached (the project's default), the first entry into any later
    stage for a lead that never entered this one. Side states get ``<state>_at`` (first) and
    ``<state>_last_at`` / ``<state>_reason`` (the latest entry and its reason). ``fields`` adds
    lead attributes (and ``first_touch_channel`` / ``first_touch_campaign``) for breakdowns.

    Only what a metric needs is computed: ``side_states=False`` leaves out the side-state
    columns, and the ``<state>_reason`` columns come only with ``reasons=True`` (an arg-max is an
    ordered aggregate, the costliest part of the query). ``as_of`` keeps only the events up to
    that instant: the ledger as it was then.
    """
    skip = cfg.count_skipped_stages if count_skipped is None else count_skipped
    entries = stage_entries(tables, cfg, as_of=as_of, side_states=side_states)
    if as_of is not None:
        entries = entries.filter(entries.entered_at <= as_of)
    aggs: dict[str, ir.Value] = {}
    for stage in cfg.stage_keys:
        aggs[at_col(stage)] = entries.entered_at.min(where=entries.stage == stage)
    for state in cfg.side_state_keys if side_states else ():
        is_state = entries.stage == state
        aggs[at_col(state)] = entries.entered_at.min(where=is_state)
        aggs[f"{state}_last_at"] = entries.entered_at.max(where=is_state)
        if reasons:
            aggs[f"{state}_reason"] = entries.reason.argmax(
                entries.entered_at, where=is_state & entries.reason.notnull()
            )
    j = entries.group_by("lead_id").agg(**aggs)
    keys = cfg.stage_keys
    reached: dict[str, ir.Value] = {}
    for i, stage in enumerate(keys):
        if skip:
            later = [j[at_col(s)] for s in keys[i + 1 :]]
            later_first = ibis.least(*later) if len(later) > 1 else (later[0] if later else None)
            reached[reached_col(stage)] = (
                j[at_col(stage)] if later_first is None else j[at_col(stage)].coalesce(later_first)
            )
        else:
            reached[reached_col(stage)] = j[at_col(stage)]
    j = j.mutate(**reached)
    return with_fields(j, tables, cfg, fields)


def with_fields(j: ir.Table, tables: Tables, cfg: ProjectConfig, fields: Sequence[str]) -> ir.Table:
    """Join lead attributes / first-touch fields onto a per-lead table."""
    fields = list(dict.fromkeys(fields))
    lead_fields = [f for f in fields if not f.startswith("first_touch_")]
    touch_fields = [f for f in fields if f.startswith("first_touch_")]
    if lead_fields or "created_at" not in j.columns:
        leads = current_leads(tables)
        cols = [f for f in lead_fields if f not in j.columns]
        if cols:
            lsel = leads.select("lead_id", *cols)
            j = _join_columns(j, lsel, cols)
    if touch_fields:
        t = tables["touches"].filter(lambda t: t.lead_id.notnull())
        first = t.group_by("lead_id").agg(
            first_touch_channel=t.channel.argmin(t.at),
            first_touch_campaign=t.campaign.argmin(t.at),
        )
        first = first.select("lead_id", *touch_fields)
        j = _join_columns(j, first, touch_fields)
    return j


def _join_columns(j: ir.Table, right: ir.Table, cols: Sequence[str]) -> ir.Table:
    """``j`` left-joined with ``right``'s ``cols`` on lead_id, as an explicit projection: Ibis 12
    does not hoist a ``drop()`` over a join into a CTE, so a metric that filters the same
    journeys three ways aggregated the stage events three times (measured: 3 scans, 1.3× the
    hand-written SQL; with a projection, one CTE)."""
    joined = j.left_join(right, j.lead_id == right.lead_id)
    return joined.select(*[j[c] for c in j.columns], *[right[c] for c in cols])


def local(ts: ir.TimestampValue) -> ir.TimestampValue:
    """UTC timestamp → wall time in the session's (the project's) time zone."""
    return ts.cast("timestamp")


def local_date(ts: ir.TimestampValue) -> ir.DateValue:
    return local(ts).date()


def in_local_days(ts: ir.TimestampValue, start: object, end: object) -> ir.BooleanValue:
    """The instant falls on a day in [start, end], days in the project's time zone (the
    reports' --from/--to); a missing instant does not. A bound that is None is open (an
    experiment without an end)."""
    d = local_date(ts)
    cond = ts.notnull()
    if start is not None:
        cond &= d >= start
    if end is not None:
        cond &= d <= end
    return cond


def match_where(t: ir.Table, where: Mapping[str, Sequence[str]]) -> ir.BooleanValue:
    """Rows whose fields take one of the listed values, e.g. ``{"segment": ["enterprise"]}``
    (SLA and decay filters, experiment populations, plans per channel). A NULL field never
    matches; an empty ``where`` matches every row."""
    cond: ir.BooleanValue = ibis.literal(True)
    for name, values in where.items():
        cond &= t[name].isin(list(values))
    return cond


def period_of(ts: ir.TimestampValue, period: str) -> ir.DateValue:
    unit = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}[period]
    return local(ts).truncate(unit).date()
