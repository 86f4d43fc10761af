"""A report: the JSON contract every report command prints.

``{"report": NAME, "params": {...}, "rows": [...], "notes": [...]}``, each row an object keyed by
column name. A report may carry companion tables (a plan's months, a what-if's sensitivity): they
come as further keys of row lists after ``rows`` in JSON, after the main table in the terminal,
and never in CSV (which holds the main table only). Numbers are full precision here; surfaces
round only for display.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import math
from typing import Any

import numpy as np
import pandas as pd


@dataclasses.dataclass
class Report:
    name: str
    params: dict[str, Any]
    frame: pd.DataFrame
    notes: list[str] = dataclasses.field(default_factory=list)
    title: str | None = None
    #: The columns a terminal table shows (JSON and CSV always carry every column).
    table_columns: list[str] | None = None
    #: Companion tables: JSON key → (title, frame).
    extra: dict[str, tuple[str, pd.DataFrame]] = dataclasses.field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return list(self.frame.columns)

    def to_pandas(self, table: str | None = None) -> pd.DataFrame:
        """The main table (or the companion table ``table``) as a DataFrame of its own."""
        frame = self.frame if table in (None, "", "rows") else self.extra[str(table)][1]
        return frame.copy()

    def rows(self, frame: pd.DataFrame | None = None) -> list[dict[str, Any]]:
        frame = self.frame if frame is None else frame
        return [
            {str(k): plain(v) for k, v in rec.items()} for rec in frame.to_dict(orient="records")
        ]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "report": self.name,
            "params": {k: plain(v) for k, v in self.params.items()},
            "rows": self.rows(),
        }
        for key, (_title, frame) in self.extra.items():
            out[key] = self.rows(frame)
        out["notes"] = list(self.notes)
        return out

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False)

    def to_csv(self, table: str | None = None) -> str:
        """The main table as CSV, or the companion table ``table`` (a key of ``extra``)."""
        buf = io.StringIO()
        frame = (self.frame if table in (None, "", "rows") else self.extra[str(table)][1]).copy()
        for c in frame.columns:
            frame[c] = frame[c].map(plain)
        frame.to_csv(buf, index=False, lineterminator="\n")
        return buf.getvalue()


def plain(value: Any) -> Any:
    """A JSON-safe Python value: NaN/NaT → None, dates → ISO strings, numpy → Python."""
    if value is None:
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        if pd.isna(value):
            return None
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, pd.Timedelta):
        return None if pd.isna(value) else value.total_seconds()
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if value is pd.NA or value is pd.NaT:
        return None
    return value
