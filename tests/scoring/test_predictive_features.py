"""The feature frame as of the decision time, as stories on every engine: nothing after the
decision changes a lead's features, and labels follow the documented rule."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from leadledger.scoring import features as fx
from tests.conftest import config_text, load_journeys, write_csv

STORY: dict[str, dict[str, Any]] = {
    # reaches sql after its decision time, within the window: a positive
    "L1": {"created": "2025-01-06 10:00", "channel": "paid_search", "persona": "cfo",
           "stages": [("sql", "2025-01-25 09:00")]},
    # already an SQL two days after creation: decided before the decision time, left out
    "L2": {"created": "2025-01-07 10:00", "channel": "direct", "persona": "cto",
           "stages": [("sql", "2025-01-09 10:00")]},
    # never converts: a negative
    "L3": {"created": "2025-01-08 10:00", "channel": "email", "persona": "cto"},
    # reaches sql only after its 60-day window: a negative
    "L5": {"created": "2025-01-09 10:00", "channel": "email", "persona": "cfo",
           "stages": [("sql", "2025-03-20 10:00")]},
    # too recent for its window to have closed by the as-of: no label yet
    "L4": {"created": "2025-06-20 10:00", "channel": "direct", "persona": "cfo"},
}  # fmt: skip
TOUCHES = [
    # L1: one anonymous visit the day before, the form at creation, an e-mail click
    ("T1", "L1", "2025-01-05 10:00", "direct", "visit", "/pricing"),
    ("T2", "L1", "2025-01-06 10:00", "paid_search", "form", "/demo"),
    ("T3", "L1", "2025-01-10 10:00", "email", "email_click", "/blog"),
    ("T9", "L3", "2025-01-08 10:00", "email", "form", "/demo"),
]
#: After L1's decision time (2025-01-13 10:00): must change nothing.
LATE_TOUCHES = [
    ("T4", "L1", "2025-01-13 10:00:01", "direct", "visit", "/pricing"),
    ("T5", "L1", "2025-01-20 10:00", "paid_search", "form", "/demo"),
]
FSET = fx.FeatureSet(
    ["channel", "persona"],
    fx.touch_columns(["visit", "form", "email_click"], ["direct", "paid_search", "email"],
                     ["/pricing", "/demo", "/blog"]),
)  # fmt: skip
AS_OF = pd.Timestamp("2025-07-01", tz="UTC")


def import_touches(ws: Any, rows: list[tuple[str, ...]], name: str) -> None:
    keys = ("touch_id", "lead_id", "at", "channel", "kind", "page")
    path = write_csv(ws.project_dir / name, [dict(zip(keys, r, strict=True)) for r in rows])
    result = ws.import_files("touches", [path])
    assert result.rejected == 0, result.sample_rejections


def features(ws: Any, as_of: pd.Timestamp = AS_OF) -> pd.DataFrame:
    expr = fx.lead_features(
        ws.store.tables(), ws.cfg, FSET, decision_days=7, as_of=as_of, target="sql"
    )
    return ws.store.execute(expr.order_by("lead_id")).set_index("lead_id")


@pytest.fixture
def story(make_project: Any, engine: str) -> Any:
    ws = make_project(text=config_text(engine))
    load_journeys(ws, STORY)
    import_touches(ws, TOUCHES, "touches.csv")
    return ws


def test_touch_aggregates_by_hand(story: Any) -> None:
    f = features(story)
    l1 = f.loc["L1"]
    assert pd.Timestamp(l1["decision_at"]) == pd.Timestamp("2025-01-13 09:00", tz="UTC")
    assert l1["touches"] == 3
    assert l1["touches_before_created"] == 1
    assert l1["touches_last_7_days"] == 1  # only T3 is after 2025-01-06 10:00 (T2 is at it)
    assert (l1["distinct_channels"], l1["distinct_campaigns"], l1["distinct_pages"]) == (3, 0, 3)
    assert l1["days_since_first_touch"] == pytest.approx(8.0)
    assert l1["days_since_last_touch"] == pytest.approx(3.0)
    assert (l1["touches_visit"], l1["touches_form"], l1["touches_email_click"]) == (1, 1, 1)
    assert l1["touches_channel_paid_search"] == 1 and l1["touches_page_pricing"] == 1
    assert l1["channel"] == "paid_search" and l1["persona"] == "cfo"
    # a lead without touches: zero counts, no recency
    l2 = f.loc["L2"]
    assert l2["touches"] == 0 and pd.isna(l2["days_since_last_touch"])


def test_a_touch_after_the_decision_time_changes_nothing(story: Any) -> None:
    before = features(story)
    import_touches(story, LATE_TOUCHES, "late.csv")
    after = features(story)
    pd.testing.assert_frame_equal(before, after)
    # ...while at a later decision time (30 days) the same touches count
    expr = fx.lead_features(
        story.store.tables(), story.cfg, FSET, decision_days=30, as_of=AS_OF, target="sql"
    )
    later = story.store.execute(expr).set_index("lead_id")
    assert later.loc["L1", "touches"] == 5


def test_labels_follow_the_decision_rule(story: Any) -> None:
    expr = fx.lead_features(
        story.store.tables(), story.cfg, FSET, decision_days=7, as_of=AS_OF, target="sql"
    )
    lab = fx.labelled(expr, decision_days=7, window_days=60, as_of=AS_OF)
    got = story.store.execute(lab).set_index("lead_id")["label"].to_dict()
    assert got == {"L1": 1, "L3": 0, "L5": 0}


def test_a_young_lead_is_scored_on_what_is_known_at_the_as_of(story: Any) -> None:
    as_of = pd.Timestamp("2025-01-08 12:00", tz="UTC")
    f = features(story, as_of)
    assert set(f.index) == {"L1", "L2", "L3"}  # created by the as-of
    assert pd.Timestamp(f.loc["L3", "decision_at"]) == as_of
    assert f.loc["L1", "touches"] == 2  # T3 (2025-01-10) is after the as-of
    assert pd.isna(f.loc["L1", "target_at"])  # its sql entry is after the as-of
