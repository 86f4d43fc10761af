"""Ingest events (``POST /api/v1/events``) and website form submissions (the form hook).

An event is one record of an import kind, sent as JSON: ``{"event_id": "...", "type": "lead" |
"stage" | "touch" | "deal", ...fields named as the import kinds name them}``. Events are checked
by the file import's own rules (:class:`~leadledger.ledger.imports.validate.Validator`: the same
types, dates, stage and channel mapping, required fields, a lead's ``created_at`` only when the
lead is new), so a row is the same whether it came from a file or from the API, and written as
one batch (:mod:`leadledger.ledger.imports.batch`) like a file import.

Accounting, always: ``received = accepted + duplicate + rejected``.

- *duplicate*: the event id is already in ``ingested_events`` (sent before), or repeated in this
  batch, or the event's row is already in the ledger (identical content: the importer's row id).
  A duplicate changes nothing.
- *rejected*: the event does not pass the checks. Every problem is returned (index in the batch,
  event id, field, value, what was expected) and the rejected events are kept in
  ``imports/NNNNN-events-api/quarantine.csv`` with an ``imports`` row counting them: nothing is
  dropped silently. A rejected event's id is *not* recorded: fix it and send it again.
- *accepted*: appended, with its ``ingested_events`` row and the batch's ``imports`` rows, in ONE
  transaction (serialised by the batch lock on PostgreSQL; everything is re-checked inside it).

A batch where every event is a duplicate writes nothing at all (re-posting a batch changes
nothing, not even the ``imports`` table).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadledger.config.models import CORE_LEAD_FIELDS, ProjectConfig
from leadledger.errors import InvalidArgument
from leadledger.ledger.imports import batch
from leadledger.ledger.imports.read import ROW, json_text
from leadledger.ledger.imports.validate import Problem, Validator
from leadledger.ledger.schema import BOOKKEEPING
from leadledger.ledger.store import Store

#: Event type → import kind.
TYPES = {"lead": "leads", "stage": "stages", "touch": "touches", "deal": "deals"}
#: The most events one call may carry (the API answers 413 ``batch_too_large`` above it).
MAX_BATCH = 10_000
MAX_EVENT_ID = 200
ENVELOPE = ("event_id", "type")
#: What an event without a valid type counts under in ``imports``.
NO_KIND = "events"
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
#: Common ``utm_medium`` values → channel key (used when the key is a configured channel and the
#: value is not one of the channels' own ``source_values``).
UTM_MEDIUM_CHANNELS = {
    "cpc": "paid_search",
    "ppc": "paid_search",
    "paidsearch": "paid_search",
    "paid_search": "paid_search",
    "sem": "paid_search",
    "paid_social": "paid_social",
    "paidsocial": "paid_social",
    "social_paid": "paid_social",
    "social": "organic_social",
    "organic_social": "organic_social",
    "email": "email",
    "e-mail": "email",
    "newsletter": "email",
    "referral": "referral",
    "organic": "organic_search",
    "event": "events",
    "events": "events",
}
#: The channel of a submission without any UTM parameter.
NO_UTM_CHANNEL = "direct"
#: Lead fields a form may set (besides the configured attributes).
FORM_LEAD_FIELDS = ("name", "company", "title", "country", "owner")

#: Form fields that never go to the lead's properties.
NOT_PROPERTIES = frozenset(
    {
        *CORE_LEAD_FIELDS,
        *ENVELOPE,
        *UTM,
        *BOOKKEEPING,
        "properties",
        "page",
        "page_url",
        "submission_id",
        "submitted_at",
        "token",
        "redirect",
    }
)

SAME_AS_STORED = "same content as a row already in the ledger"
SAME_AS_BATCH = "same content as another event of this batch"


@dataclasses.dataclass
class IngestResult:
    """What one call did. ``received = accepted + duplicate + rejected``."""

    received: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    #: the ``imports`` batch that holds the accepted rows (None when nothing was written)
    batch_no: int | None = None
    by_type: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    #: one entry per problem: index in the batch, event_id, type, field, value, expected
    rejections: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    #: one entry per duplicate: index, event_id, reason
    duplicates: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    #: fields sent that a kind does not keep (stage events keep no extra properties)
    ignored_fields: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    quarantine: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class FormResult:
    """What a form submission did."""

    lead_id: str
    #: ``created`` (a new lead), ``updated`` (attributes of a known lead) or ``unchanged``
    lead: str
    touch_id: str
    channel: str
    campaign: str | None
    duplicate: bool
    submission_id: str
    batch_no: int | None
    events: IngestResult

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# -- events ---------------------------------------------------------------------------------
def ingest_events(
    store: Store,
    cfg: ProjectConfig,
    events: Sequence[Any],
    *,
    project_dir: Path | None = None,
    source: str = "POST /api/v1/events",
) -> IngestResult:
    """Validate, deduplicate and append a batch of events (see the module docstring).
    ``project_dir``: where the quarantine of rejected events is written (``imports/``)."""
    if len(events) > MAX_BATCH:
        from leadledger.errors import BatchTooLarge

        raise BatchTooLarge(
            f"{len(events)} events in one batch; at most {MAX_BATCH:,}",
            hint=f"send batches of at most {MAX_BATCH:,} events",
        )
    n = len(events)
    res = IngestResult(received=n)
    status = np.full(n, "", dtype=object)  # accepted | duplicate | rejected
    ids: list[str | None] = [None] * n
    types: list[str | None] = [None] * n
    problems: list[dict[str, Any]] = []
    dup_reason: dict[int, str] = {}

    def reject(i: int, field: str, value: Any, expected: str) -> None:
        status[i] = "rejected"
        problems.append(
            {
                "index": i,
                "event_id": ids[i],
                "type": types[i],
                "field": field,
                "value": None if value is None else str(value),
                "expected": expected,
            }
        )

    # the envelope: an object with an event id and a type
    for i, ev in enumerate(events):
        if type(ev) is not dict and not isinstance(ev, Mapping):
            reject(i, "(event)", _short(ev), "a JSON object")
            continue
        eid = ev.get("event_id")
        if type(eid) is not str and isinstance(eid, int) and not isinstance(eid, bool):
            eid = str(eid)
        if type(eid) is str:
            eid = eid.strip()
            if eid and len(eid) <= MAX_EVENT_ID:
                ids[i] = eid
        typ = ev.get("type")
        if typ in TYPES:
            types[i] = typ
        elif isinstance(typ, str) and typ.strip().lower() in TYPES:
            types[i] = typ.strip().lower()
        if ids[i] is None:
            reject(i, "event_id", eid, f"a non-empty id (text, at most {MAX_EVENT_ID} characters)")
        if types[i] is None:
            reject(i, "type", typ, "one of " + ", ".join(TYPES))

    now = pd.Timestamp.now(tz="UTC")
    with batch.transaction(store, project_dir) as tx:
        candidates = [i for i in range(n) if status[i] == ""]
        # the file import's rules, per kind (the rows get their content ids)
        checked: dict[str, tuple[pd.DataFrame, list[Problem]]] = {}
        by_type: dict[str, list[int]] = {}
        for i in candidates:
            by_type.setdefault(str(types[i]), []).append(i)
        for typ, kind in TYPES.items():
            todo = by_type.get(typ, [])
            if todo:
                good, bad, ignored = _check_kind(store, kind, events, todo)
                checked[kind] = (good, bad)
                if ignored:
                    res.ignored_fields[typ] = ignored
        # one look-up: event ids received before, rows already in the ledger
        received = ("ingested_events", "event_id")
        wanted = {received: {str(ids[i]) for i in candidates}}
        for kind, (good, _) in checked.items():
            wanted[store.kinds[kind].table, "row_id"] = set(good["row_id"])
        found = tx.known(wanted)
        known = found[received]
        # idempotency by event id: sent before, or repeated in this batch (by an event that
        # passes the checks: a rejected event does not take its id)
        failing = {p.index for _, bad in checked.values() for p in bad}
        seen: set[str] = set()
        for i in candidates:
            eid = str(ids[i])
            if eid in known:
                status[i], dup_reason[i] = "duplicate", "event_id already received"
            elif i in failing:
                continue
            elif eid in seen:
                status[i], dup_reason[i] = "duplicate", "event_id repeated in this batch"
            else:
                seen.add(eid)
        rows: dict[str, pd.DataFrame] = {}
        for kind, (good, bad) in checked.items():
            for p in bad:
                if status[p.index] != "duplicate":
                    reject(p.index, p.column, p.value, p.expected)
            if good.empty:
                continue
            good = good[status[good[ROW].to_numpy(dtype=np.int64)] == ""]
            # identical content: already in the ledger, or another event of this batch
            stored = good["row_id"].isin(found[store.kinds[kind].table, "row_id"])
            repeated = good["row_id"].duplicated() & ~stored
            for i in good.loc[stored, ROW]:
                status[int(i)], dup_reason[int(i)] = "duplicate", SAME_AS_STORED
            for i in good.loc[repeated, ROW]:
                status[int(i)], dup_reason[int(i)] = "duplicate", SAME_AS_BATCH
            good = good[~(repeated | stored)]
            status[good[ROW].to_numpy(dtype=np.int64)] = "accepted"
            rows[kind] = good
        if (status == "").any():  # cannot happen: every event ends in one of the three
            raise AssertionError("an event was not classified")
        res.accepted = int((status == "accepted").sum())
        res.duplicate = int((status == "duplicate").sum())
        res.rejected = int((status == "rejected").sum())
        assert res.accepted + res.duplicate + res.rejected == res.received
        res.rejections = sorted(problems, key=lambda p: p["index"])
        res.duplicates = [
            {"index": i, "event_id": ids[i], "reason": r} for i, r in sorted(dup_reason.items())
        ]
        for (typ, st), k in Counter(zip(types, status, strict=True)).items():
            counts = res.by_type.setdefault(
                typ or NO_KIND, {"accepted": 0, "duplicate": 0, "rejected": 0}
            )
            counts[str(st)] += k
        if res.accepted or res.rejected:
            res.batch_no = tx.batch_no
            # an event whose row is in the ledger already is received all the same
            content = [i for i, r in dup_reason.items() if r in (SAME_AS_STORED, SAME_AS_BATCH)]
            files = res.rejected > 0 and project_dir is not None
            done = tx.write(
                batch.Batch(
                    kind=NO_KIND,
                    sources=_sources(status, ids, types, source),
                    rows=list(_rows(store, rows, status, ids, types, content, now).items()),
                    folder="events-api" if files else None,
                    quarantine=_quarantine(res, ids, types, events) if files else None,
                    # report.json: the answer (as written before the quarantine was named)
                    report=lambda _: res.as_dict(),
                    started_at=now,
                    at=now,
                )
            )
            if files and done.quarantine is not None and project_dir is not None:
                res.quarantine = done.quarantine.relative_to(project_dir).as_posix()
    return res


def _short(v: Any) -> str:
    text = json.dumps(v, default=str, ensure_ascii=False)
    return text if len(text) <= 200 else text[:197] + "..."


def _check_kind(
    store: Store,
    kind: str,
    events: Sequence[Any],
    todo: list[int],
) -> tuple[pd.DataFrame, list[Problem], list[str]]:
    """The file import's checks (:meth:`Validator.check_records`) on the events ``todo``
    (indexes in the batch) of one kind: the good rows (with row ids, ``_row`` = index in the
    batch), the problems (``index`` = index in the batch) and the fields the kind does not
    keep."""
    validator = Validator(store.cfg, kind, known_leads=batch.known_leads(store))
    records = [
        {
            k: v if v is None or type(v) is str else json_text(v)
            for k, v in events[i].items()
            if k not in ENVELOPE
        }
        for i in todo
    ]
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    frame = frame.astype(object).where(frame.notna(), None)
    frame = frame.reset_index(drop=True)
    # a field no event of the batch has is a missing value of each event, not a bad mapping
    for field in validator.kind.fields:
        if field.required and field.name not in frame.columns:
            frame[field.name] = None
    frame[ROW] = todo
    checked = validator.check_records(frame, NO_KIND)
    for p in checked.problems:
        p.index = todo[int(p.index)]
    return checked.rows, checked.problems, list(checked.ignored_columns)


def _rows(
    store: Store,
    rows: dict[str, pd.DataFrame],
    status: np.ndarray,
    ids: list[str | None],
    types: list[str | None],
    content_duplicates: list[int],
    now: pd.Timestamp,
) -> dict[str, pd.DataFrame]:
    """The accepted rows per table, in the order of the batch, and the event ids received."""
    out: dict[str, pd.DataFrame] = {}
    for kind, good in rows.items():
        if good.empty:
            continue
        good = good.sort_values(ROW, kind="stable")
        out[store.kinds[kind].table] = good.drop(columns=[ROW])
    # every event now in the ledger (accepted, or its content already was) is recorded
    recorded = sorted([i for i in range(len(status)) if status[i] == "accepted"])
    recorded = sorted([*recorded, *content_duplicates])
    if recorded:
        out["ingested_events"] = pd.DataFrame(
            {
                "event_id": [ids[i] for i in recorded],
                "kind": [types[i] for i in recorded],
                "received_at": now,
            }
        )
    return out


def _sources(
    status: np.ndarray, ids: list[str | None], types: list[str | None], source: str
) -> list[batch.Source]:
    """The batch's ``imports`` rows: one per type of event (and one for events of no type)."""
    # the batch's fingerprint: its event ids in order (hashing every field costs more)
    sha = hashlib.sha256("\n".join(str(i) for i in ids).encode("utf-8")).hexdigest()
    out = []
    for typ in [*TYPES, None]:
        mine = [i for i in range(len(status)) if types[i] == typ]
        if not mine:
            continue
        st = status[mine]
        out.append(
            batch.Source(
                source,
                sha,
                read=len(mine),
                accepted=int((st == "accepted").sum()),
                rejected=int((st == "rejected").sum()),
                skipped=int((st == "duplicate").sum()),
                kind=TYPES[typ] if typ else NO_KIND,
            )
        )
    return out


