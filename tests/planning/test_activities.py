"""Sales activities stop SLA clocks and date follow-ups: stories worked out by hand on every
engine, a ledger without activity data (no data, never 100 %), and a plain-pandas reference of
the first response on a generated ledger."""

from __future__ import annotations

import datetime as dt
import io
import random
from typing import Any

import pandas as pd
import pytest
from rich.console import Console

from leadledger.cli.output import print_report
from leadledger.formatting import display_cell
from tests.conftest import config_text, load_journeys, rows_by, write_csv
from tests.planning.test_decay import AS_OF as DECAY_AS_OF
from tests.planning.test_decay import CALLS, HISTORY, MEASURED, project_text
from tests.planning.test_sla import touches_csv

SLAS = (
    "  - {name: mql_response, start: mql, until: sales_touch, within: 8, unit: business_hours}\n"
    "  - {name: mql_to_sql, start: mql, until: sql, within: 5, unit: days}\n"
)
AS_OF = "2025-03-10T12:00:00+01:00"  # Monday noon, Madrid
RANGE = {"start": "2025-03-01", "end": "2025-03-31", "as_of": AS_OF}


def project(engine: str, make_project: Any, activities: str = "") -> Any:
    text = config_text(engine)
    start = text.index("slas:\n") + len("slas:\n")
    end = text.index("\n\n", start) + 1
    text = text[:start] + SLAS + text[end:]
    if activities:
        text = text.replace(
            "activities:\n  response_kinds: [call, meeting, email]\n  outbound_only: true\n",
            activities,
        )
    return make_project(engine, text)


def mql(at: str, *more: tuple[str, ...]) -> dict[str, Any]:
    return {"created": "2025-03-01", "owner": "ana", "stages": [("mql", at), *more]}


#: Madrid, 09:00–17:00. Elapsed business hours worked out by hand for mql_response (8 h).
STORY: dict[str, dict[str, Any]] = {
    "C1": mql("2025-03-03 10:00"),  # a call at 15:00: met, 5 h
    "C2": mql("2025-03-03 10:00"),  # inbound e-mail Tue (not a response), outbound Wed 11:00
    "C3": mql("2025-03-04 10:00"),  # only an inbound e-mail: still waiting
    "C4": mql("2025-03-04 10:00"),  # a sales touch at 16:00 before the call activity
    "C5": mql("2025-03-05 09:00"),  # a note (not a response kind), then a meeting at 12:00
    "C6": mql("2025-03-05 09:00"),  # nothing at all: no activity data for this lead
    "C7": mql("2025-03-06 10:00"),  # a call an hour before the clock started
    "C8": mql("2025-03-06 10:00"),  # only an activity with its account (no lead)
    "C9": mql("2025-03-06 10:00", ("sql", "2025-03-07 10:00")),  # a call re-exported
}
ACTIVITIES = [
    # activity_id, lead_id, account_id, at, kind, direction
    ("A1", "C1", "", "2025-03-03 15:00", "call", ""),
    ("A2", "C2", "", "2025-03-04 10:00", "email", "inbound"),
    ("A3", "C2", "", "2025-03-05 11:00", "email", "outbound"),
    ("A4", "C3", "", "2025-03-04 11:00", "email", "inbound"),
    ("A5", "C4", "", "2025-03-05 10:00", "call", "outbound"),
    ("A6", "C5", "", "2025-03-05 09:30", "note", ""),
    ("A7", "C5", "", "2025-03-05 12:00", "meeting", ""),
    ("A8", "C7", "", "2025-03-06 09:00", "call", ""),
    ("A9", "", "ACME", "2025-03-06 11:00", "call", "outbound"),
    ("A10", "C9", "", "2025-03-11 10:00", "call", ""),  # after the as-of time…
]
#: …and a later export of A10 dates the call on Thursday 11:00 (the current version counts)
CORRECTED = [("A10", "C9", "", "2025-03-06 11:00", "call", "")]
TOUCHES = [("C4", "2025-03-04 16:00", "call")]

#: lead → (status, elapsed business hours, late_by), outbound_only (the default)
EXPECTED = {
    "C1": ("met", 5, None),
    "C2": ("breached", 17, 9),  # Mon 7 + Tue 8 + Wed 2
    "C3": ("open_breached", 34, 26),  # Tue 7 + Wed–Fri 24 + Mon 3
    "C4": ("met", 6, None),  # the touch at 16:00, not the call the next day
    "C5": ("met", 3, None),
    "C6": ("open_breached", 27, 19),  # Wed–Fri 24 + Mon 3
    "C7": ("open_breached", 18, 10),  # Thu 7 + Fri 8 + Mon 3
    "C8": ("open_breached", 18, 10),
    "C9": ("met", 1, None),
}
#: with outbound_only: false, an inbound e-mail is a response too
EXPECTED_ANY_DIRECTION = {
    **EXPECTED,
    "C2": ("met", 8, None),  # Mon 7 + Tue 1: exactly the limit
    "C3": ("met", 1, None),
}


