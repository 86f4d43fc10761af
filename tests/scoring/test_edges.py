"""Edges a review found: an empty project, an as-of in the future, a run whose points ledger is
empty, scoring's own events and the data's end, a bad --step/--window, and the predictive side
(calibration with one positive, no outcome from the test period in a time split)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from leadledger.cli.main import main
from leadledger.reports.common import last_activity_date
from leadledger.scoring import predictive
from leadledger.scoring.evaluation import evaluate_frame
from leadledger.service import Workspace, init_project
from tests.conftest import load_journeys
from tests.scoring.stories import AS_OF, load_story, story_config

DUCK = "duckdb:///leadledger.duckdb"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "acme"
    init_project(folder, config_text=story_config(DUCK))
    with Workspace(folder) as ws:
        load_story(ws)
    return folder


def test_an_empty_project_scores_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    folder = tmp_path / "empty"
    init_project(folder, config_text=story_config(DUCK))
    code, out, err = run(capsys, "score", "--project", str(folder), "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["rows"] == [] and data["params"]["new_mqls"] == 0
    with Workspace(folder) as ws:
        assert int(ws.store.execute(ws.store.table("imports").count())) == 0


def test_an_as_of_in_the_future_is_refused(capsys: pytest.CaptureFixture[str], project: Path):
    code, _, err = run(capsys, "score", "--project", str(project), "--as-of", "2999-01-01")
    assert code == 1
    assert "invalid_argument" in err and "future" in err and "Traceback" not in err


def test_scoring_events_do_not_move_the_end_of_the_data(project: Path) -> None:
    with Workspace(project) as ws:
        before = last_activity_date(ws.ctx)
        rep = ws.report("score")  # as of now: its MQL events are dated today
        assert rep.params["new_mqls"] >= 1
        assert last_activity_date(ws.ctx) == before
        assert before is not None and before < pd.Timestamp.now(tz="UTC").date()


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_rescoring_an_as_of_with_an_empty_points_ledger_changes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "pointless"
    init_project(folder, config_text=story_config(DUCK))
    with Workspace(folder) as ws:
        # a lead that matches no rule (see tests/scoring/stories.py): no row in the ledger
        z = {"created": "2025-01-02 10:00", "title": "Ops", "segment": "smb", "company": "Z"}
        load_journeys(ws, {"Z": {**z, "revenue": "1"}})
        counts = []
        for _ in range(2):
            ws.report("score", as_of=AS_OF.isoformat())
            counts.append(
                (
                    int(ws.store.execute(ws.store.table("imports").count())),
                    int(ws.store.execute(ws.store.table("score_events").count())),
                )
            )
    assert counts[0] == counts[1]
    assert counts[0][1] == 0


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--step", "0", "--cohort", "3000d"], "--step"),
        (["--window", "0d"], "--window"),
        (["--cohort", "0"], "cohort"),
    ],
)
def test_backtest_refuses_a_zero_step_or_window(
    capsys: pytest.CaptureFixture[str], project: Path, args: list[str], text: str
) -> None:
    p = ["--project", str(project), "--as-of", "2025-03-01"]
    code, _, err = run(capsys, "score", "backtest", *p, *args)
    assert code == 1 and "invalid_argument" in err and text in err, err


def test_one_positive_trains_an_uncalibrated_model() -> None:
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"x": rng.normal(size=200), "c": rng.choice(["a", "b"], size=200)})
    y = np.zeros(200, dtype=int)
    y[17] = 1
    model = predictive.fit(X, y, categorical=["c"])
    assert model.calibration.method == "none"
    p = model.predict_proba(X)
    assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()


def test_a_time_split_trains_only_on_outcomes_known_before_the_test_period() -> None:
    # 400 leads, one a day; the outcome is known 30 days after creation. The test part is the
    # last 100 days, so the training part may only hold leads created 30+ days before it.
    n = 400
    created = pd.date_range("2025-01-01", periods=n, freq="D", tz="UTC")
    rng = np.random.default_rng(5)
    x = rng.normal(size=n)
    df = pd.DataFrame(
        {"created_at": created, "x": x, "y": (x + rng.normal(size=n) > 1).astype(int)}
    )
    plain = evaluate_frame(df, "y", time_column="created_at", params={"trees": 20})
    strict = evaluate_frame(
        df, "y", time_column="created_at", params={"trees": 20}, label_horizon=pd.Timedelta(days=30)
    )
    # same test rows either way
    assert plain.metrics.loc[0, "rows"] == strict.metrics.loc[0, "rows"] == 100
    tested = strict.predictions
    assert len(tested) == 100
    # what the strict split trained on: the 271 leads created at least 30 days before the split
    # (checked through the model's own fit on exactly those rows giving the same predictions)
    train_rows = df.iloc[:271]
    model = predictive.fit(train_rows[["x"]], train_rows["y"].to_numpy(), params={"trees": 20})
    expected = model.predict_proba(df.iloc[300:][["x"]])
    got = tested.sort_values("row")["model"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
