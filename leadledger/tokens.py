"""API tokens: created with a scope, shown once, stored as a SHA-256 hash, revocable.

A token reads ``ll_<token_id>_<secret>``; the id lets ``token list`` and ``token revoke`` name a
token without its secret. Scopes are ordered: ``read`` < ``write`` < ``admin`` (a write token may
read, an admin token may do anything). Nothing here knows about HTTP: the web layer asks
:func:`verify` and turns its typed errors into 401/403.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING, Any

import pandas as pd

from leadledger.errors import Forbidden, InvalidArgument, TokenNotFound, Unauthorized
from leadledger.suggest import did_you_mean

if TYPE_CHECKING:
    from leadledger.ledger.store import Store

SCOPES = ("read", "write", "admin")
PREFIX = "ll_"
LIST_COLUMNS = ["token_id", "name", "scope", "created_at", "revoked_at", "active"]


def check_scope(scope: str) -> str:
    if scope not in SCOPES:
        raise InvalidArgument(
            f"scope '{scope}' is not one of {', '.join(SCOPES)}",
            hint=did_you_mean(scope, SCOPES) or "read: reports; write: ingestion; admin: tokens",
        )
    return scope


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _now() -> pd.Timestamp:
    return pd.Timestamp(dt.datetime.now(dt.UTC))


def create(store: Store, scope: str, name: str | None = None) -> tuple[dict[str, Any], str]:
    """A new token: its listing row and the secret (the only time it is known)."""
    check_scope(scope)
    token_id = secrets.token_hex(4)
    secret = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    row = {
        "token_id": token_id,
        "name": name or f"token-{token_id}",
        "scope": scope,
        "hash": _hash(secret),
        "created_at": _now(),
        "revoked_at": pd.NaT,
    }
    with store.transaction():
        store.append("api_tokens", pd.DataFrame([row]))
    listed = {k: v for k, v in row.items() if k != "hash"}
    listed["active"] = True
    return listed, secret


def listing(store: Store) -> pd.DataFrame:
    """Every token, newest first, without hashes."""
    t = store.table("api_tokens")
    frame: pd.DataFrame = store.execute(t.order_by(t.created_at.desc()))
    frame = frame.assign(active=frame.revoked_at.isna())
    return frame[LIST_COLUMNS].reset_index(drop=True)


def revoke(store: Store, token: str) -> dict[str, Any]:
    """Revoke a token by id or name (an unambiguous name); revoking twice is harmless."""
    frame = listing(store)
    hit = frame[(frame.token_id == token) | (frame.name == token)]
    if hit.empty:
        raise TokenNotFound(
            f"no token with id or name '{token}'",
            hint=did_you_mean(token, [*frame.token_id, *frame.name])
            or "see 'leadledger token list'",
        )
    if len(hit) > 1:
        raise InvalidArgument(
            f"{len(hit)} tokens are named '{token}'", hint="revoke by id (leadledger token list)"
        )
    token_id = str(hit.token_id.iloc[0])
    if hit.active.iloc[0]:
        with store.transaction():
            store.update_where(
                "api_tokens",
                {"revoked_at": dt.datetime.now(dt.UTC)},
                column="token_id",
                value=token_id,
            )
    after = listing(store)
    row = after[after.token_id == token_id].iloc[0]
    return {str(k): row[k] for k in after.columns}


def verify(store: Store, secret: str | None, needed: str) -> dict[str, Any]:
    """The token's row when ``secret`` is an active token of scope ≥ ``needed``; else
    ``Unauthorized`` (missing, unknown or revoked) or ``Forbidden`` (scope too low)."""
    check_scope(needed)
    if not secret:
        raise Unauthorized(
            "this call needs an API token",
            hint="send 'Authorization: Bearer TOKEN' (create one: leadledger token create)",
        )
    t = store.table("api_tokens")
    digest = _hash(secret.strip())
    rows = store.execute(t.filter(t.hash == digest))
    if rows.empty or not hmac.compare_digest(str(rows.hash.iloc[0]), digest):
        raise Unauthorized("the API token is not valid", hint="check it, or create a new one")
    row = rows.iloc[0]
    if not pd.isna(row.revoked_at):
        raise Unauthorized(f"the API token '{row['name']}' was revoked", hint="create a new one")
    if SCOPES.index(str(row.scope)) < SCOPES.index(needed):
        raise Forbidden(
            f"the token '{row['name']}' has scope '{row.scope}'; this call needs '{needed}'",
            hint=f"create a token with --scope {needed}",
        )
    return {k: row[k] for k in ("token_id", "name", "scope")}