def activities_csv(ws: Any, rows: list[tuple[str, ...]], name: str = "activities.csv") -> None:
    path = write_csv(
        ws.project_dir / name,
        [
            {"activity_id": a, "lead_id": lead, "account_id": acc, "at": at, "kind": kind,
             "direction": direction, "owner": "ana"}
            for a, lead, acc, at, kind, direction in rows
        ],
    )  # fmt: skip
    r = ws.import_files("activities", [path])
    assert r.rejected == 0, r.sample_rejections


def load_story(ws: Any) -> Any:
    load_journeys(ws, STORY)
    activities_csv(ws, ACTIVITIES)
    activities_csv(ws, CORRECTED, "activities-2.csv")
    touches_csv(ws, TOUCHES)
    return ws


def check_clocks(ws: Any, expected: dict[str, tuple[str, float, float | None]]) -> None:
    rep = ws.report("sla", view="clocks", sla="mql_response", **RANGE)
    got = rows_by(rep, "lead_id")
    assert set(got) == set(expected)
    for lead, (status, elapsed, late) in expected.items():
        row = got[lead]
        assert row["status"] == status, lead
        assert row["elapsed"] == pytest.approx(elapsed), lead
        assert (row["late_by"] is None) if late is None else row["late_by"] == pytest.approx(late)
    assert got["C1"]["stopped_at"] == "2025-03-03T15:00:00+01:00"
    assert got["C1"]["stopped_by"] == "sales_touch"


def test_activities_stop_clocks_by_hand(engine: str, make_project: Any) -> None:
    ws = load_story(project(engine, make_project))
    check_clocks(ws, EXPECTED)
    rates = rows_by(ws.report("sla", view="rates", **RANGE), "sla")
    r = rates["mql_response"]
    assert (r["met"], r["breached"], r["open_breached"], r["decided"]) == (4, 1, 4, 9)
    assert r["breach_rate"] == pytest.approx(5 / 9)
    assert r["breach_rate_reason"] is None
    assert r["no_activity_leads"] == 2  # C6, C8 (C7's call came early, but it is data)
    breaches = rows_by(ws.report("sla", **RANGE), "sla", "lead_id")
    assert {lead for sla, lead in breaches if sla == "mql_response"} == {"C3", "C6", "C7", "C8"}


@pytest.mark.parametrize("engine", ["duckdb:///leadledger.duckdb"])
def test_inbound_email_is_a_response_without_outbound_only(engine: str, make_project: Any) -> None:
    ws = project(
        engine,
        make_project,
        "activities:\n  response_kinds: [call, meeting, email]\n  outbound_only: false\n",
    )
    check_clocks(load_story(ws), EXPECTED_ANY_DIRECTION)


@pytest.mark.parametrize("engine", ["duckdb:///leadledger.duckdb"])
def test_response_kinds_are_configurable(engine: str, make_project: Any) -> None:
    ws = project(engine, make_project, "activities:\n  response_kinds: [meeting]\n")
    load_story(ws)
    got = rows_by(ws.report("sla", view="clocks", sla="mql_response", **RANGE), "lead_id")
    # calls and e-mails no longer answer; the touch (sales_touch_kinds) and the meeting still do
    assert {k: v["status"] for k, v in got.items() if v["status"] == "met"} == {
        "C4": "met",
        "C5": "met",
    }


