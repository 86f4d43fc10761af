"""The attribution stories' project, loaded once per engine for the whole session.

Every attribution test on the ledger only reads it (credits store their journeys in temporary
tables and drop them), so one project per engine serves the stories, the CLI and the docs tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from leadledger.service import Workspace
from tests.conftest import ENGINES, story_workspace


def _story_workspace(request: pytest.FixtureRequest, folder: Path, engine: str) -> Workspace:
    from tests.attribution.test_stories import load

    return story_workspace(request, folder, engine, load, "attr")


@pytest.fixture(scope="session")
def story_duckdb(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workspace]:
    """The stories' project on DuckDB; read only."""
    ws = _story_workspace(request, tmp_path_factory.mktemp("attribution-duckdb"), "duckdb")
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def story_postgres(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workspace]:
    """The stories' project on the test PostgreSQL; read only."""
    ws = _story_workspace(request, tmp_path_factory.mktemp("attribution-postgres"), "postgres")
    yield ws
    ws.close()


@pytest.fixture(scope="session", params=ENGINES)
def story_ws(request: pytest.FixtureRequest) -> Workspace:
    """The stories' project (tests/attribution/test_stories.py) on each engine."""
    return request.getfixturevalue(f"story_{request.param}")


@pytest.fixture(scope="session")
def story_project(story_duckdb: Workspace) -> Path:
    """The stories' project on DuckDB, as a folder for the CLI."""
    return story_duckdb.project_dir
