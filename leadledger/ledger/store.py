"""The store: an Ibis connection holding the ledger tables.

Metrics never see this module: they take Ibis tables and return expressions. The store creates
the tables, appends rows inside one transaction, and hands out tables. Writes go through the
engine's own driver (DuckDB's Arrow scan, PostgreSQL's COPY) because Ibis has no portable
transaction; reads are Ibis everywhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pyarrow as pa
from ibis.common.exceptions import TableNotFound

from leadledger.config.models import ProjectConfig
from leadledger.errors import EngineError, StoreLocked
from leadledger.ledger.schema import SERVICE_TABLES, UNVERSIONED_TABLES, Kind, kinds

POSTGRES_PREFIXES = ("postgres://", "postgresql://")


def _duckdb_path(url: str, project_dir: Path) -> Path:
    raw = url.removeprefix("duckdb://")
    # duckdb:///leadledger.duckdb → relative to the project; duckdb:////abs/path → absolute
    if raw.startswith("//"):
        return Path(raw[1:])
    raw = raw.removeprefix("/")
    p = Path(raw)
    return p if p.is_absolute() else project_dir / p


#: Where a running ``leadledger serve`` says who it is (pid, URL), in the project folder.
SERVER_FILE = "leadledger-server.json"


def running_server(project_dir: Path) -> dict[str, Any] | None:
    """The server file of a live ``leadledger serve`` on this project, else None (a file left
    by a server that died is ignored)."""
    import json
    import os

    f = project_dir / SERVER_FILE
    try:
        info = json.loads(f.read_text(encoding="utf-8"))
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info if isinstance(info, dict) else None


def locked_error(path: Path, project_dir: Path, exc: Exception) -> StoreLocked:
    """DuckDB lets one process write a file: name who holds it and what to do."""
    server = running_server(project_dir)
    if server:
        return StoreLocked(
            f"the ledger {path.name} is held by 'leadledger serve' (pid {server['pid']}, "
            f"{server.get('url', '?')}); DuckDB lets one process open the file",
            hint=f"read the same reports from {server.get('url', 'the server')}/api/v1 or the "
            "dashboard, or stop the server (Ctrl-C) and run the command again; on PostgreSQL "
            "servers and commands can run at once",
        )
    held = re.search(r"PID (\d+)", str(exc))
    who = f"process {held.group(1)}" if held else "another process"
    return StoreLocked(
        f"the ledger {path.name} is held by {who}; DuckDB lets one process open the file",
        hint="wait for that command to finish (or stop it) and run this one again",
    )


class Scratch:
    """Temporary tables on the store's connection, for one call (the attribution's journeys are
    stored once and every model reads them); dropped on close."""

    def __init__(self, con: Any) -> None:
        self.con = con
        self.names: list[str] = []

    def keep(self, expr: ibis.Table) -> ibis.Table:
        name = f"_leadledger_scratch_{uuid.uuid4().hex[:16]}"
        table = self.con.create_table(name, expr, temp=True)
        self.names.append(name)
        return table

    def close(self) -> None:
        while self.names:
            self.con.drop_table(self.names.pop(), force=True)

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def in_memory() -> Iterator[Callable[[ibis.Expr], Any]]:
    """An in-memory DuckDB for one call, for expressions on memtables that need no project
    (the paths file of ``leadledger attribution --paths``): its ``execute``, closed at the
    end."""
    con = ibis.duckdb.connect()
    try:
        yield con.execute
    finally:
        con.disconnect()


class Store:
    """The ledger on one engine."""

    def __init__(self, con: Any, cfg: ProjectConfig, dialect: str) -> None:
        self.con = con
        self.cfg = cfg
        self.dialect = dialect  # "duckdb" or "postgres"
        self.kinds: dict[str, Kind] = kinds(cfg)
        self._in_tx = False
        self._dirty = False  # a write inside the current transaction raises the data version
        #: Answers kept for the current data version only (``reports.last_activity_date``).
        self.memo: dict[tuple[Any, ...], Any] = {}
        #: column names per table, for :meth:`append` (filled on first use; a table's columns
        #: change only in :meth:`ensure_tables`, which empties it)
        self._columns: dict[str, list[str]] = {}

    # -- opening ------------------------------------------------------------------------
    @classmethod
    def open(cls, cfg: ProjectConfig, project_dir: Path, *, create: bool = True) -> Store:
        url = cfg.engine
        try:
            if url.startswith(POSTGRES_PREFIXES):
                con = ibis.connect(url)
                dialect = "postgres"
            else:
                path = _duckdb_path(url, project_dir)
                if not create and not path.exists():
                    raise EngineError(
                        f"the ledger file {path} does not exist",
                        hint="run 'leadledger init' or import data first",
                    )
                path.parent.mkdir(parents=True, exist_ok=True)
                try:
                    con = ibis.duckdb.connect(str(path))
                except Exception as exc:
                    if "lock" in str(exc).lower():
                        raise locked_error(path, project_dir, exc) from exc
                    raise
                dialect = "duckdb"
        except (EngineError, StoreLocked):
            raise
        except Exception as exc:  # the driver's own errors vary by engine
            raise EngineError(
                f"cannot open the engine {url}: {exc}",
                hint="check 'engine' in leadledger.yaml",
            ) from exc
        store = cls(con, cfg, dialect)
        store.set_timezone(cfg.timezone)
        if create:
            store.ensure_tables()
        return store

    def set_timezone(self, tz: str) -> None:
        """Reports are in the project's time zone: casting a UTC timestamp to a plain timestamp
        gives local wall time on both engines once the session time zone is set."""
        if self.dialect == "duckdb":
            self.con.con.execute(f"SET TimeZone = '{tz}'")
        else:
            with self.con.con.cursor() as cur:
                cur.execute("SELECT set_config('TimeZone', %s, false)", (tz,))
            self.con.con.commit()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.con.disconnect()

    # -- tables -------------------------------------------------------------------------
    def _catalog(self) -> dict[str, list[str]]:
        """Every table of the session's schema with its column names, in order: one query
        (asking per table costs a query each, on every open)."""
        sql = (
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        )
        if self.dialect == "duckdb":
            rows = self.con.con.execute(sql).fetchall()
        else:
            with self.con.con.cursor() as cur:
                cur.execute(sql)
                rows = cur.fetchall()
            if not self._in_tx:
                self.con.con.commit()
        out: dict[str, list[str]] = {}
        for table, column in rows:
            out.setdefault(str(table), []).append(str(column))
        return out

    def ensure_tables(self) -> None:
        self._columns.clear()
        catalog = self._catalog()
        wanted = {k.table: k.schema() for k in self.kinds.values()}
        wanted.update(SERVICE_TABLES)
        for name, schema in wanted.items():
            if name not in catalog:
                self.con.create_table(name, schema=schema)
            else:
                have = catalog[name]
                for col, dtype in schema.items():
                    if col not in have:  # a newly configured lead attribute
                        self._execute(
                            f'ALTER TABLE "{name}" ADD COLUMN "{col}" {self._sql_type(dtype)}'
                        )
        if self.execute(self.con.table("data_version").count()) == 0:
            self._execute("INSERT INTO data_version VALUES (0, CURRENT_TIMESTAMP)")

    # -- the data version -----------------------------------------------------------------
    def data_version(self) -> int:
        """The ledger's data version: raised by every committed write to a ledger table (any
        process), so equal versions mean equal data. 0 for a ledger never written."""
        value = self.execute(self.con.table("data_version").version.max())
        return 0 if value is None or pd.isna(value) else int(value)

    def changed(self) -> None:
        """Record a write made outside :meth:`append` (an ``INSERT … SELECT``): the data
        version goes up with the transaction's commit, or now outside one."""
        if self._in_tx:
            self._dirty = True
        else:
            self._bump()

    def _bump(self) -> None:
        self._execute(
            "UPDATE data_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP"
        )

    def _sql_type(self, dtype: Any) -> str:
        return (
            dtype.to_sqlglot().sql(dialect=self.dialect)
            if hasattr(dtype, "to_sqlglot")
            else ("TEXT" if self.dialect == "postgres" else "VARCHAR")
        )

    def table(self, name: str) -> ibis.Table:
        return self.con.table(name)

    def has_table(self, name: str) -> bool:
        """The ledger holds a table ``name`` (a store opened with ``create=False`` may not)."""
        return name in self.con.list_tables()

    def tables(self) -> dict[str, ibis.Table]:
        """Every kind's table. A ledger opened with ``create=False`` that predates a kind (a
        file written before ``activities`` existed) holds no table for it: an empty one of the
        kind's schema stands in, so a read never fails on what the ledger never held."""
        out: dict[str, ibis.Table] = {}
        for kind in self.kinds.values():
            try:
                out[kind.table] = self.con.table(kind.table)
            except TableNotFound:
                schema = kind.schema()
                out[kind.table] = ibis.memtable(pd.DataFrame(columns=list(schema)), schema=schema)
        return out

    def execute(self, expr: ibis.Expr, **kw: Any) -> Any:
        return self.con.execute(expr, **kw)

    def scratch(self) -> Scratch:
        """Temporary tables for one call (a context manager that drops them)."""
        return Scratch(self.con)

    # -- writing ------------------------------------------------------------------------
    def _execute(self, sql: str) -> None:
        if self.dialect == "duckdb":
            self.con.con.execute(sql)
        else:
            with self.con.con.cursor() as cur:
                cur.execute(sql)
            if not self._in_tx:
                self.con.con.commit()

    def update_where(self, table: str, values: dict[str, Any], *, column: str, value: Any) -> None:
        """``UPDATE table SET … WHERE column = value``, values bound as parameters. Only for the
        service tables that keep a state (API tokens); the ledger's facts are append-only."""
        sets = ", ".join(f'"{c}" = ?' for c in values)
        sql = f'UPDATE "{table}" SET {sets} WHERE "{column}" = ?'
        params = [*values.values(), value]
        if self.dialect == "duckdb":
            self.con.con.execute(sql, params)
            return
        with self.con.con.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), params)
        if not self._in_tx:
            self.con.con.commit()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all."""
        if self.dialect == "postgres":
            # Ibis opens its psycopg connection in autocommit mode: without an explicit
            # transaction every append committed on its own, and a failed import left rows
            self._in_tx, self._dirty = True, False
            try:
                with self.con.con.transaction():
                    yield
                    if self._dirty:  # last, so the row is locked only while committing
                        self._bump()
            finally:
                self._in_tx = self._dirty = False
            return
        self.con.con.execute("BEGIN TRANSACTION")
        self._in_tx, self._dirty = True, False
        try:
            yield
            if self._dirty:
                self._bump()
        except BaseException:
            self.con.con.execute("ROLLBACK")
            raise
        finally:
            self._in_tx = self._dirty = False
        self.con.con.execute("COMMIT")

    def lock(self, name: str) -> None:
        """Serialise writers of ``name`` until the current transaction ends. PostgreSQL: an
        advisory transaction lock (several processes may write one database). DuckDB: nothing
        to do, one process holds the file."""
        if not self._in_tx:
            raise RuntimeError("Store.lock is only meaningful inside store.transaction()")
        if self.dialect == "postgres":
            key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
            self._execute(f"SELECT pg_advisory_xact_lock({key})")

    @property
    def in_transaction(self) -> bool:
        """Whether a :meth:`transaction` is open."""
        return self._in_tx

    def columns(self, table: str) -> list[str]:
        """The table's column names, in order (asking the engine costs a query: kept)."""
        names = self._columns.get(table)
        if names is None:
            names = self._columns[table] = list(self.con.table(table).schema().names)
        return names

    def append(self, table: str, frame: pd.DataFrame) -> int:
        """Append rows (columns in the table's order; missing ones are NULL). Writers go
        through :mod:`leadledger.ledger.imports.batch`, which numbers the batch."""
        if frame.empty:
            return 0
        names = self.columns(table)
        cols = [c for c in names if c in frame.columns]
        frame = frame[cols]
        if self.dialect == "duckdb":
            arrow = pa.Table.from_pandas(frame, preserve_index=False)
            name = "_leadledger_append"
            self.con.con.register(name, arrow)
            try:
                col_sql = ", ".join(f'"{c}"' for c in cols)
                self.con.con.execute(
                    f'INSERT INTO "{table}" ({col_sql}) SELECT {col_sql} FROM {name}'
                )
            finally:
                self.con.con.unregister(name)
        else:
            self._copy_postgres(table, frame, cols)
        if table not in UNVERSIONED_TABLES:
            self.changed()
        return len(frame)

    def insert_select(self, table: str, expr: ibis.Table) -> int:
        """``INSERT INTO table SELECT …``: rows computed in the engine, never fetched (the
        points ledger of a scoring run). Returns how many rows were added; adding none leaves
        the data version alone."""
        t = self.con.table(table)
        before = int(self.execute(t.count()))
        self.con.insert(table, expr)
        added = int(self.execute(t.count())) - before
        if added and table not in UNVERSIONED_TABLES:
            self.changed()
        return added

    def _copy_postgres(self, table: str, frame: pd.DataFrame, cols: list[str]) -> None:
        buf = io.StringIO()
        out = frame.copy()
        for c in out.columns:
            if isinstance(out[c].dtype, pd.DatetimeTZDtype):
                out[c] = out[c].dt.strftime("%Y-%m-%d %H:%M:%S.%f+00")
        out.to_csv(buf, index=False, header=False, na_rep="\\N")
        col_sql = ", ".join(f'"{c}"' for c in cols)
        with (
            self.con.con.cursor() as cur,
            cur.copy(
                f"COPY \"{table}\" ({col_sql}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
            ) as copy,
        ):
            copy.write(buf.getvalue())
        if not self._in_tx:
            self.con.con.commit()

    def next_batch_no(self) -> int:
        t = self.con.table("imports")
        value = self.con.execute(t.batch_no.max())
        return 1 if value is None or pd.isna(value) else int(value) + 1
