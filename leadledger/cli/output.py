"""Rendering reports for the terminal (table), and as JSON or CSV."""

from __future__ import annotations

import math
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from leadledger.report import Report, plain

FORMATS = ("table", "json", "csv")
PERCENT_SUFFIXES = (
    "rate",
    "ratio",
    "share",
    "quality",
    "change_per_working_day",
    "change_rel",
    "band_low",
    "band_high",
    "roi",
    "precision",
    "recall",
)


def is_percent(column: str) -> bool:
    return column.endswith(PERCENT_SUFFIXES)


def display(value: Any, column: str) -> str:
    """Round for display only."""
    value = plain(value)
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if is_percent(column):
            sign = "+" if column.startswith("change") and value > 0 else ""
            return f"{sign}{value * 100:.1f} %"
        if value.is_integer() and abs(value) < 1e15 and not column.endswith(("days", "day")):
            return f"{int(value):,}"
        return f"{value:,.2f}"
    return str(value)


#: Width of tables written to a file or a pipe (a terminal's own width is used when there is one).
PIPE_WIDTH = 140


def make_console(*, stderr: bool = False, soft_wrap: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else PIPE_WIDTH
    return Console(stderr=stderr, soft_wrap=soft_wrap, width=width)


def header(column: str) -> str:
    """Column names wrap at words in a narrow terminal: 'per working day', not 'per_worki ng'."""
    return column.replace("_", " ")


def print_report(report: Report, fmt: str, console: Console | None = None) -> None:
    if fmt == "json":
        sys.stdout.write(report.to_json() + "\n")
        return
    if fmt == "csv":
        sys.stdout.write(report.to_csv())
        return
    console = console or make_console()
    _print_table(console, report, report.title or report.name, report.frame, report.table_columns)
    for _key, (title, frame) in report.extra.items():
        _print_table(console, report, title, frame, None)
    for note in report.notes:
        console.print(f"[dim]· {note}[/dim]")


def _print_table(
    console: Console, report: Report, title: str, frame: Any, table_columns: list[str] | None
) -> None:
    table = Table(
        title=title,
        title_justify="left",
        show_lines=False,
        header_style="bold",
    )
    all_columns = list(frame.columns)
    columns = [c for c in (table_columns or all_columns) if c in all_columns]
    for col in columns:
        numeric = frame[col].dtype.kind in "iuf"
        table.add_column(
            header(col),
            justify="right" if numeric else "left",
            overflow="fold",
            no_wrap=not numeric,  # keys (period, stage, channel) stay on one line
        )
    for rec in frame.to_dict(orient="records"):
        table.add_row(*[display(rec[c], c) for c in columns])
    console.print(table)
    hidden = [c for c in all_columns if c not in columns]
    if hidden:
        console.print(f"[dim]· more columns with --format json or csv: {', '.join(hidden)}[/dim]")
    if frame.empty:
        console.print("[dim]no rows[/dim]")
