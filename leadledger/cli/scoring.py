"""CLI commands: rule scoring (``leadledger score``, a group whose own callback scores).

``leadledger score`` scores every lead (and writes the MQL handoff); ``score explain``, ``score
backtest`` and ``score tune`` are the registered reports' commands (``leadledger.reports.scoring``).
The callback's ``--limit`` only cuts the terminal table.
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Annotated, Any

import typer

from leadledger.cli import factory
from leadledger.cli.app import app
from leadledger.cli.common import (
    GROUPS,
    REGISTERED,
    FormatOpt,
    ProjectOpt,
    report_command,
)
from leadledger.cli.output import print_report
from leadledger.reports.registry import get
from leadledger.reports.result import Report
from leadledger.reports.surfaces import with_signature

score_app = typer.Typer(
    help="Rule-based lead scoring: score every lead, hand MQLs to sales as stage events, "
    "explain a score, backtest it, tune the threshold.\n\nExample: leadledger score --as-of "
    "2026-06-30",
    invoke_without_command=True,
)
app.add_typer(score_app, name="score")
GROUPS["score"] = score_app

#: Leads the terminal table of ``leadledger score`` shows by default.
TABLE_ROWS = 30
LIMIT = inspect.Parameter(
    "limit",
    inspect.Parameter.KEYWORD_ONLY,
    default=TABLE_ROWS,
    annotation=Annotated[int, typer.Option("--limit", help="Leads the terminal table shows.")],
)


def show_scores(report: Report, fmt: str, extra: dict[str, Any]) -> None:
    """The highest ``--limit`` scores in a terminal table (JSON and CSV: every lead)."""
    limit = int(extra.get("limit", TABLE_ROWS))
    if fmt == "table" and len(report.frame) > limit:
        report = dataclasses.replace(report, frame=report.frame.head(limit))
        report.notes.append(
            f"the table shows the {limit:,} highest scores (--limit; --format csv/json: all)"
        )
    print_report(report, fmt)


def _register_score() -> None:
    """``leadledger score``: the group's callback runs the ``score`` report unless a
    subcommand (explain, backtest, tune) is invoked."""
    spec = get("score")
    run = report_command(spec, show=show_scores)

    def score(
        ctx: typer.Context, *, project: Path | None = None, fmt: str = "table", **given: Any
    ) -> None:
        if ctx.invoked_subcommand is not None:
            return
        run(project=project, fmt=fmt, **given)

    context = inspect.Parameter(
        "ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context
    )
    params = [context, *factory.options(spec.params), LIMIT]
    params += factory.common(ProjectOpt, FormatOpt)
    score_app.callback()(with_signature(score, params, spec.help))
    REGISTERED.add(spec.name)


_register_score()
