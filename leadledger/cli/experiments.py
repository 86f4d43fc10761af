"""CLI commands: experiments (registered on the main app by leadledger.cli.main).

``leadledger experiment report|size|assign|import``: the command group calls
``leadledger.experiment_reports`` and prints its Reports like every other report.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from leadledger.cli.main import FormatOpt, ProjectOpt, _check_format, _workspace, app, out
from leadledger.cli.output import print_report
from leadledger.report import Report, plain

experiment_app = typer.Typer(
    help="Test vs control experiments: holdout assignment, lift per stage with its "
    "significance, sample sizes.\n\nExample: leadledger experiment report nurture_2026",
    no_args_is_help=True,
)
app.add_typer(experiment_app, name="experiment")

#: Rows a terminal table shows of an assignment (every row goes to --format csv/json).
TABLE_ROWS = 50

NameArg = Annotated[str, typer.Argument(help="The experiment's name in leadledger.yaml.")]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Use the ledger as it was at this time (default now), project time zone.",
        show_default=False,
    ),
]


def _pp(value: object) -> str:
    """A difference of rates in percentage points, signed."""
    v = plain(value)
    return "–" if v is None else f"{v * 100:+.2f} pp"


def _pct(value: object) -> str:
    v = plain(value)
    return "–" if v is None else f"{v * 100:+.1f} %"


def _p(value: object) -> str:
    v = plain(value)
    if v is None:
        return "–"
    return "< 0.0001" if v < 0.0001 else f"{v:.4f}"


def _for_terminal(report: Report) -> Report:
    """Lifts in percentage points / percent and p-values with 4 decimals for the terminal table
    (the generic display would round a lift of 0.012 to 0.01); JSON and CSV stay full
    precision."""
    frame = report.frame.copy()
    formats = {
        "lift_abs": _pp,
        "ci_low": _pp,
        "ci_high": _pp,
        "lift_rel": _pct,
        "lift_rel_ci_low": _pct,
        "lift_rel_ci_high": _pct,
        "p_value": _p,
    }
    for col, fn in formats.items():
        if col in frame.columns:
            frame[col] = pd.Series([fn(v) for v in frame[col]], index=frame.index, dtype=object)
    return dataclasses.replace(report, frame=frame)


@experiment_app.command("report")
def report(
    name: NameArg,
    stage: Annotated[
        str | None,
        typer.Option(
            "--stage",
            help="Only this stage (the primary metric); default every stage after the "
            "experiment's.",
            show_default=False,
        ),
    ] = None,
    as_of: AsOfOpt = None,
    alpha: Annotated[
        float, typer.Option("--alpha", help="Significance level; the intervals are 1 − alpha.")
    ] = 0.05,
    project: ProjectOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Conversion per group at each stage: test vs control, absolute and relative lift, 95 %
    confidence interval and p-value (two-proportion z-test; Fisher's exact test for small
    counts), with a sample ratio check.

    Example: leadledger experiment report nurture_2026 --stage sql
    """
    from leadledger.experiment_reports import experiment_report

    _check_format(fmt)
    with _workspace(project) as ws:
        result = experiment_report(ws, name, stage=stage, as_of=as_of, alpha=alpha)
    print_report(_for_terminal(result) if fmt == "table" else result, fmt)


@experiment_app.command("size")
def size(
    baseline: Annotated[
        float, typer.Option("--baseline", help="Current conversion rate, e.g. 0.05.")
    ],
    mde: Annotated[
        float,
        typer.Option(
            "--mde",
            help="Minimum detectable effect: absolute (0.01 = 0.05 → 0.06) unless --relative.",
        ),
    ],
    power: Annotated[float, typer.Option("--power", help="Statistical power.")] = 0.8,
    alpha: Annotated[float, typer.Option("--alpha", help="Two-sided significance level.")] = 0.05,
    relative: Annotated[
        bool, typer.Option("--relative", help="--mde is relative (0.1 = 0.05 → 0.055).")
    ] = False,
    control_share: Annotated[
        float,
        typer.Option("--control-share", help="Share of leads in control (0.1 = 10 % holdout)."),
    ] = 0.5,
    project: ProjectOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Leads needed per group (and in all) to detect the effect with a two-sided test at the
    given power (Cohen's h, as statsmodels). Needs no project (--project is accepted and
    unused).

    Example: leadledger experiment size --baseline 0.05 --mde 0.01
    """
    from leadledger.experiment_reports import experiment_size

    _check_format(fmt)
    del project  # the sizes depend on the rates only
    print_report(
        experiment_size(
            baseline,
            mde,
            power=power,
            alpha=alpha,
            relative=relative,
            control_share=control_share,
        ),
        fmt,
    )


@experiment_app.command("assign")
def assign(
    name: NameArg,
    group: Annotated[
        str | None,
        typer.Option("--group", help="Only this group: control or test.", show_default=False),
    ] = None,
    as_of: AsOfOpt = None,
    project: ProjectOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """The experiment's leads with their group, for holding the control group out of a
    campaign in the marketing tool (--format csv exports every lead).

    Example: leadledger experiment assign nurture_2026 --group control --format csv > holdout.csv
    """
    from leadledger.experiment_reports import experiment_assign

    _check_format(fmt)
    with _workspace(project) as ws:
        result = experiment_assign(ws, name, group=group, as_of=as_of)
    if fmt == "table" and len(result.frame) > TABLE_ROWS:
        shown = dataclasses.replace(result, frame=result.frame.head(TABLE_ROWS))
        print_report(shown, fmt)
        out.print(
            f"[dim]· showing {TABLE_ROWS} of {len(result.frame):,} leads: --format csv "
            "exports all[/dim]"
        )
        return
    print_report(result, fmt)


@experiment_app.command("import")
def import_(
    name: NameArg,
    file: Annotated[
        Path, typer.Argument(help="CSV, Parquet or JSON Lines with columns lead_id, group.")
    ],
    group_map: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="Map a group value of the file: VALUE=test or VALUE=control (repeatable).",
            show_default=False,
        ),
    ] = None,
    project: ProjectOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Import the group membership of an 'assignment: imported' experiment. Bad rows reject the
    whole file (each listed by row and column); re-importing a file changes nothing.

    Example: leadledger experiment import webinar_q3 groups.csv --map holdout=control
    """
    from leadledger.experiment_reports import experiment_import

    _check_format(fmt)
    with _workspace(project) as ws:
        result = experiment_import(ws, name, file, group_map=group_map)
    print_report(result, fmt)
