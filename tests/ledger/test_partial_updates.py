"""Leads are partial updates: the current lead is a field-wise merge of its rows."""

from __future__ import annotations

import pandas as pd
import pytest

from leadledger.ledger.derived import current_leads
from tests.conftest import write_csv


def leads_now(ws) -> dict[str, dict]:
    frame = ws.store.execute(current_leads(ws.store.tables()))
    frame = frame.astype(object).where(frame.notna(), None)
    return {r["lead_id"]: r for r in frame.to_dict(orient="records")}


def count(ws, table: str) -> int:
    return int(ws.store.execute(ws.store.table(table).count()))


def test_second_file_adds_attributes_field_by_field(make_project, engine, tmp_path):
    ws = make_project(engine)
    first = write_csv(
        tmp_path / "mqls.csv",
        [
            {
                "lead_id": "L1",
                "created_at": "2024-03-04 09:00",
                "email": "a@example.com",
                "channel": "seo",
            },
            {
                "lead_id": "L2",
                "created_at": "2024-03-05 10:00",
                "email": "b@example.com",
                "channel": "PAID_SEARCH",
            },
        ],
    )
    r = ws.import_files("leads", [first])
    assert (r.accepted, r.rejected) == (2, 0)
    # the closed-deals file knows only some leads and adds segment/persona
    second = write_csv(
        tmp_path / "deals.csv",
        [
            {"lead_id": "L1", "segment": "health_beauty", "persona": "cat"},
        ],
    )
    r = ws.import_files("leads", [second])
    assert (r.read, r.accepted, r.rejected, r.skipped) == (1, 1, 0, 0)
    now = leads_now(ws)
    assert now["L1"]["email"] == "a@example.com"  # kept: the update had no e-mail
    assert now["L1"]["channel"] == "organic_search"
    assert now["L1"]["segment"] == "health_beauty"
    assert now["L1"]["persona"] == "cat"
    assert pd.Timestamp(now["L1"]["created_at"]) == pd.Timestamp("2024-03-04 08:00", tz="UTC")
    assert now["L1"]["batch_no"] == 2  # bookkeeping of the latest row
    assert now["L2"]["segment"] is None
    # a later non-null value wins; a later null changes nothing
    third = write_csv(
        tmp_path / "fix.csv",
        [
            {"lead_id": "L1", "email": "a.new@example.com", "segment": ""},
        ],
    )
    r = ws.import_files("leads", [third])
    assert r.accepted == 1
    now = leads_now(ws)
    assert now["L1"]["email"] == "a.new@example.com"
    assert now["L1"]["segment"] == "health_beauty"
    assert len(now) == 2


def test_created_at_required_only_for_a_new_lead(make_project, tmp_path):
    ws = make_project()
    write_csv(tmp_path / "a.csv", [{"lead_id": "L1", "created_at": "2024-03-04"}])
    ws.import_files("leads", [tmp_path / "a.csv"])
    rows = [
        {"lead_id": "L1", "segment": "smb"},  # known in the ledger: an update
        {"lead_id": "N2", "segment": "smb"},  # unknown, and nothing creates it: rejected
        {"lead_id": "N1", "persona": "ops"},  # created by another row of the import: an update
        {"lead_id": "N1", "created_at": "2024-03-06", "segment": "mid"},  # creates N1
    ]
    f = write_csv(tmp_path / "b.csv", rows, ["lead_id", "created_at", "segment", "persona"])
    r = ws.import_files("leads", [f])
    assert (r.read, r.accepted, r.rejected, r.skipped) == (4, 3, 1, 0)
    (rej,) = r.sample_rejections
    assert rej["row"] == 3 and rej["column"] == "created_at" and rej["value"] == ""
    assert rej["expected"] == "created_at (required for a new lead)"
    q = pd.read_csv(r.quarantine_path, dtype=str)
    assert q.loc[0, "_expected"] == "created_at (required for a new lead)"
    now = leads_now(ws)
    assert now["L1"]["segment"] == "smb"
    assert (now["N1"]["segment"], now["N1"]["persona"]) == ("mid", "ops")
    assert pd.Timestamp(now["N1"]["created_at"]) == pd.Timestamp("2024-03-05 23:00", tz="UTC")
    assert "N2" not in now
    # the same file again: the rejected row is rejected again, the rest are repeats
    r = ws.import_files("leads", [f])
    assert (r.accepted, r.rejected, r.skipped) == (0, 1, 3)


