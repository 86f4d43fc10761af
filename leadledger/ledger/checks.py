"""Anomalies that are data, not errors: imported, counted, and listed here — never "fixed".

Each check is a small function from the ledger tables to an Ibis table of findings with the
columns ``id`` (lead or deal), ``at`` (when), ``detail``; the runner counts them all and lists
the first ``limit`` of each.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import ibis
import ibis.expr.types as ir
import pandas as pd

from leadledger.config.models import ProjectConfig
from leadledger.ledger.derived import (
    Tables,
    at_col,
    current_deals,
    current_leads,
    deal_links,
    journeys,
)
from leadledger.suggest import did_you_mean


@dataclasses.dataclass(frozen=True)
class Check:
    code: str
    severity: str  # "warning" or "info"
    title: str
    #: ``(tables, config, now) -> findings`` (``now``: the report's clock, in UTC); findings
    #: with an ``amount`` column have their amounts summed in the report's note
    find: Callable[[Tables, ProjectConfig, pd.Timestamp], ir.Table]
    #: ``(listed rows, config) -> rows``: adds what only Python knows (a did-you-mean)
    explain: Callable[[pd.DataFrame, ProjectConfig], pd.DataFrame] | None = None


def _str(v: ir.Value) -> ir.StringValue:
    return v.cast("string")


def stage_before_created(t: Tables, cfg: ProjectConfig, now: pd.Timestamp) -> ir.Table:
    ev = t["stage_events"]
    leads = current_leads(t)
    j = ev.join(leads, ev.lead_id == leads.lead_id)
    j = j.filter(j.entered_at < j.created_at)
    return j.select(
        id=j.lead_id,
        at=j.entered_at,
        detail=j.stage + " entered before the lead was created (" + _str(j.created_at) + ")",
    )


def stage_backwards(t: Tables, cfg: ProjectConfig, now: pd.Timestamp) -> ir.Table:
    """A stage's first entry after a later stage's first entry."""
    j = journeys(t, cfg, count_skipped=False, side_states=False)
    keys = cfg.stage_keys
    parts = []
    for i, s in enumerate(keys[1:-1], start=1):
        for later in keys[i + 1 :]:
            cond = (
                j[at_col(s)].notnull()
                & j[at_col(later)].notnull()
                & (j[at_col(s)] > j[at_col(later)])
            )
            parts.append(
                j.filter(cond).select(
                    id=j.lead_id,
                    at=j[at_col(s)],
                    detail=ibis.literal(f"{s} entered after {later} (")
                    + _str(j[at_col(later)])
                    + ")",
                )
            )
    return ibis.union(*parts, distinct=False)


def deal_won_before_first_contact(t: Tables, cfg: ProjectConfig, now: pd.Timestamp) -> ir.Table:
    """A won deal closed before a linked contact's first contact (creation or touch)."""
    deals = current_deals(t, cfg).drop("lead_id")
    links = deal_links(t, cfg).select("deal_id", "lead_id")
    deals = deals.join(links, "deal_id")
    leads = current_leads(t)
    touches = t["touches"].filter(lambda x: x.lead_id.notnull())
    first_touch = touches.group_by("lead_id").agg(first_touch_at=touches.at.min())
    won = deals.filter(deals.status == "won")
    j = won.left_join(leads.select("lead_id", "created_at"), "lead_id").drop("lead_id_right")
    j = j.left_join(first_touch, "lead_id").drop("lead_id_right")
    first_contact = ibis.least(j.created_at_right, j.first_touch_at)
    j = j.mutate(first_contact=first_contact)
    j = j.filter(j.first_contact.notnull() & (j.closed_at < j.first_contact))
    return j.select(
        id=j.deal_id,
        at=j.closed_at,
        detail="won before the lead's first contact ("
        + _str(j.first_contact)
        + ") for lead "
        + j.lead_id,
    )


