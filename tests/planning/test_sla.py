"""SLA clocks in business time: the arithmetic against an independent reference, then stories on
every engine whose statuses and lateness were worked out by hand."""

from __future__ import annotations

import datetime as dt
import json
import random
import zoneinfo
from typing import Any

import ibis
import pandas as pd
import pytest

from leadledger.cli.main import main
from leadledger.config.models import Calendar
from leadledger.errors import InvalidArgument
from leadledger.planning.business_time import days_table, elapsed_seconds
from leadledger.workdays import BusinessHours, WorkCalendar
from tests.conftest import config_text, load_journeys, rows_by, write_csv

MADRID = zoneinfo.ZoneInfo("Europe/Madrid")
CAL = Calendar(
    country="ES",
    subdivision="MD",
    closures=[dt.date(2025, 12, 24), dt.date(2025, 12, 31)],
    business_hours=(dt.time(9, 0), dt.time(17, 0)),
)
HOURS = BusinessHours(CAL, "Europe/Madrid")
H = 3600.0


def at(text: str) -> dt.datetime:
    """A Madrid wall time as an aware instant."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=MADRID)


# -- business-time arithmetic ---------------------------------------------------------------------
#: (start, end, business hours), Madrid wall times, counted by hand on a calendar.
HAND = [
    ("2025-03-03 10:00", "2025-03-03 16:00", 6),  # same day
    ("2025-03-03 15:00", "2025-03-04 14:00", 7),  # overnight: 2 + 5
    ("2025-03-07 16:00", "2025-03-10 10:00", 2),  # over a weekend: 1 + 1
    ("2025-03-03 20:00", "2025-03-04 10:00", 1),  # started after closing: from 09:00
    ("2025-03-03 06:00", "2025-03-03 10:00", 1),  # started before opening
    ("2025-03-08 11:00", "2025-03-09 18:00", 0),  # a whole weekend
    ("2025-03-03 10:00", "2025-03-10 10:00", 40),  # a week
    ("2025-04-16 16:00", "2025-04-21 10:00", 2),  # Maundy Thursday + Good Friday (holidays)
    ("2025-12-23 16:00", "2025-12-26 10:00", 2),  # closure 24th, Christmas 25th
    ("2025-12-30 12:00", "2026-01-02 12:00", 8),  # 30: 5 · 31 closure · 1 Jan holiday · 2: 3
    ("2025-03-28 16:00", "2025-03-31 10:00", 2),  # DST starts on Sunday 30 March
    ("2025-10-24 16:00", "2025-10-27 10:00", 2),  # DST ends on Sunday 26 October
    ("2025-03-29 01:00", "2025-03-30 12:00", 0),  # across the DST night itself, a weekend
    ("2025-03-03 17:00", "2025-03-03 17:00", 0),  # at closing
]


@pytest.mark.parametrize(("start", "end", "hours"), HAND)
def test_business_seconds_by_hand(start: str, end: str, hours: float) -> None:
    assert HOURS.seconds_between(at(start), at(end)) == hours * H


def brute_force(start: dt.datetime, end: dt.datetime, step_min: int = 15) -> float:
    """Independent reference: walk the interval in steps, count the steps whose local wall time
    is inside business hours on a working day (instants on a 15-minute grid only)."""
    work = WorkCalendar(CAL)
    total = 0
    cursor = start.astimezone(dt.UTC)
    stop = end.astimezone(dt.UTC)
    while cursor < stop:
        local = cursor.astimezone(MADRID)
        if work.is_working_day(local.date()) and dt.time(9) <= local.time() < dt.time(17):
            total += step_min * 60
        cursor += dt.timedelta(minutes=step_min)
    return float(total)


def random_pairs(n: int, seed: int = 3) -> list[tuple[dt.datetime, dt.datetime]]:
    rnd = random.Random(seed)
    origin = dt.datetime(2025, 3, 20, tzinfo=dt.UTC)  # spans the March DST change
    late = dt.datetime(2025, 10, 18, tzinfo=dt.UTC)  # and the October one
    holidays_ = dt.datetime(2025, 12, 18, tzinfo=dt.UTC)  # and Christmas closures
    pairs = []
    for _ in range(n):
        base = rnd.choice([origin, late, holidays_])
        a = base + dt.timedelta(minutes=15 * rnd.randrange(0, 4 * 24 * 14))
        b = a + dt.timedelta(minutes=15 * rnd.randrange(0, 4 * 24 * 12))
        pairs.append((a, b))
    return pairs


def test_business_seconds_match_a_brute_force_reference() -> None:
    for a, b in random_pairs(120):
        assert HOURS.seconds_between(a, b) == brute_force(a, b), (a, b)


def test_add_is_the_inverse_of_seconds_between() -> None:
    rnd = random.Random(5)
    for a, _ in random_pairs(80):
        seconds = 900.0 * rnd.randrange(1, 4 * 8 * 8)
        due = HOURS.add(a, seconds)
        assert HOURS.seconds_between(a, due) == seconds
        # due is the *first* instant with that much business time: a minute earlier is short
        assert HOURS.seconds_between(a, due - dt.timedelta(minutes=1)) < seconds
    # a clock started at night is due 8 business hours after the next opening
    assert HOURS.add(at("2025-03-03 20:00"), 8 * H) == at("2025-03-04 17:00")
    assert HOURS.add(at("2025-03-07 16:00"), 2 * H) == at("2025-03-10 10:00")
    assert HOURS.day_seconds == 8 * H


def test_engine_business_time_matches_python(engine: str, make_project: Any) -> None:
    ws = make_project(engine)
    pairs = [(at(s), at(e)) for s, e, _ in HAND] + random_pairs(40, seed=11)
    frame = pd.DataFrame(
        {
            "a": pd.to_datetime([p[0] for p in pairs], utc=True),
            "b": pd.to_datetime([p[1] for p in pairs], utc=True),
            "i": range(len(pairs)),
        }
    )
    days = days_table(HOURS.days(dt.date(2025, 2, 1), dt.date(2026, 1, 31)))
    t = ibis.memtable(frame)
    got = ws.store.execute(elapsed_seconds(t, "a", "b", business=True, days=days).order_by("i"))
    want = [HOURS.seconds_between(a, b) for a, b in pairs]
    assert got["elapsed_s"].round(3).tolist() == want
    for (_, _, hours), value in zip(HAND, got["elapsed_s"], strict=False):
        assert value == pytest.approx(hours * H)
    cal = ws.store.execute(elapsed_seconds(t, "a", "b", business=False).order_by("i"))
    # (b.timestamp() − a.timestamp(): Python subtracts wall times when both share a tzinfo)
    assert cal["elapsed_s"].tolist() == [b.timestamp() - a.timestamp() for a, b in pairs]
    assert cal["elapsed_s"][10] == 65 * H  # Fri 16:00 CET → Mon 10:00 CEST


# -- SLA stories -----------------------------------------------------------------------------------
#: Default project (Europe/Madrid, ES-MD holidays, 09:00–17:00), plus two calendar-time SLAs.
SLAS = (
    "  - {name: mql_response, start: mql, until: sales_touch, within: 8, unit: business_hours}\n"
    "  - {name: sql_follow_up, start: sql, until: sales_touch, within: 2, unit: business_days}\n"
    "  - {name: sql_time_limit, start: sql, until: opportunity, within: 30, unit: days}\n"
    "  - {name: mql_48h, start: mql, until: sales_touch, within: 48, unit: hours,"
    " where: {persona: [cfo]}}\n"
    "  - {name: enterprise_sql, start: sql, until: opportunity, within: 1, unit: days,"
    " where: {segment: [enterprise]}}\n"
)
AS_OF = "2025-03-10T12:00:00+01:00"  # Monday noon, Madrid (winter time)

STORY: dict[str, dict[str, Any]] = {
    "S1": {"created": "2025-03-01", "owner": "ana", "channel": "paid_search",
           "stages": [("mql", "2025-03-03 10:00")]},
    "S2": {"created": "2025-03-01", "owner": "ana", "channel": "paid_search",
           "stages": [("mql", "2025-03-03 15:00")]},
    "S3": {"created": "2025-03-01", "owner": "bo", "channel": "organic_search",
           "stages": [("mql", "2025-03-07 16:00")]},
    "S4": {"created": "2025-03-01", "owner": "bo", "channel": "organic_search",
           "persona": "cfo", "segment": "enterprise",
           "stages": [("mql", "2025-03-03 10:00"), ("sql", "2025-03-05 12:00")]},
    "S5": {"created": "2025-03-01", "owner": "ana", "channel": "email",
           "stages": [("mql", "2025-03-03 20:00")]},
    "S6": {"created": "2025-03-01", "owner": "bo", "channel": "email",
           "stages": [("mql", "2025-03-10 09:30")]},
    "S7": {"created": "2025-03-01", "owner": "ana", "channel": "email",
           "stages": [("mql", "2025-03-04 10:00"),
                      ("disqualified", "2025-03-04 11:00", "no_need")]},
    "S8": {"created": "2025-03-01", "owner": "bo", "channel": "paid_search",
           "stages": [("mql", "2025-03-04 10:00")]},
    "S9": {"created": "2025-03-01", "owner": "bo", "channel": "paid_search",
           "persona": "cfo", "stages": [("mql", "2025-03-03 10:00")]},
    # after the as-of time: not started yet
    "S10": {"created": "2025-03-01", "owner": "bo", "channel": "paid_search",
            "stages": [("mql", "2025-03-10 13:00")]},
    # disqualified after the limit ran out, never touched: a breach, not a closed clock
    "S13": {"created": "2025-03-01", "owner": "bo", "channel": "email",
            "stages": [("mql", "2025-03-04 10:00"),
                       ("disqualified", "2025-03-06 10:00", "unresponsive")]},
    # DST: Friday 16:00 CET to Monday 10:00 CEST
    "S11": {"created": "2025-03-20", "owner": "ana", "channel": "direct",
            "persona": "cfo", "stages": [("mql", "2025-03-28 16:00")]},
}  # fmt: skip
TOUCHES = [
    ("S1", "2025-03-03 16:00", "call"),
    ("S2", "2025-03-04 14:00", "meeting"),
    ("S3", "2025-03-10 10:00", "sales_email"),
    ("S4", "2025-03-05 10:00", "call"),
    ("S8", "2025-03-04 11:00", "email"),  # marketing e-mail: does not stop the clock
    ("S8", "2025-03-06 10:00", "Call"),  # kinds compare case-insensitively
    ("S9", "2025-03-03 09:00", "call"),  # before the clock started: does not stop it
    ("S10", "2025-03-10 14:00", "call"),
    ("S11", "2025-03-31 10:00", "call"),
    ("S6", "2025-03-10 13:00", "call"),  # after the as-of time: ignored
]

#: (sla, lead) → (status, elapsed, late_by), in the SLA's unit, worked out by hand.
EXPECTED = {
    ("mql_response", "S1"): ("met", 6, None),
    ("mql_response", "S2"): ("met", 7, None),  # 2 + 5
    ("mql_response", "S3"): ("met", 2, None),  # Fri 1 + Mon 1
    ("mql_response", "S4"): ("breached", 16, 8),  # Mon 7 + Tue 8 + Wed 1
    ("mql_response", "S5"): ("open_breached", 35, 27),  # Tue–Fri 32 + Mon 3 (from 09:00 Tue)
    ("mql_response", "S6"): ("open", 2.5, None),
    ("mql_response", "S7"): ("closed", 1, None),
    ("mql_response", "S13"): ("breached", 16, 8),  # Tue 7 + Wed 8 + Thu 1, then disqualified
    ("mql_response", "S8"): ("breached", 16, 8),  # Tue 7 + Wed 8 + Thu 1
    ("mql_response", "S9"): ("open_breached", 42, 34),  # Mon 7 + Tue–Fri 32 + Mon 3
    # S4's SQL on Wed 12:00, its only call before: Wed 5 + Thu 8 + Fri 8 + Mon 3 = 24 h = 3 days
    ("sql_follow_up", "S4"): ("open_breached", 3, 1),
    ("sql_time_limit", "S4"): ("open", 5, None),  # Wed 12:00 → Mon 12:00, calendar days
    ("enterprise_sql", "S4"): ("open_breached", 5, 4),
    ("mql_48h", "S4"): ("met", 48, None),  # Mon 10:00 → Wed 10:00: exactly the limit
    ("mql_48h", "S9"): ("open_breached", 170, 122),  # Mon 10:00 → next Mon 12:00
}


def touches_csv(ws: Any, rows: list[tuple[str, str, str]]) -> None:
    path = write_csv(
        ws.project_dir / "touches.csv",
        [
            {"touch_id": f"T{i}", "lead_id": lead, "at": when, "channel": "direct", "kind": kind}
            for i, (lead, when, kind) in enumerate(rows)
        ],
    )
    r = ws.import_files("touches", [path])
    assert r.rejected == 0, r.sample_rejections


def sla_config(engine: str) -> str:
    text = config_text(engine)
    start = text.index("slas:\n") + len("slas:\n")
    end = text.index("\n\n", start) + 1
    return text[:start] + SLAS + text[end:]


@pytest.fixture
def story(engine: str, make_project: Any) -> Any:
    ws = make_project(engine, sla_config(engine))
    load_journeys(ws, STORY)
    touches_csv(ws, TOUCHES)
    return ws


def test_sla_statuses_and_lateness_by_hand(story: Any) -> None:
    rep = story.report(
        "sla", view="clocks", start="2025-03-01", end="2025-03-31", as_of=AS_OF, period="month"
    )
    got = rows_by(rep, "sla", "lead_id")
    want_keys = set(EXPECTED)
    assert set(got) == want_keys
    for key, (status, elapsed, late) in EXPECTED.items():
        row = got[key]
        assert row["status"] == status, key
        assert row["elapsed"] == pytest.approx(elapsed), key
        assert (row["late_by"] is None) if late is None else row["late_by"] == pytest.approx(late)
    # S7 closed by its disqualification, S1 stopped by the call
    assert got[("mql_response", "S7")]["stopped_by"] == "disqualified"
    assert got[("mql_response", "S1")]["stopped_by"] == "sales_touch"
    assert got[("mql_response", "S1")]["started_at"] == "2025-03-03T10:00:00+01:00"


def test_open_breaches_list_with_due_time(story: Any) -> None:
    rep = story.report("sla", start="2025-03-01", end="2025-03-31", as_of=AS_OF)
    assert rep.name == "sla"
    rows = rows_by(rep, "sla", "lead_id")
    assert set(rows) == {k for k, v in EXPECTED.items() if v[0] == "open_breached"}
    s5 = rows[("mql_response", "S5")]
    assert (s5["owner"], s5["channel"]) == ("ana", "email")
    assert s5["late_by"] == pytest.approx(27)
    assert s5["due_at"] == "2025-03-04T17:00:00+01:00"  # 8 h from Tuesday's opening
    assert rows[("sql_follow_up", "S4")]["due_at"] == "2025-03-07T12:00:00+01:00"
    assert rows[("enterprise_sql", "S4")]["due_at"] == "2025-03-06T12:00:00+01:00"
    assert rows[("mql_48h", "S9")]["unit"] == "hours"


def test_dst_in_business_and_calendar_time(story: Any) -> None:
    rep = story.report(
        "sla", view="clocks", start="2025-03-28", end="2025-03-28", as_of="2025-04-01"
    )
    rows = rows_by(rep, "sla", "lead_id")
    assert rows[("mql_response", "S11")]["elapsed"] == pytest.approx(2)  # Fri 1 + Mon 1
    # calendar time: Fri 16:00 CET → Mon 10:00 CEST is 65 hours, not 66
    assert rows[("mql_48h", "S11")]["elapsed"] == pytest.approx(65)
    assert rows[("mql_48h", "S11")]["late_by"] == pytest.approx(17)


def test_breach_rates_by_owner(story: Any) -> None:
    rep = story.report(
        "sla", view="rates", by="owner", start="2025-03-01", end="2025-03-31", as_of=AS_OF
    )
    rows = rows_by(rep, "sla", "owner")
    # mql_response, ana: S1 met, S2 met, S5 open_breached, S7 closed (S11 starts on the 28th)
    ana = rows[("mql_response", "ana")]
    assert (ana["met"], ana["breached"], ana["open_breached"], ana["closed"]) == (2, 0, 1, 1)
    assert ana["decided"] == 3 and ana["breach_rate"] == pytest.approx(1 / 3)
    # bo: S3 met, S4 breached, S6 open, S8 breached, S9 open_breached, S13 breached (then
    # disqualified)
    bo = rows[("mql_response", "bo")]
    assert (bo["met"], bo["breached"], bo["open_breached"], bo["open"]) == (1, 3, 1, 1)
    assert bo["breach_rate"] == pytest.approx(4 / 5)
    assert str(rows[("mql_response", "bo")]["period"]) == "2025-03-01"


def test_as_of_ignores_what_came_later(story: Any) -> None:
    # on Monday 3 March at 16:30 S1 was met and S4's clock still running (6.5 h, open)
    rep = story.report(
        "sla", view="clocks", start="2025-03-01", end="2025-03-31", as_of="2025-03-03T16:30"
    )
    rows = rows_by(rep, "sla", "lead_id")
    assert rows[("mql_response", "S1")]["status"] == "met"
    assert rows[("mql_response", "S4")]["status"] == "open"
    assert rows[("mql_response", "S4")]["elapsed"] == pytest.approx(6.5)
    assert ("mql_response", "S7") not in rows


def test_unknown_sla_and_view_are_refused(story: Any) -> None:
    with pytest.raises(InvalidArgument) as exc:
        story.report("sla", sla="mql_respons")
    assert "mql_response" in (exc.value.hint or "")
    with pytest.raises(InvalidArgument):
        story.report("sla", view="brekaes")


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_cli_sla_json_and_rates(story: Any, capsys: pytest.CaptureFixture[str]) -> None:
    project = str(story.project_dir)
    story.close()
    code = main(
        ["sla", "--project", project, "--format", "json", "--as-of", AS_OF,
         "--from", "2025-03-01", "--to", "2025-03-31"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"report", "params", "rows", "notes"}
    assert data["report"] == "sla" and data["params"]["view"] == "breaches"
    assert {r["lead_id"] for r in data["rows"]} == {"S4", "S5", "S9"}
    code = main(
        ["sla", "--project", project, "--view", "rates", "--by", "channel", "--format", "csv",
         "--as-of", AS_OF, "--from", "2025-03-01", "--to", "2025-03-31"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and out.splitlines()[0].startswith("sla,period,channel,unit,started")
    code = main(["sla", "--project", project, "--sla", "nope"])
    err = capsys.readouterr().err
    assert code == 1 and "invalid_argument" in err
    code = main(["sla", "--project", project, "--as-of", AS_OF, "--from", "2025-03-01"])
    out = capsys.readouterr().out
    assert code == 0 and "Open SLA breaches" in out