def test_no_activity_data_is_no_data_not_a_breach(engine: str, make_project: Any) -> None:
    ws = project(engine, make_project)
    load_journeys(ws, STORY)  # stages only: no activity, no touch
    rep = ws.report("sla", view="rates", **RANGE)
    rates = rows_by(rep, "sla")
    r = rates["mql_response"]
    assert r["breach_rate"] is None  # not 100 %: every clock is past its limit
    assert r["breach_rate_reason"] == "no_activity_data"
    assert (r["open_breached"], r["decided"], r["no_activity_leads"]) == (9, 9, 9)
    # an SLA that waits for a stage is measured as before
    s = rates["mql_to_sql"]
    assert s["breach_rate_reason"] is None
    # C9 reached sql in time; C1–C6 are more than 5 days past their mql; C7, C8 still open
    assert (s["met"], s["open_breached"], s["open"]) == (1, 6, 2)
    assert s["breach_rate"] == pytest.approx(6 / 7)
    assert rep.notes[0].startswith("no activity data")
    # the terminal says why
    row = next(x for x in rep.rows() if x["sla"] == "mql_response")
    assert display_cell(row, "breach_rate") == "no data: no activity data"
    console = Console(file=io.StringIO(), width=250)
    print_report(rep, "table", console)
    assert "no data: no activity data" in console.file.getvalue()  # type: ignore[attr-defined]
    from leadledger.web.common import table  # the dashboard's tables say it the same way

    shown = table(rep, title="rates", columns=rep.table_columns)
    rate_at = shown["keys"].index("breach_rate")
    cells = [r[rate_at]["text"] for r in shown["rows"]]
    assert "no data: no activity data" in cells
    # no open breach is listed or alerted for it, and the notes say why
    breaches = ws.report("sla", **RANGE)
    assert {x["sla"] for x in breaches.rows()} <= {"mql_to_sql"}
    assert any(n.startswith("no activity data") for n in breaches.notes)
    alerts = ws.report("alerts", as_of=AS_OF)
    assert {x["subject"] for x in alerts.rows()} <= {"mql_to_sql"}
    # one sales touch in the ledger is activity data: the rate is measured again
    touches_csv(ws, [("C1", "2025-03-03 15:00", "call")])
    r = rows_by(ws.report("sla", view="rates", **RANGE), "sla")["mql_response"]
    assert r["breach_rate"] == pytest.approx(8 / 9) and r["breach_rate_reason"] is None
    assert r["no_activity_leads"] == 8


def test_decay_without_activity_data_says_so(engine: str, make_project: Any) -> None:
    ws = make_project(engine, project_text(engine, MEASURED))
    load_journeys(ws, HISTORY)  # no calls
    data = ws.report("decay", start="2025-06-01", end="2025-06-30", as_of=DECAY_AS_OF).as_dict()
    (row,) = data["rows"]
    assert row["value_per_sql"] == pytest.approx(400)  # the history still values an SQL
    for c in ("value_at_risk", "value_lost", "open_sqls", "neglected", "expected_customers"):
        assert row[c] is None, c
    assert row["value_at_risk_reason"] == row["value_lost_reason"] == "no_activity_data"
    assert data["at_risk"] == []
    assert data["notes"][0].startswith("no activity data")
    curve = {r["bucket"]: r["sqls"] for r in data["curve"]}
    assert curve["no_follow_up"] == 14  # nobody is known to have been followed up


def test_decay_follow_ups_from_activities(engine: str, make_project: Any) -> None:
    """test_decay's history with its calls imported as activities instead of touches: the same
    numbers (the marketing e-mail touch becomes an inbound e-mail: no follow-up either)."""
    ws = make_project(engine, project_text(engine, MEASURED))
    load_journeys(ws, HISTORY)
    rows = [
        (f"X{i}", lead, "", at, "email" if kind == "email" else kind, "inbound" * (kind == "email"))
        for i, (lead, at, kind) in enumerate(CALLS)
    ]
    activities_csv(ws, rows)
    (row,) = ws.report("decay", start="2025-06-01", end="2025-06-30", as_of=DECAY_AS_OF).rows()
    assert (row["sqls"], row["neglected"]) == (4, 2)
    assert row["value_lost"] == pytest.approx(800)
    assert (row["open_sqls"], row["value_at_risk"]) == (4, pytest.approx(800))
    assert row["value_at_risk_reason"] is None


# -- a plain-pandas reference ---------------------------------------------------------------------
REF_AS_OF = pd.Timestamp("2025-04-30 18:00", tz="Europe/Madrid")
HOURS_SLA = "  - {name: mql_48h, start: mql, until: sales_touch, within: 48, unit: hours}\n"


