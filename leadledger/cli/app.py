"""The root command and its ``report`` group, and the range options the commands share.

Command modules (``leadledger.cli.<area>``) add their commands and groups to :data:`app`;
``leadledger.cli.main`` imports them all and is the entry point.
"""

from __future__ import annotations

from typing import Annotated

import typer

from leadledger import __version__
from leadledger.cli.common import GROUPS, out

app = typer.Typer(
    name="leadledger",
    help="Qualify leads, follow every lead through the funnel, and prove the return on "
    "marketing spend.\n\nExample: leadledger demo",
    no_args_is_help=True,
    rich_markup_mode="rich",
    add_completion=False,
    pretty_exceptions_enable=False,
)
report_app = typer.Typer(
    help="Funnel reports.\n\nExample: leadledger report stages --period month --by channel",
    no_args_is_help=True,
)
app.add_typer(report_app, name="report")

GROUPS.update({"": app, "report": report_app})

FromOpt = Annotated[
    str | None,
    typer.Option("--from", help="First day (YYYY-MM-DD), project time zone.", show_default=False),
]
ToOpt = Annotated[
    str | None, typer.Option("--to", help="Last day (YYYY-MM-DD), inclusive.", show_default=False)
]
PeriodOpt = Annotated[str, typer.Option("--period", help="day, week, month, quarter or year.")]
ByOpt = Annotated[
    str | None,
    typer.Option(
        "--by",
        help="Break down by FIELD[,FIELD]: any lead "
        "attribute, channel, campaign, first_touch_channel.",
        show_default=False,
    ),
]


def _version(value: bool) -> None:
    if value:
        out.print(f"leadledger {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """leadledger: your lead funnel, on your own data and engine."""
