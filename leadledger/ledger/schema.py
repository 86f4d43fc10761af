"""The ledger's tables: append-only facts, each row with a stable id.

``stage_events`` and ``touches`` are pure facts: a row is identified by its content and an
identical row is never stored twice. ``leads``, ``deals``, ``activities``, ``costs`` and
``traffic`` are *versioned* facts: a row states what a record looked like when imported. The
current version of a deal, activity, cost or traffic row (by its key) is the latest row; the
current lead is merged field by field, each field from the latest row where it is not empty (CRM
partial updates). Both are derived by queries (``leadledger.ledger.derived``), never stored.
"""

from __future__ import annotations

import dataclasses

import ibis
import ibis.expr.datatypes as dt

from leadledger.config.models import CORE_LEAD_FIELDS, ProjectConfig

TS = dt.Timestamp(timezone="UTC")
STR = dt.string
KINDS = ("leads", "stages", "touches", "deals", "deal_contacts", "activities", "costs", "traffic")
TABLE_OF_KIND = {
    "leads": "leads",
    "stages": "stage_events",
    "touches": "touches",
    "deals": "deals",
    "deal_contacts": "deal_contacts",
    "activities": "activities",
    "costs": "costs",
    "traffic": "traffic",
}
BOOKKEEPING = {"row_id": STR, "batch_no": dt.int64, "row_no": dt.int64, "imported_at": TS}


@dataclasses.dataclass(frozen=True)
class Field:
    name: str
    dtype: dt.DataType
    required: bool = False
    #: For enumerations: allowed values (after value mapping).
    choices: tuple[str, ...] | None = None
    doc: str = ""


@dataclasses.dataclass(frozen=True)
class Kind:
    """An import kind: its fields, its table, and how rows are identified."""

    name: str
    table: str
    fields: tuple[Field, ...]
    #: Fields that identify a record; versioned kinds keep the latest version per key.
    key: tuple[str, ...]
    versioned: bool
    #: Whether unknown columns are kept in a ``properties`` JSON column.
    keeps_properties: bool = True

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def schema(self) -> ibis.Schema:
        cols = {f.name: f.dtype for f in self.fields}
        if self.keeps_properties:
            cols["properties"] = STR
        cols.update(BOOKKEEPING)
        return ibis.schema(cols)


DEAL_STATUSES = ("open", "won", "lost")
#: Kinds of sales activities (a preset's ``values`` turn the CRM's names into these).
ACTIVITY_KINDS = ("call", "meeting", "email", "task", "note")
ACTIVITY_DIRECTIONS = ("inbound", "outbound")
COST_CATEGORIES = ("media", "staff", "technology", "agency", "other")


