"""``leadledger score ...`` in process: help with an example, every format, exit codes and
one-line errors; ``validate`` warns about a rule that matches no lead."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leadledger.cli.main import main
from leadledger.service import Workspace, init_project
from tests.scoring.stories import AS_OF, EXPECTED, load_story, story_config


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "acme"
    init_project(folder, config_text=story_config("duckdb:///leadledger.duckdb"))
    with Workspace(folder) as ws:
        load_story(ws)
    return folder


@pytest.mark.parametrize("sub", [[], ["explain"], ["backtest"], ["tune"]])
def test_help_has_an_example(capsys: pytest.CaptureFixture[str], sub: list[str]) -> None:
    code, out, _ = run(capsys, "score", *sub, "--help")
    assert code == 0
    assert "Example:" in out and "--format" in out and "--project" in out


def test_score_json_csv_table(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    p = ["--project", str(project), "--as-of", AS_OF.isoformat()]
    code, out, _ = run(capsys, "score", *p, "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["report"] == "score"
    assert {r["lead_id"]: r["score"] for r in data["rows"]} == pytest.approx(EXPECTED)
    assert data["events"] == [
        {
            "lead_id": "A",
            "stage": "mql",
            "entered_at": AS_OF.isoformat(),
            "reason": "score 45 ≥ 40: vp +20, big +15, clicks +10",
        }
    ]
    code, out, _ = run(capsys, "score", *p, "--format", "csv")
    assert code == 0
    assert out.splitlines()[0].startswith("lead_id,score,grade")
    assert len(out.splitlines()) == 1 + len(EXPECTED)
    code, out, _ = run(capsys, "score", *p, "--limit", "2")
    assert code == 0 and "highest scores" in out


def test_explain_and_errors(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    p = ["--project", str(project)]
    code, out, _ = run(
        capsys, "score", "explain", "A", *p, "--as-of", AS_OF.isoformat(), "-f", "json"
    )
    assert code == 0
    rows = json.loads(out)["rows"]
    assert rows[-1]["line"] == "total" and rows[-1]["points"] == pytest.approx(45)
    code, _, err = run(capsys, "score", "explain", "ZZ", *p)
    assert code == 1
    assert "lead_not_found" in err and "Traceback" not in err
    code, _, err = run(capsys, "score", "tune", *p)
    assert code == 1 and "invalid_argument" in err
    code, _, err = run(capsys, "score", *p, "--format", "xml")
    assert code == 1 and "invalid_argument" in err


def test_no_rules_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "bare"
    text = story_config("duckdb:///leadledger.duckdb", rules="\nscoring: {threshold: 10}\n")
    init_project(folder, config_text=text)
    code, _, err = run(capsys, "score", "--project", str(folder))
    assert code == 1
    assert "scoring_not_configured" in err and "hint" in err


def test_validate_warns_about_a_rule_that_matches_no_lead(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    code, out, _ = run(capsys, "validate", "--project", str(project), "--format", "json")
    assert code == 0
    warned = {
        i["message"].split("'")[1]
        for i in json.loads(out)["issues"]
        if i["code"] == "scoring_rule_matches_nothing"
    }
    # checked as of today, long after the story: the webinars have expired, the titles stay
    assert "webinar" in warned and "vp" not in warned
    issue = next(
        i for i in json.loads(out)["issues"] if i["code"] == "scoring_rule_matches_nothing"
    )
    assert issue["severity"] == "warning" and issue["line"] is not None
    assert "checked against the data" in issue["message"]


def test_validate_without_a_store_skips_the_data_check(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "nostore"
    folder.mkdir()
    (folder / "leadledger.yaml").write_text(story_config("duckdb:///leadledger.duckdb"))
    code, out, _ = run(capsys, "validate", "--project", str(folder), "--format", "json")
    assert code == 0
    assert not [i for i in json.loads(out)["issues"] if i["code"] == "scoring_rule_matches_nothing"]
    assert not (folder / "leadledger.duckdb").exists()
