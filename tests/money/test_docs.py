"""docs/money.md cannot drift from the code: every column of every money report and companion
table is in its table."""

from __future__ import annotations

from typing import Any

import pytest

from tests.money.story import load_money, money_config
from tests.test_docs import read, sections, table_keys

DOC = "money.md"


def documented(heading: str) -> set[str]:
    found = sections(read(DOC), heading)
    assert found, f"docs/{DOC} has no section '{heading}'"
    return set().union(*(table_keys(body) for body in found))


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from leadledger.service import Workspace, init_project

    folder = tmp_path_factory.mktemp("money-docs") / "p"
    init_project(folder, config_text=money_config())
    w = Workspace(folder)
    load_money(w)
    yield w
    w.close()


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_every_column_is_documented(ws: Any) -> None:
    q1 = {"start": "2025-01-01", "end": "2025-03-31"}
    missing = []
    for by in ("channel", "campaign", "category", "persona"):
        r = ws.report("costs", by=by, **q1)
        for heading, frame in [
            ("### `costs` columns", r.frame),
            ("### `costs` columns", r.extra["totals"][1]),
            ("### `costs` planned", r.extra["planned"][1]),
        ]:
            assert len(frame), f"costs --by {by}: {heading} has no rows"
            missing += [f"costs {by}: {c}" for c in frame.columns if c not in documented(heading)]
    for by in ("channel", "campaign"):
        r = ws.report("roi", by=by, model="linear", **q1)
        assert len(r.frame) and len(r.extra["reconciliation"][1])
        missing += [f"roi: {c}" for c in r.frame.columns if c not in documented("### `roi` col")]
        rec = r.extra["reconciliation"][1]
        keys = documented("### Reconciliation")
        missing += [f"reconciliation: {c}" for c in rec.columns if c not in keys]
        missing += [f"bucket: {b}" for b in rec["bucket"] if b not in keys]
    s = ws.report("sourced", period="quarter", **q1)
    money = {c for c in s.columns if "pipeline" in c or "revenue" in c}
    assert money
    missing += [f"sourced: {c}" for c in money if c not in documented("### `sourced` money")]
    assert not missing, f"columns not in docs/{DOC}: " + ", ".join(missing)


def test_the_config_keys_are_explained() -> None:
    from leadledger.config.models import Costs

    text = read(DOC)
    for key in Costs.model_fields:
        assert f"costs.{key}" in text or f"{key}:" in text, key
