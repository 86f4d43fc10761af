"""Config validation: one bad-config fixture per failure mode (tests/config/bad/*.yaml).

Each fixture starts with ``# expect: CODE LINE [text the message or hint must contain]``; LINE 0
means the issue has no line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leadledger.cli.main import main
from leadledger.config import CONFIG_NAME, default_config_text, load_config, validate_config
from leadledger.errors import ConfigError

BAD = Path(__file__).parent / "bad"
FIXTURES = sorted(BAD.glob("*.yaml"))


def expectation(path: Path) -> tuple[str, int, str]:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), path
    code, line, *text = first.removeprefix("# expect: ").split(" ", 2)
    return code, int(line), text[0] if text else ""


def test_every_failure_mode_has_a_fixture():
    assert len(FIXTURES) >= 20


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_bad_config_is_reported_with_code_line_and_hint(path: Path):
    code, line, text = expectation(path)
    cfg, issues = validate_config(path)
    assert cfg is None
    matching = [i for i in issues if i.code == code]
    assert matching, [i.render() for i in issues]
    issue = matching[0]
    assert issue.severity == "error"
    assert (issue.line or 0) == line, issue.render()
    assert issue.file == str(path)
    assert text in issue.render()


def test_default_config_is_valid(tmp_path: Path):
    path = tmp_path / CONFIG_NAME
    path.write_text(default_config_text(), encoding="utf-8")
    cfg, issues = validate_config(path)
    assert cfg is not None
    assert [i for i in issues if i.severity == "error"] == []
    assert cfg.stage_keys == ["lead", "mql", "sal", "sql", "opportunity", "customer"]
    assert cfg.calendar.country == "ES"


def test_every_problem_is_reported_at_once(tmp_path: Path):
    path = tmp_path / CONFIG_NAME
    path.write_text(
        "timezon: Europe/Madrid\n"  # 1: unknown key
        "currency: eur\n"  # 2: bad currency
        "calendar:\n"
        "  country: ES\n"
        "  subdivision: XX\n"  # 5: cross rule, still reported
        "stages:\n"
        "  - key: lead\n"
        "  - key: mql\n"
        "    lable: MQL\n"  # 9: unknown key in a list item
        "  - key: lead\n",  # 10: duplicate stage, cross rule
        encoding="utf-8",
    )
    cfg, issues = validate_config(path)
    assert cfg is None
    got = [(i.code, i.line) for i in issues if i.severity == "error"]
    assert got == [
        ("config_extra_forbidden", 1),
        ("config_value_error", 2),
        ("calendar_subdivision_unknown", 5),
        ("config_extra_forbidden", 9),
        ("stage_duplicate", 10),
    ]


def test_warning_does_not_invalidate(tmp_path: Path):
    path = tmp_path / CONFIG_NAME
    path.write_text("channels: []\n", encoding="utf-8")
    cfg, issues = validate_config(path)
    assert cfg is not None
    assert [i.code for i in issues] == ["channels_missing"]
    assert issues[0].severity == "warning"


def test_load_config_raises_typed_error_with_count(tmp_path: Path):
    path = tmp_path / CONFIG_NAME
    path.write_text("currency: eur\ntimezone: Nowhere/City\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.code == "config_invalid"
    assert "(and 1 more)" in info.value.message
    assert len([i for i in info.value.issues if i.severity == "error"]) == 2


def test_cli_validate_exit_codes_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    (tmp_path / CONFIG_NAME).write_text("currency: eur\n", encoding="utf-8")
    assert main(["validate", "--project", str(tmp_path), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["valid"] is False
    assert data["issues"][0]["line"] == 1
    (tmp_path / CONFIG_NAME).write_text(default_config_text(), encoding="utf-8")
    assert main(["validate", "--project", str(tmp_path)]) == 0
    assert "valid" in capsys.readouterr().out
