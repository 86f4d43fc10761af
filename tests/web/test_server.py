"""The server's own rules: tokens (hashed, scoped, revocable), --no-auth only on loopback, a
DuckDB project held by a server named in a clear error, typed 4xx errors."""

from __future__ import annotations

import hashlib
import json
import os

import duckdb
import pytest

from leadledger.errors import Forbidden, InvalidArgument, Unauthorized
from leadledger.ledger.store import SERVER_FILE
from leadledger.service import Workspace
from leadledger.web.server import check_bind, is_loopback


def test_tokens_are_hashed_scoped_and_revocable(demo_copy):
    with Workspace(demo_copy) as ws:
        row, secret = ws.token_create("write", "site")
        assert secret.startswith(f"ll_{row['token_id']}_")
        stored = ws.store.execute(ws.store.table("api_tokens"))
        assert secret not in stored.to_csv()  # never the secret itself
        assert stored.hash.tolist() == [hashlib.sha256(secret.encode()).hexdigest()]
        assert ws.token_verify(secret, "read")["scope"] == "write"  # write includes read
        with pytest.raises(Forbidden):
            ws.token_verify(secret, "admin")
        with pytest.raises(Unauthorized):
            ws.token_verify(secret + "x", "read")
        with pytest.raises(Unauthorized):
            ws.token_verify(None, "read")
        listed = ws.token_list().frame
        assert listed.columns.tolist() == [
            "token_id",
            "name",
            "scope",
            "created_at",
            "revoked_at",
            "active",
        ]
        assert bool(listed.active.iloc[0])
        ws.token_revoke("site")
        with pytest.raises(Unauthorized, match="revoked"):
            ws.token_verify(secret, "read")
        assert not bool(ws.token_list().frame.active.iloc[0])
        with pytest.raises(InvalidArgument):
            ws.token_create("owner")


def test_no_auth_only_on_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    check_bind("127.0.0.1", auth=False)
    check_bind("0.0.0.0", auth=True)
    with pytest.raises(InvalidArgument, match="only a loopback"):
        check_bind("0.0.0.0", auth=False)


def test_a_project_held_by_a_server_is_named(demo_copy):
    holder = duckdb.connect(str(demo_copy / "leadledger.duckdb"))
    try:
        (demo_copy / SERVER_FILE).write_text(
            json.dumps({"pid": os.getpid(), "url": "http://127.0.0.1:8123"})
        )
        # this process holds it, so open it from another one, as a CLI command would
        import subprocess
        import sys

        code = (
            "import sys; from leadledger.cli.main import main; "
            f"sys.exit(main(['report', 'stages', '--project', {str(demo_copy)!r}]))"
        )
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert res.returncode != 0
        assert "store_locked" in res.stderr and "http://127.0.0.1:8123" in res.stderr
        assert "Traceback" not in res.stderr
    finally:
        holder.close()
