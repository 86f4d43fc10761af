"""The contract: every CLI command, API call and dashboard page answers on the session demo
exactly what it answered when the answers were pinned (floats to 1e-9), and the CLI's options
and the API's parameters are the same.

The pinned answers (``golden/``) were written by ``python -m tests.contract.pin`` before the
reports moved into ``leadledger/reports/``; a refactoring must leave them unchanged. Re-pin only
for a change of behaviour made on purpose, with a CHANGELOG line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.contract import collect as C
from tests.contract.cases import API, CLI, PAGES

pytestmark = pytest.mark.contract

GOLDEN = C.load_golden()


@pytest.fixture(scope="module")
def places(demo_source: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tests.conftest import DEMO_BUILT_AT

    places = C.prepare(demo_source, tmp_path_factory.mktemp("contract"))
    if demo_source in DEMO_BUILT_AT:  # a copy of the demo built for every test process
        places["demo@built"] = DEMO_BUILT_AT[demo_source]
    return places


@pytest.fixture(scope="module")
def written(places: dict[str, Path]) -> dict[str, Any]:
    """The cases that write, on the private copy, in their order."""
    with C.frozen():
        return C.collect_cli(places, only="copy")


@pytest.fixture(scope="module")
def client(places: dict[str, Path]) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from leadledger.service import Workspace
    from leadledger.web.app import create_app

    with Workspace(places["demo"]) as ws:
        app = create_app(places["demo"], auth=False, ws=ws, cache_ttl=0)
        with C.frozen(), TestClient(app) as c:
            c.app_ = app
            yield c


def test_every_case_is_pinned():
    assert sorted(GOLDEN["cli"]) == sorted(c.id for c in CLI)
    assert sorted(GOLDEN["api"]) == sorted(c.id for c in API)
    assert sorted(GOLDEN["pages"]) == sorted(PAGES)


@pytest.mark.parametrize("case", CLI, ids=lambda c: c.id)
def test_cli(places, request, case):
    if case.project == "copy":
        got = request.getfixturevalue("written")[case.id]
    else:
        with C.frozen():
            got = C.run_case(case, places)
    assert C.differences(got, GOLDEN["cli"][case.id], case.id) == []


@pytest.mark.parametrize("case", API, ids=lambda c: c.id)
def test_api(client, places, case):
    with C.frozen():
        got = C.collect_api(client, places, [case])[case.id]
    assert C.differences(got, GOLDEN["api"][case.id], case.id) == []


@pytest.mark.parametrize("page", PAGES)
def test_page_numbers(client, places, page):
    with C.frozen():
        got = C.collect_pages(client, places, [page])[page]
    assert C.differences(got, GOLDEN["pages"][page], page) == []


def test_cli_options():
    assert C.differences(C.cli_surface(), GOLDEN["cli_surface"], "cli", limit=50) == []


def test_api_parameters(client):
    assert C.differences(C.api_surface(client.app_), GOLDEN["api_surface"], "api", limit=50) == []
