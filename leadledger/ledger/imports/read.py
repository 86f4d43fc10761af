"""Read CSV (any delimiter, detected encoding), Parquet and JSON Lines into string columns: the
first step of a file import (:mod:`leadledger.ledger.imports.files`).

Every record keeps its position in the file as ``_row``: the spreadsheet row number (the header
is row 1, so the first record is row 2; blank lines count, a quoted value spanning lines is one
row; JSON Lines count lines, Parquet and JSON arrays count records, from 1). Records that cannot
be split into the header's columns are returned apart, never dropped. Blank lines and rows of
empty cells hold no data: they are not records (not read), only counted as ``blank``.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import hashlib
import io
import json
import unicodedata
from pathlib import Path

import charset_normalizer
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from leadledger.errors import ImportFileError

ROW = "_row"
CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json", ".jsonl.gz", ".ndjson.gz")


@dataclasses.dataclass
class BadRecord:
    row: int | None
    text: str
    reason: str


@dataclasses.dataclass
class ReadResult:
    frame: pd.DataFrame  # all columns str (or typed for Parquet), plus _row
    bad: list[BadRecord]
    encoding: str | None = None
    delimiter: str | None = None
    format: str = "csv"
    #: blank lines (not records: not counted as read)
    blank: int = 0

    @property
    def read(self) -> int:
        return len(self.frame) + len(self.bad)


def file_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    raise ImportFileError(
        f"{path}: unknown file type",
        hint="use .csv/.tsv/.txt (optionally .gz), .parquet or .jsonl/.ndjson",
    )


def read_file(
    path: Path, *, delimiter: str | None = None, encoding: str | None = None
) -> ReadResult:
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    fmt = file_format(path)
    if fmt == "parquet":
        return _read_parquet(path)
    if fmt == "jsonl":
        return _read_jsonl(path, encoding)
    return _read_csv(path, delimiter, encoding)


def _open_bytes(path: Path) -> bytes:
    if path.name.lower().endswith(".gz"):
        with gzip.open(path, "rb") as fh:
            return fh.read()
    return path.read_bytes()


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # a sample may cut a multi-byte character at its end
        if exc.start >= len(sample) - 3:
            return "utf-8"
    # Not UTF-8. Statistical detectors guess wildly on the small files exports often are (a
    # Spanish cp1252 CSV came out as cp775), so first ask whether it reads as Western European
    # Windows text (what Excel writes in Western locales); only otherwise use the detector.
    try:
        western = sample.decode("cp1252")
    except UnicodeDecodeError:
        western = None
    if western is not None and _looks_western(western):
        return "cp1252"
    best = charset_normalizer.from_bytes(sample).best()
    if best:
        return str(best.encoding)
    return "cp1252" if western is not None else "latin-1"


def _looks_western(text: str) -> bool:
    """Whether text decoded as cp1252 reads like a Western European language: in words that
    hold non-ASCII letters those are the minority (Jürgen, Café, Ñandú), and no symbol sits
    between two letters. Other code pages read as cp1252 give words made of accented letters
    only (Cyrillic, Greek: 'Èâàí') or symbols inside words (Polish: '¯ó³æ')."""
    ascii_letters = other_letters = 0
    for word in text.split():
        if word.isascii():
            continue
        for i, c in enumerate(word):
            if c.isascii():
                ascii_letters += c.isalpha()
            elif unicodedata.category(c).startswith("L"):
                other_letters += 1
            elif 0 < i < len(word) - 1 and word[i - 1].isalpha() and word[i + 1].isalpha():
                return False
    return other_letters <= ascii_letters


def detect_delimiter(text_head: str) -> str:
    lines = [ln for ln in text_head.splitlines()[:50] if ln.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        header = lines[0]
        counts = {d: header.count(d) for d in ",;\t|"}
        return max(counts, key=lambda d: counts[d]) if max(counts.values()) else ","


def _read_csv(path: Path, delimiter: str | None, encoding: str | None) -> ReadResult:
    raw = _open_bytes(path)
    enc = encoding or detect_encoding(raw[: 1 << 20])
    if enc.replace("_", "-").lower() in ("utf-8", "utf8") and raw.startswith(b"\xef\xbb\xbf"):
        enc = "utf-8-sig"
    try:
        head = raw[: 1 << 16].decode(enc, errors="replace")
    except LookupError as exc:
        raise ImportFileError(f"{path}: unknown encoding '{enc}'") from exc
    delim = delimiter or detect_delimiter(head)
    if enc.lower() in ("utf-8-sig",):
        raw = raw[3:]
        enc = "utf-8"
    if raw.strip() == b"":
        raise ImportFileError(f"{path}: the file is empty", hint="a header row is expected")
    delimiter_chars = " \t\r\n"
    bad: list[BadRecord] = []
    blank_rows: list[int] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        if not row.text.strip(delimiter_chars):
            if row.number is not None:
                blank_rows.append(int(row.number))
            return "skip"
        bad.append(
            BadRecord(
                row=None if row.number is None else int(row.number),
                text=row.text,
                reason=f"expected {row.expected_columns} fields, found {row.actual_columns}",
            )
        )
        return "skip"

    try:
        header_reader = pacsv.open_csv(
            io.BytesIO(raw),
            read_options=pacsv.ReadOptions(encoding=enc, block_size=1 << 16),
            parse_options=pacsv.ParseOptions(
                delimiter=delim, newlines_in_values=True, invalid_row_handler=lambda r: "skip"
            ),
        )
        names = header_reader.schema.names
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise ImportFileError(
            f"{path}: cannot read as CSV with encoding {enc} and delimiter {delim!r}: {exc}",
            hint="pass --encoding, or set delimiter/encoding in the mapping",
        ) from exc
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ImportFileError(f"{path}: the header repeats column(s) {', '.join(sorted(dupes))}")
    try:
        table = pacsv.read_csv(
            io.BytesIO(raw),
            read_options=pacsv.ReadOptions(encoding=enc, use_threads=False, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(
                delimiter=delim,
                newlines_in_values=True,
                invalid_row_handler=on_invalid,
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise ImportFileError(
            f"{path}: cannot read as CSV with encoding {enc} and delimiter {delim!r}: {exc}",
            hint="pass --encoding, or set delimiter/encoding in the mapping",
        ) from exc
    frame = table.to_pandas(types_mapper=None)
    frame = frame.astype(object)
    # spreadsheet row numbers: header = 1; skipped bad records and blank lines shift the others
    skipped = sorted({b.row for b in bad if b.row is not None} | set(blank_rows))
    rows = []
    record = 2
    bi = 0
    for _ in range(len(frame)):
        while bi < len(skipped) and skipped[bi] <= record:
            if skipped[bi] == record:
                record += 1
            bi += 1
        rows.append(record)
        record += 1
    frame[ROW] = rows
    # blank lines (and rows of empty cells, as spreadsheets write them) hold no data
    empty = pd.Series(True, index=frame.index)
    for name in names:
        empty &= frame[name].map(lambda v: v is None or (isinstance(v, str) and not v.strip()))
    blank = len(blank_rows) + int(empty.sum())
    frame = frame[~empty].reset_index(drop=True)
    return ReadResult(frame, bad, enc, delim, "csv", blank)


def _read_parquet(path: Path) -> ReadResult:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ImportFileError(f"{path}: cannot read as Parquet: {exc}") from exc
    frame = table.to_pandas()
    frame[ROW] = range(1, len(frame) + 1)
    return ReadResult(frame, [], None, None, "parquet")


def _read_jsonl(path: Path, encoding: str | None) -> ReadResult:
    """JSON Lines (one object per line; rows are line numbers), or a JSON array of objects
    (rows are positions in the array, from 1)."""
    raw = _open_bytes(path)
    enc = encoding or detect_encoding(raw[: 1 << 20])
    try:
        text = raw.decode(enc, errors="strict")
    except (UnicodeDecodeError, LookupError) as exc:
        raise ImportFileError(
            f"{path}: cannot decode as {enc}: {exc}", hint="pass --encoding"
        ) from exc
    text = text.removeprefix("\ufeff")
    records: list[dict[str, str | None]] = []
    rows: list[int] = []
    bad: list[BadRecord] = []
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportFileError(
                f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}",
                hint="a JSON array of objects, or JSON Lines (one object per line)",
            ) from exc
        numbered = [(n, item, json.dumps(item)) for n, item in enumerate(items, start=1)]
    else:
        numbered = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                numbered.append((n, json.loads(line), line))
            except json.JSONDecodeError as exc:
                bad.append(BadRecord(n, line, f"invalid JSON: {exc.msg}"))
    for n, obj, line in numbered:
        if not isinstance(obj, dict):
            bad.append(BadRecord(n, line, "expected a JSON object"))
            continue
        records.append({k: json_text(v) for k, v in obj.items()})
        rows.append(n)
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    frame = frame.astype(object).where(frame.notna(), "") if len(frame) else frame
    frame[ROW] = rows
    return ReadResult(frame, bad, enc, None, "jsonl")


def json_text(v: object) -> str | None:
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


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
