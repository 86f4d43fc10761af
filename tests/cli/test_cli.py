"""The command line, in process: help with examples, formats, exit codes, one-line errors."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
import typer

from leadledger.cli.main import app, main
from tests.conftest import write_csv


def all_commands() -> list[list[str]]:
    """Every leaf command path of the CLI, e.g. ['report', 'stages']."""
    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(cmd: Any, prefix: list[str]) -> None:
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, [*prefix, name])
        else:
            paths.append(prefix)

    walk(root, [])
    return paths


COMMANDS = all_commands()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "acme"
    code, out, _ = run(capsys, "init", str(folder))
    assert code == 0 and "created" in out
    leads = write_csv(
        tmp_path / "leads.csv",
        [
            {"lead_id": "A", "created_at": "2025-01-07 10:00", "channel": "paid_search"},
            {"lead_id": "B", "created_at": "2025-01-08 10:00", "channel": "tiktok"},
            {"lead_id": "C", "created_at": "2025-02-04 10:00", "channel": "PAID_SEARCH"},
        ],
    )
    stages = write_csv(
        tmp_path / "stages.csv",
        [
            {"lead_id": "A", "stage": "mql", "entered_at": "2025-01-09 10:00"},
            {"lead_id": "A", "stage": "Sales Qualified Lead", "entered_at": "2025-01-20 10:00"},
            {"lead_id": "C", "stage": "marketingqualifiedlead", "entered_at": "2025-02-05"},
        ],
    )
    assert run(capsys, "import", "leads", str(leads), "--project", str(folder))[0] == 0
    assert run(capsys, "import", "stages", str(stages), "--project", str(folder))[0] == 0
    return folder


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_every_command_has_help_with_an_example(path: list[str], capsys):
    code, out, _ = run(capsys, *path, "--help")
    assert code == 0
    assert "Example" in out, f"'leadledger {' '.join(path)} --help' shows no example"


def test_reporting_commands_take_format_and_project():
    root = typer.main.get_command(app)
    for path in COMMANDS:
        cmd = root
        for name in path:
            cmd = cmd.commands[name]  # type: ignore[attr-defined]
        opts = {o for p in cmd.params for o in getattr(p, "opts", [])}
        if path[0] not in ("init", "generate", "serve"):  # serve reports nothing: it serves
            assert "--format" in opts, path
        if path[0] not in ("init", "generate", "demo"):
            assert "--project" in opts, path


def test_usage_error_is_one_message_without_traceback(capsys):
    code, out, err = run(capsys, "report", "stages", "--bogus")
    assert code == 2
    assert "No such option: --bogus" in err
    assert "Traceback" not in out + err


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("leadledger ")


def test_report_stages_json_contract(project: Path, capsys):
    code, out, _ = run(
        capsys,
        "report",
        "stages",
        "--project",
        str(project),
        "--from",
        "2025-01-01",
        "--to",
        "2025-02-28",
        "--format",
        "json",
    )
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"report", "params", "rows", "notes"}
    assert data["report"] == "stages"
    assert data["params"]["from"] == "2025-01-01"
    rows = {(r["period"], r["stage"]): r for r in data["rows"]}
    for col in ("period", "stage", "entered", "working_days", "per_working_day"):
        assert col in data["rows"][0]
    assert rows[("2025-01-01", "lead")]["entered"] == 2
    assert rows[("2025-01-01", "mql")]["entered"] == 1
    assert rows[("2025-01-01", "sql")]["entered"] == 1
    assert rows[("2025-02-01", "mql")]["entered"] == 1
    # ES-MD January 2025: 23 weekdays − New Year − Epiphany = 21
    assert rows[("2025-01-01", "lead")]["working_days"] == 21
    assert rows[("2025-01-01", "lead")]["per_working_day"] == pytest.approx(2 / 21)


def test_report_conversion_csv_and_by_channel(project: Path, capsys):
    code, out, _ = run(
        capsys,
        "report",
        "conversion",
        "--project",
        str(project),
        "--from-stage",
        "lead",
        "--to-stage",
        "mql",
        "--from",
        "2025-01-01",
        "--to",
        "2025-02-28",
        "--period",
        "year",
        "--by",
        "channel",
        "--format",
        "csv",
    )
    assert code == 0
    rows = {r["channel"]: r for r in csv.DictReader(io.StringIO(out))}
    # 'PAID_SEARCH' was mapped to the configured channel paid_search at import
    assert (rows["paid_search"]["entered"], rows["paid_search"]["converted"]) == ("2", "2")
    assert (rows["tiktok"]["entered"], rows["tiktok"]["converted"]) == ("1", "0")
    assert {"entered", "converted", "rate", "period"} <= set(rows["tiktok"])


def test_table_output_rounds_only_for_display(project: Path, capsys):
    code, out, _ = run(
        capsys,
        "report",
        "stages",
        "--project",
        str(project),
        "--from",
        "2025-01-01",
        "--to",
        "2025-01-31",
    )
    assert code == 0
    assert "Leads entering each stage" in out
    assert "0.10" in out  # 2 / 21 = 0.0952… shown rounded


@pytest.mark.parametrize(
    ("argv", "code_name", "hint"),
    [
        (["report", "stages", "--by", "chanel"], "unknown_field", "did you mean 'channel'"),
        (["report", "stages", "--period", "mont"], "invalid_argument", "did you mean 'month'"),
        (["report", "conversion", "--from-stage", "mq"], "unknown_stage", "did you mean 'mql'"),
        (["report", "stages", "--from", "2025-13-01"], "invalid_argument", "YYYY-MM-DD"),
        (["report", "stages", "--format", "xml"], "invalid_argument", ""),
        (["import", "deels", "x.csv"], "invalid_argument", "did you mean 'deals'"),
        (["import", "leads", "missing.csv"], "import_file_unreadable", ""),
    ],
)
def test_user_mistakes_print_one_line_and_a_hint(project, capsys, argv, code_name, hint):
    code, out, err = run(capsys, *argv, "--project", str(project))
    assert code != 0
    assert "Traceback" not in err + out
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines[0].startswith(f"error [{code_name}]")
    assert hint in err


def test_no_project_found(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "report", "stages")
    assert code == 1
    assert "error [project_not_found]" in err and "leadledger init" in err


def test_project_found_upward(project: Path, capsys, monkeypatch):
    sub = project / "deep" / "er"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    code, out, _ = run(
        capsys, "report", "stages", "--from", "2025-01-01", "--to", "2025-01-31", "--format", "json"
    )
    assert code == 0 and json.loads(out)["report"] == "stages"


def test_import_exit_code_on_rejects_and_allow_rejects(project: Path, tmp_path: Path, capsys):
    bad = write_csv(
        tmp_path / "bad.csv",
        [
            {"lead_id": "D", "created_at": "2025-03-01"},
            {"lead_id": "E", "created_at": "not a date"},
        ],
    )
    code, _, err = run(capsys, "import", "leads", str(bad), "--project", str(project))
    assert code == 1
    assert "error [import_rows_rejected]" in err
    assert "bad.csv row 3 column created_at" in err
    # the good row went in; importing again skips it and still reports the bad one
    code, out, _ = run(
        capsys,
        "import",
        "leads",
        str(bad),
        "--project",
        str(project),
        "--allow-rejects",
        "--format",
        "json",
    )
    assert code == 0
    data = json.loads(out)
    assert (data["read"], data["accepted"], data["rejected"], data["skipped"]) == (2, 0, 1, 1)
    assert Path(data["quarantine"]).is_file()


def test_check_lists_anomalies(project: Path, tmp_path: Path, capsys):
    back = write_csv(
        tmp_path / "back.csv",
        [{"lead_id": "B", "stage": "mql", "entered_at": "2025-01-01 09:00"}],
    )
    assert run(capsys, "import", "stages", str(back), "--project", str(project))[0] == 0
    code, out, _ = run(capsys, "check", "--project", str(project), "--format", "json")
    assert code == 0
    rows = json.loads(out)["rows"]
    found = {(r["check"], r["id"]) for r in rows}
    assert ("stage_before_created", "B") in found
    assert ("unknown_channel", "tiktok") in found


def test_console_script_is_installed():
    bindir = Path(os.environ.get("VIRTUAL_ENV", "")) / "bin"
    import shutil
    import subprocess
    import sys

    exe = shutil.which("leadledger", path=str(Path(sys.executable).parent)) or shutil.which(
        "leadledger", path=str(bindir)
    )
    assert exe, "the leadledger console script is not installed"
    done = subprocess.run(
        [exe, "report", "stages", "--by", "x"], capture_output=True, text=True, cwd="/"
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_demo_builds_a_project_and_prints_its_reports(tmp_path: Path, capsys):
    folder = tmp_path / "demo"
    code, out, _ = run(capsys, "demo", str(folder), "--leads", "3000", "--format", "json")
    assert code == 0
    reports = json.loads(out)
    assert [r["report"] for r in reports] == [
        "stages",
        "conversion",
        "velocity",
        "acceptance",
        "sourced",
        "plan",
        "score",
    ]
    plan = {r["stage"]: r for r in reports[5]["rows"]}
    assert plan["lead"]["rate_source"] == "measured" and plan["lead"]["count"] > 0
    stages = {(r["period"], r["stage"]): r["entered"] for r in reports[0]["rows"]}
    assert sum(n for (_, s), n in stages.items() if s == "lead") > 0
    # the demo folder is a project: reports run on it afterwards
    code, out, _ = run(capsys, "report", "acceptance", "--project", str(folder), "--format", "json")
    assert code == 0 and json.loads(out)["rows"]
    # running it again rebuilds the same demo (same seed, same numbers)
    code, again, _ = run(capsys, "demo", str(folder), "--leads", "3000", "--format", "json")
    assert code == 0
    assert json.loads(again)[0]["rows"] == reports[0]["rows"]


def test_demo_refuses_a_folder_holding_another_project(project: Path, capsys):
    code, _, err = run(capsys, "demo", str(project), "--leads", "1000")
    assert code == 1 and "not a demo" in err


def test_generate_writes_files_and_imports(tmp_path: Path, capsys):
    code, out, _ = run(
        capsys,
        "generate",
        str(tmp_path / "gen"),
        "--leads",
        "1500",
        "--seed",
        "3",
        "--file-format",
        "parquet",
        "--import",
    )
    assert code == 0
    for kind in ("leads", "stages", "touches", "deals", "costs", "traffic"):
        assert (tmp_path / "gen" / f"{kind}.parquet").is_file()
    code, out, _ = run(
        capsys,
        "report",
        "stages",
        "--project",
        str(tmp_path / "gen"),
        "--format",
        "json",
        "--period",
        "year",
    )
    assert code == 0
    rows = json.loads(out)["rows"]
    assert sum(r["entered"] for r in rows if r["stage"] == "lead") > 0
