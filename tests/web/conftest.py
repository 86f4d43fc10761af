"""Web fixtures: one demo project for the session (built once, read by every web test), and
in-process clients of the app on it (without tokens, and with tokens required)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from leadledger.demo import run_demo
from leadledger.service import Workspace
from leadledger.web.app import create_app

DEMO_LEADS = 3000


@pytest.fixture(scope="session")
def demo_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo project as ``leadledger demo --leads 3000`` builds it (do not write to it:
    copy it with ``demo_copy`` for tests that ingest)."""
    folder = tmp_path_factory.mktemp("web") / "demo"
    run_demo(folder, leads=DEMO_LEADS, seed=7)
    return folder


@pytest.fixture
def demo_copy(demo_source: Path, tmp_path: Path) -> Path:
    """A private copy of the demo project, for tests that write (ingestion, tokens)."""
    dest = tmp_path / "demo"
    shutil.copytree(demo_source, dest, ignore=shutil.ignore_patterns("leadledger-server.json"))
    return dest


@pytest.fixture(scope="session")
def demo_ws(demo_source: Path) -> Iterator[Workspace]:
    ws = Workspace(demo_source)
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def client(demo_ws: Workspace) -> Iterator[TestClient]:
    """The app on the shared demo, started without tokens (``--no-auth`` on loopback)."""
    with TestClient(create_app(demo_ws.project_dir, auth=False, ws=demo_ws)) as c:
        yield c


@pytest.fixture
def auth_client(demo_copy: Path) -> Iterator[tuple[TestClient, Workspace]]:
    """The app on a private copy, tokens required; the workspace creates tokens."""
    ws = Workspace(demo_copy)
    with TestClient(create_app(demo_copy, auth=True, ws=ws)) as c:
        yield c, ws
    ws.close()
