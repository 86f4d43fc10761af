"""Web fixtures: one demo project for the session (built once, read by every web test), and
in-process clients of the app on it (without tokens, and with tokens required)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from leadledger.service import Workspace
from leadledger.web.app import create_app
from tests.conftest import DEMO_LEADS  # noqa: F401  (tests import it from here)


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
