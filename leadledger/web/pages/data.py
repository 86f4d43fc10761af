"""Data: the import batches, a sample of each batch's quarantined rows (and the whole quarantine
file as a download) and the anomalies of ``leadledger check``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from leadledger.errors import InvalidArgument
from leadledger.reports.data import CheckParams, ImportsParams
from leadledger.reports.result import Report
from leadledger.service import Workspace
from leadledger.web.app import Read
from leadledger.web.common import api_link, companion_tables, render, table
from leadledger.web.pages._shared import F, Page, api_path, attempt, shown_columns

PAGE = Page(path="/data", title="Data", order=80, charts=False)
router = APIRouter(include_in_schema=False)

QUARANTINE_ROWS = 10


def _quarantine_file(ws: Workspace, rel: str) -> Path:
    root = (ws.project_dir / "imports").resolve()
    path = (ws.project_dir / rel).resolve()
    if not path.is_relative_to(root) or path.name != "quarantine.csv" or not path.is_file():
        raise InvalidArgument(f"no quarantine file {rel}")
    return path


@router.get(PAGE.path, response_class=HTMLResponse)
def data_page(request: Request, st: Read, f: F) -> Response:
    def build(ws: Workspace) -> dict[str, Any]:
        imports = ws.run(ImportsParams())
        samples: list[dict[str, Any]] = []
        for rec in imports.frame.to_dict(orient="records"):
            rel = rec.get("quarantine")
            if (
                isinstance(rel, str)
                and rel
                and not any(s["batch_no"] == rec["batch_no"] for s in samples)
            ):
                path = _quarantine_file(ws, rel)
                head = pd.read_csv(path, nrows=QUARANTINE_ROWS, dtype=str, keep_default_na=False)
                samples.append(
                    {"batch_no": int(rec["batch_no"]), "kind": rec["kind"], "head": head}
                )
        return {
            "imports": imports,
            "samples": samples,
            "check": attempt(lambda: ws.run(CheckParams())),
        }

    got = st.call(build)
    imports: Report = got["imports"]
    imports_api = api_path(ImportsParams)
    notes = list(imports.notes)
    tables = [
        table(
            imports,
            title="Imports",
            table_id="imports",
            csv=api_link(imports_api, None, format="csv"),
        )
    ]
    tables += companion_tables(imports, imports_api, "imports")
    quarantined = []
    for s in got["samples"]:
        t = table(
            s["head"],
            title=f"Batch {s['batch_no']} ({s['kind']}): first {QUARANTINE_ROWS} quarantined rows",
            table_id=f"quarantine-{s['batch_no']}",
            csv=f"{PAGE.path}/quarantine/{s['batch_no']}.csv",
        )
        quarantined.append(t)
    if not quarantined:
        notes.append("no quarantined rows: every imported row was accepted or skipped")
    check, err = got["check"]
    if check is not None:
        notes += check.notes[:3]
        tables_check = [
            table(
                check,
                title="Anomalies (leadledger check)",
                table_id="check",
                columns=shown_columns(check.frame, check.table_columns),
                csv=api_link(api_path(CheckParams), None, format="csv"),
            )
        ]
    else:
        notes.append(f"anomalies: {err}")
        tables_check = []
    return render(
        request,
        "data.html",
        title=PAGE.title,
        vega=PAGE.charts,
        f=f,
        notes=notes,
        tables=tables,
        quarantined=quarantined,
        checks=tables_check,
    )


@router.get(PAGE.path + "/quarantine/{batch_no}.csv")
def quarantine_download(st: Read, batch_no: int) -> Response:
    """The whole quarantine file of one import batch."""

    def find(ws: Workspace) -> Path:
        frame = ws.run(ImportsParams()).frame
        hits = frame[(frame["batch_no"] == batch_no) & frame["quarantine"].notna()]
        if hits.empty:
            raise InvalidArgument(f"import batch {batch_no} quarantined no rows")
        return _quarantine_file(ws, str(hits["quarantine"].iloc[0]))

    path = st.call(find)
    return FileResponse(
        path, media_type="text/csv; charset=utf-8", filename=f"quarantine-{batch_no}.csv"
    )
