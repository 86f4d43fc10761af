"""The contract: every CLI command, API call and dashboard page answers on the session demo
exactly what it answered when the answers were pinned (floats to 1e-9), and the CLI's options
and the API's parameters are the same.

The pinned answers (``golden/``) were written by ``python -m tests.contract.pin`` before the
reports moved into ``leadledger/reports/``; a refactoring must leave them unchanged. Re-pin only
for a change of behaviour made on purpose, with a CHANGELOG line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.contract.cases import API, CLI, PAGES
from tests.contract.collect import collect, differences, load_golden

pytestmark = pytest.mark.contract

GOLDEN = load_golden()


@pytest.fixture(scope="module")
def answers(demo_source: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return collect(demo_source, tmp_path_factory.mktemp("contract"))


def test_every_case_is_pinned():
    assert sorted(GOLDEN["cli"]) == sorted(c.id for c in CLI)
    assert sorted(GOLDEN["api"]) == sorted(c.id for c in API)
    assert sorted(GOLDEN["pages"]) == sorted(PAGES)


@pytest.mark.parametrize("case", sorted(GOLDEN["cli"]))
def test_cli(answers, case):
    assert differences(answers["cli"][case], GOLDEN["cli"][case], case) == []


@pytest.mark.parametrize("case", sorted(GOLDEN["api"]))
def test_api(answers, case):
    assert differences(answers["api"][case], GOLDEN["api"][case], case) == []


@pytest.mark.parametrize("page", sorted(GOLDEN["pages"]))
def test_page_numbers(answers, page):
    assert differences(answers["pages"][page], GOLDEN["pages"][page], page) == []


def test_cli_options(answers):
    assert differences(answers["cli_surface"], GOLDEN["cli_surface"], "cli", limit=50) == []


def test_api_parameters(answers):
    assert differences(answers["api_surface"], GOLDEN["api_surface"], "api", limit=50) == []
