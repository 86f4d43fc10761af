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


@pytest.mark.postgres
def test_postgres_two_servers_and_a_cli_at_once(postgres_server, make_project):
    """Two servers ingest into one PostgreSQL database at the same time, some events sent to
    both, while a CLI reads: every event is stored once, and both servers and the CLI report
    the same numbers afterwards."""
    import threading

    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from leadledger.cli.main import app as cli
    from leadledger.web.app import create_app
    from tests.conftest import config_text

    url = postgres_server.create_database("two_servers")
    ws = make_project(url, text=config_text(url))
    other = Workspace(ws.project_dir)

    def events(prefix: str) -> list[list[dict]]:
        own = [f"{prefix}-{i}" for i in range(600)]
        shared = [f"s-{i}" for i in range(60)]  # both servers receive these
        ids = own + shared
        return [
            [
                {"event_id": e, "type": "lead", "lead_id": e, "created_at": "2025-01-10 09:00"}
                for e in ids[k : k + 110]
            ]
            for k in range(0, len(ids), 110)
        ]

    answers: dict[str, list[dict]] = {"a": [], "b": []}
    errors: list[BaseException] = []
    try:
        with (
            TestClient(create_app(ws.project_dir, auth=False, ws=ws)) as a,
            TestClient(create_app(ws.project_dir, auth=False, ws=other)) as b,
        ):

            def post(name: str, client: TestClient) -> None:
                try:
                    for batch in events(name):
                        r = client.post("/api/v1/events", json={"events": batch})
                        assert r.status_code == 200, r.text
                        answers[name].append(r.json())
                except BaseException as exc:  # reported below
                    errors.append(exc)

            threads = [
                threading.Thread(target=post, args=("a", a)),
                threading.Thread(target=post, args=("b", b)),
            ]
            for t in threads:
                t.start()
            runner = CliRunner()
            while any(t.is_alive() for t in threads):  # a CLI reading meanwhile
                res = runner.invoke(
                    cli, ["report", "stages", "--project", str(ws.project_dir), "--format", "json"]
                )
                assert res.exit_code == 0, res.output
            for t in threads:
                t.join()
            assert not errors, errors
            accepted = sum(r["accepted"] for n in answers for r in answers[n])
            dups = sum(r["duplicate"] for n in answers for r in answers[n])
            assert (accepted, dups) == (1260, 60)  # 600 + 600 own, 60 shared stored once
            assert ws.store.execute(ws.store.table("leads").count()) == 1260
            assert ws.store.execute(ws.store.table("ingested_events").count()) == 1260
            q = {"from": "2025-01-01", "to": "2025-01-31", "period": "month"}
            ra = a.get("/api/v1/reports/stages", params=q).json()
            rb = b.get("/api/v1/reports/stages", params=q).json()
            res = CliRunner().invoke(
                cli,
                [
                    "report",
                    "stages",
                    "--project",
                    str(ws.project_dir),
                    "--format",
                    "json",
                    "--from",
                    q["from"],
                    "--to",
                    q["to"],
                ],
            )
            assert res.exit_code == 0, res.output
            assert ra == rb == json.loads(res.output)
            lead = next(r for r in ra["rows"] if r["stage"] == "lead")
            assert lead["entered"] == 1260
    finally:
        other.close()
