"""Writing the company: one CSV or Parquet file per import kind, and the ``leadledger.yaml``
that describes it."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from leadledger.config import default_config_text
from leadledger.demo.calendar import closure_days
from leadledger.demo.vocabulary import (
    CHANNELS,
    COUNTRY,
    CURRENCY,
    KINDS,
    SUBDIVISION,
    TIMEZONE,
)
from leadledger.errors import InvalidArgument

if TYPE_CHECKING:
    import pandas as pd

    from leadledger.demo.company import Company


def write_company(company: Company, directory: Path, fmt: str = "csv") -> dict[str, Path]:
    """Write one file per import kind (``leads.csv`` … or ``.parquet``) into ``directory``;
    returns kind → path in import order. CSV timestamps are ISO 8601 with a UTC offset."""
    fmt = str(fmt).lower()
    if fmt not in ("csv", "parquet"):
        raise InvalidArgument(f"unknown file format '{fmt}'", hint="use csv or parquet")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for kind in KINDS:
        frame: pd.DataFrame = getattr(company, kind)
        table = _arrow_table(frame)
        path = directory / f"{kind}.{fmt}"
        if fmt == "parquet":
            pq.write_table(table, path)
        else:
            pacsv.write_csv(
                _csv_ready(table), path, write_options=pacsv.WriteOptions(quoting_style="needed")
            )
        paths[kind] = path
    return paths


def _arrow_table(frame: pd.DataFrame) -> pa.Table:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata(None)
    cols = []
    for field, col in zip(table.schema, table.columns, strict=True):
        if pa.types.is_large_string(field.type):
            col = col.cast(pa.string()) if sum(c.nbytes for c in col.chunks) < 2**31 else col
        cols.append(col)
    return pa.table(cols, names=table.column_names)


def _csv_ready(table: pa.Table) -> pa.Table:
    """Timestamps as ISO 8601 text with the UTC offset: 2025-03-04T10:15:00+00:00."""
    cols = []
    for field, col in zip(table.schema, table.columns, strict=True):
        if pa.types.is_timestamp(field.type):
            naive = col.cast(pa.timestamp(field.type.unit)).cast(pa.timestamp("s"))
            text = pc.replace_substring(naive.cast(pa.string()), " ", "T", max_replacements=1)
            col = pc.binary_join_element_wise(text, "+00:00", "")
        cols.append(col)
    return pa.table(cols, names=table.column_names)


def company_config_text(name: str, start: dt.date, end: dt.date) -> str:
    """The default ``leadledger.yaml`` made to describe the synthetic company: its name, the
    channels its data uses (with marketing/sales sourcing), the persona and segment attributes,
    the ES-MD calendar with the company's closure days."""
    text = default_config_text()
    closures = ", ".join(d.isoformat() for d in closure_days(start.year, end.year + 1))
    channels = "channels:\n" + "".join(
        f"  - {{key: {c.key}, label: {c.label}, sourced: {c.sourced}, "
        f"source_values: [{', '.join(c.source_values)}]}}\n"
        for c in CHANNELS
    )
    replacements = [
        (r"(?m)^name: .*$", f"name: {name}"),
        (r"(?m)^timezone: .*$", f"timezone: {TIMEZONE}"),
        (r"(?m)^currency: .*$", f"currency: {CURRENCY}"),
        (r"(?m)^  country: .*$", f"  country: {COUNTRY}"),
        (r"(?m)^  subdivision: .*$", f"  subdivision: {SUBDIVISION}"),
        (r"(?m)^  closures: .*$", f"  closures: [{closures}]"),
        (r"(?m)^channels:\n(?:  - .*\n)+", channels),
        (r"(?m)^attributes: .*$", "attributes: [persona, segment]"),
        # scoring rules the synthetic data cannot match (its e-mails are company addresses,
        # every lead has a company, no one unsubscribes) would only make `validate` warn
        (r"(?m)^        - \{name: free_email, .*\n", ""),
        (r"(?m)^        - \{name: no_company, .*\n", ""),
        (r"(?m)^        - \{name: unsubscribed, .*\n", ""),
        (r"(?m)^experiments: \[\]$", _demo_experiment(end)),
    ]
    for pattern, new in replacements:
        found = re.search(pattern, text)
        if found is None:
            raise RuntimeError(f"the default leadledger.yaml has no line matching {pattern!r}")
        text = text[: found.start()] + new + text[found.end() :]
    return text


def _demo_experiment(end: dt.date) -> str:
    """One hash-assigned experiment for the demo: a 10 % holdout of the MQLs of the data's last
    two quarters from the nurture programme (the data has no treatment effect: the groups differ
    by chance only, which is what an honest report then says)."""
    last_q = dt.date(end.year, 3 * ((end.month - 1) // 3) + 1, 1)
    before = last_q - dt.timedelta(days=1)  # the previous quarter's last day
    first = dt.date(before.year, 3 * ((before.month - 1) // 3) + 1, 1)
    return (
        "experiments:\n"
        f"  - {{name: nurture_holdout, stage: mql, control_share: 0.1, "
        f"start: {first.isoformat()}, end: {end.isoformat()}}}"
    )
