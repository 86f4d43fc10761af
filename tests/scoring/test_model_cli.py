"""``leadledger model ...`` in process: help, formats, the saved model, one-line errors; and
docs/predictive-scoring.md documents every column of every model report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from leadledger.cli.main import main
from leadledger.demo import build_project, generate_company, write_company
from tests.test_docs import read, sections, table_keys

DOC = "predictive-scoring.md"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    company = generate_company(leads=1200, seed=2)
    build_project(folder, company=company, files=write_company(company, folder, "csv")).close()
    return folder


@pytest.mark.parametrize("command", ["train", "evaluate", "predict"])
def test_help_has_an_example(capsys: pytest.CaptureFixture[str], command: str) -> None:
    code, out, _ = run(capsys, "model", command, "--help")
    assert code == 0
    assert "Example: leadledger model " in out
    assert "--format" in out and "--project" in out


def test_predict_before_train_is_one_line(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    code, out, err = run(capsys, "model", "predict", "--project", str(project))
    assert code == 1 and out == ""
    assert "[model_not_trained]" in err and "hint: run 'leadledger model train'" in err
    assert "Traceback" not in err


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_train_evaluate_predict_json_and_csv(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    p = ("--project", str(project))
    code, out, err = run(
        capsys, "model", "train", "--target", "sql", "--window-days", "90", "--trees", "100",
        "--format", "json", *p,
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["report"] == "model_train"
    assert [r["model"] for r in data["rows"]] == ["model", "naive_bayes"]
    assert data["params"]["target"] == "sql" and "calibration" in data
    assert (project / "models" / "default" / "model.txt").is_file()
    # evaluate takes the saved model's options
    code, out, _ = run(capsys, "model", "evaluate", "--format", "json", "--trees", "100", *p)
    assert code == 0
    ev = json.loads(out)
    assert ev["params"]["target"] == "sql" and ev["params"]["window_days"] == 90
    assert ev["rows"] == data["rows"]  # same split, same seed: the same numbers
    code, out, _ = run(capsys, "model", "predict", "--limit", "5", "--format", "csv", *p)
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith("lead_id,probability,reasons") and len(lines) == 6
    code, out, _ = run(capsys, "model", "predict", "--lead", "L0000001", "--format", "json", *p)
    assert code == 0 and [r["lead_id"] for r in json.loads(out)["rows"]] == ["L0000001"]
    code, out, _ = run(capsys, "model", "predict", "--limit", "2", *p)
    assert code == 0 and "Predicted probability of reaching sql" in out
    code, _, err = run(capsys, "model", "predict", "--lead", "nobody", *p)
    assert code == 1 and "[lead_not_found]" in err
    code, _, err = run(capsys, "model", "train", "--split", "random", *p)
    assert code == 1 and "[invalid_argument]" in err


def documented(heading: str) -> set[str]:
    found = sections(read(DOC), heading)
    assert found, f"docs/{DOC} has no section '{heading}'"
    return set().union(*(table_keys(body) for body in found))


def test_every_column_is_documented(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    from leadledger.service import Workspace

    with Workspace(project) as ws:
        if not (project / "models" / "default" / "meta.json").is_file():
            ws.report("model_train", target="sql", window_days=90, trees=100)
        reports: dict[str, list[Any]] = {
            "### `model train`": [ws.report("model_evaluate", trees=100)],
            "### `model predict`": [ws.report("model_predict", limit=3)],
        }
    missing = []
    for heading, runs in reports.items():
        keys = documented(heading)
        for report in runs:
            assert len(report.frame)
            missing += [f"{report.name}: {c}" for c in report.columns if c not in keys]
            for key, (_title, frame) in report.extra.items():
                missing += [f"{report.name}.{key}: {c}" for c in frame.columns if c not in keys]
    assert not missing, f"columns not in docs/{DOC}: " + ", ".join(missing)
