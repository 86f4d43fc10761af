"""docs/attribution.md cannot drift from the code: every model and every column of the
attribution report (single model, --compare, totals) is documented."""

from __future__ import annotations

import pytest

from leadledger.attribution import MODELS
from tests.test_docs import read, sections, table_keys

DOC = "attribution.md"


def documented(heading: str) -> set[str]:
    found = sections(read(DOC), heading, exact=True)
    assert found, f"docs/{DOC} has no section '{heading}'"
    return set().union(*(table_keys(body) for body in found))


@pytest.fixture
def ws(story_duckdb):
    """The stories' project (the columns are the same on every engine)."""
    return story_duckdb


def test_every_model_is_documented():
    assert set(MODELS) <= table_keys(sections(read(DOC), "## Models", exact=True)[0])


def test_every_column_is_documented(ws):
    single = documented("### `attribution`")
    for model, by in (("markov", "channel"), ("shapley", "campaign"), ("linear", "channel")):
        r = ws.report("attribution", model=model, by=by)
        assert set(r.columns) <= single, (model, set(r.columns) - single)
        assert set(r.extra["totals"][1].columns) <= documented(
            "### `totals` (companion table of both)"
        )
    compare = ws.report("attribution", compare=True)
    body = sections(read(DOC), "### `attribution --compare`", exact=True)[0]
    for col in compare.columns:
        assert f"`{col}`" in body, col
    for col in compare.extra["value"][1].columns:
        assert f"`{col}`" in body, col
