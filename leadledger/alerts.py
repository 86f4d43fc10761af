"""Delivering alerts to a webhook: Slack-compatible JSON, a timeout, retries, and a record of
what was sent so nothing is sent twice.

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

import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from leadledger import __version__
from leadledger.errors import WebhookFailed
from leadledger.report import plain

if TYPE_CHECKING:
    from leadledger.ledger.store import Store

#: Alerts per message: a header plus one section each stays under Slack's 50 blocks.
PER_MESSAGE = 40
#: Longest wait between two tries, whatever Retry-After says (seconds).
MAX_WAIT = 60.0
KIND_TITLES = {"sla_breach": "SLA breach", "pacing": "pacing shortfall"}
KIND_PLURALS = {"sla_breach": "SLA breaches", "pacing": "pacing shortfalls"}


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
                json.dumps({k: plain(v) for k, v in a.items()}, ensure_ascii=False) for a in alerts
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
