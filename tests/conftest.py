"""Shared fixtures: projects on every engine, journeys written as stories."""

from __future__ import annotations

import csv
import itertools
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from leadledger.config import default_config_text
from leadledger.service import Workspace, init_project

#: The session demo: ``leadledger demo --leads 3000 --seed 7`` built once, with the clock fixed
#: at ``tests.contract.cases.FROZEN`` (so its import runs and scores are the same every time).
DEMO_LEADS = 3000
DEMO_SEED = 7

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DATASETS = Path(os.environ.get("LEADLEDGER_DATASETS", SHARED / "datasets"))

_counter = itertools.count()


#: A demo copied from the one built for every test process: its copy -> where it was built
#: (the ledger's import rows name the files where they were imported).
DEMO_BUILT_AT: dict[Path, Path] = {}


@pytest.fixture(scope="session")
def demo_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo project as ``leadledger demo --leads 3000`` builds it, on the frozen clock (do
    not write to it: copy it with ``demo_copy`` for tests that write)."""
    from leadledger.demo import run_demo
    from tests.contract.collect import frozen

    folder = tmp_path_factory.mktemp("demo") / "demo"
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        with frozen():
            run_demo(folder, leads=DEMO_LEADS, seed=DEMO_SEED)
        return folder
    # on several processes: the first builds it once for all (the same seed and clock give the
    # same demo), each process works on its own copy (a DuckDB file has one writer at a time)
    import fcntl

    shared = tmp_path_factory.getbasetemp().parent / "demo-shared"
    shared.mkdir(exist_ok=True)
    with (shared / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "built").exists():
            with frozen():
                run_demo(shared / "demo", leads=DEMO_LEADS, seed=DEMO_SEED)
            (shared / "built").touch()
        fcntl.flock(lock, fcntl.LOCK_UN)
    shutil.copytree(shared / "demo", folder)
    DEMO_BUILT_AT[folder] = shared / "demo"
    return folder


@pytest.fixture
def demo_copy(demo_source: Path, tmp_path: Path) -> Path:
    """A private copy of the demo project, for tests that write (ingestion, tokens)."""
    dest = tmp_path / "demo"
    shutil.copytree(demo_source, dest, ignore=shutil.ignore_patterns("leadledger-server.json"))
    return dest


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """A throwaway PostgreSQL cluster on a loopback port, for the whole session."""
    from tests.pgserver import ThrowawayPostgres

    if os.environ.get("LEADLEDGER_SKIP_POSTGRES") == "1":
        pytest.skip("LEADLEDGER_SKIP_POSTGRES=1")
    with ThrowawayPostgres() as server:
        yield server


ENGINES = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """An engine URL for a fresh, empty ledger: the embedded DuckDB file, or a new database on
    the test PostgreSQL server."""
    if request.param == "duckdb":
        return "duckdb:///leadledger.duckdb"
    server = request.getfixturevalue("postgres_server")
    return server.create_database(f"t{os.getpid()}_{next(_counter)}")


def story_workspace(
    request: pytest.FixtureRequest,
    folder: Path,
    engine: str,
    load: Callable[[Workspace], None],
    prefix: str,
) -> Workspace:
    """A story's project on ``engine`` ("duckdb", or "postgres": a new database named
    ``prefix…`` on the test server), loaded by ``load`` through the real importer; for fixtures
    that build a read-only story once."""
    if engine == "duckdb":
        url = "duckdb:///leadledger.duckdb"
    else:
        server = request.getfixturevalue("postgres_server")
        url = server.create_database(f"{prefix}{os.getpid()}_{uuid.uuid4().hex[:8]}")
    init_project(folder, config_text=config_text(url))
    ws = Workspace(folder)
    load(ws)
    return ws


def config_text(engine: str = "duckdb:///leadledger.duckdb", **replace: str) -> str:
    text = default_config_text().replace("engine: duckdb:///leadledger.duckdb", f"engine: {engine}")
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Workspace]:
    made: list[Workspace] = []

    def make(
        engine: str = "duckdb:///leadledger.duckdb", text: str | None = None, name: str = "project"
    ) -> Workspace:
        folder = tmp_path / name
        if folder.exists():
            shutil.rmtree(folder)
        init_project(folder, config_text=text or config_text(engine))
        ws = Workspace(folder)
        made.append(ws)
        return ws

    yield make
    for ws in made:
        ws.close()


def write_csv(path: Path, rows: list[dict[str, Any]], fields: list[str] | None = None) -> Path:
    fields = fields or list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in fields})
    return path


def load_journeys(ws: Workspace, journeys: dict[str, dict[str, Any]]) -> None:
    """Story helper: {"L1": {"created": "...", "channel": ..., "persona": ...,
    "stages": [("mql", "2025-01-08 12:00"), ("disqualified", "2025-01-09", "no_budget")]}}.
    Loaded through the real importer (naive times are in the project's time zone)."""
    leads, stages = [], []
    for lead_id, j in journeys.items():
        row = {"lead_id": lead_id, "created_at": j["created"]}
        row.update({k: v for k, v in j.items() if k not in ("created", "stages")})
        leads.append(row)
        for item in j.get("stages", []):
            stage, at, *reason = item
            stages.append(
                {
                    "lead_id": lead_id,
                    "stage": stage,
                    "entered_at": at,
                    "reason": reason[0] if reason else None,
                }
            )
    folder = ws.project_dir
    lf = write_csv(folder / "story_leads.csv", leads)
    r = ws.import_files("leads", [lf])
    assert r.rejected == 0, r.sample_rejections
    if stages:
        sf = write_csv(
            folder / "story_stages.csv", stages, ["lead_id", "stage", "entered_at", "reason"]
        )
        r = ws.import_files("stages", [sf])
        assert r.rejected == 0, r.sample_rejections


def rows_by(report: Any, *keys: str) -> dict[Any, dict[str, Any]]:
    """Report rows keyed by the given columns (one key → scalar key)."""
    out = {}
    for row in report.as_dict()["rows"]:
        k = tuple(row[c] for c in keys)
        out[k[0] if len(keys) == 1 else k] = row
    return out
