"""CLI commands: experiments, ``leadledger experiment report|size|assign|import``.

The commands are the registered reports' (``leadledger.reports.experiments``); this module
adds what only a terminal needs: lifts in percentage points and p-values with 4 decimals in
``experiment report``'s table, the first rows of a long assignment, and ``experiment size``
taking ``--project`` without opening it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd
import typer

from leadledger.cli import factory
from leadledger.cli.app import app
from leadledger.cli.common import (
    GROUPS,
    REGISTERED,
    FormatOpt,
    ProjectOpt,
    out,
    register_report,
    report_command,
)
from leadledger.cli.output import print_report
from leadledger.formatting import p_value, points, signed_percent
from leadledger.reports.registry import get
from leadledger.reports.result import Report

experiment_app = typer.Typer(
    help="Test vs control experiments: holdout assignment, lift per stage with its "
    "significance, sample sizes.\n\nExample: leadledger experiment report nurture_2026",
    no_args_is_help=True,
)
app.add_typer(experiment_app, name="experiment")
GROUPS["experiment"] = experiment_app

#: Rows a terminal table shows of an assignment (every row goes to --format csv/json).
TABLE_ROWS = 50


def for_terminal(report: Report) -> Report:
    """Lifts in percentage points / percent and p-values with 4 decimals for the terminal table
    (the generic display would round a lift of 0.012 to 0.01); JSON and CSV stay full
    precision."""
    frame = report.frame.copy()
    formats = {
        "lift_abs": points,
        "ci_low": points,
        "ci_high": points,
        "lift_rel": signed_percent,
        "lift_rel_ci_low": signed_percent,
        "lift_rel_ci_high": signed_percent,
        "p_value": p_value,
    }
    for col, fn in formats.items():
        if col in frame.columns:
            frame[col] = pd.Series([fn(v) for v in frame[col]], index=frame.index, dtype=object)
    return dataclasses.replace(report, frame=frame)


def show_lift(report: Report, fmt: str, extra: dict[str, Any]) -> None:
    print_report(for_terminal(report) if fmt == "table" else report, fmt)


def show_assignment(report: Report, fmt: str, extra: dict[str, Any]) -> None:
    """The first TABLE_ROWS leads in a terminal table (JSON and CSV: every lead)."""
    if fmt == "table" and len(report.frame) > TABLE_ROWS:
        print_report(dataclasses.replace(report, frame=report.frame.head(TABLE_ROWS)), fmt)
        out.print(
            f"[dim]· showing {TABLE_ROWS} of {len(report.frame):,} leads: --format csv "
            "exports all[/dim]"
        )
        return
    print_report(report, fmt)


def _register_size() -> None:
    """``experiment size``: the sizes depend on the rates only, so ``--project`` is accepted
    and never opened."""
    spec = get("experiment_size")
    run = report_command(spec)

    def size(*, project: Path | None = None, fmt: str = "table", **given: Any) -> None:
        del project
        run(project=None, fmt=fmt, **given)

    assert spec.cli is not None
    params = [*factory.options(spec.params), *factory.common(ProjectOpt, FormatOpt)]
    factory.register(GROUPS, spec.cli, size, params, spec.help)
    REGISTERED.add(spec.name)


register_report(get("experiment_report"), show=show_lift)
_register_size()
register_report(get("experiment_assign"), show=show_assignment)
