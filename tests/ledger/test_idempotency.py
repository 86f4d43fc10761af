"""Re-imports change nothing; an import is one transaction; the accounting always balances."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadledger.ledger.derived import current_deals
from leadledger.ledger.store import Store
from tests.conftest import write_csv

FIXTURES = Path(__file__).parent / "fixtures"


def counts(ws) -> dict[str, int]:
    names = [*ws.store.tables(), "imports"]
    return {n: int(ws.store.execute(ws.store.table(n).count())) for n in names}


def ledger_counts(ws) -> dict[str, int]:
    c = counts(ws)
    c.pop("imports")
    return c


def one_of_each_kind(folder: Path) -> list[tuple[str, list[Path], str | None]]:
    return [
        ("leads", [FIXTURES / "hubspot-contacts.csv"], "hubspot-contacts"),
        (
            "leads",
            [
                write_csv(
                    folder / "leads.csv",
                    [
                        {"lead_id": "L1", "created_at": "2024-03-04 09:00", "persona": "ops"},
                        {"lead_id": "L1", "segment": "smb"},
                    ],
                )
            ],
            None,
        ),
        (
            "stages",
            [
                write_csv(
                    folder / "stages.csv",
                    [
                        {"lead_id": "L1", "stage": "mql", "entered_at": "2024-03-05 10:00"},
                        {
                            "lead_id": "L1",
                            "stage": "disqualified",
                            "entered_at": "2024-03-06 10:00",
                            "reason": "no_budget",
                        },
                    ],
                )
            ],
            None,
        ),
        (
            "touches",
            [
                write_csv(
                    folder / "touches.csv",
                    [
                        {
                            "lead_id": "L1",
                            "at": "2024-03-01 08:00",
                            "channel": "seo",
                            "kind": "visit",
                        },
                        {"anonymous_id": "a9", "at": "2024-03-01 08:05", "channel": "direct"},
                        {
                            "touch_id": "T7",
                            "lead_id": "L1",
                            "at": "2024-03-02",
                            "channel": "newsletter",
                        },
                    ],
                )
            ],
            None,
        ),
        (
            "deals",
            [
                write_csv(
                    folder / "deals.csv",
                    [
                        {
                            "deal_id": "D1",
                            "lead_id": "L1",
                            "created_at": "2024-03-10",
                            "status": "open",
                            "amount": "900",
                        },
                        {
                            "deal_id": "D1",
                            "lead_id": "L1",
                            "created_at": "2024-03-10",
                            "status": "won",
                            "closed_at": "2024-04-01",
                            "amount": "1000",
                        },
                    ],
                )
            ],
            None,
        ),
        (
            "deal_contacts",
            [
                write_csv(
                    folder / "deal_contacts.csv",
                    [
                        {"deal_id": "D1", "lead_id": "L1", "role": "Buyer", "is_primary": "no"},
                        {"deal_id": "D1", "lead_id": "L1", "is_primary": "yes"},
                    ],
                )
            ],
            None,
        ),
        (
            "activities",
            [
                write_csv(
                    folder / "activities.csv",
                    [
                        {
                            "activity_id": "A1",
                            "lead_id": "L1",
                            "at": "2024-03-05 11:00",
                            "kind": "call",
                            "outcome": "connected",
                        },
                        {
                            "activity_id": "A2",
                            "account_id": "ACC1",
                            "at": "2024-03-06 09:00",
                            "kind": "note",
                        },
                    ],
                )
            ],
            None,
        ),
        (
            "costs",
            [
                write_csv(
                    folder / "costs.csv",
                    [
                        {
                            "period_start": "2024-03-01",
                            "period_end": "2024-03-31",
                            "channel": "sem",
                            "category": "media",
                            "amount": "2500",
                        },
                        {
                            "period_start": "2024-03-01",
                            "period_end": "2024-03-31",
                            "category": "staff",
                            "amount": "4000",
                            "description": "SDR",
                        },
                    ],
                )
            ],
            None,
        ),
        (
            "traffic",
            [
                write_csv(
                    folder / "traffic.csv",
                    [
                        {"day": "2024-03-01", "channel": "seo", "visits": "120"},
                        {
                            "day": "2024-03-01",
                            "channel": "direct",
                            "visits": "80",
                            "unique_visitors": "70",
                        },
                    ],
                )
            ],
            None,
        ),
    ]


def test_importing_the_same_files_twice_changes_nothing(make_project, engine, tmp_path):
    ws = make_project(engine)
    imports = one_of_each_kind(tmp_path)
    for kind, files, preset in imports:
        r = ws.import_files(kind, files, preset=preset)
        assert r.rejected == 0 and r.accepted == r.read, (kind, r.sample_rejections)
    before = ledger_counts(ws)
    assert all(before.values()), before
    for kind, files, preset in imports:
        r = ws.import_files(kind, files, preset=preset)
        assert (r.accepted, r.rejected, r.skipped) == (0, 0, r.read), kind
        assert r.total("stage_events_new") == 0
    assert ledger_counts(ws) == before
    # the versioned deal stays as the file's last row says, however often it is imported
    deal = ws.store.execute(current_deals(ws.store.tables(), ws.cfg))
    assert list(deal["status"]) == ["won"]


def test_a_failed_import_leaves_the_ledger_unchanged(make_project, engine, monkeypatch):
    ws = make_project(engine)
    ws.import_files(
        "stages",
        [
            write_csv(
                ws.project_dir / "s.csv",
                [{"lead_id": "1001", "stage": "recycled", "entered_at": "2024-05-01"}],
            )
        ],
    )
    before = counts(ws)
    calls = itertools.count(1)
    real_append = Store.append

    def failing_append(self, table, frame):
        if next(calls) == 2:
            raise RuntimeError("disk full")
        return real_append(self, table, frame)

    monkeypatch.setattr(Store, "append", failing_append)
    with pytest.raises(RuntimeError, match="disk full"):
        ws.import_files("leads", [FIXTURES / "hubspot-contacts.csv"], preset="hubspot-contacts")
    assert counts(ws) == before  # neither the leads (1st append) nor anything else
    monkeypatch.setattr(Store, "append", real_append)
    r = ws.import_files("leads", [FIXTURES / "hubspot-contacts.csv"], preset="hubspot-contacts")
    assert (r.accepted, r.total("stage_events_new")) == (6, 15)
    after = counts(ws)
    assert after["leads"] == before["leads"] + 6
    assert after["stage_events"] == before["stage_events"] + 15


# -- the accounting, over random mixes of good, bad and repeated rows ---------------------------
LEADS = ["L1", "L2", "L3", "L4"]
good_new = st.fixed_dictionaries(
    {
        "lead_id": st.sampled_from(LEADS),
        "created_at": st.sampled_from(["2024-03-04 09:00", "2024-03-05", "2024-03-06T10:00:00Z"]),
        "email": st.sampled_from(["", "a@example.com", "b@example.com"]),
        "segment": st.sampled_from(["", "smb", "mid"]),
    }
)
update = st.fixed_dictionaries(
    {
        "lead_id": st.sampled_from([*LEADS, "L9"]),
        "created_at": st.just(""),
        "email": st.sampled_from(["", "c@example.com"]),
        "segment": st.sampled_from(["", "ent"]),
    }
)
bad = st.fixed_dictionaries(
    {
        "lead_id": st.sampled_from(["", "L5"]),
        "created_at": st.sampled_from(["", "not a date", "3000-01-01", "2024-02-30"]),
        "email": st.just(""),
        "segment": st.just(""),
    }
).filter(lambda r: r["lead_id"] == "" or r["created_at"] != "")
rows_strategy = st.lists(st.one_of(good_new, update, bad), min_size=1, max_size=12).flatmap(
    lambda rows: st.lists(st.sampled_from(rows), max_size=4).map(lambda dups: rows + dups)
)
_files = itertools.count()


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=rows_strategy)
def test_accounting_balances_and_the_ledger_grows_by_accepted(make_project, tmp_path, rows):
    if not hasattr(test_accounting_balances_and_the_ledger_grows_by_accepted, "ws"):
        test_accounting_balances_and_the_ledger_grows_by_accepted.ws = make_project()
    ws = test_accounting_balances_and_the_ledger_grows_by_accepted.ws
    f = write_csv(
        tmp_path / f"r{next(_files)}.csv", rows, ["lead_id", "created_at", "email", "segment"]
    )
    before = ledger_counts(ws)
    r = ws.import_files("leads", [f])
    blank = sum(1 for row in rows if not any(row.values()))  # empty rows are not records
    assert (r.read, r.files[0].blank_rows) == (len(rows) - blank, blank)
    assert r.accepted + r.rejected + r.skipped == r.read
    after = ledger_counts(ws)
    assert after["leads"] == before["leads"] + r.accepted
    assert {k: v for k, v in after.items() if k != "leads"} == {
        k: v for k, v in before.items() if k != "leads"
    }
    again = ws.import_files("leads", [f])
    assert (again.accepted, again.rejected, again.skipped) == (0, r.rejected, r.read - r.rejected)
    assert ledger_counts(ws) == after
