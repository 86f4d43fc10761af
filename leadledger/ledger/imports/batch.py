"""The one writer of the ledger: a batch of accepted rows, its ``imports`` rows, its files.

Every write to the ledger is a batch: a file import, a call of the events API or of the form
hook, a scoring run, an experiment's membership import. A batch takes the next batch number and
writes, in ONE transaction (serialised across processes by one advisory lock on PostgreSQL, so
two writers never take the same number or both write a row that neither had seen):

- its accepted rows, per table, through :meth:`Store.append` (``batch_no``, and ``imported_at``
  and ``row_no`` where the table has them and the rows do not, are added here);
- one ``imports`` row per source (a file, the events of one type of an API call, a scoring run):
  ``file``, ``sha256``, ``read``, ``accepted``, ``rejected``, ``skipped``;
- in the batch folder ``imports/NNNNN-<name>/`` of the project, when the batch has one:
  ``quarantine.csv`` (the rejected records) and ``report.json``. They are written last, inside
  the transaction, and removed again if it rolls back: a failed batch leaves no trace.
  ``quarantine.csv`` reads back as it was written: every cell holding a line break (CR or LF)
  is quoted; and a text cell that a spreadsheet would run as a formula (starting with ``=``,
  ``+``, ``-``, ``@``, a tab or a carriage return) gets a single quote before it (OWASP's rule
  against CSV injection). Only there: report.json, the API's answers and the ledger keep the
  values as they came.

Idempotency is by content: :meth:`Transaction.known` tells which ids (``row_id`` of a ledger
table, ``event_id`` of ``ingested_events``) a table holds already, in one query, inside the
transaction; the caller counts them as skipped and leaves them out.

The data version (``Store.data_version``) goes up once, at commit, when rows were appended to a
table that reports read; a batch that accepted nothing (a re-import, a post of duplicates or of
rejected events) writes its ``imports`` row and leaves the version as it was.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import weakref
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from leadledger.ledger.store import Store

#: The one lock every batch takes (PostgreSQL: an advisory transaction lock).
LOCK = "leadledger batch"
#: Where the batch folders are, in the project folder.
FOLDER = "imports"
#: A cell starting with one of these is a formula to a spreadsheet (OWASP, CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclasses.dataclass
class Source:
    """One ``imports`` row: a file (or an API call's events of one type, a scoring run) and
    what became of its records. ``read = accepted + rejected + skipped``."""

    file: str
    sha256: str
    read: int
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    #: the ``kind`` column (default: the batch's kind)
    kind: str | None = None


@dataclasses.dataclass
class Written:
    """What a batch wrote: its number, and its folder and files (None: not written)."""

    batch_no: int
    folder: Path | None = None
    quarantine: Path | None = None
    report: Path | None = None
    #: rows appended per table
    appended: dict[str, int] = dataclasses.field(default_factory=dict)


#: report.json's content, given what the batch wrote (its number and paths are known by then).
ReportOf = Callable[[Written], Any]


@dataclasses.dataclass
class Batch:
    """A batch: its kind, the accepted rows (``(table, rows)``, appended in this order; a table
    may come twice), one :class:`Source` per ``imports`` row, and the files of its folder
    ``imports/NNNNN-<folder>/`` (no folder: no files). ``started_at``: when the work began
    (default: when it is written)."""

    kind: str
    sources: Collection[Source]
    rows: Sequence[tuple[str, pd.DataFrame]] = ()
    folder: str | None = None
    #: the rejected records, one per line (written only when there are some)
    quarantine: pd.DataFrame | None = None
    report: ReportOf | None = None
    started_at: pd.Timestamp | None = None
    #: ``imported_at`` of the rows that lack it (default: when it is written)
    at: pd.Timestamp | None = None


class Transaction:
    """A batch's transaction (see :func:`transaction`): look up what the ledger holds, then
    write. The batch number is taken on first use, under the lock."""

    def __init__(self, store: Store, project_dir: Path | None) -> None:
        self.store = store
        self.project_dir = project_dir
        self._batch_no: int | None = None
        self._written: list[Path] = []
        self._made: list[Path] = []

    @property
    def batch_no(self) -> int:
        if self._batch_no is None:
            self._batch_no = self.store.next_batch_no()
        return self._batch_no

    # -- idempotency ------------------------------------------------------------------------
    def known(
        self, wanted: Mapping[tuple[str, str], Collection[str]]
    ) -> dict[tuple[str, str], set[str]]:
        """Per ``(table, column)``, which of the given ids the table holds already: one query
        (a union of semi-joins against one memtable of every id)."""
        found: dict[tuple[str, str], set[str]] = {key: set() for key in wanted}
        ids: set[str] = set()
        for values in wanted.values():
            ids.update(values)
        if not ids:
            return found
        mt = ibis.memtable(pd.DataFrame({"id": sorted(ids)}))
        keys = list(wanted)
        parts = []
        for n, (table, column) in enumerate(keys):
            t = _table(self.store, table)
            parts.append(
                t.semi_join(mt, t[column] == mt.id).select(tag=ibis.literal(n), id=t[column])
            )
        query = parts[0].distinct() if len(parts) == 1 else ibis.union(*parts, distinct=True)
        hits = self.store.execute(query)
        for n, key in enumerate(keys):
            found[key] = set(hits.loc[hits["tag"] == n, "id"])
        return found

    # -- writing ----------------------------------------------------------------------------
    def append(self, table: str, rows: pd.DataFrame, *, at: pd.Timestamp | None = None) -> int:
        """Append accepted rows to ``table`` as rows of this batch: ``batch_no``, and
        ``imported_at`` (``at``, default now) and ``row_no`` (their order, from 0) where the
        table has those columns and the rows do not."""
        if rows.empty:
            return 0
        cols = self.store.columns(table)
        add: dict[str, Any] = {"batch_no": self.batch_no}
        if "imported_at" in cols and "imported_at" not in rows.columns:
            add["imported_at"] = at if at is not None else pd.Timestamp.now(tz="UTC")
        if "row_no" in cols and "row_no" not in rows.columns:
            add["row_no"] = np.arange(len(rows), dtype=np.int64)
        return self.store.append(table, rows.assign(**add))

    def append_select(self, table: str, expr: ir.Table) -> int:
        """Append the rows of an Ibis expression, computed in the engine (it carries the
        batch number itself: :attr:`batch_no`). Returns how many were added."""
        return self.store.insert_select(table, expr)

    def record(
        self, kind: str, sources: Collection[Source], started_at: pd.Timestamp | None = None
    ) -> None:
        """The batch's ``imports`` rows, one per source."""
        started = started_at if started_at is not None else pd.Timestamp.now(tz="UTC")
        rows = [
            {
                "batch_no": self.batch_no,
                "batch_id": f"{self.batch_no}",
                "kind": s.kind or kind,
                "file": s.file,
                "sha256": s.sha256,
                "read": s.read,
                "accepted": s.accepted,
                "rejected": s.rejected,
                "skipped": s.skipped,
                "started_at": started,
                "finished_at": pd.Timestamp.now(tz="UTC"),
            }
            for s in sources
        ]
        if rows:
            self.store.append("imports", pd.DataFrame(rows))

    def files(self, name: str, quarantine: pd.DataFrame | None, report: ReportOf | None) -> Written:
        """The batch folder ``imports/NNNNN-<name>/``: ``quarantine.csv`` when there are
        rejected records, then ``report.json``."""
        if self.project_dir is None:
            raise ValueError("a batch with files needs the project folder")
        folder = self.project_dir / FOLDER / f"{self.batch_no:05d}-{name}"
        if not folder.exists():
            folder.mkdir(parents=True)
            self._made.append(folder)
        done = Written(self.batch_no, folder)
        if quarantine is not None and not quarantine.empty:
            done.quarantine = folder / "quarantine.csv"
            self._written.append(done.quarantine)
            write_csv(done.quarantine, quarantine)
        if report is not None:
            path = folder / "report.json"
            done.report = path
            content = report(done)
            self._written.append(path)
            path.write_text(
                json.dumps(content, indent=2, default=str, ensure_ascii=False), encoding="utf-8"
            )
        return done

    def write(self, batch: Batch) -> Written:
        """The whole batch: rows, ``imports`` rows, files."""
        at = batch.at if batch.at is not None else pd.Timestamp.now(tz="UTC")
        appended: dict[str, int] = {}
        for table, rows in batch.rows:
            appended[table] = appended.get(table, 0) + self.append(table, rows, at=at)
        self.record(batch.kind, batch.sources, batch.started_at)
        if batch.folder is not None:
            done = self.files(batch.folder, batch.quarantine, batch.report)
        else:
            done = Written(self.batch_no)
        done.appended = appended
        return done

    def _discard(self) -> None:
        """The files of a batch whose transaction rolled back."""
        for path in reversed(self._written):
            path.unlink(missing_ok=True)
        for folder in reversed(self._made):
            with contextlib.suppress(OSError):
                folder.rmdir()


@contextlib.contextmanager
def transaction(store: Store, project_dir: Path | None = None) -> Iterator[Transaction]:
    """One batch's transaction, under the batch lock: everything written in it commits
    together, or nothing does (its files are removed too). Inside a transaction the caller
    opened already, the batch joins it."""
    tx = Transaction(store, project_dir)
    try:
        if store.in_transaction:
            store.lock(LOCK)
            yield tx
        else:
            with store.transaction():
                store.lock(LOCK)
                yield tx
    except BaseException:
        tx._discard()
        raise


def write(store: Store, batch: Batch, project_dir: Path | None = None) -> Written:
    """Write a batch in its own transaction (see the module docstring)."""
    with transaction(store, project_dir) as tx:
        return tx.write(batch)


# -- quarantine.csv ------------------------------------------------------------------------------
def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would take for a formula, with a single quote before it;
    any other value as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """A CSV that reads back as written: pandas' layout (``,``, ``\\n`` between records,
    minimal quoting), every cell that holds a CR or an LF quoted (pandas quotes only the
    characters of its own line end, so a bare CR went out unquoted: one record read as two),
    and formula cells, the header's too, neutralised (:func:`neutralise`)."""
    safe = frame.copy()
    safe.columns = [neutralise(str(c)) for c in frame.columns]
    for i, dtype in enumerate(safe.dtypes):
        if pd.api.types.is_string_dtype(dtype):
            safe.isetitem(i, safe.iloc[:, i].map(neutralise).to_numpy())
    # written with CRLF line ends, the csv module quotes every cell holding CR or LF; the line
    # ends, outside the quotes, then become LF again (a doubled quote "" opens and closes)
    text = safe.to_csv(index=False, lineterminator="\r\n")
    parts = text.split('"')
    parts[::2] = [p.replace("\r\n", "\n") for p in parts[::2]]
    path.write_text('"'.join(parts), encoding="utf-8", newline="")


# -- what the checks ask the ledger ---------------------------------------------------------------
def known_leads(store: Store) -> Callable[[set[str]], set[str]]:
    """Which of some lead ids the ledger holds (``validate.KnownLeads`` on this store)."""

    def known(ids: set[str]) -> set[str]:
        if not ids:
            return set()
        table = _table(store, "leads")
        wanted = ibis.memtable(pd.DataFrame({"lead_id": sorted(ids)}))
        hits = table.semi_join(wanted, "lead_id").select("lead_id").distinct()
        return set(store.execute(hits)["lead_id"])

    return known


# -- table handles ------------------------------------------------------------------------------
_TABLES: weakref.WeakKeyDictionary[Store, dict[str, ir.Table]] = weakref.WeakKeyDictionary()


def _table(store: Store, name: str) -> ir.Table:
    """``store.table(name)``, kept per store: Ibis asks the engine for the schema every time,
    which costs more than a small look-up (the tables of a store do not change while open)."""
    cache = _TABLES.setdefault(store, {})
    if name not in cache:
        cache[name] = store.table(name)
    return cache[name]
