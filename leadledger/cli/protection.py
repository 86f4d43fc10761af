"""CLI commands: protection (registered on the main app by leadledger.cli.main).

``sla`` (open breaches, breach rates), ``decay`` (lead decay in money) and ``alerts`` (SLA
breaches and pacing shortfalls, optionally POSTed to a webhook).
"""

from __future__ import annotations

from typing import Annotated

import typer

from leadledger.cli.main import (
    ByOpt,
    FormatOpt,
    FromOpt,
    PeriodOpt,
    ProjectOpt,
    ToOpt,
    _check_format,
    _workspace,
    app,
    busy,
)
from leadledger.cli.output import print_report

AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Evaluate as of this time (date or timestamp, project time zone; default now).",
        show_default=False,
    ),
]


@app.command()
def sla(
    view: Annotated[
        str,
        typer.Option(
            "--view",
            help="breaches (open breaches), rates (breach rate by SLA, period and --by) or "
            "clocks (every clock with its status).",
        ),
    ] = "breaches",
    sla_name: Annotated[
        str | None,
        typer.Option("--sla", help="Only this SLA (a name under slas:).", show_default=False),
    ] = None,
    as_of: AsOfOpt = None,
    project: ProjectOpt = None,
    fmt: FormatOpt = "table",
    start: FromOpt = None,
    end: ToOpt = None,
    period: PeriodOpt = "month",
    by: ByOpt = None,
) -> None:
    """SLA clocks between marketing and sales: open breaches (lead, owner, how late) or the
    breach rate by owner, channel and period. Clocks started in --from/--to count.

    Example: leadledger sla --view rates --by owner --period month
    """
    from leadledger.protection_reports import sla_report

    _check_format(fmt)
    with _workspace(project) as ws, busy("checking SLAs", show=fmt == "table"):
        report = sla_report(
            ws, start=start, end=end, period=period, by=by, as_of=as_of, view=view, sla=sla_name
        )
    print_report(report, fmt)


@app.command()
def decay(
    customer_value: Annotated[
        float | None,
        typer.Option(
            "--customer-value",
            help="Value of one customer (default: decay.customer_value, else the mean won deal).",
            show_default=False,
        ),
    ] = None,
    sqls: Annotated[
        int | None,
        typer.Option(
            "--sqls", help="Standalone: number of SQLs (with --customers).", show_default=False
        ),
    ] = None,
    customers: Annotated[
        int | None,
        typer.Option(
            "--customers", help="Standalone: customers those SQLs gave.", show_default=False
        ),
    ] = None,
    neglected: Annotated[
        int | None,
        typer.Option(
            "--neglected", help="Standalone: SQLs left to go cold (default 0).", show_default=False
        ),
    ] = None,
    history: Annotated[
        str, typer.Option("--history", help="History window for the rate and curve, e.g. 365d.")
    ] = "365d",
    limit: Annotated[int, typer.Option("--limit", help="At-risk SQLs listed.")] = 50,
    as_of: AsOfOpt = None,
    project: ProjectOpt = None,
    fmt: FormatOpt = "table",
    start: FromOpt = None,
    end: ToOpt = None,
) -> None:
    """Lead decay in money: value per SQL, the decay curve by first-follow-up delay, value at
    risk now and value lost by the SQLs of --from/--to. With --sqls and --customers it is plain
    arithmetic on the given counts and needs no project.

    Example: leadledger decay --customer-value 100000 --sqls 40 --customers 10 --neglected 5
    """
    from leadledger.protection_reports import decay_report, is_standalone

    _check_format(fmt)
    if is_standalone(sqls, customers, neglected) and project is None:
        report = decay_report(
            None, customer_value=customer_value, sqls=sqls, customers=customers, neglected=neglected
        )
    else:
        with _workspace(project) as ws, busy("measuring decay", show=fmt == "table"):
            report = decay_report(
                ws,
                customer_value=customer_value,
                sqls=sqls,
                customers=customers,
                neglected=neglected,
                start=start,
                end=end,
                as_of=as_of,
                history=history,
                limit=limit,
            )
    print_report(report, fmt)


@app.command()
def alerts(
    webhook: Annotated[
        str | None,
        typer.Option(
            "--webhook",
            help="POST new alerts to this URL as Slack-compatible JSON (each alert once).",
            show_default=False,
        ),
    ] = None,
    goal: Annotated[
        str | None,
        typer.Option(
            "--goal",
            help="Pacing of this goal (default: every goal covering the as-of day).",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per webhook try.")] = 10.0,
    retries: Annotated[
        int, typer.Option("--retries", help="Retries after a 5xx, 429 or connection failure.")
    ] = 3,
    as_of: AsOfOpt = None,
    project: ProjectOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """SLA breaches and pacing shortfalls as a table or JSON; with --webhook, the ones not sent
    to it before are POSTed (timeout, retries) and recorded, so nothing is sent twice.

    Example: leadledger alerts --webhook https://hooks.slack.com/services/T000/B000/XXXX
    """
    from leadledger.protection_reports import alerts as run_alerts

    _check_format(fmt)
    with _workspace(project) as ws, busy("checking alerts", show=fmt == "table") as step:
        report = run_alerts(
            ws,
            webhook=webhook,
            as_of=as_of,
            goal=goal,
            timeout=timeout,
            retries=retries,
            progress=step,
        )
    print_report(report, fmt)