def deal_closed_before_created(t: Tables, cfg: ProjectConfig, now: pd.Timestamp) -> ir.Table:
    d = current_deals(t, cfg)
    d = d.filter(d.status.isin(["won", "lost"]) & (d.closed_at < d.created_at))
    return d.select(
        id=d.deal_id,
        at=d.closed_at,
        detail="closed before it was created (" + _str(d.created_at) + ")",
    )


def duplicate_identity(t: Tables, cfg: ProjectConfig, now: pd.Timestamp) -> ir.Table:
    leads = current_leads(t).filter(lambda x: x.email.notnull() & (x.email.strip() != ""))
    leads = leads.mutate(_email=leads.email.strip().lower())
    g = leads.group_by("_email").agg(n=leads.lead_id.nunique(), first=leads.created_at.min())
    g = g.filter(g.n > 1)
    j = leads.join(g, "_email")
    return j.select(
        id=j.lead_id,
        at=j.created_at,
        detail="e-mail " + j._email + " is shared by " + _str(j.n) + " leads",
    )


def orphan_stage_events(t: Tables, cfg: ProjectConfig, now: pd.Timestamp) -> ir.Table:
    ev = t["stage_events"]
    leads = current_leads(t).select("lead_id")
    o = ev.anti_join(leads, "lead_id")
    return o.select(
        id=o.lead_id,
        at=o.entered_at,
        detail=o.stage + " event for a lead that is not in the leads table",
    )


def orphan_deals(t: Tables, cfg: ProjectConfig, now: pd.Timestamp) -> ir.Table:
    """A deal's link to a contact id that is not a lead (the link is kept: the lead may come
    with a later import)."""
    d = current_deals(t, cfg).select("deal_id", "created_at")
    links = deal_links(t, cfg).select("deal_id", "lead_id")
    o = d.join(links, "deal_id").anti_join(current_leads(t).select("lead_id"), "lead_id")
    return o.select(
        id=o.deal_id,
        at=o.created_at,
        detail="deal linked to contact " + o.lead_id + ", which is not in the leads table",
    )


def deal_without_contact(t: Tables, cfg: ProjectConfig, now: pd.Timestamp) -> ir.Table:
    """A deal linked to no known lead: imported, but it drives no stage and credits no
    channel (its amount is in the note)."""
    d = current_deals(t, cfg)
    links = deal_links(t, cfg).select("deal_id", "lead_id")
    known = links.semi_join(current_leads(t).select("lead_id"), "lead_id")
    o = d.anti_join(known, "deal_id")
    return o.select(
        id=o.deal_id,
        at=o.created_at,
        detail=o.status.fill_null("status unknown"),
        amount=o.amount.fill_null(0.0),
    )


def _amount_detail(rows: pd.DataFrame, cfg: ProjectConfig) -> pd.DataFrame:
    out = rows.copy()
    out["detail"] = [
        f"no contact of this deal is a lead ({status}, amount {float(amount):,.2f} "
        f"{cfg.currency}): link it with contact_ids, lead_id or a deal_contacts import"
        for status, amount in zip(out["detail"], out["amount"], strict=True)
    ]
    return out


def deal_stage_unknown(t: Tables, cfg: ProjectConfig, now: pd.Timestamp) -> ir.Table:
    """Deals whose stage no ``deal_stages`` entry knows and that have no status: counted in no
    stage until the stage is mapped (never guessed). One finding per stage."""
    d = current_deals(t, cfg)
    d = d.filter(d.status.isnull() & d.stage.notnull())
    g = d.group_by("stage").agg(n=d.count(), first=d.created_at.min(), amount=d.amount.sum())
    return g.select(
        id=g.stage,
        at=g.first,
        detail=_str(g.n) + " deal(s) in a stage deal_stages.stages does not know",
        amount=g.amount.fill_null(0.0),
    )


def _stage_hint(rows: pd.DataFrame, cfg: ProjectConfig) -> pd.DataFrame:
    known = list(cfg.deal_stages.value_map())
    out = rows.copy()
    hints = []
    for stage, detail in zip(out["id"], out["detail"], strict=True):
        hint = did_you_mean(str(stage).casefold(), known)
        hints.append(
            f"{detail}; {hint}" if hint else f"{detail}; add it to deal_stages.stages (status)"
        )
    out["detail"] = hints
    return out


