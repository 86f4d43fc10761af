"""The shipped presets import realistic exports with zero rejections; stage events hand-checked.

The fixtures are written by hand (fictitious people); their headers are the real column names of
a HubSpot contacts export and of a Salesforce Lead export (Data Loader API names / report labels).
Project time zone: Europe/Madrid (UTC+1 until 31 March 2024, UTC+2 after).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from leadledger.errors import MappingError
from leadledger.ledger.derived import current_leads
from leadledger.ledger.imports.mapping import load_mapping, presets
from tests.conftest import write_csv

FIXTURES = Path(__file__).parent / "fixtures"


def events(ws) -> set[tuple[str, str, str]]:
    ev = ws.store.execute(ws.store.table("stage_events"))
    return {
        (
            r.lead_id,
            r.stage,
            pd.Timestamp(r.entered_at).tz_convert("UTC").strftime("%Y-%m-%d %H:%M"),
        )
        for r in ev.itertuples()
    }


def leads(ws) -> dict[str, dict]:
    frame = ws.store.execute(current_leads(ws.store.tables()))
    frame = frame.astype(object).where(frame.notna(), None)
    return {r["lead_id"]: r for r in frame.to_dict(orient="records")}


def test_both_presets_are_shipped():
    assert {"hubspot-contacts", "salesforce-leads"} <= set(presets())
    with pytest.raises(MappingError, match="unknown preset") as exc:
        load_mapping(preset="hubspot-contact")
    assert exc.value.hint == "did you mean 'hubspot-contacts'?"


def test_hubspot_contacts_export(make_project):
    ws = make_project()
    r = ws.import_files("leads", [FIXTURES / "hubspot-contacts.csv"], preset="hubspot-contacts")
    assert (r.read, r.accepted, r.rejected, r.skipped) == (6, 6, 0, 0)
    # local (Madrid) times from the export, in UTC; 2 April is summer time
    assert events(ws) == {
        ("1001", "lead", "2024-03-04 08:15"),
        ("1001", "mql", "2024-03-06 10:00"),
        ("1001", "sql", "2024-03-11 15:30"),
        ("1001", "opportunity", "2024-03-15 09:05"),
        ("1001", "customer", "2024-04-02 10:45"),
        ("1002", "lead", "2024-03-05 13:22"),  # Became a Subscriber Date
        ("1003", "lead", "2024-03-07 07:01"),
        ("1003", "mql", "2024-03-08 16:40"),
        ("1004", "lead", "2024-03-10 18:30"),
        ("1004", "mql", "2024-03-12 08:00"),
        ("1004", "sql", "2024-03-13 09:00"),
        ("1005", "lead", "2024-03-31 08:00"),
        ("1006", "lead", "2024-02-28 12:10"),
        ("1006", "mql", "2024-03-01 08:30"),
        ("1006", "opportunity", "2024-03-20 14:00"),  # skipped SQL: no event invented
    }
    assert r.total("stage_events_new") == 15
    now = leads(ws)
    assert {k: v["channel"] for k, v in now.items()} == {
        "1001": "organic_search",  # label "Organic Search"
        "1002": "email",  # internal value EMAIL_MARKETING
        "1003": "paid_social",
        "1004": "events",  # "Offline Sources" → OFFLINE
        "1005": "direct",
        "1006": "referral",
    }
    lucia = now["1001"]
    assert lucia["email"] == "lucia.fernandez@example.com"
    assert lucia["company"] == "Huerta Verde S.L."
    assert lucia["title"] == "Directora de Compras"
    assert lucia["owner"] == "marta.ruiz@example.com"
    assert lucia["country"] == "Spain"
    assert lucia["source_system"] == "hubspot"
    assert pd.Timestamp(lucia["created_at"]) == pd.Timestamp("2024-03-04 08:15", tz="UTC")
    props = json.loads(lucia["properties"])
    assert props["Lifecycle Stage"] == "Customer"
    assert props["Lead Status"] == "Connected"
    assert props["Original Source Drill-Down 1"] == "google"
    assert "First Page Seen" in r.files[0].missing_columns
    # the same export again: nothing changes
    again = ws.import_files("leads", [FIXTURES / "hubspot-contacts.csv"], preset="hubspot-contacts")
    assert (again.accepted, again.skipped, again.total("stage_events_new")) == (0, 6, 0)


def test_salesforce_data_loader_export(make_project):
    ws = make_project()
    r = ws.import_files("leads", [FIXTURES / "salesforce-leads.csv"], preset="salesforce-leads")
    assert (r.read, r.accepted, r.rejected, r.skipped) == (5, 5, 0, 0)
    # ConvertedDate is a date: the SQL entry is the start of that day in the project's zone
    assert events(ws) == {
        ("00Q5g00000AbCdEEA1", "sql", "2024-03-19 23:00"),
        ("00Q5g00000AbCdIEA1", "sql", "2024-04-01 22:00"),
    }
    now = leads(ws)
    hannah = now["00Q5g00000AbCdEEA1"]
    # CreatedDate is UTC (…Z) in a Data Loader export
    assert pd.Timestamp(hannah["created_at"]) == pd.Timestamp("2024-03-05 14:22:10", tz="UTC")
    assert hannah["name"] == "Hannah Schmidt"
    assert hannah["owner"] == "0055g00000XyZaBAAV"
    assert hannah["source_system"] == "salesforce"
    assert now["00Q5g00000AbCdFEA1"]["channel"] == "events"  # "Trade Show" in the config
    assert now["00Q5g00000AbCdGEA1"]["channel"] == "Partner Referral"  # not configured: kept
    # Status has no date: kept in properties, no disqualified event is invented
    mikko = json.loads(now["00Q5g00000AbCdHEA1"]["properties"])
    assert mikko["Status"] == "Closed - Not Converted"
    assert mikko["IsConverted"] == "false"
    codes = {row["check"] for row in ws.report("check").as_dict()["rows"]}
    assert "unknown_channel" in codes  # Web, Partner Referral, ... are reported, not dropped


def test_salesforce_report_export_with_labels_and_us_dates(make_project):
    ws = make_project()
    r = ws.import_files(
        "leads", [FIXTURES / "salesforce-leads-report.csv"], preset="salesforce-leads"
    )
    assert (r.read, r.accepted, r.rejected) == (3, 3, 0)
    assert events(ws) == {("00Q5g00000BcDeFEA1", "sql", "2024-03-19 23:00")}
    now = leads(ws)
    # "3/5/2024 2:22 PM" is local time (Madrid, UTC+1)
    created = {k: pd.Timestamp(v["created_at"]).strftime("%Y-%m-%d %H:%M") for k, v in now.items()}
    assert created == {
        "00Q5g00000BcDeFEA1": "2024-03-05 13:22",
        "00Q5g00000BcDeGEA1": "2024-03-14 10:05",
        "00Q5g00000BcDeHEA1": "2024-04-01 07:40",
    }
    assert now["00Q5g00000BcDeFEA1"]["owner"] == "Dana Whitfield"


def test_a_mapping_file_refines_a_preset(make_project, tmp_path):
    """The file's keys override the preset's; value maps merge per field."""
    ws = make_project()
    m = tmp_path / "mine.yaml"
    m.write_text(
        "timezone: America/New_York\n"
        "values:\n  channel:\n    Referrals: PAID_SEARCH\n"
        "columns:\n  campaign: Original Source Drill-Down 1\n",
        encoding="utf-8",
    )
    mapping = load_mapping(m, "hubspot-contacts")
    assert mapping.values["channel"]["Organic search"] == "ORGANIC_SEARCH"  # kept
    assert mapping.columns["lead_id"] == ["Record ID", "Contact ID"]
    r = ws.import_files(
        "leads", [FIXTURES / "hubspot-contacts.csv"], mapping=m, preset="hubspot-contacts"
    )
    assert r.rejected == 0
    now = leads(ws)
    assert now["1006"]["channel"] == "paid_search"
    assert now["1001"]["campaign"] == "google"
    # New York is UTC-5 on 4 March 2024
    assert pd.Timestamp(now["1001"]["created_at"]) == pd.Timestamp("2024-03-04 14:15", tz="UTC")


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2024-03-05 14:22", "2024-03-05 13:22"),  # HubSpot export
        ("2024-03-05 14:22:09", "2024-03-05 13:22:09"),
        ("03/05/2024 2:22 PM", "2024-03-05 13:22"),  # US-style, 12-hour clock
        ("3/5/2024 2:22 pm", "2024-03-05 13:22"),
        ("03/05/2024 14:22", "2024-03-05 13:22"),
        ("2024-03-05T14:22:10.000Z", "2024-03-05 14:22:10"),  # Salesforce Data Loader: UTC
        ("2024-03-05T14:22:10.000+0000", "2024-03-05 14:22:10"),
        ("2024-03-05T16:22:10+02:00", "2024-03-05 14:22:10"),
        ("2024-03-05", "2024-03-04 23:00"),  # a date: the start of the local day
        ("3/5/2024", "2024-03-04 23:00"),
    ],
)
def test_crm_date_formats(make_project, tmp_path, text, utc):
    ws = make_project()
    f = write_csv(tmp_path / "c.csv", [{"Record ID": "1", "Create Date": text}])
    r = ws.import_files("leads", [f], preset="hubspot-contacts")
    assert r.rejected == 0, r.sample_rejections
    created = ws.store.execute(ws.store.table("leads").created_at)[0]
    assert pd.Timestamp(created) == pd.Timestamp(utc, tz="UTC")