def kinds(cfg: ProjectConfig) -> dict[str, Kind]:
    """The import kinds for a project (lead attributes come from the config)."""
    lead_fields = [
        Field("lead_id", STR, True, doc="the CRM's id of the lead or contact"),
        Field(
            "created_at",
            TS,
            True,
            doc="when the lead became known (entered the first stage); required for a new lead, "
            "may be empty in a row that updates a known one",
        ),
        *[Field(name, STR) for name in CORE_LEAD_FIELDS if name not in ("lead_id", "created_at")],
        *[Field(name, STR, doc="configured attribute") for name in cfg.attributes],
    ]
    stage_choices = tuple(cfg.stage_keys + cfg.side_state_keys)
    return {
        "leads": Kind("leads", "leads", tuple(lead_fields), ("lead_id",), versioned=True),
        "stages": Kind(
            "stages",
            "stage_events",
            (
                Field("lead_id", STR, True),
                Field("stage", STR, True, choices=stage_choices),
                Field("entered_at", TS, True),
                Field("source_stage", STR, doc="the stage name as the source wrote it"),
                Field("reason", STR, doc="reason code (disqualified, recycled, lost)"),
                Field("owner", STR),
                Field("source", STR, doc="where the event came from (file, system)"),
            ),
            ("lead_id", "stage", "entered_at"),
            versioned=False,
            keeps_properties=False,
        ),
        "touches": Kind(
            "touches",
            "touches",
            (
                Field("touch_id", STR),
                Field("lead_id", STR),
                Field("anonymous_id", STR),
                Field("at", TS, True),
                Field("channel", STR, True),
                Field("campaign", STR),
                Field("kind", STR, doc="visit, form, email_click, ad_click, call, meeting, ..."),
                Field("page", STR),
            ),
            ("touch_id",),
            versioned=False,
        ),
        "deals": Kind(
            "deals",
            "deals",
            (
                Field("deal_id", STR, True),
                Field(
                    "lead_id",
                    STR,
                    doc="the deal's (primary) contact; more contacts come from contact_ids or a "
                    "deal_contacts import",
                ),
                Field(
                    "contact_ids",
                    STR,
                    doc="several contact ids in one cell (HubSpot's Associated Contact IDs, "
                    "'11440;70238'), split on deal_contacts.separators",
                ),
                Field("account_id", STR, doc="the deal's account (company)"),
                Field("created_at", TS, True),
                Field(
                    "closed_at",
                    TS,
                    doc="when a won or lost deal closed (an open deal's expected close date is "
                    "kept but not used)",
                ),
                Field(
                    "status",
                    STR,
                    choices=DEAL_STATUSES,
                    doc="open, won or lost; may be empty when the stage says it "
                    "(deal_stages.stages in leadledger.yaml)",
                ),
                Field(
                    "amount",
                    dt.float64,
                    doc="required for won and lost deals; may be empty "
                    "for an open deal whose value is not known yet",
                ),
                Field("currency", STR),
                Field("name", STR),
                Field("owner", STR),
                Field("stage", STR, doc="the CRM's deal stage, as written"),
                Field("pipeline", STR, doc="the CRM's pipeline, as written"),
                Field(
                    "deal_type",
                    STR,
                    doc="new business, renewal, expansion, ... as written (Salesforce Type, "
                    "HubSpot Deal Type)",
                ),
            ),
            ("deal_id",),
            versioned=True,
        ),
        "deal_contacts": Kind(
            "deal_contacts",
            "deal_contacts",
            (
                Field("deal_id", STR, True),
                Field("lead_id", STR, True, doc="the contact (or lead) linked to the deal"),
                Field("role", STR, doc="the contact's role (Decision Maker, Influencer, ...)"),
                Field("is_primary", dt.boolean, doc="the deal's primary contact"),
            ),
            ("deal_id", "lead_id"),
            versioned=True,
        ),
        "activities": Kind(
            "activities",
            "activities",
            (
                Field("activity_id", STR, True, doc="the CRM's id of the activity"),
                Field("lead_id", STR, doc="the lead or contact it was with (or account_id)"),
                Field("account_id", STR, doc="the account it was with (or lead_id)"),
                Field("at", TS, True, doc="when it happened (a call, a meeting, an e-mail sent)"),
                Field("kind", STR, True, choices=ACTIVITY_KINDS),
                Field("owner", STR, doc="the sales rep who did it"),
                Field("outcome", STR, doc="call or meeting outcome, task status, as written"),
                Field(
                    "direction",
                    STR,
                    choices=ACTIVITY_DIRECTIONS,
                    doc="inbound (from the lead) or outbound (to it); empty: unknown",
                ),
                Field("subject", STR),
            ),
            ("activity_id",),
            versioned=True,
        ),
        "costs": Kind(
            "costs",
            "costs",
            (
                Field("cost_id", STR, doc="optional id; else the key below identifies a cost"),
                Field("period_start", dt.date, True),
                Field("period_end", dt.date, True),
                Field("channel", STR),
                Field("campaign", STR),
                Field("category", STR, True, choices=COST_CATEGORIES),
                Field("amount", dt.float64, True),
                Field("currency", STR),
                Field("description", STR),
            ),
            (
                "cost_id",
                "period_start",
                "period_end",
                "channel",
                "campaign",
                "category",
                "description",
            ),
            versioned=True,
            keeps_properties=False,
        ),
        "traffic": Kind(
            "traffic",
            "traffic",
            (
                Field("day", dt.date, True),
                Field("channel", STR),
                Field("landing_page", STR),
                Field("campaign", STR),
                Field("visits", dt.int64, True),
                Field("unique_visitors", dt.int64),
            ),
            ("day", "channel", "landing_page", "campaign"),
            versioned=True,
            keeps_properties=False,
        ),
    }


