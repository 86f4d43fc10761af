"""CLI commands: rule scoring (registered on the main app by leadledger.cli.main).

``leadledger score`` scores every lead (and writes the MQL handoff); ``score explain``,
``score backtest`` and ``score tune`` call ``leadledger.scoring_reports`` and print its Reports.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from leadledger.cli.main import FormatOpt, ProjectOpt, _check_format, _workspace, app, busy
from leadledger.cli.output import print_report

score_app = typer.Typer(
    help="Rule-based lead scoring: score every lead, hand MQLs to sales as stage events, "
    "explain a score, backtest it, tune the threshold.\n\nExample: leadledger score --as-of "
    "2026-06-30",
    invoke_without_command=True,
)
app.add_typer(score_app, name="score")

AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Score as of this time (date = end of that day, or timestamp; project time zone; "
        "default now).",
        show_default=False,
    ),
]
BacktestAsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Score as of this time (default: --window before the last day with data).",
        show_default=False,
    ),
]
OutcomeOpt = Annotated[
    str, typer.Option("--outcome", help="The stage a good lead reaches (sql, opportunity, ...).")
]
WindowOpt = Annotated[
    str, typer.Option("--window", help="Outcome window after the as-of, e.g. 90d, 12w.")
]
CohortOpt = Annotated[
    str | None,
    typer.Option(
        "--cohort",
        help="Leads created this long before the as-of are scored (default: --window).",
        show_default=False,
    ),
]
StepOpt = Annotated[
    float | None,
    typer.Option("--step", help="Threshold step (default: a round step).", show_default=False),
]


@score_app.callback()
def score(
    ctx: typer.Context,
    as_of: AsOfOpt = None,
    limit: Annotated[int, typer.Option("--limit", help="Leads the terminal table shows.")] = 30,
    project: ProjectOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Score every lead inside the engine, record the points in score_events, and write an
    mql stage event (with the score and the top reasons) for each lead that first crosses the
    threshold. Scoring the same --as-of twice changes nothing.

    Example: leadledger score --as-of 2026-06-30 --format json
    """
    if ctx.invoked_subcommand is not None:
        return
    from leadledger.scoring_reports import score as run

    _check_format(fmt)
    with _workspace(project) as ws, busy("scoring", show=fmt == "table") as step:
        report = run(ws, as_of=as_of, progress=step)
    if fmt == "table" and len(report.frame) > limit:
        report = dataclasses.replace(report, frame=report.frame.head(limit))
        report.notes.append(
            f"the table shows the {limit:,} highest scores (--limit; --format csv/json: all)"
        )
    print_report(report, fmt)


@score_app.command("explain")
def explain(
    lead_id: Annotated[str, typer.Argument(help="The lead's id (the CRM's).")],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Explain the score as of this time (default: the lead's latest scoring run).",
            show_default=False,
        ),
    ] = None,
    project: ProjectOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """The points ledger of one lead: every rule, every touch it counted with its points
    before and after decay, the caps, and the total (the lines add up to the score).

    Example: leadledger score explain L0002368
    """
    from leadledger.scoring_reports import explain as run

    _check_format(fmt)
    with _workspace(project) as ws:
        report = run(ws, lead_id, as_of=as_of)
    print_report(report, fmt)


@score_app.command("backtest")
def backtest(
    as_of: BacktestAsOfOpt = None,
    outcome: OutcomeOpt = "sql",
    window: WindowOpt = "90d",
    cohort: CohortOpt = None,
    step: StepOpt = None,
    project: ProjectOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Score as of a past date vs reaching --outcome within --window after it: ROC AUC,
    precision and recall, MQL volume per working day and acceptance rate per threshold, and
    conversion lift by score decile.

    Example: leadledger score backtest --outcome sql --window 90d
    """
    from leadledger.scoring_reports import backtest as run

    _check_format(fmt)
    with _workspace(project) as ws, busy("backtesting", show=fmt == "table"):
        report = run(ws, as_of=as_of, outcome=outcome, window=window, cohort=cohort, step=step)
    print_report(report, fmt)


@score_app.command("tune")
def tune(
    capacity: Annotated[
        float | None,
        typer.Option("--capacity", help="MQLs sales can work per month.", show_default=False),
    ] = None,
    target_acceptance: Annotated[
        float | None,
        typer.Option(
            "--target-acceptance",
            help="Acceptance rate to reach (0-1), e.g. 0.6.",
            show_default=False,
        ),
    ] = None,
    as_of: BacktestAsOfOpt = None,
    outcome: OutcomeOpt = "sql",
    window: WindowOpt = "90d",
    cohort: CohortOpt = None,
    step: StepOpt = None,
    project: ProjectOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """The recommended MQL threshold for your sales capacity (the lowest threshold whose
    expected MQLs per month fit it) or target acceptance rate, with its expected volume,
    acceptance and conversion, and the trade-off table.

    Example: leadledger score tune --capacity 400
    """
    from leadledger.scoring_reports import tune as run

    _check_format(fmt)
    with _workspace(project) as ws, busy("tuning", show=fmt == "table"):
        report = run(
            ws,
            capacity=capacity,
            target_acceptance=target_acceptance,
            as_of=as_of,
            outcome=outcome,
            window=window,
            cohort=cohort,
            step=step,
        )
    print_report(report, fmt)
