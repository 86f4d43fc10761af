"""The data version: one committed write to the ledger raises it once; nothing else does."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from leadledger.service import Workspace
from tests.conftest import write_csv
from tests.web.test_ingest import mixed_batch


def test_one_transaction_one_version_and_other_processes_see_it(engine, make_project):
    ws = make_project(engine)
    assert ws.store.data_version() == 0
    ws.ingest_events(mixed_batch())  # several tables appended in one transaction
    assert ws.store.data_version() == 1
    again = ws.ingest_events(mixed_batch())  # duplicates and rejects: nothing accepted
    assert again.accepted == 0 and again.batch_no is not None  # the imports table records it
    assert ws.store.data_version() == 1
    # a second connection (another process on PostgreSQL) reads the same version
    if not engine.startswith("duckdb"):
        other = Workspace(ws.project_dir)
        try:
            assert other.store.data_version() == 1
            other.ingest_events(
                [{"event_id": "x1", "type": "lead", "lead_id": "X1", "created_at": "2025-02-01"}]
            )
            assert ws.store.data_version() == 2
        finally:
            other.close()


def test_a_reimport_that_accepts_nothing_leaves_it_alone(engine, make_project, tmp_path: Path):
    """Issue 19: importing the same file again writes its ``imports`` row (and quarantines its
    bad rows again) but changes no number, so no cached report is thrown away."""
    ws = make_project(engine)
    leads = write_csv(
        tmp_path / "leads.csv",
        [
            {"lead_id": "A", "created_at": "2025-01-07 10:00"},
            {"lead_id": "B", "created_at": "not a date"},
        ],
    )
    first = ws.import_files("leads", [leads])
    assert (first.accepted, first.rejected) == (1, 1)
    assert ws.store.data_version() == 1
    again = ws.import_files("leads", [leads])
    assert (again.accepted, again.rejected, again.skipped) == (0, 1, 1)
    assert again.batch_no == first.batch_no + 1 and again.quarantine_path is not None
    assert ws.store.data_version() == 1
    rejected_only = write_csv(tmp_path / "bad.csv", [{"lead_id": "C", "created_at": "soon"}])
    assert ws.import_files("leads", [rejected_only]).accepted == 0
    assert ws.store.data_version() == 1
    imports = ws.store.execute(ws.store.table("imports"))
    assert sorted(imports["accepted"]) == [0, 0, 1]


def test_tokens_and_rolled_back_writes_leave_it_alone(engine, make_project):
    ws = make_project(engine)
    _, secret = ws.token_create("read", name="t")
    ws.token_verify(secret, "read")
    ws.token_revoke(ws.token_list().frame["token_id"].iloc[0])
    assert ws.store.data_version() == 0
    rows = pd.DataFrame(
        {
            "experiment": ["x"],
            "lead_id": ["L1"],
            "group": ["test"],
            "batch_no": [1],
            "imported_at": [pd.Timestamp("2025-01-01", tz="UTC")],
        }
    )
    with pytest.raises(RuntimeError), ws.store.transaction():
        ws.store.append("experiment_groups", rows)
        raise RuntimeError("abort")
    assert ws.store.data_version() == 0
    assert ws.store.execute(ws.store.table("experiment_groups").count()) == 0
    ws.store.append("experiment_groups", rows)  # outside a transaction: at once
    assert ws.store.data_version() == 1


def test_scoring_run_raises_it(make_project):
    ws = make_project()  # the default config scores leads
    ws.ingest_events(mixed_batch())
    v = ws.store.data_version()
    ws.report("score")
    assert ws.store.data_version() == v + 1