IMPORTS_SCHEMA = ibis.schema(
    {
        "batch_no": dt.int64,
        "batch_id": STR,
        "kind": STR,
        "file": STR,
        "sha256": STR,
        "read": dt.int64,
        "accepted": dt.int64,
        "rejected": dt.int64,
        "skipped": dt.int64,
        "started_at": TS,
        "finished_at": TS,
    }
)

#: Imported experiment group membership (``experiment import``); hash-assigned experiments need
#: no rows here.
EXPERIMENT_GROUPS_SCHEMA = ibis.schema(
    {"experiment": STR, "lead_id": STR, "group": STR, "batch_no": dt.int64, "imported_at": TS}
)

#: Alerts already delivered to a webhook, one row per alert key: nothing is sent twice.
ALERTS_SENT_SCHEMA = ibis.schema(
    {"alert_key": STR, "kind": STR, "target": STR, "sent_at": TS, "payload": STR}
)

#: The audit of rule scores (``leadledger score``): one row per lead, rule and as-of; the points of
#: a lead's rows add up to its score at that as-of (a ``(group cap)`` row holds a group's cap).
SCORE_EVENTS_SCHEMA = ibis.schema(
    {
        "lead_id": STR,
        "group": STR,
        "rule": STR,
        "matches": dt.int64,
        "raw_points": dt.float64,
        "decayed_points": dt.float64,
        "points": dt.float64,
        "at": TS,
        "as_of": TS,
        "batch_no": dt.int64,
        "scored_at": TS,
    }
)

#: API tokens (``leadledger token``): only a SHA-256 of the secret is kept; the secret is shown
#: once, at creation. ``scope``: read, write or admin (each includes the ones before it).
API_TOKENS_SCHEMA = ibis.schema(
    {
        "token_id": STR,
        "name": STR,
        "scope": STR,
        "hash": STR,
        "created_at": TS,
        "revoked_at": TS,
    }
)

#: Events received by ``POST /api/v1/events`` and the form hook, one row per event id: an event
#: sent again is a duplicate and changes nothing.
INGESTED_EVENTS_SCHEMA = ibis.schema(
    {"event_id": STR, "kind": STR, "batch_no": dt.int64, "received_at": TS}
)

#: One row: a counter every write to the ledger raises in its own transaction (``Store``), so a
#: reader (the server's report cache) can tell whether anything changed since it last computed,
#: across processes too (several writers share one PostgreSQL database).
DATA_VERSION_SCHEMA = ibis.schema({"version": dt.int64, "changed_at": TS})

#: Tables that are not import kinds, with their schemas.
SERVICE_TABLES = {
    "imports": IMPORTS_SCHEMA,
    "experiment_groups": EXPERIMENT_GROUPS_SCHEMA,
    "alerts_sent": ALERTS_SENT_SCHEMA,
    "score_events": SCORE_EVENTS_SCHEMA,
    "api_tokens": API_TOKENS_SCHEMA,
    "ingested_events": INGESTED_EVENTS_SCHEMA,
    "data_version": DATA_VERSION_SCHEMA,
}
#: Writes to these do not change a report: they leave the data version alone (the token table
#: records no use, but a revoked token must not invalidate every cached report either; the
#: ``imports`` rows and the event ids received are the bookkeeping of a batch: a re-import that
#: accepts nothing writes its ``imports`` row and changes no number).
UNVERSIONED_TABLES = frozenset({"api_tokens", "data_version", "imports", "ingested_events"})
