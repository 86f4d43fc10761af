"""The docs cannot drift from the code: generated references are current, and every setting,
report, column, check code and error code is documented."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import BaseModel

from leadledger import errors
from leadledger.config.models import ProjectConfig
from leadledger.ledger.checks import CHECKS
from leadledger.web.api.reports import listed
from tests.conftest import load_journeys, write_csv

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def gen_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_docs", module)
    spec.loader.exec_module(module)
    return module


def read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def sections(text: str, heading: str, *, exact: bool = False) -> list[str]:
    """Bodies of the markdown sections whose heading line is, or starts with, ``heading``."""
    level = len(heading) - len(heading.lstrip("#"))
    pattern = rf"^{re.escape(heading)}{'' if exact else '.*'}$"
    out = []
    for m in re.finditer(pattern, text, flags=re.M):
        end = re.compile(rf"^#{{1,{level}}} ", flags=re.M).search(text, m.end())
        out.append(text[m.end() : end.start() if end else len(text)])
    return out


def table_keys(text: str) -> set[str]:
    """The first-column keys (`like_this`) of the markdown tables in ``text``."""
    return set(re.findall(r"^\| `([^`]+)` \|", text, flags=re.M))


# -- generated references ------------------------------------------------------------------------
def test_generated_docs_are_current() -> None:
    stale = gen_docs().stale()
    assert not stale, f"out of date: {[p.name for p in stale]}; run python scripts/gen_docs.py"


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[type[BaseModel]]:
    seen.add(model)
    for field in model.model_fields.values():
        stack: list[Any] = [field.annotation]
        while stack:
            ann = stack.pop()
            if isinstance(ann, type) and issubclass(ann, BaseModel) and ann not in seen:
                _models(ann, seen)
            stack.extend(getattr(ann, "__args__", ()))
    return seen


def test_every_config_field_has_a_description() -> None:
    missing = [
        f"{model.__name__}.{name}"
        for model in _models(ProjectConfig, set())
        for name, field in model.model_fields.items()
        if not (field.description or "").strip()
    ]
    assert not missing, f"add description= to: {', '.join(sorted(missing))}"


def test_every_config_key_is_in_the_config_reference() -> None:
    text = read("config.md")
    keys = table_keys(text)
    for model in _models(ProjectConfig, set()):
        for name in model.model_fields:
            assert name in keys, f"{model.__name__}.{name} is not in docs/config.md"


# -- reports, columns, checks, errors ------------------------------------------------------------
STORY: dict[str, dict[str, Any]] = {
    # all the way to customer; rejected by nobody
    "D1": {
        "created": "2025-01-06 10:00",
        "channel": "paid_search",
        "persona": "cfo",
        "stages": [
            ("mql", "2025-01-08"),
            ("sal", "2025-01-09"),
            ("sql", "2025-01-20"),
            ("opportunity", "2025-01-27"),
            ("customer", "2025-02-10"),
        ],
    },
    # an MQL rejected by sales, with a reason
    "D2": {
        "created": "2025-01-13",
        "channel": "organic_search",
        "persona": "cto",
        "stages": [("mql", "2025-01-14"), ("disqualified", "2025-01-16", "no_budget")],
    },
    # out of order: sql dated before mql (a stage moving backwards, for `check`)
    "D3": {
        "created": "2025-02-03",
        "channel": "sdr_outbound",
        "persona": "cfo",
        "stages": [("sql", "2025-02-05"), ("mql", "2025-02-07"), ("customer", "2025-02-20")],
    },
    # still a lead
    "D4": {"created": "2025-02-10", "channel": "direct", "persona": "cto"},
}

RANGE = {"start": "2025-01-01", "end": "2025-02-28"}
#: (report name, parameters, docs/formulas.md heading of its column table)
RUNS: list[tuple[str, dict[str, Any], str]] = [
    ("stages", {"period": "month"}, "### `stages`"),
    (
        "conversion",
        {"from_stage": "mql", "to_stage": "customer", "as_of": "2030-01-01"},
        "### `conversion` (cohort",
    ),
    ("conversion", {"from_stage": "visitor", "to_stage": "lead"}, "### `conversion` (visitor"),
    ("velocity", {"period": "month", "as_of": "2025-03-01"}, "### `velocity`"),
    ("acceptance", {"period": "month"}, "### `acceptance`"),
    ("acceptance", {"period": "month", "by": "reason"}, "### `acceptance --by reason`"),
    ("sourced", {"period": "quarter"}, "### `sourced`"),
    # the money reports' tables are in docs/money.md (searched with formulas.md)
    ("costs", {"period": "month", "by": "channel"}, "### `costs` columns"),
    ("roi", {"model": "linear"}, "### `roi` columns"),
]
#: Feature pages whose report column tables count as documented beside docs/formulas.md.
REPORT_PAGES = ("formulas.md", "money.md")


@pytest.fixture
def story_ws(make_project: Any) -> Any:
    ws = make_project()
    load_journeys(ws, STORY)
    traffic = write_csv(
        ws.project_dir / "traffic.csv",
        [
            {"day": "2025-01-06", "channel": "paid_search", "visits": 120},
            {"day": "2025-02-03", "channel": "paid_search", "visits": 80},
        ],
    )
    assert ws.import_files("traffic", [traffic]).rejected == 0
    costs = write_csv(
        ws.project_dir / "costs.csv",
        [
            {
                "period_start": "2025-01-01",
                "period_end": "2025-01-31",
                "channel": "paid_search",
                "category": "media",
                "amount": 3100,
            }
        ],
    )
    assert ws.import_files("costs", [costs]).rejected == 0
    return ws


def test_every_report_and_column_is_documented(story_ws: Any) -> None:
    text = "\n".join(read(page) for page in REPORT_PAGES)
    assert {name for name, _, _ in RUNS} == set(listed()), "add the new report to RUNS"
    missing = []
    for name, params, heading in RUNS:
        documented: set[str] = set()
        found = sections(text, heading, exact=name == "acceptance" and "by" not in params)
        assert found, f"docs/formulas.md has no section '{heading}'"
        for body in found:
            documented |= table_keys(body)
        report = story_ws.report(name, **RANGE, **params)
        assert len(report.frame), f"{name} {params}: the story gives no rows"
        missing += [f"{name}: {c}" for c in report.columns if c not in documented]
    check = story_ws.report("check")
    assert "stage_backwards" in set(check.frame["check"]), "the story should trip a check"
    documented = set().union(*(table_keys(s) for s in sections(text, "### `check`")))
    missing += [f"check: {c}" for c in check.columns if c not in documented]
    assert not missing, "columns not in docs/formulas.md: " + ", ".join(missing)


def test_every_check_code_is_documented() -> None:
    (body,) = sections(read("formulas.md"), "## Data checks")
    codes = table_keys(body)
    missing = [c.code for c in CHECKS if c.code not in codes]
    assert not missing, f"check codes not in docs/formulas.md#data-checks: {missing}"


def test_every_error_code_is_in_the_cli_docs() -> None:
    (body,) = sections(read("cli.md"), "## Errors and exit codes")
    assert "generated:start" not in body, "the error section must be hand-written prose"
    codes = table_keys(body)
    classes = [
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, errors.LeadledgerError)
    ]
    assert len(classes) > 5
    missing = [cls.code for cls in classes if cls.code not in codes]
    assert not missing, f"error codes not in docs/cli.md's error section: {missing}"
