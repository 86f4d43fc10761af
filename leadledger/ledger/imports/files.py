"""Import files into the ledger: read → map → validate → one batch.

Accounting, always: ``read = accepted + rejected + skipped`` where *skipped* are rows already in
the ledger (or repeated in the same import): identical content, hence the same row id. Rejected
rows go to ``quarantine.csv`` with the file, row, column, value and what was expected, beside
``report.json``. Everything an import writes is one batch (:mod:`leadledger.ledger.imports.batch`):
one transaction, one ``imports`` row per file.

The steps: :mod:`~leadledger.ledger.imports.read` (CSV, Parquet, JSON Lines),
:mod:`~leadledger.ledger.imports.mapping` (mappings and presets),
:mod:`~leadledger.ledger.imports.validate` (types, dates, required fields, the kind's checks),
:mod:`~leadledger.ledger.imports.batch` (deduplicate against the ledger, write).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadledger.errors import InvalidArgument
from leadledger.ledger.imports import batch
from leadledger.ledger.imports.mapping import Mapping
from leadledger.ledger.imports.read import ROW, ReadResult, file_sha256, read_file
from leadledger.ledger.imports.validate import Checked, Validator
from leadledger.ledger.store import Store

#: ``(step, done, total)``: where an import is (the CLI's progress bar for big files).
Progress = Callable[[str, int, int], None]
#: How many rejections report.json (and the CLI) show.
SAMPLE_REJECTIONS = 20


@dataclasses.dataclass
class FileResult:
    file: str
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    stage_events_new: int = 0
    stage_events_skipped: int = 0
    encoding: str | None = None
    delimiter: str | None = None
    format: str | None = None
    ignored_columns: list[str] = dataclasses.field(default_factory=list)
    properties_columns: list[str] = dataclasses.field(default_factory=list)
    #: mapped columns the file does not have (skipped: ``skip_missing_columns``)
    missing_columns: list[str] = dataclasses.field(default_factory=list)
    #: blank lines / rows of empty cells in a CSV (no data: not records, not counted as read)
    blank_rows: int = 0
    rejections_by_column: dict[str, int] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ImportResult:
    kind: str
    batch_no: int
    files: list[FileResult]
    report_path: Path | None = None
    quarantine_path: Path | None = None
    sample_rejections: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.files)

    @property
    def read(self) -> int:
        return self.total("read")

    @property
    def accepted(self) -> int:
        return self.total("accepted")

    @property
    def rejected(self) -> int:
        return self.total("rejected")

    @property
    def skipped(self) -> int:
        return self.total("skipped")

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "batch_no": self.batch_no,
            "read": self.read,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "stage_events_new": self.total("stage_events_new"),
            "stage_events_skipped": self.total("stage_events_skipped"),
            "files": [dataclasses.asdict(f) for f in self.files],
            "report": str(self.report_path) if self.report_path else None,
            "quarantine": str(self.quarantine_path) if self.quarantine_path else None,
            "sample_rejections": self.sample_rejections,
        }


def _no_progress(step: str, done: int, total: int) -> None:
    pass


def import_files(
    store: Store,
    project_dir: Path,
    kind: str,
    files: Sequence[Path],
    mapping: Mapping | None = None,
    *,
    encoding: str | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import files of one kind (see the module docstring): every file of the call is one
    batch, written in one transaction, with its report in ``imports/NNNNN-<kind>-<file>/``."""
    validator = Validator(store.cfg, kind, mapping, known_leads=batch.known_leads(store))
    if not files:
        raise InvalidArgument("no files to import")
    mapping = validator.mapping
    encoding = encoding or mapping.encoding
    step = progress or _no_progress
    started = pd.Timestamp.now(tz="UTC")
    results: list[FileResult] = []

    def reading() -> Iterator[tuple[str, ReadResult]]:
        for given in files:
            path = Path(given)
            step(f"reading {path.name}", 0, 4)
            read = read_file(path, delimiter=mapping.delimiter, encoding=encoding)
            results.append(
                FileResult(
                    str(path),
                    read=read.read,
                    encoding=read.encoding,
                    delimiter=read.delimiter,
                    format=read.format,
                    blank_rows=read.blank,
                )
            )
            step(f"checking {path.name}", 1, 4)
            yield str(path), read

    checked = validator.check(reading())
    result = ImportResult(validator.kind.name, 0, results)
    goods, events = _unique_in_import(results, checked)
    quarantine = [c.rejected for c in checked if not c.rejected.empty]
    qframe = pd.concat(quarantine, ignore_index=True) if quarantine else pd.DataFrame()
    if not qframe.empty:
        meta = qframe[["_file", "_row", "_column", "_value", "_expected"]].head(SAMPLE_REJECTIONS)
        result.sample_rejections = [
            {str(k).lstrip("_"): (None if pd.isna(v) else v) for k, v in r.items()}
            for r in meta.astype(object).to_dict(orient="records")
        ]
    table = validator.kind.table
    with batch.transaction(store, project_dir) as tx:
        result.batch_no = tx.batch_no
        step("deduplicating", 2, 4)
        all_good = pd.concat(goods, ignore_index=True)
        all_events = pd.concat(events, ignore_index=True)
        wanted = {(table, "row_id"): all_good["row_id"].unique()}
        if not all_events.empty:
            wanted["stage_events", "row_id"] = all_events["row_id"].unique()
        known = tx.known(wanted)
        existing = known[table, "row_id"]
        existing_events = known.get(("stage_events", "row_id"), set())
        now = pd.Timestamp.now(tz="UTC")
        news: list[pd.DataFrame] = []
        events_to_write: list[pd.DataFrame] = []
        for fres, good, ev in zip(results, goods, events, strict=True):
            # a row already in the ledger (any version) is a repeat: re-imports change nothing
            repeat = good["row_id"].isin(existing)
            fres.skipped += int(repeat.sum())
            news.append(good[~repeat])
            fres.accepted = len(good) - int(repeat.sum())
            if not ev.empty:
                erepeat = ev["row_id"].isin(existing_events)
                fres.stage_events_skipped += int(erepeat.sum())
                enew = ev[~erepeat]
                fres.stage_events_new = len(enew)
                events_to_write.append(enew)
            assert fres.accepted + fres.rejected + fres.skipped == fres.read, fres
        step("writing", 3, 4)
        rows = [(table, pd.concat(news, ignore_index=True).drop(columns=[ROW], errors="ignore"))]
        if events_to_write:
            rows.append(("stage_events", pd.concat(events_to_write, ignore_index=True)))
        stem = Path(results[0].file).stem if results else "import"

        def report(done: batch.Written) -> dict[str, Any]:
            result.quarantine_path, result.report_path = done.quarantine, done.report
            return result.as_dict()

        tx.write(
            batch.Batch(
                kind=result.kind,
                sources=[
                    batch.Source(
                        f.file, file_sha256(Path(f.file)), f.read, f.accepted, f.rejected, f.skipped
                    )
                    for f in results
                ],
                rows=rows,
                folder=f"{result.kind}-{stem}",
                quarantine=qframe,
                report=report,
                started_at=started,
                at=now,
            )
        )
    step("done", 4, 4)
    return result


