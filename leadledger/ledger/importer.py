"""Import files into the ledger: map, validate, quarantine, deduplicate, append in one transaction.

Accounting, always: ``read = accepted + rejected + skipped`` where *skipped* are rows already in
the ledger (or repeated in the same import): identical content, hence the same row id. Rejected
rows go to ``quarantine.csv`` with the file, row, column, value and what was expected, beside
``report.json``. Everything an import writes is appended in one transaction.

Leads are partial updates (CRM semantics): a leads row for a lead the ledger already knows, or that
another row of the same import creates, may carry only some fields; ``created_at`` is required
only for a new lead. The current lead is a field-wise merge
(``leadledger.ledger.derived.current_leads``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import hashlib
import json
import re
import zoneinfo
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadledger.config.models import ProjectConfig
from leadledger.errors import ImportFileError, InvalidArgument, MappingError
from leadledger.ledger.mapping import Mapping
from leadledger.ledger.readers import ROW, ReadResult, read_file
from leadledger.ledger.schema import KINDS, Kind
from leadledger.ledger.store import Store
from leadledger.suggest import did_you_mean

Progress = Callable[[str, int, int], None]
AWARE_RE = r"(?:Z|[+-]\d{2}:?\d{2})$"
MIN_YEAR, MAX_YEAR = 1900, 2200
ISO = "ISO8601"
DATE_ONLY_RE = r"\d{4}-\d{2}-\d{2}|\d{8}"
RECORD = "(record)"
#: created_at of a lead is required only when the lead is new.
NEW_LEAD_ONLY = "created_at (required for a new lead)"


@dataclasses.dataclass
class Problem:
    index: int  # position in the frame
    column: str
    value: str
    expected: str


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


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def stable_ids(frame: pd.DataFrame, columns: Sequence[str], prefix: str) -> pd.Series:
    """A stable id per row from the values of ``columns`` (sha1 of a canonical text)."""
    if frame.empty:
        return pd.Series([], dtype=object, index=frame.index)
    parts = []
    for c in columns:
        col = frame[c] if c in frame.columns else pd.Series([None] * len(frame), index=frame.index)
        if isinstance(col.dtype, pd.DatetimeTZDtype):
            text = col.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").astype(object)
        else:
            text = col.astype(object).map(lambda v: "" if v is None else str(v))
        text = text.where(col.notna(), "\x00")
        parts.append(text)
    joined = parts[0].str.cat(parts[1:], sep="\x1f") if len(parts) > 1 else parts[0]
    return prefix + joined.map(lambda s: hashlib.sha1(s.encode("utf-8")).hexdigest()[:24])


class Importer:
    """Imports files of one kind into a store."""

    def __init__(
        self,
        store: Store,
        project_dir: Path,
        kind: str,
        mapping: Mapping | None = None,
        *,
        encoding: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        if kind not in KINDS:
            raise InvalidArgument(
                f"unknown import kind '{kind}'",
                hint=did_you_mean(kind, KINDS) or f"kinds: {', '.join(KINDS)}",
            )
        self.store = store
        self.cfg: ProjectConfig = store.cfg
        self.project_dir = project_dir
        self.kind: Kind = store.kinds[kind]
        self.mapping = mapping or Mapping()
        if self.mapping.kind and self.mapping.kind != kind:
            raise MappingError(
                f"the mapping is for '{self.mapping.kind}' imports, not '{kind}'",
                hint=f"run 'leadledger import {self.mapping.kind} ...'",
            )
        self.encoding = encoding or self.mapping.encoding
        self.progress = progress or (lambda step, done, total: None)
        tz = self.mapping.timezone or self.cfg.timezone
        try:
            self.tz = zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise MappingError(f"unknown time zone '{tz}' in the mapping") from exc
        self._check_mapping()

    # -- mapping checks -----------------------------------------------------------------
    def _check_mapping(self) -> None:
        targets = set(self.kind.field_names)
        free = self.kind.keeps_properties
        for section in ("columns", "dates", "values", "constants"):
            for target in getattr(self.mapping, section):
                if target not in targets and not free:
                    raise MappingError(
                        f"mapping {section}: '{target}' is not a field of {self.kind.name}",
                        hint=did_you_mean(target, targets)
                        or f"fields: {', '.join(self.kind.field_names)}",
                    )
        stages = set(self.cfg.stage_keys + self.cfg.side_state_keys)
        for stage in self.mapping.stage_columns:
            if stage not in stages:
                raise MappingError(
                    f"mapping stage_columns: '{stage}' is not a stage of this project",
                    hint=did_you_mean(stage, stages) or f"stages: {', '.join(sorted(stages))}",
                )
        if self.mapping.stage_columns and self.kind.name not in ("leads", "stages"):
            raise MappingError("stage_columns apply to 'leads' or 'stages' imports only")

    # -- the import ----------------------------------------------------------------------
    def run(self, files: Sequence[Path]) -> ImportResult:
        if not files:
            raise InvalidArgument("no files to import")
        batch_no = self.store.next_batch_no()
        started = pd.Timestamp.now(tz="UTC")
        result = ImportResult(self.kind.name, batch_no, [])
        quarantine: list[pd.DataFrame] = []
        prepared: list[tuple[FileResult, pd.DataFrame, pd.DataFrame]] = []
        seen_ids: set[str] = set()
        seen_event_ids: set[str] = set()
        checked: list[tuple[ReadResult, FileResult, pd.DataFrame, pd.DataFrame, list[Problem]]] = []
        for path in files:
            path = Path(path)
            self.progress(f"reading {path.name}", 0, 4)
            read = read_file(path, delimiter=self.mapping.delimiter, encoding=self.encoding)
            fres = FileResult(
                str(path),
                read=read.read,
                encoding=read.encoding,
                delimiter=read.delimiter,
                format=read.format,
                blank_rows=read.blank,
            )
            self.progress(f"checking {path.name}", 1, 4)
            typed, events, problems = self._check(read, fres, str(path))
            checked.append((read, fres, typed, events, problems))
        if self.kind.name == "leads":
            self._check_new_leads([(c[2], c[4]) for c in checked])
        row_base = 0
        for read, fres, typed, events, problems in checked:
            good, events, rejected = self._split(read, fres, fres.file, typed, events, problems)
            quarantine.append(rejected)
            # rows repeated within this import (same content, hence the same row id)
            dup_mask = good["row_id"].isin(seen_ids) | good["row_id"].duplicated()
            fres.skipped += int(dup_mask.sum())
            good = good[~dup_mask]
            seen_ids.update(good["row_id"])
            if not events.empty:
                edup = events["row_id"].isin(seen_event_ids) | events["row_id"].duplicated()
                fres.stage_events_skipped += int(edup.sum())
                events = events[~edup]
                seen_event_ids.update(events["row_id"])
            good = good.assign(row_no=np.arange(row_base, row_base + len(good), dtype=np.int64))
            row_base += len(good)
            prepared.append((fres, good, events))
            result.files.append(fres)

        self.progress("deduplicating", 2, 4)
        all_good = pd.concat([p[1] for p in prepared], ignore_index=True)
        all_events = pd.concat([p[2] for p in prepared], ignore_index=True)
        existing = self._existing_ids(all_good)
        existing_events = self._existing_event_ids(all_events)
        now = pd.Timestamp.now(tz="UTC")
        news: list[pd.DataFrame] = []
        events_to_write: list[pd.DataFrame] = []
        for fres, good, events in prepared:
            # a row already in the ledger (any version) is a repeat: re-imports change nothing
            known = good["row_id"].isin(existing)
            fres.skipped += int(known.sum())
            news.append(good[~known])
            if not events.empty:
                eknown = events["row_id"].isin(existing_events)
                fres.stage_events_skipped += int(eknown.sum())
                enew = events[~eknown]
                fres.stage_events_new = len(enew)
                events_to_write.append(enew)
        for fres, new in zip(result.files, news, strict=True):
            fres.accepted = len(new)
            assert fres.accepted + fres.rejected + fres.skipped == fres.read, fres

        self.progress("writing", 3, 4)
        with self.store.transaction():
            rows = pd.concat(news, ignore_index=True)
            if not rows.empty:
                rows = rows.assign(batch_no=batch_no, imported_at=now)
                self.store.append(self.kind.table, rows.drop(columns=[ROW], errors="ignore"))
            if events_to_write:
                ev = pd.concat(events_to_write, ignore_index=True)
                if not ev.empty:
                    ev = ev.assign(
                        batch_no=batch_no,
                        row_no=np.arange(len(ev), dtype=np.int64),
                        imported_at=now,
                    )
                    self.store.append("stage_events", ev)
            for fres in result.files:
                self.store.append(
                    "imports",
                    pd.DataFrame(
                        [
                            {
                                "batch_no": batch_no,
                                "batch_id": f"{batch_no}",
                                "kind": self.kind.name,
                                "file": fres.file,
                                "sha256": file_sha256(Path(fres.file)),
                                "read": fres.read,
                                "accepted": fres.accepted,
                                "rejected": fres.rejected,
                                "skipped": fres.skipped,
                                "started_at": started,
                                "finished_at": pd.Timestamp.now(tz="UTC"),
                            }
                        ]
                    ),
                )
        self.progress("done", 4, 4)
        self._write_report(result, quarantine)
        return result

    # -- checking records that did not come from a file -----------------------------------
    def check_records(
        self, frame: pd.DataFrame, source: str = "(records)"
    ) -> tuple[pd.DataFrame, list[Problem], FileResult]:
        """Every rule of a file import, applied to records already in memory (one column per
        field name, values as a file reader gives them; ``_row`` = the caller's position of each
        record): mapping, types, dates, stage and channel mapping, required fields, the kind's
        cross checks and, for leads, ``created_at`` only for a lead the ledger (or another
        record of ``frame``) does not create. Returns the good rows with their row ids (the
        ``_row`` column kept), the problems (``index`` = position in ``frame``) and the file
        result (``ignored_columns``: fields the kind does not keep). Writes nothing; the
        ledger is only read (the known leads). Stage columns of a mapping are not supported
        here (an event is one stage entry)."""
        if self.mapping.stage_columns:
            raise MappingError("stage_columns apply to file imports only")
        if ROW not in frame.columns:
            frame = frame.assign(**{ROW: np.arange(len(frame), dtype=np.int64)})
        read = ReadResult(frame, [], None, None, "json")
        fres = FileResult(source, read=len(frame), format="json")
        typed, events, problems = self._check(read, fres, source)
        if self.kind.name == "leads":
            self._check_new_leads([(typed, problems)])
        good, _, _ = self._split(read, fres, source, typed, events, problems)
        return good, problems, fres

    # -- preparing one file -------------------------------------------------------------
    def _check(
        self, read: ReadResult, fres: FileResult, file: str
    ) -> tuple[pd.DataFrame, pd.DataFrame, list[Problem]]:
        """Map and type one file's records; every problem found is listed, nothing dropped."""
        raw = read.frame
        problems: list[Problem] = []
        data = self._rename(raw, fres, file)
        typed = pd.DataFrame(index=raw.index)
        for field in self.kind.fields:
            col = data[field.name] if field.name in data.columns else None
            typed[field.name] = self._convert(field, col, raw.index, problems)
        self._cross_checks(typed, problems)
        if self.kind.keeps_properties:
            typed["properties"] = self._properties(raw, data, fres)
        events = pd.DataFrame()
        if self.mapping.stage_columns:
            events = self._stage_events_from_columns(raw, typed, problems, file, fres)
        return typed, events, problems

    def _split(
        self,
        read: ReadResult,
        fres: FileResult,
        file: str,
        typed: pd.DataFrame,
        events: pd.DataFrame,
        problems: list[Problem],
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """Good rows (with their row ids) and stage events apart from the quarantined ones."""
        raw = read.frame
        bad_index = sorted({p.index for p in problems})
        rejected = self._quarantine_frame(raw, problems, file)
        # records that could not even be split into columns
        if read.bad:
            extra = pd.DataFrame(
                {
                    "_file": file,
                    "_row": [b.row for b in read.bad],
                    "_column": RECORD,
                    "_value": [b.text for b in read.bad],
                    "_expected": [b.reason for b in read.bad],
                }
            )
            rejected = pd.concat([extra, rejected], ignore_index=True)
        fres.rejected = len(bad_index) + len(read.bad)
        counts = Counter(p.column for p in problems)
        if read.bad:
            counts[RECORD] += len(read.bad)
        fres.rejections_by_column = dict(counts)
        good = typed.drop(index=bad_index)
        good[ROW] = raw.loc[good.index, ROW].to_numpy()
        if not events.empty:
            events = events[~events["_index"].isin(bad_index)].drop(columns=["_index"])
        good = good.assign(row_id=self._row_ids(good))
        return good.reset_index(drop=True), events.reset_index(drop=True), rejected

    def _required(self, field: Any) -> bool:
        """Whether every row needs a value (a lead's created_at only when the lead is new)."""
        if self.kind.name == "leads" and field.name == "created_at":
            return False
        return bool(field.required)

    def _rename(self, raw: pd.DataFrame, fres: FileResult, file: str) -> pd.DataFrame:
        out = pd.DataFrame(index=raw.index)
        source_cols = [c for c in raw.columns if c != ROW]
        used: set[str] = set()
        for target, sources in self.mapping.columns.items():
            source = _find_column(sources, source_cols)
            if source is None:
                if self.mapping.skip_missing_columns:
                    fres.missing_columns.append(" | ".join(sources))
                    continue
                hint = _suggest_column(sources[0], source_cols)
                raise MappingError(
                    f"{file}: the mapping expects a column '{' or '.join(sources)}' (for "
                    f"{target}) that the file does not have",
                    hint=hint or f"columns in the file: {', '.join(source_cols[:40])}",
                )
            out[target] = raw[source]
            used.add(source)
        fields = set(self.kind.field_names)
        by_norm = {_norm(f): f for f in fields}
        stage_cols = {
            found
            for cols in self.mapping.stage_columns.values()
            for c in cols
            if (found := _find_column([c], source_cols)) is not None
        }
        for col in source_cols:
            if col in used or col in stage_cols:
                continue
            target = by_norm.get(_norm(col), "")
            if target and target not in out.columns:
                out[target] = raw[col]
                used.add(col)
        for target, value in self.mapping.constants.items():
            out[target] = value
        for target, vmap in self.mapping.values.items():
            if target in out.columns:
                out[target] = out[target].map(_value_mapper(vmap))
        missing = [
            f.name for f in self.kind.fields if self._required(f) and f.name not in out.columns
        ]
        if missing:
            raise MappingError(
                f"{file}: no column for required field(s) {', '.join(missing)} of {self.kind.name}",
                hint="rename the columns, or map them with --mapping (columns: {field: column}); "
                f"columns in the file: {', '.join(source_cols[:40])}",
            )
        unused = [c for c in source_cols if c not in used and c not in stage_cols]
        if self.kind.keeps_properties:
            fres.properties_columns = unused
        else:
            fres.ignored_columns = unused
        return out

    def _properties(self, raw: pd.DataFrame, data: pd.DataFrame, fres: FileResult) -> pd.Series:
        cols = fres.properties_columns
        extra_targets = [c for c in data.columns if c not in self.kind.field_names]
        if not cols and not extra_targets:
            return pd.Series([None] * len(raw), index=raw.index, dtype=object)
        sub = pd.concat([raw[cols], data[extra_targets]], axis=1)
        records = sub.astype(object).where(sub.notna(), None).to_dict(orient="records")
        return pd.Series(
            [
                json.dumps(
                    {k: v for k, v in r.items() if v not in (None, "")},
                    default=str,
                    ensure_ascii=False,
                )
                or None
                for r in records
            ],
            index=raw.index,
            dtype=object,
        )

    # -- typing and validation ------------------------------------------------------------
    def _convert(
        self, field: Any, col: pd.Series | None, index: pd.Index, problems: list[Problem]
    ) -> pd.Series:
        dtype = str(field.dtype)
        if col is None:
            if dtype.startswith("timestamp"):
                return pd.Series(pd.NaT, index=index, dtype="datetime64[us, UTC]")
            if dtype in ("float64", "int64"):
                return pd.Series(np.nan, index=index, dtype="float64")
            return pd.Series([None] * len(index), index=index, dtype=object)
        empty = _is_empty(col)
        if self._required(field):
            for i in col.index[empty]:
                problems.append(Problem(i, field.name, "", "a value (required)"))
        if dtype.startswith("timestamp"):
            return self._parse_timestamps(field.name, col, empty, problems)
        if dtype == "date":
            ts = self._parse_timestamps(field.name, col, empty, problems)
            return ts.dt.tz_convert(self.tz).dt.date.where(ts.notna(), None)
        if dtype in ("float64", "int64"):
            return self._parse_numbers(field.name, col, empty, problems, integer=dtype == "int64")
        text = col.astype(object).where(~empty, None)
        text = text.map(_clean_text)
        if field.name == "stage" and self.kind.name == "stages":
            return self._map_stage(text, problems)
        if field.name == "channel" and self.cfg.channels:
            cmap = self.cfg.channel_value_map()
            return text.map(lambda v: cmap.get(v.casefold(), v) if isinstance(v, str) else v)
        if field.choices:
            folded = text.map(lambda v: v.casefold() if isinstance(v, str) else v)
            bad = folded.notna() & ~folded.isin(field.choices)
            for i in folded.index[bad]:
                hint = did_you_mean(str(text[i]), field.choices)
                problems.append(
                    Problem(
                        i,
                        field.name,
                        str(text[i]),
                        f"one of {', '.join(field.choices)}" + (f" ({hint})" if hint else ""),
                    )
                )
            return folded
        if field.name == "currency":
            bad = text.notna() & (text.str.upper() != self.cfg.currency)
            for i in text.index[bad]:
                problems.append(
                    Problem(
                        i,
                        "currency",
                        str(text[i]),
                        f"{self.cfg.currency} (one currency per project)",
                    )
                )
            return text.str.upper()
        return text

    def _map_stage(self, text: pd.Series, problems: list[Problem]) -> pd.Series:
        smap = self.cfg.stage_value_map()
        mapped = text.map(lambda v: smap.get(v.casefold()) if isinstance(v, str) else None)
        bad = text.notna() & mapped.isna()
        known = list(smap)
        for i in text.index[bad]:
            hint = did_you_mean(str(text[i]).casefold(), known)
            problems.append(
                Problem(
                    i,
                    "stage",
                    str(text[i]),
                    "a stage of this project ("
                    + ", ".join(self.cfg.stage_keys + self.cfg.side_state_keys)
                    + ")"
                    + (f"; {hint}" if hint else "; add it to source_values in the config"),
                )
            )
        return mapped

    def _parse_timestamps(
        self,
        name: str,
        col: pd.Series,
        empty: pd.Series,
        problems: list[Problem],
        formats: Sequence[str] | None = None,
    ) -> pd.Series:
        """Text → UTC timestamps. Formats are tried in order (``ISO8601`` = ISO 8601 with or
        without an offset); a time without an offset is local time in the mapping's time zone
        (default: the project's)."""
        out = pd.Series(pd.NaT, index=col.index, dtype="datetime64[us, UTC]")
        if isinstance(col.dtype, pd.DatetimeTZDtype):
            return col.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
        if pd.api.types.is_datetime64_dtype(col.dtype):
            out = self._localize(col.astype("datetime64[us]"))
            self._report_bad_ts(name, col, out, ~col.isna(), problems, "a local time that exists")
            return out
        text = col.astype(object).where(~empty, None).map(_clean_text)
        present = text.notna()
        fmts = list(formats if formats is not None else self.mapping.dates.get(name, []))
        fmts = fmts or [ISO]
        todo = present.copy()
        for fmt in fmts:
            if not todo.any():
                break
            sub = text[todo]
            if fmt.upper() == ISO:
                vals = self._parse_iso(sub)
            else:
                aware = "%z" in fmt or "%Z" in fmt
                try:
                    parsed = pd.to_datetime(sub, format=fmt, errors="coerce", utc=aware)
                except ValueError:
                    continue
                date_only = not any(d in fmt for d in ("%H", "%I", "%M", "%S", "%X", "%T", "%c"))
                vals = (
                    parsed.astype("datetime64[us, UTC]")
                    if aware
                    else self._localize(
                        parsed.astype("datetime64[us]"), pd.Series(date_only, index=parsed.index)
                    )
                )
            ok = vals.notna()
            out.loc[vals.index[ok]] = vals[ok]
            todo.loc[vals.index[ok]] = False
        shown = [
            "ISO 8601 (YYYY-MM-DD[ HH:MM[:SS]][Z|+HH:MM])" if f.upper() == ISO else f for f in fmts
        ]
        expected = "a date like " + " or ".join(shown)
        self._report_bad_ts(name, text, out, present, problems, expected)
        return out

    def _localize(self, naive: pd.Series, date_only: pd.Series | None = None) -> pd.Series:
        """Local wall times → UTC. A time in a DST gap or overlap becomes NaT (reported: which
        instant was meant is unknown). A date without a time means the start of that local day,
        which exists even where the clocks jump at midnight (then the day starts at 01:00)."""
        local = naive.dt.tz_localize(self.tz, ambiguous="NaT", nonexistent="NaT")
        if date_only is not None and date_only.any():
            days = naive[date_only]
            local.loc[date_only] = days.dt.tz_localize(
                self.tz, ambiguous=np.ones(len(days), dtype=bool), nonexistent="shift_forward"
            )
        return local.dt.tz_convert("UTC").astype("datetime64[us, UTC]")

    def _parse_iso(self, text: pd.Series) -> pd.Series:
        out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
        is_aware = text.str.contains(AWARE_RE, regex=True, na=False)
        if is_aware.any():
            vals = pd.to_datetime(text[is_aware], format="ISO8601", errors="coerce", utc=True)
            out.loc[vals.index] = vals.astype("datetime64[us, UTC]")
        naive = ~is_aware
        if naive.any():
            vals = pd.to_datetime(text[naive], format="ISO8601", errors="coerce")
            date_only = text[naive].str.fullmatch(DATE_ONLY_RE, na=False)
            out.loc[vals.index] = self._localize(vals.astype("datetime64[us]"), date_only)
        return out

    def _report_bad_ts(
        self,
        name: str,
        text: pd.Series,
        out: pd.Series,
        present: pd.Series,
        problems: list[Problem],
        expected: str,
    ) -> None:
        bad = present & out.isna()
        years = out.dt.year
        out_of_range = present & out.notna() & ((years < MIN_YEAR) | (years > MAX_YEAR))
        for i in text.index[bad]:
            problems.append(
                Problem(
                    i,
                    name,
                    str(text[i]),
                    expected + " (or a local time that exists, not in a DST gap/overlap)",
                )
            )
        for i in text.index[out_of_range]:
            problems.append(
                Problem(i, name, str(text[i]), f"a date between {MIN_YEAR} and {MAX_YEAR}")
            )
        if out_of_range.any():
            out.loc[out_of_range] = pd.NaT

    def _parse_numbers(
        self,
        name: str,
        col: pd.Series,
        empty: pd.Series,
        problems: list[Problem],
        *,
        integer: bool,
    ) -> pd.Series:
        if pd.api.types.is_numeric_dtype(col.dtype):
            nums = pd.to_numeric(col, errors="coerce").astype("float64")
            present = col.notna()
        else:
            text = (
                col.astype(object)
                .where(~empty, None)
                .map(lambda v: v.strip() if isinstance(v, str) else v)
            )
            present = text.notna()
            cleaned = text
            if self.mapping.thousands:
                cleaned = cleaned.str.replace(self.mapping.thousands, "", regex=False)
            if self.mapping.decimal != ".":
                cleaned = cleaned.str.replace(self.mapping.decimal, ".", regex=False)
            nums = pd.to_numeric(cleaned, errors="coerce").astype("float64")
            col = text
        bad = present & (nums.isna() | ~np.isfinite(nums.fillna(0)))
        expected = "a whole number ≥ 0" if integer else "a number (like 1234.56)"
        if integer:
            bad |= present & nums.notna() & ((nums % 1 != 0) | (nums < 0))
        for i in col.index[bad]:
            problems.append(Problem(i, name, str(col[i]), expected))
        nums = nums.where(~bad)
        return nums.astype("Int64") if integer else nums

    def _cross_checks(self, typed: pd.DataFrame, problems: list[Problem]) -> None:
        k = self.kind.name
        if k == "deals":
            closed = typed["status"].isin(["won", "lost"]) & typed["closed_at"].isna()
            for i in typed.index[closed]:
                status = str(typed.at[i, "status"])
                problems.append(Problem(i, "closed_at", "", f"a close date for a {status} deal"))
            # an open deal's value may not be known yet; a closed one's must be
            unpriced = typed["status"].isin(["won", "lost"]) & typed["amount"].isna()
            for i in typed.index[unpriced]:
                status = str(typed.at[i, "status"])
                problems.append(Problem(i, "amount", "", f"an amount for a {status} deal"))
        if k == "costs":
            inverted = (
                typed["period_start"].notna()
                & typed["period_end"].notna()
                & (typed["period_end"].astype(object) < typed["period_start"].astype(object))
            )
            for i in typed.index[inverted]:
                problems.append(
                    Problem(
                        i,
                        "period_end",
                        str(typed.at[i, "period_end"]),
                        "a date on or after period_start",
                    )
                )
        if k == "touches":
            nobody = typed["lead_id"].isna() & typed["anonymous_id"].isna()
            for i in typed.index[nobody]:
                problems.append(Problem(i, "lead_id", "", "a lead_id or an anonymous_id"))

    def _stage_events_from_columns(
        self,
        raw: pd.DataFrame,
        typed: pd.DataFrame,
        problems: list[Problem],
        file: str,
        fres: FileResult,
    ) -> pd.DataFrame:
        """One stage event per dated cell of the mapped stage columns (one row per lead)."""
        formats = self.mapping.stage_dates or self.mapping.dates.get("created_at") or None
        frames = []
        source_cols = [c for c in raw.columns if c != ROW]
        for stage, columns in self.mapping.stage_columns.items():
            for column in columns:
                found = _find_column([column], source_cols)
                if found is None:
                    if self.mapping.skip_missing_columns:
                        fres.missing_columns.append(column)
                        continue
                    raise MappingError(
                        f"{file}: the mapping expects a stage column '{column}' (for {stage})",
                        hint=_suggest_column(column, source_cols),
                    )
                col = raw[found]
                empty = _is_empty(col)
                ts = self._parse_timestamps(column, col, empty, problems, formats)
                has = ts.notna()
                frames.append(
                    pd.DataFrame(
                        {
                            "_index": typed.index[has],
                            "lead_id": typed.loc[has, "lead_id"].to_numpy(),
                            "stage": stage,
                            "entered_at": ts[has].to_numpy(),
                            "source_stage": column,
                            "reason": None,
                            "owner": typed.loc[has, "owner"].to_numpy()
                            if "owner" in typed.columns
                            else None,
                            "source": self.mapping.name or Path(file).name,
                        }
                    )
                )
        if not frames:
            return pd.DataFrame()
        events = pd.concat(frames, ignore_index=True)
        events["entered_at"] = pd.to_datetime(events["entered_at"], utc=True).astype(
            "datetime64[us, UTC]"
        )
        events = events[events["lead_id"].notna()]
        events["row_id"] = stable_ids(events, ["lead_id", "stage", "entered_at"], "se_")
        return events

    # -- leads: new leads need created_at; updates that change nothing are skipped --------
    def _check_new_leads(self, files: list[tuple[pd.DataFrame, list[Problem]]]) -> None:
        """A leads row without created_at is an update of a known lead: one in the ledger or
        created by a row of this import (any file, any position: the merge is by row order
        anyway, and so re-importing the same files stays a no-op). For an unknown lead it is
        rejected."""
        creators: set[str] = set()
        pending: list[tuple[pd.DataFrame, list[Problem], pd.Series]] = []
        for typed, problems in files:
            if typed.empty:
                continue
            flagged = {p.index for p in problems}
            has_id = typed["lead_id"].notna()
            ok = typed["created_at"].notna() & has_id & ~typed.index.isin(list(flagged))
            creators.update(typed.loc[ok, "lead_id"])
            bad_date = {p.index for p in problems if p.column == "created_at"}
            no_date = typed["created_at"].isna() & has_id & ~typed.index.isin(list(bad_date))
            if no_date.any():
                pending.append((typed, problems, no_date))
        wanted = {lead for typed, _, no_date in pending for lead in typed.loc[no_date, "lead_id"]}
        known = creators | self._ledger_lead_ids(wanted - creators)
        for typed, problems, no_date in pending:
            unknown = no_date & ~typed["lead_id"].isin(list(known))
            for i in typed.index[unknown]:
                problems.append(Problem(int(i), "created_at", "", NEW_LEAD_ONLY))

    def _ledger_lead_ids(self, ids: set[str]) -> set[str]:
        import ibis

        if not ids:
            return set()
        table = self.store.table("leads")
        wanted = ibis.memtable(pd.DataFrame({"lead_id": sorted(ids)}))
        hits = table.semi_join(wanted, "lead_id").select("lead_id").distinct()
        return set(self.store.execute(hits)["lead_id"])

    def _row_ids(self, good: pd.DataFrame) -> pd.Series:
        k = self.kind
        content = [*k.field_names] + (["properties"] if k.keeps_properties else [])
        if k.name == "stages":
            return stable_ids(good, ["lead_id", "stage", "entered_at"], "se_")
        if k.name == "touches":
            ids = stable_ids(good, content, "to_")
            given = good["touch_id"]
            return ("to_id_" + given.astype(str)).where(given.notna(), ids)
        return stable_ids(good, content, k.name[:2] + "_")

    # -- dedupe against the store --------------------------------------------------------
    def _existing_ids(self, good: pd.DataFrame) -> set[str]:
        """Row ids of this import already in the ledger, in any version: an identical row is a
        repeat even if the record changed since (a snapshot that differs in anything, e.g. a
        modified-date column, has another id)."""
        import ibis

        if good.empty:
            return set()
        table = self.store.table(self.kind.table)
        if self.store.execute(table.count()) == 0:
            return set()
        ids = ibis.memtable(pd.DataFrame({"row_id": good["row_id"].unique()}))
        hits = table.semi_join(ids, "row_id").select("row_id").distinct()
        return set(self.store.execute(hits)["row_id"])

    def _existing_event_ids(self, events: pd.DataFrame) -> set[str]:
        import ibis

        if events.empty:
            return set()
        table = self.store.table("stage_events")
        ids = ibis.memtable(pd.DataFrame({"row_id": events["row_id"].unique()}))
        hits = table.semi_join(ids, "row_id").select("row_id")
        return set(self.store.execute(hits)["row_id"])

    # -- reporting -----------------------------------------------------------------------
    def _quarantine_frame(
        self, raw: pd.DataFrame, problems: list[Problem], file: str
    ) -> pd.DataFrame:
        if not problems:
            return pd.DataFrame()
        by_row: dict[int, list[Problem]] = {}
        for p in problems:
            by_row.setdefault(p.index, []).append(p)
        idx = sorted(by_row)
        src = raw.loc[idx]
        meta = pd.DataFrame(
            {
                "_file": file,
                "_row": src[ROW].to_numpy(),
                "_column": [";".join(p.column for p in by_row[i]) for i in idx],
                "_value": [";".join(p.value for p in by_row[i]) for i in idx],
                "_expected": [";".join(p.expected for p in by_row[i]) for i in idx],
            }
        )
        rest = src.drop(columns=[ROW]).reset_index(drop=True).astype(object)
        return pd.concat([meta, rest], axis=1)

    def _write_report(self, result: ImportResult, quarantine: list[pd.DataFrame]) -> None:
        stem = Path(result.files[0].file).stem if result.files else "import"
        folder = self.project_dir / "imports" / f"{result.batch_no:05d}-{self.kind.name}-{stem}"
        folder.mkdir(parents=True, exist_ok=True)
        q = [f for f in quarantine if not f.empty]
        qframe = pd.concat(q, ignore_index=True) if q else pd.DataFrame()
        if not qframe.empty:
            result.quarantine_path = folder / "quarantine.csv"
            qframe.to_csv(result.quarantine_path, index=False)
            meta = qframe[["_file", "_row", "_column", "_value", "_expected"]].head(20)
            result.sample_rejections = [
                {str(k).lstrip("_"): (None if pd.isna(v) else v) for k, v in r.items()}
                for r in meta.astype(object).to_dict(orient="records")
            ]
        result.report_path = folder / "report.json"
        result.report_path.write_text(
            json.dumps(result.as_dict(), indent=2, default=str, ensure_ascii=False),
            encoding="utf-8",
        )


def _is_empty(col: pd.Series) -> pd.Series:
    if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
        return col.isna() | col.map(lambda v: isinstance(v, str) and not v.strip())
    return col.isna()


def _find_column(names: Sequence[str], columns: Sequence[str]) -> str | None:
    """The first of ``names`` the file has: exactly, else ignoring case and surrounding spaces
    when that is unambiguous."""
    for name in names:
        if name in columns:
            return name
    folded: dict[str, list[str]] = {}
    for c in columns:
        folded.setdefault(c.strip().casefold(), []).append(c)
    for name in names:
        hits = folded.get(name.strip().casefold(), [])
        if len(hits) == 1:
            return hits[0]
    return None


def _suggest_column(name: str, columns: Sequence[str]) -> str | None:
    """ "Did you mean" over the file's columns, ignoring case."""
    by_fold = {c.casefold(): c for c in columns}
    close = difflib.get_close_matches(name.casefold(), list(by_fold), n=1, cutoff=0.6)
    return f"did you mean '{by_fold[close[0]]}'?" if close else None


def _clean_text(v: Any) -> Any:
    """Strip text; other non-null values (numbers from Parquet or JSON) become text."""
    if isinstance(v, str):
        return v.strip()
    return None if v is None else str(v)


def _value_mapper(vmap: dict[str, str]) -> Callable[[Any], Any]:
    """Map a cell through a mapping's ``values``: exact match first, then ignoring case and
    surrounding spaces; other values pass through."""
    folded = {k.strip().casefold(): v for k, v in vmap.items()}

    def mapped(v: Any) -> Any:
        if not isinstance(v, str):
            return v
        if v in vmap:
            return vmap[v]
        return folded.get(v.strip().casefold(), v)

    return mapped


def file_sha256(path: Path) -> str:
    """The file's SHA-256 (hex), recorded with every import; unreadable → ImportFileError."""
    h = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError as exc:
        raise ImportFileError(f"{path}: {exc}") from exc
    return h.hexdigest()


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()
