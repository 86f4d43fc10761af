"""``leadledger experiment ...`` in process: JSON shape, CSV export, exit codes, one-line
errors; the issue's sample-size example pinned against statsmodels."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from leadledger.cli.main import main
from leadledger.service import Workspace, init_project
from tests.conftest import config_text, load_journeys, write_csv
from tests.experiments.test_story import AS_OF, EXPERIMENTS, STORY


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "acme"
    init_project(folder, config_text=config_text(**{"experiments: []": EXPERIMENTS}))
    with Workspace(folder) as ws:
        load_journeys(ws, STORY)
    return folder


def test_size_pinned_against_statsmodels(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "experiment", "size", "--baseline", "0.05", "--mde", "0.01", "--format", "json"
    )
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"report", "params", "rows", "notes"}
    assert data["report"] == "experiment_size"
    n = NormalIndPower().solve_power(
        effect_size=proportion_effectsize(0.06, 0.05), alpha=0.05, power=0.8, ratio=1
    )
    (row,) = data["rows"]
    assert row["control_leads"] == row["test_leads"] == math.ceil(n) == 8143
    assert row["total_leads"] == 2 * math.ceil(n)
    assert row["target_rate"] == pytest.approx(0.06)


def test_size_options_and_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "experiment",
        "size",
        "--baseline",
        "0.2",
        "--mde",
        "0.1",
        "--relative",
        "--power",
        "0.9",
        "--alpha",
        "0.01",
        "-f",
        "csv",
    )
    assert code == 0
    header, line = out.strip().splitlines()
    assert header.split(",")[:2] == ["baseline", "target_rate"]
    n = NormalIndPower().solve_power(
        effect_size=proportion_effectsize(0.22, 0.2), alpha=0.01, power=0.9, ratio=1
    )
    assert dict(zip(header.split(","), line.split(","), strict=True))["control_leads"] == str(
        math.ceil(n)
    )
    code, _, err = run(capsys, "experiment", "size", "--baseline", "0.05", "--mde", "0")
    assert code == 1 and "[invalid_argument]" in err and "Traceback" not in err


def test_report_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "experiment",
        "report",
        "nurture",
        "--stage",
        "sql",
        "--as-of",
        AS_OF,
        "--project",
        str(project),
        "--format",
        "json",
    )
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"report", "params", "rows", "notes"}
    assert data["report"] == "experiment_report"
    assert data["params"]["experiment"] == "nurture" and data["params"]["stage"] == "sql"
    (row,) = data["rows"]
    assert (row["stage"], row["control_converted"], row["test_converted"]) == ("sql", 2, 3)
    assert row["test_used"] == "fisher" and row["significant"] is False


def test_report_table(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "experiment", "report", "nurture", "--as-of", AS_OF, "-p", str(project)
    )
    assert code == 0
    assert "+25.00 pp" in out  # sal: 3/4 vs 2/4, in percentage points
    assert "fisher" in out


def test_unknown_experiment_is_one_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "experiment", "report", "nurtur", "--project", str(project))
    assert code == 1
    first, *rest = err.strip().splitlines()
    assert "[experiment_not_found]" in first and "nurtur" in first
    assert rest == ["hint: did you mean 'nurture'?"]
    assert "Traceback" not in out + err


def test_assign_csv_export(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "experiment",
        "assign",
        "nurture",
        "--group",
        "control",
        "--format",
        "csv",
        "--project",
        str(project),
    )
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0] == "lead_id,group,entered_at,email,hash_value,in_ledger"
    assert sorted(line.split(",")[0] for line in lines[1:]) == ["P1", "P2", "P6", "P8"]


def test_import_and_reimport(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    file = write_csv(
        tmp_path / "groups.csv",
        [{"lead_id": "P1", "group": "holdout"}, {"lead_id": "P3", "group": "variant"}],
    )
    args = ["experiment", "import", "webinar", str(file), "-p", str(project), "-f", "json"]
    code, _, err = run(capsys, *args)
    assert code == 1 and "[import_rows_rejected]" in err and "row 2 column group" in err
    mapped = [*args, "--map", "holdout=control", "--map", "variant=test"]
    code, out, _ = run(capsys, *mapped)
    assert code == 0
    assert json.loads(out)["rows"][0]["added"] == 2
    code, out, _ = run(capsys, *mapped)
    row = json.loads(out)["rows"][0]
    assert (code, row["added"], row["already_imported"]) == (0, 0, 2)
