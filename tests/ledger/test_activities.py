"""The activities kind and its two presets, on exports generated here in the vendors' layouts.

HubSpot: an activities (engagements) export with associated records: "Activity ID", "Activity
type" (internal values CALL, INCOMING_EMAIL, … or labels), "Activity date" as HubSpot writes it
("2024-03-05 14:22") or re-saved US-style ("03/06/2024 9:05 AM"), "Associated Contact IDs"
holding several ids ("1002;1003"). Salesforce: a Data Loader Task export (API names, UTC with a
Z) and an Activities report export (field labels, the user's locale). Project time zone:
Europe/Madrid (UTC+1 until 31 March 2024).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from leadledger.errors import MappingError
from leadledger.ledger.derived import current_activities
from leadledger.ledger.imports.mapping import load_mapping, presets
from tests.conftest import write_csv

HUBSPOT_HEADER = [
    "Activity ID",
    "Activity type",
    "Activity date",
    "Create date",
    "Activity assigned to",
    "Call outcome",
    "Meeting outcome",
    "Subject",
    "Associated Contact",
    "Associated Contact IDs",
    "Associated Company IDs",
]
HUBSPOT_ROWS = [
    ["5001", "CALL", "2024-03-05 14:22", "2024-03-05 14:30", "Ana López", "Connected", "",
     "Intro call", "Jo Doe (jo@acme.example)", "1001", "9001"],
    ["5002", "INCOMING_EMAIL", "03/06/2024 9:05 AM", "03/06/2024 9:05 AM", "Ana López", "", "",
     "Re: pricing", "Jo Doe (jo@acme.example)", "1001", "9001"],
    ["5003", "MEETING", "2024-03-07 10:00", "2024-03-01 12:00", "Bo Kim", "", "Completed",
     "Demo", "Al Roe; Cy Poe", "1002;1003", "9002"],
    ["5004", "NOTE", "2024-03-08 11:00", "2024-03-08 11:00", "Bo Kim", "", "", "", "", "",
     "9002"],
    ["5005", "Email", "2024-03-08 12:00", "2024-03-08 12:00", "Ana López", "", "", "Follow-up",
     "", "1004", ""],
    ["5006", "TASK", "2024-03-11", "2024-03-08 12:00", "Ana López", "", "", "Call back", "",
     "1005", ""],
    # neither a contact nor a company: rejected, with the reason
    ["5007", "CALL", "2024-03-11 10:00", "2024-03-11 10:00", "Ana López", "No answer", "", "",
     "", "", ""],
    # a type with no kind in the preset: rejected, with the kinds it could be
    ["5008", "LINKEDIN_MESSAGE", "2024-03-11 10:00", "2024-03-11 10:00", "Ana López", "", "",
     "", "", "1001", ""],
]  # fmt: skip


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def activities(ws: Any) -> dict[str, dict[str, Any]]:
    frame = ws.store.execute(current_activities(ws.store.tables()))
    frame = frame.astype(object).where(frame.notna(), None)
    return {r["activity_id"]: r for r in frame.to_dict(orient="records")}


def utc(value: Any) -> str:
    return pd.Timestamp(value).tz_convert("UTC").strftime("%Y-%m-%d %H:%M")


def test_both_activity_presets_are_shipped() -> None:
    assert {"hubspot-engagements", "salesforce-tasks"} <= set(presets())
    assert load_mapping(preset="hubspot-engagements").kind == "activities"
    assert load_mapping(preset="salesforce-tasks").kind == "activities"
    with pytest.raises(MappingError, match="unknown preset") as exc:
        load_mapping(preset="salesforce-task")
    assert exc.value.hint == "did you mean 'salesforce-tasks'?"


def test_hubspot_engagements_export(make_project: Any, tmp_path: Path) -> None:
    ws = make_project()
    path = write_rows(tmp_path / "activities.csv", HUBSPOT_HEADER, HUBSPOT_ROWS)
    r = ws.import_files("activities", [path], preset="hubspot-engagements")
    assert (r.read, r.accepted, r.rejected, r.skipped) == (8, 6, 2, 0)
    got = activities(ws)
    assert set(got) == {"5001", "5002", "5003", "5004", "5005", "5006"}
    # Madrid local times in UTC (winter: UTC+1)
    assert {k: utc(v["at"]) for k, v in got.items()} == {
        "5001": "2024-03-05 13:22",
        "5002": "2024-03-06 08:05",  # US-style re-save
        "5003": "2024-03-07 09:00",  # Activity date, not Create date
        "5004": "2024-03-08 10:00",
        "5005": "2024-03-08 11:00",
        "5006": "2024-03-10 23:00",  # a date: the start of that local day
    }
    kinds = {k: (v["kind"], v["direction"]) for k, v in got.items()}
    assert kinds == {
        "5001": ("call", None),
        "5002": ("email", "inbound"),  # INCOMING_EMAIL
        "5003": ("meeting", None),
        "5004": ("note", None),
        "5005": ("email", "outbound"),  # the label "Email"
        "5006": ("task", None),
    }
    assert got["5001"]["outcome"] == "Connected"
    assert got["5003"]["outcome"] == "Completed"  # Meeting outcome, the call's being empty
    assert (got["5001"]["owner"], got["5001"]["subject"]) == ("Ana López", "Intro call")
    assert (got["5001"]["lead_id"], got["5001"]["account_id"]) == ("1001", "9001")
    # several contacts: the first one, and the row keeps them all
    assert got["5003"]["lead_id"] == "1002"
    props = json.loads(got["5003"]["properties"])
    assert props["Associated Contact IDs"] == "1002;1003"
    assert props["Associated Contact"] == "Al Roe; Cy Poe"
    # a company only: an account activity
    assert (got["5004"]["lead_id"], got["5004"]["account_id"]) == (None, "9002")

    by_row = {(s["row"], s["column"]): s["expected"] for s in r.sample_rejections}
    assert by_row[(8, "lead_id")].startswith("a lead_id or an account_id")
    assert "one of call, meeting, email, task, note" in by_row[(9, "kind;direction")].split(";")[0]
    quarantine = pd.read_csv(r.quarantine_path, dtype=str)
    assert list(quarantine["Activity ID"]) == ["5007", "5008"]


def test_reimport_changes_nothing_and_a_newer_export_replaces(
    make_project: Any, tmp_path: Path
) -> None:
    ws = make_project()
    path = write_rows(tmp_path / "activities.csv", HUBSPOT_HEADER, HUBSPOT_ROWS)
    ws.import_files("activities", [path], preset="hubspot-engagements")
    version = ws.store.data_version()
    again = ws.import_files("activities", [path], preset="hubspot-engagements")
    assert (again.read, again.accepted, again.rejected, again.skipped) == (8, 0, 2, 6)
    assert ws.store.data_version() == version  # a re-import changes no number
    # a later export: the call's outcome was corrected; the activity is versioned by its id
    rows = [list(r) for r in HUBSPOT_ROWS[:1]]
    rows[0][5] = "Left voicemail"
    newer = write_rows(tmp_path / "activities-2.csv", HUBSPOT_HEADER, rows)
    r = ws.import_files("activities", [newer], preset="hubspot-engagements")
    assert (r.accepted, r.skipped) == (1, 0)
    got = activities(ws)
    assert len(got) == 6 and got["5001"]["outcome"] == "Left voicemail"
    assert int(ws.store.execute(ws.store.table("activities").count())) == 7  # append-only


SALESFORCE_API = [
    {"Id": "00T000000000001AAA", "WhoId": "00Q000000000001AAA", "WhatId": "",
     "AccountId": "", "Subject": "Call", "ActivityDate": "2024-03-05",
     "CreatedDate": "2024-03-05T14:22:10.000Z", "TaskSubtype": "Call", "Type": "Call",
     "Status": "Completed", "OwnerId": "005000000000001AAA",
     "CallDisposition": "Left voicemail", "CallType": "Outbound"},
    {"Id": "00T000000000002AAA", "WhoId": "003000000000001AAA", "WhatId": "001000000000001AAA",
     "AccountId": "001000000000001AAA", "Subject": "Email: March newsletter",
     "ActivityDate": "2024-03-06", "CreatedDate": "2024-03-06T08:00:00.000Z",
     "TaskSubtype": "ListEmail", "Type": "", "Status": "Completed",
     "OwnerId": "005000000000001AAA", "CallDisposition": "", "CallType": ""},
    {"Id": "00T000000000003AAA", "WhoId": "", "WhatId": "001000000000002AAA",
     "AccountId": "001000000000002AAA", "Subject": "Send proposal", "ActivityDate": "2024-03-20",
     "CreatedDate": "2024-03-07T10:00:00.000Z", "TaskSubtype": "Task", "Type": "Other",
     "Status": "Not Started", "OwnerId": "005000000000002AAA", "CallDisposition": "",
     "CallType": ""},
    {"Id": "00T000000000004AAA", "WhoId": "", "WhatId": "", "AccountId": "",
     "Subject": "Orphan", "ActivityDate": "2024-03-08", "CreatedDate": "2024-03-08T10:00:00.000Z",
     "TaskSubtype": "Task", "Type": "", "Status": "Completed", "OwnerId": "005000000000002AAA",
     "CallDisposition": "", "CallType": ""},
]  # fmt: skip


def test_salesforce_data_loader_task_export(make_project: Any, tmp_path: Path) -> None:
    ws = make_project()
    path = write_csv(tmp_path / "Task.csv", SALESFORCE_API)
    r = ws.import_files("activities", [path], preset="salesforce-tasks")
    assert (r.read, r.accepted, r.rejected, r.skipped) == (4, 3, 1, 0)
    got = activities(ws)
    call = got["00T000000000001AAA"]
    # CreatedDate (UTC, with Z) is when the call was logged; the due date has no time
    assert utc(call["at"]) == "2024-03-05 14:22"
    assert (call["kind"], call["direction"], call["outcome"]) == (
        "call",
        "outbound",
        "Left voicemail",
    )
    assert (call["lead_id"], call["owner"]) == ("00Q000000000001AAA", "005000000000001AAA")
    email = got["00T000000000002AAA"]
    assert (email["kind"], email["lead_id"], email["account_id"]) == (
        "email",
        "003000000000001AAA",
        "001000000000001AAA",
    )
    assert email["outcome"] == "Completed"  # no call result: the status
    task = got["00T000000000003AAA"]
    assert (task["kind"], task["lead_id"], task["account_id"]) == (
        "task",
        None,
        "001000000000002AAA",
    )
    assert json.loads(task["properties"])["WhatId"] == "001000000000002AAA"
    (rejection,) = r.sample_rejections
    assert (rejection["row"], rejection["column"]) == (5, "lead_id")


def test_salesforce_activities_report_with_labels(make_project: Any, tmp_path: Path) -> None:
    """A report export: labels, en_US dates; a lead's row has its Lead ID, a contact's its
    Contact ID (both columns are read, row by row)."""
    ws = make_project()
    header = [
        "Activity ID",
        "Subject",
        "Assigned",
        "Date",
        "Created Date",
        "Task Subtype",
        "Lead ID",
        "Contact ID",
        "Account ID",
        "Call Result",
        "Call Type",
        "Status",
    ]
    rows = [
        ["00T1", "Discovery call", "Ana López", "3/5/2024", "3/5/2024 3:22 PM", "Call",
         "00Q1", "", "", "Connected", "Inbound", "Completed"],
        ["00T2", "Email: hello", "Ana López", "3/6/2024", "", "Email", "", "0031", "0011", "",
         "", "Completed"],
        ["00T3", "Call", "Bo Kim", "3/7/2024", "3/7/2024 9:00 AM", "LinkedIn", "00Q2", "", "",
         "", "", "Completed"],
    ]  # fmt: skip
    path = write_rows(tmp_path / "report.csv", header, rows)
    r = ws.import_files("activities", [path], preset="salesforce-tasks")
    assert (r.read, r.accepted, r.rejected) == (3, 2, 1)
    got = activities(ws)
    assert utc(got["00T1"]["at"]) == "2024-03-05 14:22"  # 3:22 PM Madrid
    assert (got["00T1"]["lead_id"], got["00T1"]["direction"]) == ("00Q1", "inbound")
    # no Created Date: the due date, the start of that local day
    assert utc(got["00T2"]["at"]) == "2024-03-05 23:00"
    assert (got["00T2"]["lead_id"], got["00T2"]["kind"]) == ("0031", "email")
    assert r.sample_rejections[0]["column"] == "kind"  # LinkedIn: no kind for it here


def test_an_activity_without_lead_or_account_is_quarantined(
    make_project: Any, tmp_path: Path
) -> None:
    ws = make_project()
    path = write_csv(
        tmp_path / "activities.csv",
        [
            {"activity_id": "A1", "lead_id": "L1", "at": "2024-03-05 10:00", "kind": "call"},
            {"activity_id": "A2", "at": "2024-03-05 11:00", "kind": "meeting"},
            {"activity_id": "A3", "account_id": "ACC1", "at": "2024-03-05 12:00", "kind": "Note"},
        ],
    )
    r = ws.import_files("activities", [path])
    assert (r.read, r.accepted, r.rejected, r.skipped) == (3, 2, 1, 0)
    q = pd.read_csv(r.quarantine_path, dtype=str, keep_default_na=False)
    assert list(q["activity_id"]) == ["A2"]
    assert q["_column"].tolist() == ["lead_id"]
    assert q["_expected"].tolist() == ["a lead_id or an account_id (who it was with)"]
    assert set(activities(ws)) == {"A1", "A3"}
    assert activities(ws)["A3"]["kind"] == "note"  # kinds ignore case


def test_a_ledger_from_before_activities(
    make_project: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ledger file written before the activities kind existed: reading it without creating
    tables (``leadledger validate``) sees an empty activities table; opening it creates one."""
    from leadledger.cli.main import main
    from leadledger.service import Workspace

    ws = make_project()
    path = write_csv(tmp_path / "leads.csv", [{"lead_id": "L1", "created_at": "2024-03-01"}])
    assert ws.import_files("leads", [path]).rejected == 0
    ws.store._execute("DROP TABLE activities")
    folder = ws.project_dir
    ws.close()
    code = main(["validate", "--project", str(folder)])
    assert code == 0, capsys.readouterr()
    with Workspace(folder) as again:
        assert again.store.has_table("activities")
        assert int(again.store.execute(again.store.table("activities").count())) == 0
