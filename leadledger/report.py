"""A report: the JSON contract every report command prints.

``{"report": NAME, "params": {...}, "rows": [...], "notes": [...]}``, each row an object keyed by
column name. Numbers are full precision here; surfaces round only for display.
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

    @property
    def columns(self) -> list[str]:
        return list(self.frame.columns)

    def rows(self) -> list[dict[str, Any]]:
        return [
            {str(k): plain(v) for k, v in rec.items()}
            for rec in self.frame.to_dict(orient="records")
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "report": self.name,
            "params": {k: plain(v) for k, v in self.params.items()},
            "rows": self.rows(),
            "notes": list(self.notes),
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False)

    def to_csv(self) -> str:
        buf = io.StringIO()
        frame = self.frame.copy()
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