def _quarantine(
    res: IngestResult,
    ids: list[str | None],
    types: list[str | None],
    events: Sequence[Any],
) -> pd.DataFrame:
    """``quarantine.csv`` of ``imports/NNNNN-events-api/``: one row per rejected event, its
    problems and its fields."""
    by_index: dict[int, list[dict[str, Any]]] = {}
    for p in res.rejections:
        by_index.setdefault(int(p["index"]), []).append(p)
    records = []
    for i in sorted(by_index):
        ps = by_index[i]
        ev = events[i]
        fields = (
            {k: json_text(v) for k, v in ev.items() if k not in ENVELOPE}
            if isinstance(ev, Mapping)
            else {"(event)": _short(ev)}
        )
        records.append(
            {
                "_row": i,
                "_event_id": ids[i],
                "_type": types[i],
                "_column": ";".join(str(p["field"]) for p in ps),
                "_value": ";".join("" if p["value"] is None else str(p["value"]) for p in ps),
                "_expected": ";".join(str(p["expected"]) for p in ps),
                **fields,
            }
        )
    return pd.DataFrame.from_records(records)


# -- the website form hook ----------------------------------------------------------------------
def utm_channel(cfg: ProjectConfig, utm: Mapping[str, Any]) -> str:
    """The channel of a submission from its UTM parameters: ``utm_medium``, then
    ``utm_source``, matched like the importer matches a channel column (a channel key or one of
    its ``source_values``, ignoring case); then common ``utm_medium`` values (``cpc`` → paid
    search, ``social`` → organic social, ...) when that channel is configured; else the medium
    (or source) as written. No UTM parameter at all: ``direct``."""
    cmap = cfg.channel_value_map()
    keys = {c.key for c in cfg.channels}
    medium = str(utm.get("utm_medium") or "").strip()
    src = str(utm.get("utm_source") or "").strip()
    for value in (medium, src):
        if value and value.casefold() in cmap:
            return cmap[value.casefold()]
    guess = UTM_MEDIUM_CHANNELS.get(medium.casefold().replace(" ", "_"))
    if guess and (guess in keys or not keys):
        return guess
    if medium or src:
        return medium or src
    if utm.get("utm_campaign"):
        return "(unknown)"
    return cmap.get(NO_UTM_CHANNEL, NO_UTM_CHANNEL)