def _unique_in_import(
    results: list[FileResult], checked: list[Checked]
) -> tuple[list[pd.DataFrame], list[pd.DataFrame]]:
    """Per file, its good rows and stage events less those repeated within this import (same
    content, hence the same row id), counted as skipped; the rows numbered across the files."""
    seen_ids: set[str] = set()
    seen_event_ids: set[str] = set()
    goods: list[pd.DataFrame] = []
    events: list[pd.DataFrame] = []
    row_base = 0
    for fres, c in zip(results, checked, strict=True):
        fres.rejected = c.rejected_count
        fres.rejections_by_column = c.rejections_by_column
        fres.ignored_columns = c.ignored_columns
        fres.properties_columns = c.properties_columns
        fres.missing_columns = c.missing_columns
        good, ev = c.rows, c.events
        dup = good["row_id"].isin(seen_ids) | good["row_id"].duplicated()
        fres.skipped += int(dup.sum())
        good = good[~dup]
        seen_ids.update(good["row_id"])
        if not ev.empty:
            edup = ev["row_id"].isin(seen_event_ids) | ev["row_id"].duplicated()
            fres.stage_events_skipped += int(edup.sum())
            ev = ev[~edup]
            seen_event_ids.update(ev["row_id"])
        good = good.assign(row_no=np.arange(row_base, row_base + len(good), dtype=np.int64))
        row_base += len(good)
        goods.append(good)
        events.append(ev)
    return goods, events
