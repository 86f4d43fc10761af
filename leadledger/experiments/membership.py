"""The group membership of an ``assignment: imported`` experiment, read from a file and checked
(no connection, no ledger: the caller hands over what earlier imports recorded).

A membership file (CSV, Parquet or JSON Lines) has the columns ``lead_id`` and ``group``. It is
taken whole or not at all: a row without a lead id, a group that is not test or control (after
the ``--map`` of the file's own values), or a lead moved to the other group (in the file or
against an earlier import) rejects the file, every problem listed by row and column; exact
repeats and rows imported before are counted and skipped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from leadledger.errors import ImportFileError, InvalidArgument, RejectedRows
from leadledger.experiments.assignment import GROUPS
from leadledger.ledger.imports.read import ROW, read_file

__all__ = [
    "SHOWN_PROBLEMS",
    "against_earlier",
    "parse_group_map",
    "read_membership",
    "rejection",
]

#: Problems listed in the message of a rejected membership import.
SHOWN_PROBLEMS = 10
#: A problem: ``{row, column, value, expected}``.
Problem = dict[str, Any]


def parse_group_map(items: Sequence[str] | Mapping[str, str] | None) -> dict[str, str]:
    """``["treatment=test", "holdout=control"]`` (or a dict) → {file value (case-folded): group}.
    ``test`` and ``control`` always map to themselves."""
    mapping = {g: g for g in GROUPS}
    if not items:
        return mapping
    pairs = (
        list(items.items())
        if isinstance(items, Mapping)
        else [tuple(x.split("=", 1)) if "=" in x else (x, "") for x in items]
    )
    for value, group in pairs:
        value, group = str(value).strip(), str(group).strip().lower()
        if not value or group not in GROUPS:
            raise InvalidArgument(
                f"--map '{value}={group}' is not VALUE=test or VALUE=control",
                hint="e.g. --map treatment=test --map holdout=control",
            )
        mapping[value.casefold()] = group
    return mapping


def _column(frame: pd.DataFrame, wanted: str, file: Path) -> str:
    def norm(c: str) -> str:
        return str(c).strip().lower().replace(" ", "_")

    for c in frame.columns:
        if c != ROW and norm(c) == wanted:
            return str(c)
    found = [str(c) for c in frame.columns if c != ROW]
    raise ImportFileError(
        f"{file}: no '{wanted}' column (found: {', '.join(found) or 'none'})",
        hint="a membership file has the columns lead_id and group (test or control)",
    )


def _text(value: Any) -> str:
    """A cell as text: None/NaN → '', 12.0 (an integer id read as a float) → '12'."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    return str(value).strip()


def read_membership(
    file: Path, group_map: Mapping[str, str]
) -> tuple[pd.DataFrame, list[Problem], int]:
    """Read and check a membership file. Returns (rows: lead_id, group, row — first occurrence of
    each lead; problems: {row, column, value, expected}; duplicate rows skipped). Nothing is
    dropped silently: a row is either kept, a listed problem, or a counted exact repeat."""
    read = read_file(file)
    problems: list[Problem] = [
        {"row": b.row, "column": None, "value": b.text, "expected": b.reason} for b in read.bad
    ]
    frame = read.frame
    if frame.empty and not problems:
        raise ImportFileError(
            f"{file}: no rows", hint="a header row lead_id,group and one row per lead"
        )
    id_col = _column(frame, "lead_id", file)
    group_col = _column(frame, "group", file)
    expected_groups = "test or control" + (
        " (or " + ", ".join(sorted(k for k in group_map if k not in GROUPS)) + ")"
        if len(group_map) > len(GROUPS)
        else ""
    )
    seen: dict[str, tuple[str, int]] = {}
    kept: list[dict[str, Any]] = []
    duplicates = 0
    for rec in frame.to_dict(orient="records"):
        row = int(rec[ROW])
        lead_id = _text(rec[id_col])
        raw_group = _text(rec[group_col])
        group = group_map.get(raw_group.casefold())
        bad = False
        if not lead_id:
            problems.append(
                {"row": row, "column": id_col, "value": "", "expected": "a lead id (not empty)"}
            )
            bad = True
        if group is None:
            problems.append(
                {
                    "row": row,
                    "column": group_col,
                    "value": raw_group,
                    "expected": expected_groups
                    + (
                        f"; map other values with --map {raw_group or 'VALUE'}=test|control"
                        if raw_group
                        else ""
                    ),
                }
            )
            bad = True
        if bad:
            continue
        assert group is not None
        if lead_id in seen:
            first_group, first_row = seen[lead_id]
            if first_group == group:
                duplicates += 1
            else:
                problems.append(
                    {
                        "row": row,
                        "column": group_col,
                        "value": raw_group,
                        "expected": f"{first_group}, as lead {lead_id} is in row {first_row}: a "
                        "lead is in one group only",
                    }
                )
            continue
        seen[lead_id] = (group, row)
        kept.append({"lead_id": lead_id, "group": group, "row": row})
    rows = pd.DataFrame(kept, columns=["lead_id", "group", "row"])
    return rows, problems, duplicates


def against_earlier(
    rows: pd.DataFrame, known: Mapping[str, str]
) -> tuple[pd.DataFrame, int, list[Problem]]:
    """The rows of a file (``read_membership``) against the groups imported before (``known``:
    lead → group). Returns (the new memberships: lead_id, group, row; rows already imported in
    the same group; problems: a lead moved to the other group)."""
    already = 0
    new_rows = []
    problems: list[Problem] = []
    for rec in rows.to_dict(orient="records"):
        stored = known.get(rec["lead_id"])
        if stored is None:
            new_rows.append(rec)
        elif stored == rec["group"]:
            already += 1
        else:
            problems.append(
                {
                    "row": rec["row"],
                    "column": "group",
                    "value": rec["group"],
                    "expected": f"{stored}: lead {rec['lead_id']} was imported in {stored} "
                    "before, and a lead never changes group",
                }
            )
    return pd.DataFrame(new_rows, columns=["lead_id", "group", "row"]), already, problems


def rejection(file: Path, problems: list[Problem]) -> RejectedRows:
    """The error that rejects ``file``: its first problems by row, and how many more."""
    problems = sorted(problems, key=lambda p: (p["row"] is None, p["row"] or 0))
    shown = "; ".join(
        f"row {p['row'] if p['row'] is not None else '?'}"
        + (f" column {p['column']}" if p["column"] else "")
        + f": got {p['value']!r}, expected {p['expected']}"
        for p in problems[:SHOWN_PROBLEMS]
    )
    more = len(problems) - SHOWN_PROBLEMS
    return RejectedRows(
        f"{file}: {len(problems):,} row(s) rejected, nothing imported: {shown}"
        + (f"; and {more:,} more" if more > 0 else ""),
        hint="fix the file and import it again (a membership is imported whole or not at all: "
        "a partial group list would bias the comparison)",
    )
