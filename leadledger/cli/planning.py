"""CLI commands of planning: ``plan`` (reverse funnel), ``pace`` and ``whatif``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leadledger.cli.main import FormatOpt, ProjectOpt, _check_format, app, err, out
from leadledger.cli.output import print_report

HistoryOpt = Annotated[
    str,
    typer.Option(
        "--history", help="Trailing window that measures rates not given: 12m, 6m, 1y, 26w, 90d."
    ),
]


def _optional_workspace(project: Path | None):  # type: ignore[no-untyped-def]
    """The project when there is one (given, or found upward); plan also works without."""
    from leadledger.config import find_project_dir
    from leadledger.errors import ProjectNotFound
    from leadledger.service import Workspace

    if project is not None:
        return Workspace(project)
    try:
        return Workspace(find_project_dir())
    except ProjectNotFound:
        return None


@app.command()
def plan(
    revenue: Annotated[float, typer.Option(help="Revenue target of the plan period.")],
    deal_size: Annotated[
        float | None,
        typer.Option(
            "--deal-size",
            help="Average deal (default: mean won deal in history).",
            show_default=False,
        ),
    ] = None,
    close_rate: Annotated[
        float | None,
        typer.Option("--close-rate", help="SQL → customer rate, e.g. 0.25.", show_default=False),
    ] = None,
    mql_to_sql: Annotated[
        float | None, typer.Option("--mql-to-sql", help="MQL → SQL rate.", show_default=False)
    ] = None,
    lead_to_mql: Annotated[
        float | None, typer.Option("--lead-to-mql", help="Lead → MQL rate.", show_default=False)
    ] = None,
    visit_to_lead: Annotated[
        float | None,
        typer.Option("--visit-to-lead", help="Visitor → lead rate.", show_default=False),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="First day of the plan (default: 1 January next year).",
            show_default=False,
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(
            "--to", help="Last day of the plan (default: a year after --from).", show_default=False
        ),
    ] = None,
    history: HistoryOpt = "12m",
    channel: Annotated[
        str | None,
        typer.Option(help="Plan one channel (rates measured on it).", show_default=False),
    ] = None,
    campaign: Annotated[
        str | None, typer.Option(help="Plan one campaign.", show_default=False)
    ] = None,
    save: Annotated[
        str | None,
        typer.Option(
            "--save", help="Save the plan as goal NAME in leadledger.yaml.", show_default=False
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace a saved goal of the same name.")] = False,
    project: ProjectOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Reverse funnel: from a revenue target to the customers, SQLs, MQLs, leads and visits it
    needs, per working day and per month. Rates not given are measured from the project's
    history (flow ratios over --history), and the output names the source of every rate.

    Example: leadledger plan --revenue 10000000 --deal-size 50000 --close-rate 0.25
    --mql-to-sql 0.20
    """
    from leadledger.planning_reports import plan_report, save_goal

    _check_format(fmt)
    ws = _optional_workspace(project)
    if save and ws is None:
        from leadledger.errors import ProjectNotFound

        raise ProjectNotFound("--save needs a project", hint="pass --project DIR")
    try:
        report = plan_report(
            ws,
            revenue=revenue,
            deal_size=deal_size,
            close_rate=close_rate,
            mql_to_sql=mql_to_sql,
            lead_to_mql=lead_to_mql,
            visit_to_lead=visit_to_lead,
            start=start,
            end=end,
            history_text=history,
            channel=channel,
            campaign=campaign,
        )
        if save:
            path = save_goal(ws, save, report, force=force)
            report.notes.append(f"saved as goal '{save}' in {path}")
    finally:
        if ws is not None:
            ws.close()
    print_report(report, fmt)


@app.command()
def pace(
    goal: Annotated[
        str | None,
        typer.Option(
            help="Goal name (default: the one goal covering --as-of).", show_default=False
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="The day to measure up to (default: today).", show_default=False
        ),
    ] = None,
    period: Annotated[str, typer.Option(help="month, quarter, week or year.")] = "month",
    project: ProjectOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Are we on pace? For the current period of a goal: actual vs required per working day
    for each stage, the projection to the period's end, and the stage that is behind first.

    Example: leadledger pace --goal plan_2027 --as-of 2027-03-15
    """
    from leadledger.planning_reports import pace_report
    from leadledger.service import Workspace

    _check_format(fmt)
    with Workspace(project) as ws:
        print_report(pace_report(ws, goal=goal, as_of=as_of, period=period), fmt)


@app.command()
def whatif(
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="KEY[.CHANNEL]=VALUE: leads, lead_to_mql, mql_to_sql, close_rate, deal_size or "
            "cost; VALUE 0.3, +20%, -10% or +2pt. Repeatable.",
            show_default=False,
        ),
    ] = None,
    scenario: Annotated[
        Path | None,
        typer.Option(help="YAML scenario file with a 'set:' mapping.", show_default=False),
    ] = None,
    history: HistoryOpt = "12m",
    project: ProjectOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """What if a rate, a cost or a volume changes? Downstream counts, revenue, cost and ROI
    against the baseline of the history window, per channel, and the sensitivity of revenue to
    every lever (+1 point, +10 %).

    Example: leadledger whatif --set close_rate=0.3 --set cost.paid_search=+20%
    """
    from leadledger.planning_reports import whatif_report
    from leadledger.service import Workspace

    _check_format(fmt)
    with Workspace(project) as ws:
        report = whatif_report(
            ws, overrides=list(set_ or []), scenario=scenario, history_text=history
        )
    print_report(report, fmt)


__all__ = ["err", "out", "pace", "plan", "whatif"]