def form_lead_id(email: str) -> str:
    """The id of a lead a form creates: stable per e-mail (case-insensitive)."""
    return "form_" + hashlib.sha1(email.strip().casefold().encode("utf-8")).hexdigest()[:20]


def submission_key(form: Mapping[str, Any], at: dt.datetime) -> str:
    """The idempotency key of a submission without ``submission_id``: a hash of its fields and
    the minute it was received (a double click is one submission; the same form filled again a
    minute later is another)."""
    payload = {k: str(v) for k, v in form.items() if v not in (None, "")}
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False) + at.strftime("%Y-%m-%dT%H:%M")
    return "h" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _lead_of_email(store: Store, email: str) -> str | None:
    """The lead whose latest row carrying this e-mail (ignoring case) is the latest of all."""
    t = store.table("leads")
    hits = (
        t.filter(t.email.lower() == email.casefold())
        .order_by([t.batch_no.desc(), t.row_no.desc()])
        .select("lead_id")
        .limit(1)
    )
    found = store.execute(hits)
    return None if found.empty else str(found["lead_id"].iloc[0])


def ingest_form(
    store: Store,
    cfg: ProjectConfig,
    form: Mapping[str, Any],
    *,
    project_dir: Path | None = None,
    now: dt.datetime | None = None,
) -> FormResult:
    """A website form submission: ``email`` (required), optional lead fields (name, company,
    title, country, owner and the configured attributes), ``page`` (the page URL), the UTM
    parameters, ``submission_id`` and ``submitted_at``. Creates the lead when the e-mail is new,
    else sends the given fields as a partial update of the known lead (the ledger's lead rows
    are merged field by field); records a touch of the first inquiry kind (``costs.inquiry_kinds``,
    default ``form``) with the channel from the UTM parameters and ``utm_campaign`` as campaign.
    Idempotent by ``submission_id`` (else by :func:`submission_key`): a submission sent again is
    a duplicate and changes nothing."""
    form = {str(k): v for k, v in form.items()}
    email = str(form.get("email") or "").strip()
    if not EMAIL_RE.match(email):
        raise InvalidArgument(
            f"email: '{email}' is not an e-mail address" if email else "email is required",
            hint="a form submission needs the visitor's e-mail address",
        )
    received = now or dt.datetime.now(dt.UTC)
    sid = str(form.get("submission_id") or "").strip() or submission_key(form, received)
    at = form.get("submitted_at") or received.isoformat()
    utm = {k: form.get(k) or None for k in UTM}
    channel = utm_channel(cfg, utm)
    campaign = utm["utm_campaign"]
    page = form.get("page") or form.get("page_url") or None
    lead_id = _lead_of_email(store, email)
    new = lead_id is None
    lead_id = lead_id or form_lead_id(email)
    attrs = {
        k: form[k] for k in (*FORM_LEAD_FIELDS, *cfg.attributes) if form.get(k) not in (None, "")
    }
    # other fields go to the lead's properties (never a field the hook sets itself)
    extras = {
        k: v
        for k, v in form.items()
        if k not in NOT_PROPERTIES and not k.startswith("_") and v not in (None, "")
    }
    lead: dict[str, Any] = {
        **extras,
        "event_id": f"form:{sid}:lead",
        "type": "lead",
        "lead_id": lead_id,
        "email": email,
        **attrs,
    }
    if new:
        lead.update(
            created_at=at,
            channel=channel,
            campaign=campaign,
            landing_page=page,
            source_system="form",
        )
    touch_kind = cfg.costs.inquiry_kinds[0] if cfg.costs.inquiry_kinds else "form"
    touch_id = f"form_{sid}"
    touch = {
        "event_id": f"form:{sid}:touch",
        "type": "touch",
        "touch_id": touch_id,
        "lead_id": lead_id,
        "at": at,
        "channel": channel,
        "campaign": campaign,
        "kind": touch_kind,
        "page": page,
        **{k: v for k, v in utm.items() if v and k != "utm_campaign"},
    }
    result = ingest_events(
        store, cfg, [lead, touch], project_dir=project_dir, source="POST /api/v1/hooks/form"
    )
    if result.rejected:
        first = result.rejections[0]
        raise InvalidArgument(
            f"{first['field']}: '{first['value']}' is not valid: {first['expected']}",
            hint="fix the form field and submit again",
        )
    duplicate = result.duplicate == 2 and all(
        d["reason"].startswith("event_id") for d in result.duplicates
    )
    lead_status = "created" if new else "updated"
    if any(d["index"] == 0 for d in result.duplicates):
        lead_status = "unchanged" if not new else lead_status
    return FormResult(
        lead_id=lead_id,
        lead=lead_status,
        touch_id=touch_id,
        channel=channel,
        campaign=campaign,
        duplicate=duplicate,
        submission_id=sid,
        batch_no=result.batch_no,
        events=result,
    )
