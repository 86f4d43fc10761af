"""docs/scoring.md cannot drift from the code: every column of every scoring report, the
score_events table and every operator are in its tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from leadledger.config.models import SCORING_OPS
from leadledger.ledger.schema import SCORE_EVENTS_SCHEMA
from leadledger.reports.scoring import BacktestParams, ExplainParams, ScoreParams, TuneParams
from tests.scoring.stories import AS_OF, load_story, story_config
from tests.scoring.test_backtest import company  # noqa: F401  (module fixture)
from tests.test_docs import read, sections, table_keys

DOC = "scoring.md"


def documented(heading: str) -> set[str]:
    found = sections(read(DOC), heading)
    assert found, f"docs/{DOC} has no section '{heading}'"
    return set().union(*(table_keys(body) for body in found))


def test_every_column_is_documented(make_project: Any, company: Path) -> None:  # noqa: F811
    from leadledger.service import Workspace

    ws = make_project(text=story_config("duckdb:///leadledger.duckdb"))
    load_story(ws)
    scored = ws.run(ScoreParams(as_of=AS_OF.isoformat()))
    with Workspace(company) as big:
        bt = big.run(BacktestParams(as_of="2026-05-31"))
        tn = big.run(TuneParams(capacity=100, as_of="2026-05-31"))
    checks = {
        "### `score`": [scored.frame, scored.extra["events"][1]],
        "### `score explain`": [ws.run(ExplainParams(lead_id="A")).frame],
        "### `score backtest`": [bt.frame, bt.extra["deciles"][1]],
        "### `score tune`": [tn.frame],
    }
    missing = []
    for heading, frames in checks.items():
        keys = documented(heading)
        for frame in frames:
            assert len(frame), heading
            missing += [f"{heading}: {c}" for c in frame.columns if c not in keys]
    events = documented("### The `score_events` table")
    missing += [c for c in SCORE_EVENTS_SCHEMA.names if c not in events]
    assert not missing, f"not in docs/{DOC}: " + ", ".join(missing)


@pytest.mark.parametrize("op", SCORING_OPS)
def test_every_operator_is_documented(op: str) -> None:
    assert op in documented("### Attribute rules")
