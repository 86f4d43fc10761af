"""``leadledger report costs`` and ``report roi`` in process: help with an example, the three
formats, the companion tables in JSON only, one-line errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from leadledger.cli.main import main
from leadledger.service import Workspace, init_project
from tests.money.story import load_money, money_config


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("money") / "acme"
    init_project(folder, config_text=money_config())
    with Workspace(folder) as ws:
        load_money(ws)
    return folder


@pytest.mark.parametrize("name", ["costs", "roi"])
def test_help_has_an_example(capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, out, _ = run(capsys, "report", name, "--help")
    assert code == 0
    assert f"Example: leadledger report {name}" in out.replace("\n", " ")
    assert "--format" in out and "--project" in out


def test_costs_json_table_and_csv(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    common = ["--project", str(project), "--from", "2025-01-01", "--to", "2025-02-28"]
    code, out, _ = run(capsys, "report", "costs", "--by", "campaign", *common, "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["report", "params", "rows", "totals", "planned", "notes"]
    assert data["report"] == "costs" and data["params"]["by"] == ["campaign"]
    brand = next(r for r in data["rows"] if r["campaign"] == "brand")
    assert brand["period"] == "2025-01-01" and brand["cost_per_lead"] == pytest.approx(1500)
    code, out, _ = run(capsys, "report", "costs", *common, "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert "cost_per_mql" in rows[0] and "goal" not in rows[0]  # CSV: the main table only
    assert sum(float(r["spend"]) for r in rows) == pytest.approx(4400)
    code, out, _ = run(capsys, "report", "costs", *common, "--untagged", "even")
    assert code == 0
    assert "paid_search" in out and "(unallocated)" not in out


def test_roi_json(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    code, out, _ = run(
        capsys,
        *("report", "roi", "--model", "first_touch", "--project", str(project)),
        *("--from", "2025-01-01", "--to", "2025-03-31", "--lookback", "90d", "--format", "json"),
    )
    assert code == 0, out
    data = json.loads(out)
    assert list(data) == ["report", "params", "rows", "reconciliation", "notes"]
    assert data["params"]["model"] == "first_touch" and data["params"]["lookback_days"] == 90
    social = next(r for r in data["rows"] if r["channel"] == "paid_social")
    assert social["roi"] == pytest.approx(23)


@pytest.mark.parametrize(
    ("argv", "code_name"),
    [
        (["report", "costs", "--by", "chanel"], "unknown_field"),
        (["report", "costs", "--untagged", "spread"], "invalid_argument"),
        (["report", "costs", "--period", "fortnight"], "invalid_argument"),
        (["report", "costs", "--format", "xml"], "invalid_argument"),
        (["report", "roi", "--by", "category"], "unknown_field"),
        (["report", "roi", "--model", "linaer"], "unknown_model"),
        (["report", "roi", "--lookback", "soon"], "invalid_argument"),
    ],
)
def test_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], project: Path, argv: list[str], code_name: str
) -> None:
    code, out, err = run(capsys, *argv, "--project", str(project))
    assert code != 0
    assert f"[{code_name}]" in err
    assert "Traceback" not in err + out
