"""Anomalies that are data are imported, never rejected or "fixed", and listed by check()."""

from __future__ import annotations

from tests.conftest import write_csv


def findings(ws) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for row in ws.report("check").as_dict()["rows"]:
        out.setdefault(row["check"], set()).add(row["id"])
    return out


def test_anomalies_are_imported_and_reported(make_project, tmp_path):
    ws = make_project()
    leads = write_csv(
        tmp_path / "leads.csv",
        [
            {
                "lead_id": "A1",
                "created_at": "2024-03-10 09:00",
                "email": "ana@example.com",
                "channel": "seo",
            },
            {
                "lead_id": "A2",
                "created_at": "2024-03-01 09:00",
                "email": " Ana@Example.com ",
                "channel": "seo",
            },  # the same person twice
            {
                "lead_id": "B1",
                "created_at": "2024-03-01 09:00",
                "email": "bo@example.com",
                "channel": "sem",
            },
            {
                "lead_id": "C1",
                "created_at": "2024-03-15 09:00",
                "email": "cy@example.com",
                "channel": "seo",
            },
        ],
    )
    stages = write_csv(
        tmp_path / "stages.csv",
        [
            {"lead_id": "A1", "stage": "mql", "entered_at": "2024-03-05 09:00"},  # before created
            {"lead_id": "B1", "stage": "sql", "entered_at": "2024-03-02 09:00"},
            {"lead_id": "B1", "stage": "mql", "entered_at": "2024-03-04 09:00"},  # backwards
        ],
    )
    deals = write_csv(
        tmp_path / "deals.csv",
        [
            {
                "deal_id": "D1",
                "lead_id": "C1",
                "created_at": "2024-03-01",
                "status": "won",
                "closed_at": "2024-03-10",
                "amount": "5000",
            },  # won before the lead's first contact
        ],
    )
    for kind, f in [("leads", leads), ("stages", stages), ("deals", deals)]:
        r = ws.import_files(kind, [f])
        assert (r.rejected, r.accepted) == (0, r.read), (kind, r.sample_rejections)
    found = findings(ws)
    assert found["stage_before_created"] == {"A1"}
    assert found["stage_backwards"] == {"B1"}
    assert found["deal_won_before_first_contact"] == {"D1"}
    assert found["duplicate_identity"] == {"A1", "A2"}
    # nothing was "fixed": the events are stored as they came
    ev = ws.store.execute(ws.store.table("stage_events"))
    assert len(ev) == 3


def test_checks_see_the_merged_lead(make_project, tmp_path):
    """A later partial update that adds an e-mail makes a duplicate identity visible."""
    ws = make_project()
    ws.import_files(
        "leads",
        [
            write_csv(
                tmp_path / "a.csv",
                [
                    {"lead_id": "L1", "created_at": "2024-03-01", "email": "x@example.com"},
                    {"lead_id": "L2", "created_at": "2024-03-02"},
                ],
            )
        ],
    )
    assert "duplicate_identity" not in findings(ws)
    ws.import_files(
        "leads",
        [
            write_csv(
                tmp_path / "b.csv",
                [
                    {"lead_id": "L2", "email": "X@example.com"},
                ],
            )
        ],
    )
    assert findings(ws)["duplicate_identity"] == {"L1", "L2"}
