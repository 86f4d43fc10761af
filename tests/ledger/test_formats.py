"""Files as they come: delimiters, encodings, Parquet, JSON Lines, gzip; and mapping files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from leadledger.ledger.derived import current_leads
from leadledger.ledger.imports.read import detect_encoding, read_file

PEOPLE = [
    ("L1", "2024-03-04 09:15", "José Müller", "Café Olé S.L."),
    ("L2", "2024-03-05 10:00", "Françoise Lefèvre", "Ñandú & Cía"),
    ("L3", "2024-03-06 11:30", "Jürgen Groß", "Preis 5€ GmbH"),
]


def leads(ws) -> dict[str, dict]:
    frame = ws.store.execute(current_leads(ws.store.tables()))
    frame = frame.astype(object).where(frame.notna(), None)
    return {r["lead_id"]: r for r in frame.to_dict(orient="records")}


def write_text(path: Path, delimiter: str, encoding: str, people=PEOPLE) -> Path:
    lines = [delimiter.join(["lead_id", "created_at", "name", "company"])]
    lines += [delimiter.join(p) for p in people]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


@pytest.mark.parametrize(
    ("delimiter", "encoding", "people"),
    [
        (";", "cp1252", PEOPLE),  # Excel "CSV" in a Spanish/German locale
        (",", "latin-1", PEOPLE[:2]),  # no € in latin-1
        ("\t", "utf-8", PEOPLE),
        ("\t", "utf-16", PEOPLE),  # Excel "Unicode text": UTF-16 with a BOM, tab-separated
        (";", "utf-8-sig", PEOPLE),  # Excel "CSV UTF-8": a BOM before the first header
        ("|", "utf-8", PEOPLE),
    ],
)
def test_delimiters_and_encodings(make_project, tmp_path, delimiter, encoding, people):
    ws = make_project()
    f = write_text(tmp_path / "leads.csv", delimiter, encoding, people)
    r = ws.import_files("leads", [f])
    assert (r.read, r.accepted, r.rejected) == (len(people), len(people), 0), r.sample_rejections
    assert r.files[0].delimiter == delimiter
    now = leads(ws)
    for lead_id, _, name, company in people:
        assert (now[lead_id]["name"], now[lead_id]["company"]) == (name, company)


def test_encoding_detection_does_not_guess_wildly():
    spanish = "id;nombre\n1;José Müller\n".encode("cp1252")
    assert detect_encoding(spanish) == "cp1252"
    assert detect_encoding("id,imię\n1,Łukasz Żółć\n".encode("cp1250")) == "cp1250"
    assert detect_encoding("id,имя\n1,Иван Петров\n".encode("cp1251")) == "cp1251"
    assert detect_encoding(b"\xef\xbb\xbfid\n1\n") == "utf-8-sig"


def test_an_encoding_can_be_forced(make_project, tmp_path):
    ws = make_project()
    f = write_text(tmp_path / "leads.csv", ",", "latin-1", PEOPLE[:1])
    r = ws.import_files("leads", [f], encoding="latin-1")
    assert r.files[0].encoding == "latin-1"
    assert leads(ws)["L1"]["name"] == "José Müller"


def test_parquet_with_typed_columns(make_project, tmp_path):
    ws = make_project()
    table = pa.table(
        {
            "deal_id": ["D1", "D2"],
            "lead_id": ["L1", None],
            "created_at": pa.array(
                [
                    pd.Timestamp("2024-03-04 09:00", tz="UTC"),
                    pd.Timestamp("2024-03-05 09:00", tz="UTC"),
                ],
                type=pa.timestamp("us", tz="UTC"),
            ),
            "closed_at": pa.array(
                [pd.Timestamp("2024-04-01 12:00"), None], type=pa.timestamp("us")
            ),  # naive: project time
            "status": ["won", "open"],
            "amount": [12500.5, 3000.0],
            "currency": ["EUR", "EUR"],
        }
    )
    f = tmp_path / "deals.parquet"
    pq.write_table(table, f)
    r = ws.import_files("deals", [f])
    assert (r.read, r.accepted, r.rejected) == (2, 2, 0), r.sample_rejections
    assert r.files[0].format == "parquet"
    d = ws.store.execute(ws.store.table("deals").order_by("deal_id"))
    assert list(d["amount"]) == [12500.5, 3000.0]
    assert pd.Timestamp(d["closed_at"][0]) == pd.Timestamp("2024-04-01 10:00", tz="UTC")
    assert pd.Timestamp(d["created_at"][1]) == pd.Timestamp("2024-03-05 09:00", tz="UTC")


def test_json_lines_and_a_json_array(make_project, tmp_path):
    ws = make_project()
    lines = [
        {
            "lead_id": "L1",
            "created_at": "2024-03-04T09:15:00Z",
            "email": "a@example.com",
            "score": 42,
            "tags": ["vip", "es"],
            "consent": True,
        },
        {"lead_id": "L2", "created_at": "2024-03-05 10:00", "email": None},
    ]
    f = tmp_path / "leads.jsonl"
    f.write_text(
        "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\n", encoding="utf-8"
    )
    r = ws.import_files("leads", [f])
    assert (r.read, r.accepted, r.rejected) == (2, 2, 0), r.sample_rejections
    now = leads(ws)
    assert pd.Timestamp(now["L1"]["created_at"]) == pd.Timestamp("2024-03-04 09:15", tz="UTC")
    assert json.loads(now["L1"]["properties"]) == {
        "score": "42",
        "tags": '["vip", "es"]',
        "consent": "true",
    }
    g = tmp_path / "more.json"
    g.write_text(
        json.dumps([{"lead_id": "L3", "created_at": "2024-03-06"}, ["not", "a", "row"]]),
        encoding="utf-8",
    )
    r = ws.import_files("leads", [g])
    assert (r.read, r.accepted, r.rejected) == (2, 1, 1)
    assert r.sample_rejections[0]["row"] == 2
    assert r.sample_rejections[0]["column"] == "(record)"


def test_gzip(make_project, tmp_path):
    ws = make_project()
    plain = write_text(tmp_path / "x.csv", ",", "utf-8")
    f = tmp_path / "leads.csv.gz"
    f.write_bytes(gzip.compress(plain.read_bytes()))
    g = tmp_path / "more.jsonl.gz"
    g.write_bytes(gzip.compress(b'{"lead_id": "L9", "created_at": "2024-03-09"}\n'))
    r = ws.import_files("leads", [f, g])
    assert (r.read, r.accepted, r.rejected) == (4, 4, 0)
    assert leads(ws)["L3"]["company"] == "Preis 5€ GmbH"


def test_blank_lines_are_not_records_but_keep_row_numbers(tmp_path):
    f = tmp_path / "b.csv"
    f.write_text("a,b,c\n1,2,3\n\n4,5,6,7\n,,\n8,9,10\n", encoding="utf-8")
    r = read_file(f)
    assert list(r.frame["_row"]) == [2, 6]
    assert [(b.row, b.text) for b in r.bad] == [(4, "4,5,6,7")]
    assert (r.read, r.blank) == (3, 2)


def test_a_mapping_file_renames_parses_maps_and_sets_constants(make_project, tmp_path):
    ws = make_project()
    # a hand-made export: European dates and numbers, own stage names, ';' delimiter
    src = tmp_path / "pipeline.csv"
    src.write_text(
        "Contacto;Fase;Fecha de cambio;Motivo\n"
        "C-1;Marketing Qualified;05/03/2024 14:22;\n"
        "C-1;Descartado;07/03/2024 09:00;sin presupuesto\n"
        "C-2;MQL;06/03/2024 08:00;\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "kind: stages\n"
        "delimiter: ';'\n"
        "columns:\n"
        "  lead_id: Contacto\n"
        "  stage: Fase\n"
        "  entered_at: Fecha de cambio\n"
        "  reason: Motivo\n"
        "dates:\n"
        "  entered_at: '%d/%m/%Y %H:%M'\n"
        "values:\n"
        "  stage: {Marketing Qualified: mql, descartado: disqualified}\n"
        "  reason: {sin presupuesto: no_budget}\n"
        "constants:\n"
        "  source: hoja de cálculo\n",
        encoding="utf-8",
    )
    r = ws.import_files("stages", [src], mapping=mapping)
    assert (r.read, r.accepted, r.rejected) == (3, 3, 0), r.sample_rejections
    ev = ws.store.execute(ws.store.table("stage_events").order_by(["lead_id", "entered_at"]))
    got = [
        (
            x.lead_id,
            x.stage,
            pd.Timestamp(x.entered_at).strftime("%Y-%m-%d %H:%M"),
            None if pd.isna(x.reason) else x.reason,
            x.source,
        )
        for x in ev.itertuples()
    ]
    assert got == [
        ("C-1", "mql", "2024-03-05 13:22", None, "hoja de cálculo"),
        ("C-1", "disqualified", "2024-03-07 08:00", "no_budget", "hoja de cálculo"),
        ("C-2", "mql", "2024-03-06 07:00", None, "hoja de cálculo"),  # MQL: config value
    ]


def test_decimal_comma_amounts_with_a_mapping(make_project, tmp_path):
    ws = make_project()
    src = tmp_path / "costs.csv"
    src.write_text(
        "desde;hasta;canal;tipo;importe\n01/03/2024;31/03/2024;google ads;media;1.234,50\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "costs.yaml"
    mapping.write_text(
        "kind: costs\ndecimal: ','\nthousands: '.'\n"
        "columns: {period_start: desde, period_end: hasta, channel: canal, category: tipo,"
        " amount: importe}\n"
        "dates: {period_start: '%d/%m/%Y', period_end: '%d/%m/%Y'}\n",
        encoding="utf-8",
    )
    r = ws.import_files("costs", [src], mapping=mapping)
    assert r.rejected == 0, r.sample_rejections
    c = ws.store.execute(ws.store.table("costs"))
    assert c["amount"][0] == 1234.5
    assert c["channel"][0] == "paid_search"
    assert str(c["period_start"][0])[:10] == "2024-03-01"
