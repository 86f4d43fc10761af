"""Alerts (seed 003): the open SLA breaches and the pacing shortfalls of a project, and their
delivery to a webhook: Slack-compatible JSON, a timeout, retries, and a record of what was sent
so nothing is sent twice.

An alert is a row of ``ALERT_COLUMNS`` with a stable ``alert_key``: an SLA breach by SLA, lead
and clock start (``sla_alerts``); a pacing shortfall by goal, stage and period
(``pacing_alerts``). ``sent_keys`` says which were delivered before (to a target: a webhook's
hash, ``target_id``, never its URL).

Delivery:

- The message is Slack's incoming-webhook format, ``{"text": summary, "blocks": [...]}``: a
  header, then one section per alert (at most ``PER_MESSAGE`` alerts a message, within Slack's
  50 blocks; more alerts go in further messages). Any receiver that takes JSON can read it.
- Each POST has a timeout. Server errors (5xx), 429 (honouring a numeric ``Retry-After``, up to
  a minute) and connection failures or timeouts are retried with exponential backoff; any other
  4xx is final. After the last try: :class:`~leadledger.errors.WebhookFailed`.
- An alert's key goes into ``alerts_sent`` only after the receiver answered 2xx, message by
  message, in a transaction: a failed message is neither recorded nor lost (the next run sends
  it), a delivered one is never sent again. A request that timed out may still have arrived, so
  a retry can repeat a message; that is the only duplicate possible.

Standard library only (``urllib``): no HTTP client to install.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import json
import math
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from leadledger import __version__
from leadledger.config.goals import find_goal
from leadledger.config.models import ProjectConfig
from leadledger.errors import WebhookFailed
from leadledger.formatting import quantity
from leadledger.ledger.derived import Tables
from leadledger.planning.pace import check_day_in_goal, goal_pace
from leadledger.planning.sla import all_clocks, due_at, has_activity_data
from leadledger.workdays import WorkCalendar

if TYPE_CHECKING:
    from leadledger.ledger.store import Store

#: Runs an expression on the project's engine and answers its rows (``Ctx.execute``).
Run = Callable[[ir.Expr], Any]
#: Lead fields every SLA breach is listed with.
WHO = ("owner", "channel")
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

#: Alerts per message: a header plus one section each stays under Slack's 50 blocks.
PER_MESSAGE = 40
#: Longest wait between two tries, whatever Retry-After says (seconds).
MAX_WAIT = 60.0
KIND_TITLES = {"sla_breach": "SLA breach", "pacing": "pacing shortfall"}
KIND_PLURALS = {"sla_breach": "SLA breaches", "pacing": "pacing shortfalls"}


# -- the alerts -----------------------------------------------------------------------------------
def target_id(webhook: str) -> str:
    """How a webhook is recorded in ``alerts_sent``: a hash, never the URL (Slack webhook URLs
    are secrets)."""
    return "webhook:" + hashlib.sha256(webhook.encode("utf-8")).hexdigest()[:16]


def redact(webhook: str) -> str:
    """The webhook as shown in reports: scheme and host only."""
    parts = urlsplit(webhook)
    return f"{parts.scheme}://{parts.netloc}/…" if parts.netloc else "…"


def sla_alerts(
    tables: Tables, cfg: ProjectConfig, as_of: pd.Timestamp, run: Run
) -> list[dict[str, Any]]:
    """One alert per open SLA breach as of ``as_of`` (every SLA, any start date). A ledger
    without activity data (no activity, no sales touch) raises none for the SLAs that wait for a
    sales touch: every lead would look unanswered."""
    slas = list(cfg.slas)
    if slas and not bool(run(has_activity_data(tables, cfg, as_of))):
        slas = [s for s in slas if s.until != "sales_touch"]
    if not slas:
        return []
    clocks = all_clocks(tables, cfg, slas, as_of=as_of, fields=WHO, run=run)
    df = run(clocks.filter(clocks.status == "open_breached").order_by(["sla", "lead_id"]))
    if df.empty:
        return []
    df["due_at"] = due_at(cfg, df)
    by_name = {s.name: s for s in cfg.slas}
    tz = cfg.timezone
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
                f"is {quantity(float(rec['late_by']), s.unit)} late (limit "
                f"{quantity(s.within, s.unit)} from entering {s.start})",
            }
        )
    return out


def pacing_alerts(
    tables: Tables,
    cfg: ProjectConfig,
    calendar: WorkCalendar,
    as_of: pd.Timestamp,
    goal: str | None,
    run: Run,
) -> list[dict[str, Any]]:
    """One alert per stage behind its goal in the current period (see ``planning.pace``), for
    the named goal or every goal whose period holds the as-of day."""
    if not cfg.goals and goal is None:
        return []
    day = as_of.tz_convert(cfg.timezone).date()
    goals = (
        [find_goal(cfg, goal, day)]
        if goal is not None
        else [g for g in cfg.goals if g.start <= day <= g.end]
    )
    out = []
    for g in goals:
        check_day_in_goal(g, day)
        pace = goal_pace(tables, cfg, calendar, g, day, "month", run)
        name = g.name
        for rec in pace.frame.to_dict(orient="records"):
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


def sent_keys(alerts_sent: ir.Table, target: str | None, run: Run) -> set[str]:
    """Alert keys already delivered (to ``target``, or to any webhook when None), from the
    ledger's ``alerts_sent`` table."""
    t = alerts_sent
    if target is not None:
        t = t.filter(t.target == target)
    return set(run(t.select("alert_key").distinct())["alert_key"])