def generated(seed: int = 11, n: int = 60) -> tuple[dict[str, Any], list[tuple[str, ...]], list]:
    rnd = random.Random(seed)
    base = dt.datetime(2025, 4, 1, 8, 0)
    leads: dict[str, Any] = {}
    acts: list[tuple[str, ...]] = []
    touches: list[tuple[str, str, str]] = []
    for i in range(n):
        lead = f"G{i}"
        start = base + dt.timedelta(minutes=30 * rnd.randrange(0, 2 * 24 * 26))
        leads[lead] = {
            "created": "2025-03-20",
            "owner": rnd.choice(["ana", "bo"]),
            "stages": [("mql", start.strftime("%Y-%m-%d %H:%M"))],
        }
        for j in range(rnd.choice([0, 0, 1, 2, 3])):
            at = start + dt.timedelta(minutes=30 * rnd.randrange(-20, 2 * 24 * 6))
            kind = rnd.choice(["call", "meeting", "email", "email", "task", "note"])
            direction = rnd.choice(["", "inbound", "outbound"])
            acts.append((f"R{i}-{j}", lead, "", at.strftime("%Y-%m-%d %H:%M"), kind, direction))
        if rnd.random() < 0.25:
            at = start + dt.timedelta(minutes=30 * rnd.randrange(-10, 2 * 24 * 6))
            touches.append((lead, at.strftime("%Y-%m-%d %H:%M"), rnd.choice(["call", "visit"])))
    return leads, acts, touches


def reference(leads: dict[str, Any], acts: list[tuple[str, ...]], touches: list) -> pd.DataFrame:
    """Status, stop and elapsed hours of every mql_48h clock, in plain pandas."""
    tz = "Europe/Madrid"
    starts = pd.DataFrame(
        [(lead, pd.Timestamp(j["stages"][0][1], tz=tz)) for lead, j in leads.items()],
        columns=["lead_id", "start"],
    )
    starts = starts[starts["start"] <= REF_AS_OF]
    a = pd.DataFrame(acts, columns=["id", "lead_id", "acc", "at", "kind", "direction"])
    a["at"] = pd.to_datetime(a["at"]).dt.tz_localize(tz)
    answer = a["kind"].isin(["call", "meeting", "email"]) & ~(
        (a["kind"] == "email") & (a["direction"] == "inbound")
    )
    t = pd.DataFrame(touches, columns=["lead_id", "at", "kind"])
    t["at"] = pd.to_datetime(t["at"]).dt.tz_localize(tz)
    r = pd.concat([a.loc[answer, ["lead_id", "at"]], t.loc[t["kind"] == "call", ["lead_id", "at"]]])
    r = r[r["at"] <= REF_AS_OF].merge(starts, on="lead_id")
    first = r[r["at"] >= r["start"]].groupby("lead_id")["at"].min().rename("stop")
    data = pd.concat([a[a["at"] <= REF_AS_OF][["lead_id"]], t[t["at"] <= REF_AS_OF][["lead_id"]]])
    out = starts.merge(first, on="lead_id", how="left")
    end = out["stop"].fillna(REF_AS_OF)
    out["elapsed"] = (end - out["start"]).dt.total_seconds() / 3600
    over = out["elapsed"] > 48
    out["status"] = [
        ("breached" if o else "met") if pd.notna(s) else ("open_breached" if o else "open")
        for s, o in zip(out["stop"], over, strict=True)
    ]
    out["has_activity"] = out["lead_id"].isin(set(data["lead_id"]))
    return out.set_index("lead_id")


def test_first_response_matches_pandas(engine: str, make_project: Any) -> None:
    leads, acts, touches = generated()
    text = config_text(engine)
    start = text.index("slas:\n") + len("slas:\n")
    end = text.index("\n\n", start) + 1
    ws = make_project(engine, text[:start] + HOURS_SLA + text[end:])
    load_journeys(ws, leads)
    activities_csv(ws, acts)
    touches_csv(ws, touches)
    want = reference(leads, acts, touches)
    rep = ws.report("sla", view="clocks", as_of=REF_AS_OF.isoformat(), start="2025-03-01")
    got = {r["lead_id"]: r for r in rep.rows()}
    assert set(got) == set(want.index)
    for lead, w in want.iterrows():
        g = got[lead]
        assert g["status"] == w["status"], lead
        assert g["elapsed"] == pytest.approx(w["elapsed"], abs=1e-9), lead
        stop = None if pd.isna(w["stop"]) else w["stop"]
        assert (g["stopped_at"] is None) if stop is None else pd.Timestamp(g["stopped_at"]) == stop
    rates = rows_by(
        ws.report("sla", view="rates", as_of=REF_AS_OF.isoformat(), start="2025-03-01"), "sla"
    )["mql_48h"]
    assert rates["no_activity_leads"] == int((~want["has_activity"]).sum())
    counts = want["status"].value_counts()
    assert rates["met"] == counts.get("met", 0)
    assert rates["open_breached"] == counts.get("open_breached", 0)
    assert 0 < rates["no_activity_leads"] < len(want)  # the generator gives both kinds of lead