def deal_contact_unknown_deal(t: Tables, cfg: ProjectConfig, now: pd.Timestamp) -> ir.Table:
    """An imported deal-contact link whose deal is not in the deals table."""
    dc = t["deal_contacts"]
    o = dc.anti_join(current_deals(t, cfg).select("deal_id"), "deal_id")
    return o.select(
        id=o.deal_id,
        at=o.imported_at,
        detail="contact " + o.lead_id + " linked to a deal that is not in the deals table",
    )


def unknown_channel(t: Tables, cfg: ProjectConfig, now: pd.Timestamp) -> ir.Table:
    keys = [c.key for c in cfg.channels]
    leads = current_leads(t).filter(lambda x: x.channel.notnull())
    # with no channels configured there is nothing to compare with (validate warns instead)
    leads = leads.filter(~leads.channel.isin(keys) if keys else ibis.literal(False))
    g = leads.group_by("channel").agg(n=leads.count(), first=leads.created_at.min())
    return g.select(
        id=g.channel, at=g.first, detail=_str(g.n) + " lead(s) with a channel not in the config"
    )


def unknown_reason(t: Tables, cfg: ProjectConfig, now: pd.Timestamp) -> ir.Table:
    ev = t["stage_events"].filter(lambda x: x.reason.notnull())
    conds = []
    for s in cfg.side_states:
        if s.reason_codes:
            conds.append((ev.stage == s.key) & ~ev.reason.isin(s.reason_codes))
    if not conds:
        return ev.filter(ibis.literal(False)).select(
            id=ev.lead_id, at=ev.entered_at, detail=ev.reason
        )
    cond = conds[0]
    for c in conds[1:]:
        cond |= c
    bad = ev.filter(cond)
    return bad.select(
        id=bad.lead_id,
        at=bad.entered_at,
        detail=bad.stage + " with a reason code not in the config: " + bad.reason,
    )


def future_dates(t: Tables, cfg: ProjectConfig, now: pd.Timestamp) -> ir.Table:
    ev = t["stage_events"]
    f = ev.filter(ev.entered_at > ibis.literal(now).cast(ev.entered_at.type()))
    return f.select(id=f.lead_id, at=f.entered_at, detail=f.stage + " entered in the future")


CHECKS = (
    Check(
        "stage_before_created",
        "warning",
        "stage entered before the lead was created",
        stage_before_created,
    ),
    Check("stage_backwards", "warning", "stage moved backwards (out of order)", stage_backwards),
    Check(
        "deal_won_before_first_contact",
        "warning",
        "deal won before first contact",
        deal_won_before_first_contact,
    ),
    Check(
        "deal_closed_before_created",
        "warning",
        "deal closed before it was created",
        deal_closed_before_created,
    ),
    Check("duplicate_identity", "warning", "several leads share an e-mail", duplicate_identity),
    Check("orphan_stage_event", "warning", "stage event for an unknown lead", orphan_stage_events),
    Check("orphan_deal", "info", "deal linked to an unknown lead", orphan_deals),
    Check(
        "deal_without_contact",
        "warning",
        "deal with no contact in the ledger",
        deal_without_contact,
        explain=_amount_detail,
    ),
    Check(
        "deal_stage_unknown",
        "warning",
        "deal stage not in deal_stages",
        deal_stage_unknown,
        explain=_stage_hint,
    ),
    Check(
        "deal_contact_unknown_deal",
        "info",
        "deal-contact link for an unknown deal",
        deal_contact_unknown_deal,
    ),
    Check("unknown_channel", "warning", "channel not in the config", unknown_channel),
    Check("unknown_reason", "info", "reason code not in the config", unknown_reason),
    Check("future_date", "warning", "stage entered in the future", future_dates),
)


#: The columns of the ``check`` report.
CHECK_COLUMNS = ("check", "severity", "id", "at", "detail", "total")
