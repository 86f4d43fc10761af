"""Deals drive the funnel: a deal's creation, win and loss are stage entries of every contact
linked to it, derived from the deals table (a story worked out by hand, on every engine, and a
plain-pandas reference from the raw files).

Leads (Europe/Madrid): A1 created 01-02, mql 01-05, sql 01-10; A2 created 01-03; A3 created
01-04, sql 01-08; A4 created 01-06; A5 created 01-07, sql 01-09 (all 2025).

Deals, as a HubSpot export has them (a stage, no status; several contacts in one cell):
- H1 contacts "A1;A2", closedwon, created 01-15 10:00, closed 02-03 10:00, 1,000
- H2 lead A3, Closed Lost, created 01-20 10:00, closed 02-10 10:00, 400
- H3 lead A3, appointmentscheduled (open), created 02-01 10:00, expected close 03-30, 700
- H4 contacts "A5", closedlost, created 01-12 10:00, closed 01-25 10:00, 300
- H5 lead A4, "Verbal Commit" (a stage no entry knows), created 01-18 10:00, 900
- H6 contacts "X9" (not a lead), closedwon, created 01-05 10:00, closed 01-06 10:00, 50

So: opportunity A1, A2 (01-15), A3 (01-20), A5 (01-12); customer A1, A2 (02-03); lost A5
(01-25) only — A3 still has H3 open; A4 enters no stage from H5 until its stage is mapped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from leadledger.attribution import runner
from leadledger.ledger.derived import deal_links, deal_stage_entries
from leadledger.service import Workspace
from tests.conftest import ENGINES, config_text, load_journeys, rows_by, story_workspace, write_csv

STORY = {
    "A1": {
        "created": "2025-01-02 10:00",
        "channel": "paid_search",
        "stages": [("mql", "2025-01-05 10:00"), ("sql", "2025-01-10 10:00")],
    },
    "A2": {"created": "2025-01-03 10:00", "channel": "email"},
    "A3": {"created": "2025-01-04 10:00", "channel": "email", "stages": [("sql", "2025-01-08")]},
    "A4": {"created": "2025-01-06 10:00", "channel": "referral"},
    "A5": {
        "created": "2025-01-07 10:00",
        "channel": "paid_search",
        "stages": [("sql", "2025-01-09 10:00")],
    },
}
DEALS = [
    # deal, lead_id, contact_ids, stage, created, closed, amount
    ("H1", None, "A1;A2", "closedwon", "2025-01-15 10:00", "2025-02-03 10:00", 1000),
    ("H2", "A3", None, "Closed Lost", "2025-01-20 10:00", "2025-02-10 10:00", 400),
    ("H3", "A3", None, "appointmentscheduled", "2025-02-01 10:00", "2025-03-30 10:00", 700),
    ("H4", None, "A5", "closedlost", "2025-01-12 10:00", "2025-01-25 10:00", 300),
    ("H5", "A4", None, "Verbal Commit", "2025-01-18 10:00", None, 900),
    ("H6", None, "X9", "closedwon", "2025-01-05 10:00", "2025-01-06 10:00", 50),
]
TOUCHES = [
    ("T1", "A1", "2025-01-01 10:00", "paid_search"),
    ("T2", "A2", "2025-01-03 09:00", "email"),
]


def deal_rows(deals: list[tuple[Any, ...]] = DEALS) -> list[dict[str, Any]]:
    return [
        {
            "deal_id": d,
            "lead_id": lead,
            "contact_ids": ids,
            "stage": stage,
            "created_at": created,
            "closed_at": closed,
            "amount": amount,
        }
        for d, lead, ids, stage, created, closed, amount in deals
    ]


def load(ws: Workspace) -> None:
    load_journeys(ws, STORY)
    f = write_csv(ws.project_dir / "deals.csv", deal_rows())
    r = ws.import_files("deals", [f])
    assert (r.accepted, r.rejected) == (len(DEALS), 0), r.sample_rejections
    t = write_csv(
        ws.project_dir / "touches.csv",
        [{"touch_id": i, "lead_id": lead, "at": at, "channel": ch} for i, lead, at, ch in TOUCHES],
    )
    assert ws.import_files("touches", [t]).rejected == 0


@pytest.fixture(scope="module", params=ENGINES)
def story(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workspace]:
    """The story on each engine; read only."""
    ws = story_workspace(request, tmp_path_factory.mktemp("deals"), request.param, load, "deal")
    yield ws
    ws.close()


def entries(ws: Workspace) -> set[tuple[str, str, str]]:
    e = ws.store.execute(deal_stage_entries(ws.store.tables(), ws.cfg))
    at = pd.to_datetime(e["entered_at"], utc=True).dt.tz_convert(ws.cfg.timezone)
    return set(zip(e["lead_id"], e["stage"], at.dt.strftime("%m-%d %H:%M"), strict=True))


def test_deal_dates_are_stage_entries_of_every_linked_contact(story):
    assert entries(story) == {
        ("A1", "opportunity", "01-15 10:00"),
        ("A2", "opportunity", "01-15 10:00"),
        ("A1", "customer", "02-03 10:00"),
        ("A2", "customer", "02-03 10:00"),
        ("A3", "opportunity", "01-20 10:00"),  # H2; H3 (02-01) is a later entry
        ("A3", "opportunity", "02-01 10:00"),
        ("A5", "opportunity", "01-12 10:00"),
        ("A5", "lost", "01-25 10:00"),  # all of A5's deals are lost; A3 has H3 open
        # H6's contact X9 is not a lead: the link is kept (check lists it), no entry is made
    }


def test_links_come_from_the_lead_column_and_the_multi_valued_one(story):
    links = story.store.execute(deal_links(story.store.tables(), story.cfg))
    got = {(r.deal_id, r.lead_id): (r.weight, r.counted) for r in links.itertuples()}
    assert got == {
        ("H1", "A1"): (0.5, True),  # no primary: the lowest id is counted, credit shared
        ("H1", "A2"): (0.5, False),
        ("H2", "A3"): (1.0, True),
        ("H3", "A3"): (1.0, True),
        ("H4", "A5"): (1.0, True),
        ("H5", "A4"): (1.0, True),
        ("H6", "X9"): (1.0, True),
    }


def test_stages_show_opportunities_and_customers_and_say_which_came_from_deals(story):
    r = story.report("stages", start="2025-01-01", end="2025-02-28", period="month")
    rows = rows_by(r, "period", "stage")
    jan = {s: rows[("2025-01-01", s)]["entered"] for s in story.cfg.stage_keys}
    # skipped stages count as reached: A2 reaches mql..sql at its opportunity (01-15), A3 mql and
    # sal at its sql (01-08), A5 at its sql (01-09)
    assert jan == {"lead": 5, "mql": 4, "sal": 4, "sql": 4, "opportunity": 4, "customer": 0}
    assert rows[("2025-02-01", "customer")]["entered"] == 2
    assert rows[("2025-02-01", "opportunity")]["entered"] == 0  # A3's H3 is not a first entry
    note = next(n for n in r.notes if n.startswith("entries made by deals"))
    assert note.endswith("opportunity 4 of 4, customer 2 of 2")


def test_velocity_never_counts_a_closed_lost_lead_as_open(story):
    r = story.report(
        "velocity", start="2025-01-01", end="2025-02-28", as_of="2025-03-01T00:00:00+01:00"
    )
    opp = rows_by(r, "stage")["opportunity"]
    # A1, A2 left (19 days); A3 is open (H3); A5 is closed (all its deals lost)
    assert (opp["left"], opp["open"], opp["closed"]) == (2, 1, 1)
    assert opp["median_days"] == pytest.approx(19.0)
    # as of 01-20, before H4 closed, A5 was an open opportunity too (and A3 had just entered)
    r = story.report(
        "velocity", start="2025-01-01", end="2025-02-28", as_of="2025-01-20T12:00:00+01:00"
    )
    opp = rows_by(r, "stage")["opportunity"]
    assert (opp["left"], opp["open"], opp["closed"]) == (0, 4, 0)


def test_check_lists_unknown_stages_deals_without_a_contact_and_unknown_contacts(story):
    r = story.report("check")
    rows = {(row["check"], row["id"]): row for row in r.as_dict()["rows"]}
    unknown = rows[("deal_stage_unknown", "Verbal Commit")]
    assert unknown["severity"] == "warning" and unknown["detail"].startswith("1 deal(s)")
    assert "add it to deal_stages.stages" in unknown["detail"]
    assert rows[("deal_without_contact", "H6")]["severity"] == "warning"
    assert "(won, amount 50.00 EUR)" in rows[("deal_without_contact", "H6")]["detail"]
    assert "X9" in rows[("orphan_deal", "H6")]["detail"]
    note = next(n for n in r.notes if n.startswith("deal_without_contact"))
    assert note == (
        "deal_without_contact: 1 — deal with no contact in the ledger (amount 50.00 EUR)"
    )
    assert any(n.startswith("deal_stage_unknown: 1") and "900.00 EUR" in n for n in r.notes)


def credit_of(ws: Workspace, model: str = "linear") -> runner.Credits:
    settings = runner.model_settings(ws.cfg.attribution)
    with ws.ctx.scratch() as scratch:
        return runner.credits_all(
            ws.store.tables(), ws.cfg, ws.store.execute, scratch, models=[model],
            start=None, end=None, settings=settings,
        )[model]  # fmt: skip


def test_a_deal_is_credited_through_all_its_contacts_and_the_credits_sum_to_its_amount(story):
    for model in ("first_touch", "last_touch", "linear", "u_shaped", "time_decay"):
        c = credit_of(story, model)
        by = c.frame.set_index("channel")["value"].to_dict()
        # H1 (1,000) is A1's (paid_search) and A2's (email) customer value, half each; H6's
        # contact is not a lead: no conversion
        assert by == pytest.approx({"paid_search": 500.0, "email": 500.0}), model
        assert c.converted_value == pytest.approx(1000.0)


# -- what changes the funnel: a re-import, the mapping, the credit mode ---------------------------
@pytest.fixture
def ws(make_project) -> Workspace:
    w = make_project()
    load(w)
    return w


def test_a_reimported_deal_that_changed_status_changes_the_funnel(ws):
    assert ("A5", "lost", "01-25 10:00") in entries(ws)
    won = [("H4", None, "A5", "closedwon", "2025-01-12 10:00", "2025-02-20 10:00", 300)]
    f = write_csv(ws.project_dir / "deals2.csv", deal_rows(won))
    assert ws.import_files("deals", [f]).accepted == 1
    got = {e for e in entries(ws) if e[0] == "A5"}
    assert got == {("A5", "opportunity", "01-12 10:00"), ("A5", "customer", "02-20 10:00")}


def test_an_unknown_stage_counts_once_mapped_in_the_config(make_project):
    text = config_text().replace(
        "sales_touch_kinds:",
        "deal_stages:\n  stages:\n"
        "    - {key: verbal_commit, status: open, source_values: [Verbal Commit]}\n"
        "    - {key: closed_won, status: won, source_values: [closedwon]}\n"
        "    - {key: closed_lost, status: lost, source_values: [closedlost, Closed Lost]}\n"
        "    - {key: appointment, status: open, source_values: [appointmentscheduled]}\n"
        "sales_touch_kinds:",
        1,
    )
    ws = make_project(text=text)
    load(ws)
    assert ("A4", "opportunity", "01-18 10:00") in entries(ws)
    assert not [n for n in ws.report("check").notes if n.startswith("deal_stage_unknown")]


def test_a_status_column_wins_over_the_stage_and_a_row_needs_one_of_them(ws):
    rows = [
        {"deal_id": "S1", "lead_id": "A4", "status": "lost", "stage": "closedwon",
         "created_at": "2025-01-10", "closed_at": "2025-01-11", "amount": 10},
        {"deal_id": "S2", "lead_id": "A4", "created_at": "2025-01-10", "amount": 10},
        {"deal_id": "S3", "lead_id": "A4", "stage": "closedwon", "created_at": "2025-01-10",
         "amount": 10},
    ]  # fmt: skip
    f = write_csv(ws.project_dir / "more.csv", rows)
    r = ws.import_files("deals", [f])
    assert (r.accepted, r.rejected) == (1, 2)
    problems = {(p["row"], p["column"], p["expected"]) for p in r.sample_rejections}
    assert problems == {
        (3, "status", "a status (open, won, lost) or a deal stage"),  # line 1 is the header
        (4, "closed_at", "a close date for a won deal"),
    }


@pytest.mark.parametrize(
    ("credit", "extra", "want"),
    [
        ("equal", "", {"paid_search": 500.0, "email": 500.0}),
        ("primary", "", {"paid_search": 0.0, "email": 1000.0}),
        (
            "role",
            "  role_weights: {Decision Maker: 3}\n",
            {"paid_search": 750.0, "email": 250.0},
        ),
    ],
)
def test_credit_modes_share_a_deal_and_still_sum_to_its_amount(make_project, credit, extra, want):
    text = config_text().replace(
        "sales_touch_kinds:", f"deal_contacts:\n  credit: {credit}\n{extra}sales_touch_kinds:", 1
    )
    ws = make_project(text=text)
    load(ws)
    links = [
        {"deal_id": "H1", "lead_id": "A1", "role": "Decision Maker", "is_primary": "No"},
        {"deal_id": "H1", "lead_id": "A2", "role": "Influencer", "is_primary": "Yes"},
    ]
    f = write_csv(ws.project_dir / "links.csv", links)
    assert ws.import_files("deal_contacts", [f]).accepted == 2
    c = credit_of(ws)
    by = c.frame.set_index("channel")["value"].to_dict()
    assert {k: by.get(k, 0.0) for k in want} == pytest.approx(want)
    assert sum(by.values()) == pytest.approx(1000.0)


# -- an independent reference from the raw rows ---------------------------------------------------
def pandas_first_entries(tz: str) -> pd.DataFrame:
    """First entry per (lead, stage) from the story's raw rows, deals read as the product's
    documentation says, written without the product's code."""
    status_of = {
        "closedwon": "won",
        "closed lost": "lost",
        "closedlost": "lost",
        "appointmentscheduled": "open",
    }
    rows = []
    for lead, j in STORY.items():
        rows.append((lead, "lead", j["created"]))
        rows += [(lead, s, at) for s, at in j.get("stages", [])]
    contacts: dict[str, list[str]] = {}
    for _deal, lead, ids, stage, created, closed, _ in DEALS:
        status = status_of.get(stage.lower())
        if status is None:
            continue
        linked = [lead] if lead else ids.split(";")
        for c in linked:
            rows.append((c, "opportunity", created))
            if status == "won":
                rows.append((c, "customer", closed))
            contacts.setdefault(c, []).append(status)
    for c, statuses in contacts.items():
        if all(s == "lost" for s in statuses):
            last = max(
                closed
                for d, lead, ids, _stage, _c, closed, _ in DEALS
                if c in ([lead] if lead else (ids or "").split(";"))
            )
            rows.append((c, "lost", last))
    df = pd.DataFrame(rows, columns=["lead_id", "stage", "at"])
    df = df[df["lead_id"].isin(list(STORY))]
    df["at"] = pd.to_datetime(df["at"], format="ISO8601").dt.tz_localize(tz)
    return df.groupby(["lead_id", "stage"], as_index=False)["at"].min()


def test_first_entries_equal_a_pandas_reference(story):
    ref = pandas_first_entries(story.cfg.timezone)
    ref = ref[ref["stage"].isin(story.cfg.stage_keys)]
    order = story.cfg.stage_keys
    # cumulative (skipped stages reached at the next real entry), counted per stage
    wide = ref.pivot(index="lead_id", columns="stage", values="at").reindex(columns=order)
    reached = wide.copy()
    for i, s in enumerate(order):
        reached[s] = wide[order[i:]].min(axis=1)
    want = reached.notna().sum().to_dict()
    r = story.report("stages", start="2025-01-01", end="2025-02-28", period="month")
    got: dict[str, int] = {}
    for row in r.as_dict()["rows"]:
        got[row["stage"]] = got.get(row["stage"], 0) + row["entered"]
    assert got == want