@pytest.mark.parametrize("order", ["creation first", "update first"])
def test_a_lead_created_by_another_file_of_the_same_import(make_project, tmp_path, order):
    ws = make_project()
    a = write_csv(
        tmp_path / "a.csv", [{"lead_id": "L1", "created_at": "2024-03-04", "segment": "mid"}]
    )
    b = write_csv(
        tmp_path / "b.csv",
        [{"lead_id": "L1", "segment": "smb"}, {"lead_id": "L2", "segment": "smb"}],
    )
    files = [a, b] if order == "creation first" else [b, a]
    r = ws.import_files("leads", files)
    assert (r.accepted, r.rejected) == (2, 1)
    assert r.files[files.index(b)].rejections_by_column == {"created_at": 1}
    # field-wise merge by row order: the later file's value wins
    assert leads_now(ws)["L1"]["segment"] == ("smb" if order == "creation first" else "mid")


def test_reimports_are_skipped_row_ids_stable(make_project, engine, tmp_path):
    ws = make_project(engine)
    f = write_csv(
        tmp_path / "a.csv",
        [
            {"lead_id": "L1", "created_at": "2024-03-04 09:00", "email": "a@example.com"},
            {"lead_id": "L1", "email": "b@example.com"},  # two versions in one file
            {"lead_id": "L2", "created_at": "2024-03-05 09:00", "email": "c@example.com"},
        ],
    )
    r = ws.import_files("leads", [f])
    assert (r.accepted, r.skipped) == (3, 0)
    before = count(ws, "leads")
    ids = set(ws.store.execute(ws.store.table("leads").row_id))
    r = ws.import_files("leads", [f])  # the same file again changes nothing
    assert (r.read, r.accepted, r.rejected, r.skipped) == (3, 0, 0, 3)
    assert count(ws, "leads") == before
    assert leads_now(ws)["L1"]["email"] == "b@example.com"
    # an update that repeats known values is a new version, harmless to the merge
    g = write_csv(
        tmp_path / "b.csv",
        [
            {"lead_id": "L1", "email": "b@example.com", "country": "ES"},
        ],
    )
    r = ws.import_files("leads", [g])
    assert (r.accepted, r.skipped) == (1, 0)
    now = leads_now(ws)
    assert (now["L1"]["email"], now["L1"]["country"]) == ("b@example.com", "ES")
    # row ids are stable: the first import's ids are all still there, unchanged
    assert ids <= set(ws.store.execute(ws.store.table("leads").row_id))


def test_a_row_that_repeats_an_older_version_is_a_repeat(make_project, tmp_path):
    """Identical content is the same fact: re-sending an older snapshot does not revert the
    lead (a real export differs in its modified-date column, so it is a new row)."""
    ws = make_project()
    a = write_csv(
        tmp_path / "a.csv", [{"lead_id": "L1", "created_at": "2024-03-04", "owner": "ana"}]
    )
    b = write_csv(
        tmp_path / "b.csv", [{"lead_id": "L1", "created_at": "2024-03-04", "owner": "bo"}]
    )
    ws.import_files("leads", [a])
    ws.import_files("leads", [b])
    r = ws.import_files("leads", [a])
    assert (r.accepted, r.skipped) == (0, 1)
    assert leads_now(ws)["L1"]["owner"] == "bo"


def test_current_leads_compiles_for_postgres_with_array_agg():
    import ibis

    from leadledger.config.models import ProjectConfig
    from leadledger.ledger.schema import kinds

    t = ibis.table(kinds(ProjectConfig())["leads"].schema(), name="leads")
    sql = ibis.to_sql(current_leads({"leads": t}), dialect="postgres")
    assert "ARRAY_AGG" in sql and "FILTER" in sql
    assert "FIRST(" not in sql.upper().replace("FIRST_VALUE", "")


@pytest.mark.parametrize("rows", [1, 3])
def test_single_and_multi_row_leads_have_the_same_columns(make_project, tmp_path, rows):
    ws = make_project()
    data = [
        {"lead_id": "L1", "created_at": "2024-03-04", "email": f"v{i}@example.com"}
        for i in range(rows)
    ]
    ws.import_files("leads", [write_csv(tmp_path / "a.csv", data)])
    cur = current_leads(ws.store.tables())
    assert cur.columns == tuple(ws.store.table("leads").columns)
    assert leads_now(ws)["L1"]["email"] == f"v{rows - 1}@example.com"
