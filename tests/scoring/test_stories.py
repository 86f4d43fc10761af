"""Rule scoring on stories with hand-computed scores, on every engine: decay, expiry, caps,
floors, negative points, count within a window, regex, missing, range; the MQL handoff and its
idempotency; explain adds up to the score."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from leadledger.reports.scoring import ExplainParams, ScoreParams
from tests.scoring.stories import (
    AS_OF,
    EXPECTED,
    EXPECTED_GROUPS,
    load_story,
    story_config,
)

GRADES = {"A": "A1", "B": "D2", "C": "A4", "E": "C3", "F": "C2"}


@pytest.fixture
def ws(make_project: Any, engine: str) -> Any:
    ws = make_project(engine, text=story_config(engine))
    load_story(ws, stages={"F": [("sal", "2025-01-10T10:00:00+00:00")]})
    return ws


def test_scores_are_the_hand_computed_ones(ws: Any) -> None:
    report = ws.run(ScoreParams(as_of=AS_OF.isoformat()))
    got = report.frame.set_index("lead_id")
    assert sorted(got.index) == sorted(EXPECTED)  # D did not exist yet
    for lead, want in EXPECTED.items():
        assert got.loc[lead, "score"] == pytest.approx(want, abs=1e-9), lead
        fit, eng = EXPECTED_GROUPS[lead]
        assert got.loc[lead, "groups"] == f"fit {fit:g}, engagement {eng:g}"
        assert got.loc[lead, "grade"] == GRADES[lead]
    # only A reaches 40; F is over nothing, and had reached sal anyway
    assert list(got.index[got["over_threshold"]]) == ["A"]


def test_the_mql_event_carries_the_score_and_top_reasons(ws: Any) -> None:
    report = ws.run(ScoreParams(as_of=AS_OF.isoformat()))
    events = report.extra["events"][1]
    assert events[["lead_id", "stage"]].values.tolist() == [["A", "mql"]]
    assert events["reason"].iloc[0] == "score 45 ≥ 40: vp +20, big +15, clicks +10"
    stored = ws.store.execute(ws.store.table("stage_events"))
    mine = stored[stored["source"] == "leadledger score"]
    assert mine[["lead_id", "stage", "reason"]].values.tolist() == [
        ["A", "mql", "score 45 ≥ 40: vp +20, big +15, clicks +10"]
    ]
    assert pd.Timestamp(mine["entered_at"].iloc[0]) == AS_OF
    # the funnel sees it: A entered mql at the as-of
    from leadledger.ledger.derived import journeys

    j = ws.store.execute(journeys(ws.store.tables(), ws.cfg)).set_index("lead_id")
    assert pd.Timestamp(j.loc["A", "mql_at"]) == AS_OF


def test_score_events_add_up_to_the_score(ws: Any) -> None:
    ws.run(ScoreParams(as_of=AS_OF.isoformat()))
    ev = ws.store.execute(ws.store.table("score_events"))
    totals = ev.groupby("lead_id")["points"].sum()
    for lead, want in EXPECTED.items():
        assert totals.get(lead, 0.0) == pytest.approx(want, abs=1e-9), lead
    a = ev[ev["lead_id"] == "A"].set_index("rule")
    assert a.loc["(group cap)", "points"] == pytest.approx(-12)
    assert a.loc["clicks", "raw_points"] == 16 and a.loc["clicks", "points"] == 10
    assert a.loc["clicks", "matches"] == 4
    assert a.loc["pricing", "raw_points"] == 10
    assert a.loc["pricing", "decayed_points"] == pytest.approx(5)  # one half-life
    assert "webinar" not in a.index  # expired
    assert (ev["as_of"].map(pd.Timestamp) == AS_OF).all()


def test_rescoring_the_same_as_of_changes_nothing(ws: Any) -> None:
    ws.run(ScoreParams(as_of=AS_OF.isoformat()))

    def counts() -> tuple[int, int, int]:
        return tuple(  # type: ignore[return-value]
            int(ws.store.execute(ws.store.table(t).count()))
            for t in ("score_events", "stage_events", "imports")
        )

    first = counts()
    again = ws.run(ScoreParams(as_of=AS_OF.isoformat()))
    assert counts() == first
    assert again.extra["events"][1].empty
    assert any("nothing rewritten" in n for n in again.notes)


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_explain_adds_up_for_every_lead(ws: Any) -> None:
    ws.run(ScoreParams(as_of=AS_OF.isoformat()))
    for lead, want in EXPECTED.items():
        rep = ws.run(ExplainParams(lead_id=lead))
        f = rep.frame
        body, total = f.iloc[:-1], f.iloc[-1]
        assert total["line"] == "total"
        assert total["points"] == pytest.approx(want, abs=1e-9)
        assert body["points"].astype(float).sum() == pytest.approx(want, abs=1e-9), lead
        assert any("(the same)" in n for n in rep.notes)


def test_explain_shows_decay_caps_and_touches(ws: Any) -> None:
    f = ws.run(ExplainParams(lead_id="A", as_of=AS_OF.isoformat())).frame
    pricing = f[f["rule"] == "pricing"].iloc[0]
    assert pricing["points_before_decay"] == 10
    assert pricing["weight"] == pytest.approx(0.5)
    assert pricing["points"] == pytest.approx(5)
    assert pricing["age_days"] == pytest.approx(10)
    clicks = f[f["rule"] == "clicks"]
    assert list(clicks["line"]) == ["touch"] * 4 + ["rule cap"]
    assert clicks["points"].astype(float).tolist() == [4, 4, 4, 4, -6]
    cap = f[f["rule"] == "(group cap)"].iloc[0]
    assert cap["group"] == "fit" and cap["points"] == -12 and cap["detail"] == "cap 30"
    c = ws.run(ExplainParams(lead_id="C", as_of=AS_OF.isoformat())).frame
    floor = c[(c["rule"] == "(group cap)") & (c["group"] == "engagement")].iloc[0]
    assert floor["points"] == 2 and floor["detail"] == "floor -20.0"


def test_explain_unknown_lead_is_a_clear_error(ws: Any) -> None:
    from leadledger.errors import LeadNotFound

    with pytest.raises(LeadNotFound):
        ws.run(ExplainParams(lead_id="NOPE"))
    with pytest.raises(LeadNotFound, match="did not exist yet"):
        ws.run(ExplainParams(lead_id="D", as_of=AS_OF.isoformat()))


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_recycled_when_the_score_falls_back(make_project: Any, engine: str) -> None:
    text = story_config(
        engine,
        **{"threshold: 40": "threshold: 44\n  below_threshold: recycled"},
    )
    ws = make_project(engine, text=text)
    load_story(ws)
    first = ws.run(ScoreParams(as_of=AS_OF.isoformat()))
    assert first.extra["events"][1]["lead_id"].tolist() == ["A"]
    later = (AS_OF + pd.Timedelta(days=30)).isoformat()
    # 30 days on, the latest pricing visit (a day after the first as-of) is 29 days old:
    # 10 × 0.5^2.9; fit 30 and the undecayed clicks 10 stay → 41.34 < 44
    second = ws.run(ScoreParams(as_of=later))
    got = second.frame.set_index("lead_id")
    assert got.loc["A", "score"] == pytest.approx(40 + 10 * 0.5**2.9)
    ev = second.extra["events"][1]
    assert ev[["lead_id", "stage"]].values.tolist() == [["A", "recycled"]]
    assert ev["reason"].iloc[0] == "score 41.34 < 44"
    third = ws.run(ScoreParams(as_of=later))
    assert third.extra["events"][1].empty  # no second recycle


def test_stay_keeps_mqls_and_sales_decisions_are_respected(make_project: Any) -> None:
    ws = make_project(text=story_config("duckdb:///leadledger.duckdb"))
    # A was accepted long ago (has sal): never re-MQL'd; C was disqualified: blocked
    load_story(
        ws,
        stages={
            "A": [("sal", "2025-01-10T10:00:00+00:00")],
            "C": [("disqualified", "2025-01-10T10:00:00+00:00", "student")],
        },
    )
    ws.store  # noqa: B018
    out = ws.run(ScoreParams(as_of=AS_OF.isoformat()))
    assert out.extra["events"][1].empty
    assert out.params["over_threshold"] == 1 and out.params["new_mqls"] == 0


def test_mql_by_probability_uses_the_model(make_project: Any, monkeypatch: Any) -> None:
    from leadledger.errors import ModelNotTrained
    from leadledger.reports.result import Report

    text = story_config(
        "duckdb:///leadledger.duckdb",
        **{"threshold: 40": "threshold: 40\n  mql_by: probability\n  probability_threshold: 0.5"},
    )
    ws = make_project(text=text)
    load_story(ws)
    with pytest.raises(ModelNotTrained):  # no model trained yet: the model helper's error
        ws.run(ScoreParams(as_of=AS_OF.isoformat()))
    probs = pd.DataFrame(
        {
            "lead_id": ["A", "B", "C"],
            "probability": [0.2, 0.7, 0.5],
            "reasons": ["x", "title=Student (+0.3)", "segment=mid_market (+0.1)"],
        }
    )
    monkeypatch.setattr(
        "leadledger.reports.model.report_model_predict",
        lambda ctx, params: Report("model_predict", {}, probs),
    )
    rep = ws.run(ScoreParams(as_of=AS_OF.isoformat()))
    ev = rep.extra["events"][1].set_index("lead_id")
    # A has the points (45 ≥ 40) but not the probability; B and C reach 0.5
    assert sorted(ev.index) == ["B", "C"]
    assert ev.loc["B", "reason"] == "probability 0.70 ≥ 0.5: title=Student (+0.3); score -21.5"
    assert rep.frame.set_index("lead_id").loc["E", "over_threshold"] == False  # noqa: E712
