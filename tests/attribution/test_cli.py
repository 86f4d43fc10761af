"""The attribution command: help with an example, formats, --compare, --paths, errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from leadledger.attribution import MODELS
from leadledger.cli.main import app, main
from tests.conftest import write_csv

runner = CliRunner()


@pytest.fixture
def project(story_project):
    """The stories' project on DuckDB (loaded once, see conftest.py)."""
    return story_project


def test_help_has_an_example():
    r = runner.invoke(app, ["attribution", "--help"])
    assert r.exit_code == 0
    assert "Example: leadledger attribution" in r.output


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_formats(project, fmt):
    args = ["attribution", "--model", "linear", "--from", "2025-01-01", "--to", "2025-02-28"]
    r = runner.invoke(app, [*args, "--format", fmt, "--project", str(project)])
    assert r.exit_code == 0, r.output
    if fmt == "json":
        data = json.loads(r.output)
        rows = {row["channel"]: row for row in data["rows"]}
        assert rows["direct"]["conversions"] == pytest.approx(1.2)
        assert rows["direct"]["value"] == pytest.approx(700.0)
        assert data["totals"][0]["unattributed_value"] == 300
    elif fmt == "csv":
        assert r.output.splitlines()[0].startswith("channel,conversions,value")
    else:
        assert "referral" in r.output


def test_compare_side_by_side(project):
    r = runner.invoke(
        app, ["attribution", "--compare", "--format", "json", "--project", str(project)]
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert set(data["rows"][0]) == {"channel", *MODELS}
    total = sum(row["markov"] for row in data["rows"])
    assert total == pytest.approx(sum(row["first_touch"] for row in data["rows"]))


def test_paths_file_needs_no_project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "paths.csv"
    f.write_text(
        "path;total_conversions;total_conversion_value;total_null\na > b;2;20;1\nb;1;5;3\n",
        encoding="utf-8",
    )
    r = runner.invoke(app, ["attribution", "--paths", str(f), "--model", "linear", "-f", "json"])
    assert r.exit_code == 0, r.output
    rows = {row["channel"]: row for row in json.loads(r.output)["rows"]}
    assert rows["a"]["conversions"] == pytest.approx(1.0)
    assert rows["b"]["value"] == pytest.approx(15.0)
    comma = write_csv(tmp_path / "c.csv", [{"path": "a>b", "total_conversions": 1}])
    r = runner.invoke(
        app, ["attribution", "--paths", str(comma), "--sep", ",", "-m", "first_touch", "-f", "json"]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["rows"][0]["channel"] == "a"


def test_unknown_model_is_one_line(project, capsys):
    rc = main(["attribution", "--model", "markv", "--project", str(project)])
    assert rc != 0
    err = capsys.readouterr().err
    assert "unknown_model" in err and "shapley" in err and "did you mean 'markov'" in err
    assert "Traceback" not in err


def test_bad_paths_file_names_file_row_and_column(tmp_path, capsys):
    f = tmp_path / "bad.csv"
    f.write_text("path;total_conversions\na > b;2\nb;two\n", encoding="utf-8")
    rc = main(["attribution", "--paths", str(f), "--model", "linear"])
    assert rc != 0
    err = capsys.readouterr().err
    assert "bad.csv" in err and "row 2" in err and "total_conversions" in err
    g = tmp_path / "nopath.csv"
    g.write_text("route;total_conversions\na;1\n", encoding="utf-8")
    assert main(["attribution", "--paths", str(g)]) != 0
    assert "missing column 'path'" in capsys.readouterr().err
    h = tmp_path / "empty_step.csv"
    h.write_text("path;total_conversions\na > > b;1\n", encoding="utf-8")
    assert main(["attribution", "--paths", str(h)]) != 0
    assert "row 1, column 'path'" in capsys.readouterr().err


def test_milestone_model_on_paths_is_a_clear_error(tmp_path, capsys):
    f = tmp_path / "p.csv"
    f.write_text("path;total_conversions\na > b;1\n", encoding="utf-8")
    assert main(["attribution", "--paths", str(f), "--model", "w_shaped"]) != 0
    assert "milestones" in capsys.readouterr().err
