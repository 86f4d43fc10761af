"""Rendering reports for the terminal (table), and as JSON or CSV."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from leadledger.formatting import PERCENT_SUFFIXES, display, display_cell, is_percent
from leadledger.reports.result import Report

FORMATS = ("table", "json", "csv")
__all__ = ["FORMATS", "PERCENT_SUFFIXES", "display", "is_percent", "print_report"]

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
        table.add_row(*[display_cell(rec, c) for c in columns])
    console.print(table)
    hidden = [c for c in all_columns if c not in columns]
    if hidden:
        console.print(f"[dim]· more columns with --format json or csv: {', '.join(hidden)}[/dim]")
    if frame.empty:
        console.print("[dim]no rows[/dim]")
