"""Opening a project reads the engine's catalog once: the tables it lacks are created, and a
lead attribute added to leadledger.yaml becomes a column of the existing ``leads`` table, its
rows kept."""

from __future__ import annotations

from leadledger.service import Workspace
from tests.conftest import config_text, load_journeys


def test_a_new_attribute_is_a_new_column_and_the_rows_stay(make_project, engine):
    ws = make_project(engine)
    load_journeys(ws, {"L1": {"created": "2025-01-06 09:00", "persona": "cmo"}})
    assert "industry" not in ws.store.columns("leads")
    folder = ws.project_dir
    ws.close()

    (folder / "leadledger.yaml").write_text(
        config_text(
            engine, **{"attributes: [persona, segment]": "attributes: [persona, segment, industry]"}
        ),
        encoding="utf-8",
    )
    with Workspace(folder) as again:
        cols = again.store.columns("leads")
        assert "industry" in cols and "persona" in cols
        leads = again.store.execute(again.store.table("leads"))
        assert list(leads["lead_id"]) == ["L1"]
        assert leads["persona"].tolist() == ["cmo"]
        assert leads["industry"].isna().all()
        # every table of the ledger is there, once
        catalog = again.store._catalog()
        for kind in again.store.kinds.values():
            assert kind.table in catalog
