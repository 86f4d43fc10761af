"""The data version: one committed write to the ledger raises it once; nothing else does."""

from __future__ import annotations

import pandas as pd
import pytest

from leadledger.service import Workspace
from tests.web.test_ingest import mixed_batch


def test_one_transaction_one_version_and_other_processes_see_it(engine, make_project):
    ws = make_project(engine)
    assert ws.store.data_version() == 0
    ws.ingest_events(mixed_batch())  # several tables appended in one transaction
    assert ws.store.data_version() == 1
    ws.ingest_events(mixed_batch())  # only duplicates: the imports table still records the post
    assert ws.store.data_version() == 2
    # a second connection (another process on PostgreSQL) reads the same version
    if not engine.startswith("duckdb"):
        other = Workspace(ws.project_dir)
        try:
            assert other.store.data_version() == 2
            other.ingest_events(
                [{"event_id": "x1", "type": "lead", "lead_id": "X1", "created_at": "2025-02-01"}]
            )
            assert ws.store.data_version() == 3
        finally:
            other.close()


def test_tokens_and_rolled_back_writes_leave_it_alone(engine, make_project):
    ws = make_project(engine)
    _, secret = ws.token_create("read", name="t")
    ws.token_verify(secret, "read")
    ws.token_revoke(ws.token_list().frame["token_id"].iloc[0])
    assert ws.store.data_version() == 0
    rows = pd.DataFrame(
        {
            "event_id": ["z"],
            "kind": ["lead"],
            "batch_no": [1],
            "received_at": [pd.Timestamp("2025-01-01", tz="UTC")],
        }
    )
    with pytest.raises(RuntimeError), ws.store.transaction():
        ws.store.append("ingested_events", rows)
        raise RuntimeError("abort")
    assert ws.store.data_version() == 0
    assert ws.store.execute(ws.store.table("ingested_events").count()) == 0
    ws.store.append("ingested_events", rows)  # outside a transaction: at once
    assert ws.store.data_version() == 1


def test_scoring_run_raises_it(make_project):
    ws = make_project()  # the default config scores leads
    ws.ingest_events(mixed_batch())
    v = ws.store.data_version()
    ws.score()
    assert ws.store.data_version() == v + 1
