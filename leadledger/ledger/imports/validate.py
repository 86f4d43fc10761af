"""Check records of an import kind: map, type and validate them; nothing is written.

Pure: a frame in (as a reader gives it: text columns, ``_row`` = each record's place in its
file), the typed rows with their content ids and every problem out (file, row, column, value,
what was expected), apart from the records they reject. The ledger is never opened: the one
question that needs it, which leads exist already (a lead row without ``created_at`` updates a
known lead), goes through the ``known_leads`` callable the caller passes.

The same rules serve a file import (:mod:`leadledger.ledger.imports.files`) and the events API
(:mod:`leadledger.ledger.imports.events`), so a row is the same whichever way it came.

Leads are partial updates (CRM semantics): a leads row for a lead the ledger already knows, or
that another row of the same import creates, may carry only some fields; ``created_at`` is
required only for a new lead. The current lead is a field-wise merge
(``leadledger.ledger.derived.current_leads``).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import re
import zoneinfo
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadledger.config.models import ProjectConfig
from leadledger.errors import InvalidArgument, MappingError
from leadledger.ledger.imports.mapping import Mapping
from leadledger.ledger.imports.read import ROW, ReadResult
from leadledger.ledger.schema import KINDS, Field, Kind, kinds
from leadledger.suggest import did_you_mean

#: Which of these lead ids the ledger holds already (the one question checking asks the ledger).
KnownLeads = Callable[[set[str]], set[str]]

AWARE_RE = r"(?:Z|[+-]\d{2}:?\d{2})$"
MIN_YEAR, MAX_YEAR = 1900, 2200
ISO = "ISO8601"
DATE_ONLY_RE = r"\d{4}-\d{2}-\d{2}|\d{8}"
RECORD = "(record)"
#: Cells that mean yes / no in a yes-or-no column (compared case-folded).
TRUE_WORDS = ("true", "yes", "1", "x", "y", "checked", "primary")
FALSE_WORDS = ("false", "no", "0", "n", "unchecked")
#: created_at of a lead is required only when the lead is new.
NEW_LEAD_ONLY = "created_at (required for a new lead)"


@dataclasses.dataclass
class Problem:
    """One value that does not pass: where it is and what was expected instead."""

    index: int  # position in the frame
    column: str
    value: str
    expected: str
    #: the file (or source) and the record's place in it (``_row``)
    file: str = ""
    row: int | None = None


@dataclasses.dataclass
class Checked:
    """One frame checked: the rows that pass (typed, with their content ids ``row_id`` and
    ``_row``), the stage events of their stage columns, every problem, and the rejected
    records as the quarantine lists them (``_file``, ``_row``, ``_column``, ``_value``,
    ``_expected``, then the record's own columns)."""

    file: str
    rows: pd.DataFrame
    events: pd.DataFrame
    problems: list[Problem]
    rejected: pd.DataFrame
    #: records rejected (a record with several problems counts once)
    rejected_count: int = 0
    rejections_by_column: dict[str, int] = dataclasses.field(default_factory=dict)
    #: columns of the file that are not imported (kinds without properties)
    ignored_columns: list[str] = dataclasses.field(default_factory=list)
    #: columns kept in ``properties``
    properties_columns: list[str] = dataclasses.field(default_factory=list)
    #: mapped columns the file does not have (skipped: ``skip_missing_columns``)
    missing_columns: list[str] = dataclasses.field(default_factory=list)


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
    ids: pd.Series = prefix + joined.map(lambda s: hashlib.sha1(s.encode("utf-8")).hexdigest()[:24])
    return ids


def no_known_leads(ids: set[str]) -> set[str]:
    """A ledger that holds no lead yet."""
    return set()


class Validator:
    """The checks of one import kind, for a project's config and a mapping."""

    def __init__(
        self,
        cfg: ProjectConfig,
        kind: str,
        mapping: Mapping | None = None,
        *,
        known_leads: KnownLeads = no_known_leads,
    ) -> None:
        if kind not in KINDS:
            raise InvalidArgument(
                f"unknown import kind '{kind}'",
                hint=did_you_mean(kind, KINDS) or f"kinds: {', '.join(KINDS)}",
            )
        self.cfg = cfg
        self.kind: Kind = kinds(cfg)[kind]
        self.mapping = mapping or Mapping()
        if self.mapping.kind and self.mapping.kind != kind:
            raise MappingError(
                f"the mapping is for '{self.mapping.kind}' imports, not '{kind}'",
                hint=f"run 'leadledger import {self.mapping.kind} ...'",
            )
        self.known_leads = known_leads
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
        for section in ("columns", "dates", "values", "constants", "split", "coalesce"):
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

    # -- checking ----------------------------------------------------------------------
    def check(self, reads: Iterable[tuple[str, ReadResult]]) -> list[Checked]:
        """Check the files of one import (``(file, what the reader read)`` each), together: a
        lead row without ``created_at`` may update a lead that a row of another file creates.
        Every problem is listed; nothing is dropped."""
        started = [(read, self._check(read, file)) for file, read in reads]
        if self.kind.name == "leads":
            self._check_new_leads([(c.rows, c.problems) for _, c in started])
        return [self._split(read, c) for read, c in started]

    def check_records(self, frame: pd.DataFrame, source: str = "(records)") -> Checked:
        """Every rule of a file import, applied to records already in memory (one column per
        field name, values as a file reader gives them; ``_row`` = the caller's position of each
        record): mapping, types, dates, stage and channel mapping, required fields, the kind's
        cross checks and, for leads, ``created_at`` only for a lead the ledger (or another
        record of ``frame``) does not create. ``rows`` keep ``_row``; a problem's ``index`` is
        its position in ``frame``; ``ignored_columns``: fields the kind does not keep. Stage
        columns of a mapping are not supported here (an event is one stage entry)."""
        if self.mapping.stage_columns:
            raise MappingError("stage_columns apply to file imports only")
        if ROW not in frame.columns:
            frame = frame.assign(**{ROW: np.arange(len(frame), dtype=np.int64)})
        read = ReadResult(frame, [], None, None, "json")
        return self.check([(source, read)])[0]

    def _check(self, read: ReadResult, file: str) -> Checked:
        """Map and type one file's records; every problem found is listed, nothing dropped
        (``rows``: every record, typed; split by :meth:`_split`)."""
        raw = read.frame
        checked = Checked(file, pd.DataFrame(), pd.DataFrame(), [], pd.DataFrame())
        problems = checked.problems
        data = self._rename(raw, checked, file)
        typed = pd.DataFrame(index=raw.index)
        for field in self.kind.fields:
            col = data[field.name] if field.name in data.columns else None
            typed[field.name] = self._convert(field, col, raw.index, problems)
        self._cross_checks(typed, problems)
        if self.kind.keeps_properties:
            typed["properties"] = self._properties(raw, data, checked)
        checked.rows = typed
        if self.mapping.stage_columns:
            checked.events = self._stage_events_from_columns(raw, typed, problems, file, checked)
        return checked

    def _split(self, read: ReadResult, checked: Checked) -> Checked:
        """Good rows (with their row ids) and stage events apart from the rejected records;
        the problems learn their file and row."""
        raw, file, problems = read.frame, checked.file, checked.problems
        if problems:
            where = raw.index.get_indexer(pd.Index([p.index for p in problems]))
            for p, row in zip(problems, raw[ROW].to_numpy()[where], strict=True):
                p.file, p.row = file, int(row)
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
        checked.rejected = rejected
        checked.rejected_count = len(bad_index) + len(read.bad)
        counts = Counter(p.column for p in problems)
        if read.bad:
            counts[RECORD] += len(read.bad)
        checked.rejections_by_column = dict(counts)
        good = checked.rows.drop(index=bad_index)
        good[ROW] = raw.loc[good.index, ROW].to_numpy()
        events = checked.events
        if not events.empty:
            events = events[~events["_index"].isin(bad_index)].drop(columns=["_index"])
        good = good.assign(row_id=self._row_ids(good))
        checked.rows = good.reset_index(drop=True)
        checked.events = events.reset_index(drop=True)
        return checked

    def _required(self, field: Field) -> bool:
        """Whether every row needs a value (a lead's created_at only when the lead is new)."""
        if self.kind.name == "leads" and field.name == "created_at":
            return False
        return bool(field.required)

    def _rename(self, raw: pd.DataFrame, checked: Checked, file: str) -> pd.DataFrame:
        out = pd.DataFrame(index=raw.index)
        source_cols = [c for c in raw.columns if c != ROW]
        used: set[str] = set()
        source_of: dict[str, str] = {}
        for target, sources in self.mapping.columns.items():
            present = list(
                dict.fromkeys(c for c in (_find_column([one], source_cols) for one in sources) if c)
            )
            if target in self.mapping.coalesce and len(present) > 1:
                merged = raw[present[0]]
                for other in present[1:]:  # the first non-empty, per row
                    merged = merged.where(~_is_empty(merged), raw[other])
                out[target] = merged
                used.add(present[0])
                source_of[target] = present[0]
                continue
            source = _find_column(sources, source_cols)
            if source is None:
                if self.mapping.skip_missing_columns:
                    checked.missing_columns.append(" | ".join(sources))
                    continue
                hint = _suggest_column(sources[0], source_cols)
                raise MappingError(
                    f"{file}: the mapping expects a column '{' or '.join(sources)}' (for "
                    f"{target}) that the file does not have",
                    hint=hint or f"columns in the file: {', '.join(source_cols[:40])}",
                )
            out[target] = raw[source]
            used.add(source)
            source_of[target] = source
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
                source_of[target] = col
        for target, value in self.mapping.constants.items():
            out[target] = value
        for target, separators in self.mapping.split.items():
            if target in out.columns:
                whole = out[target]
                out[target] = whole.map(_first_value(separators))
                source = source_of.get(target)
                if self.kind.keeps_properties and source and source not in out.columns:
                    out[source] = whole  # every value stays with the row
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
            checked.properties_columns = unused
        else:
            checked.ignored_columns = unused
        return out

    def _properties(self, raw: pd.DataFrame, data: pd.DataFrame, checked: Checked) -> pd.Series:
        cols = checked.properties_columns
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
        self, field: Field, col: pd.Series | None, index: pd.Index, problems: list[Problem]
    ) -> pd.Series:
        dtype = str(field.dtype)
        if col is None:
            if dtype.startswith("timestamp"):
                return pd.Series(pd.NaT, index=index, dtype="datetime64[us, UTC]")
            if dtype in ("float64", "int64"):
                return pd.Series(np.nan, index=index, dtype="float64")
            if dtype == "boolean":
                return pd.Series(pd.NA, index=index, dtype="boolean")
            return pd.Series([None] * len(index), index=index, dtype=object)
        empty = _is_empty(col)
        if self._required(field):
            for i in col.index[empty]:
                problems.append(Problem(i, field.name, "", "a value (required)"))
        if dtype.startswith("timestamp"):
            return self._parse_timestamps(field.name, col, empty, problems)
        if dtype == "date":
            ts = self._parse_timestamps(field.name, col, empty, problems)
            days: pd.Series = ts.dt.tz_convert(self.tz).dt.date.where(ts.notna(), None)
            return days
        if dtype in ("float64", "int64"):
            return self._parse_numbers(field.name, col, empty, problems, integer=dtype == "int64")
        if dtype == "boolean":
            return self._parse_booleans(field.name, col, empty, problems)
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

    def _parse_booleans(
        self, name: str, col: pd.Series, empty: pd.Series, problems: list[Problem]
    ) -> pd.Series:
        """Yes/no cells as exports write them: true/false, yes/no, 1/0, x (a ticked checkbox),
        case-insensitive; anything else is rejected (never guessed)."""
        if pd.api.types.is_bool_dtype(col.dtype):
            return col.astype("boolean")
        out = pd.Series(pd.NA, index=col.index, dtype="boolean")
        folded = col.astype(object).map(
            lambda v: str(v).strip().casefold() if v is not None and not pd.isna(v) else None
        )
        yes = folded.isin(TRUE_WORDS)
        no = folded.isin(FALSE_WORDS)
        out[yes] = True
        out[no] = False
        for i in col.index[~empty & ~yes & ~no]:
            problems.append(Problem(i, name, str(col[i]), "yes or no (true/false, yes/no, 1/0, x)"))
        return out

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
            utc: pd.Series = col.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
            return utc
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
        utc: pd.Series = local.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
        return utc

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
            # a deal's state comes from its status or, where that is empty, from its stage
            # (deal_stages in leadledger.yaml); a row with neither says nothing
            neither = typed["status"].isna() & typed["stage"].isna()
            for i in typed.index[neither]:
                problems.append(
                    Problem(i, "status", "", "a status (open, won, lost) or a deal stage")
                )
            stage_map = self.cfg.deal_stages.value_map()
            by_stage = typed["stage"].map(
                lambda v: (
                    stage_map[v.casefold()].status
                    if isinstance(v, str) and v.casefold() in stage_map
                    else None
                )
            )
            status = typed["status"].where(typed["status"].notna(), by_stage)
            closed = status.isin(["won", "lost"]) & typed["closed_at"].isna()
            for i in typed.index[closed]:
                problems.append(Problem(i, "closed_at", "", f"a close date for a {status[i]} deal"))
            # an open deal's value may not be known yet; a closed one's must be
            unpriced = status.isin(["won", "lost"]) & typed["amount"].isna()
            for i in typed.index[unpriced]:
                problems.append(Problem(i, "amount", "", f"an amount for a {status[i]} deal"))
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
        if k == "activities":
            # an activity is with someone: a lead (contact), an account, or both
            nobody = typed["lead_id"].isna() & typed["account_id"].isna()
            for i in typed.index[nobody]:
                problems.append(
                    Problem(i, "lead_id", "", "a lead_id or an account_id (who it was with)")
                )

    def _stage_events_from_columns(
        self,
        raw: pd.DataFrame,
        typed: pd.DataFrame,
        problems: list[Problem],
        file: str,
        checked: Checked,
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
                        checked.missing_columns.append(column)
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
        known = creators | self.known_leads(wanted - creators)
        for typed, problems, no_date in pending:
            unknown = no_date & ~typed["lead_id"].isin(list(known))
            for i in typed.index[unknown]:
                problems.append(Problem(int(i), "created_at", "", NEW_LEAD_ONLY))

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

    # -- the rejected records, as the quarantine lists them ------------------------------
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


def _first_value(separators: Sequence[str]) -> Callable[[Any], Any]:
    """The first non-empty value of a cell holding several, split on any of ``separators``
    (``"11440;70238"`` → ``"11440"``); other cells pass through."""
    pattern = re.compile("|".join(re.escape(s) for s in separators if s))

    def first(v: Any) -> Any:
        if not isinstance(v, str) or not pattern.pattern:
            return v
        parts = [p.strip() for p in pattern.split(v)]
        return next((p for p in parts if p), v)

    return first


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