def _json_value(value: Any) -> Any:
    """An alert's value as JSON holds it: times and dates as ISO text, NaN/NaT as null."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp | dt.datetime):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        f = float(value)
        return None if math.isnan(f) or math.isinf(f) else f
    return value


# -- delivery -------------------------------------------------------------------------------------


def slack_message(alerts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A Slack-compatible message: ``text`` (the summary, shown in notifications) and
    ``blocks`` (a header and one mrkdwn section per alert)."""
    counts: dict[str, int] = {}
    for a in alerts:
        counts[a["kind"]] = counts.get(a["kind"], 0) + 1
    parts = [
        f"{n} {KIND_PLURALS.get(kind, kind) if n > 1 else KIND_TITLES.get(kind, kind)}"
        for kind, n in sorted(counts.items())
    ]
    summary = f"leadledger: {len(alerts)} new alert(s): {', '.join(parts)}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "leadledger alerts"}}
    ]
    for a in alerts:
        title = KIND_TITLES.get(a["kind"], a["kind"])
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*{title}*: {a['message']}"[:2900]},
            }
        )
    return {"text": summary, "blocks": blocks}


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:  # an HTTP date: fall back to the backoff
        return None


def post_json(
    url: str,
    payload: Mapping[str, Any],
    *,
    timeout: float = 10.0,
    retries: int = 3,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """POST ``payload`` as JSON; returns the 2xx status. Up to ``retries`` more tries after a
    5xx, a 429 or a connection failure/timeout, waiting ``backoff × 2^try`` seconds (or the
    429's Retry-After); raises ``WebhookFailed`` on another 4xx or after the last try."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    last = ""
    for attempt in range(retries + 1):
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": f"leadledger/{__version__}",
            },
        )
        wait = backoff * 2**attempt
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
                return int(response.status)
        except urllib.error.HTTPError as exc:
            if exc.code != 429 and exc.code < 500:
                raise WebhookFailed(
                    f"the webhook refused the alerts: HTTP {exc.code} {exc.reason}",
                    hint="check the webhook URL (nothing was marked as sent)",
                ) from exc
            last = f"HTTP {exc.code} {exc.reason}"
            asked = _retry_after(exc.headers)
            wait = asked if asked is not None else wait
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out
            reason = getattr(exc, "reason", None) or exc
            last = f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__
        if attempt < retries:
            sleep(min(wait, MAX_WAIT))
    raise WebhookFailed(
        f"the webhook did not accept the alerts after {retries + 1} attempt(s): {last}",
        hint="nothing was marked as sent; run the command again later (or raise --retries / "
        "--timeout)",
    )


def record_sent(store: Store, alerts: Sequence[Mapping[str, Any]], target: str) -> None:
    """Mark alerts as delivered to ``target``, in one transaction."""
    now = pd.Timestamp.now(tz="UTC")
    frame = pd.DataFrame(
        {
            "alert_key": [a["alert_key"] for a in alerts],
            "kind": [a["kind"] for a in alerts],
            "target": [target] * len(alerts),
            "sent_at": pd.Series([now] * len(alerts), dtype="datetime64[us, UTC]"),
            "payload": [
                json.dumps({k: _json_value(v) for k, v in a.items()}, ensure_ascii=False)
                for a in alerts
            ],
        }
    )
    with store.transaction():
        store.append("alerts_sent", frame)


def send_alerts(
    store: Store,
    alerts: Sequence[Mapping[str, Any]],
    url: str,
    *,
    target: str,
    timeout: float = 10.0,
    retries: int = 3,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> set[str]:
    """Deliver ``alerts`` in messages of ``PER_MESSAGE``; each message's keys are recorded
    right after its 2xx. Returns the keys sent; ``WebhookFailed`` stops at the first message
    that fails (the ones before it stay recorded)."""
    sent: set[str] = set()
    for i in range(0, len(alerts), PER_MESSAGE):
        chunk = alerts[i : i + PER_MESSAGE]
        post_json(
            url,
            slack_message(chunk),
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            sleep=sleep,
        )
        record_sent(store, chunk, target)
        sent.update(a["alert_key"] for a in chunk)
    return sent
