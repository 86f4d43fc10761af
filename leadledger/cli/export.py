"""CLI command group ``export``: ``export report`` writes the executive report (seed 000's six
keys and the ROI) as one self-contained HTML file or a PDF (registered on leadledger.cli.app)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from leadledger.cli.app import FromOpt, PeriodOpt, ToOpt, app
from leadledger.cli.common import ProjectOpt, busy, out
from leadledger.cli.common import workspace as _workspace
from leadledger.errors import InvalidArgument

export_app = typer.Typer(
    help="Export reports as files: the executive report as HTML or PDF.", no_args_is_help=True
)
app.add_typer(export_app, name="export")

EXPORT_FORMATS = ("html", "pdf", "json")


@export_app.command("report")
def export_report(
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="html (one self-contained file), pdf (printed by headless Chromium) or json "
            "(the numbers, to stdout).",
        ),
    ] = "html",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="File to write (default: executive-report.html or .pdf in this folder).",
            show_default=False,
        ),
    ] = None,
    project: ProjectOpt = None,
    start: FromOpt = None,
    end: ToOpt = None,
    period: PeriodOpt = "month",
) -> None:
    """The executive report for the C-suite: traffic, leads per working day, customers from
    marketing, MQLs by persona, lead-to-customer conversion, the lead goal's pace and the ROI,
    on one printable page with its charts. Works offline: no script, no link to fetch.

    Example: leadledger export report --format pdf --output board.pdf --from 2026-01-01
    """
    if fmt not in EXPORT_FORMATS:
        raise InvalidArgument(f"--format '{fmt}' is not one of {', '.join(EXPORT_FORMATS)}")
    from leadledger.reports.executive import ExecutiveParams
    from leadledger.web import executive

    with _workspace(project) as ws, busy("assembling the report", show=fmt != "json"):
        report = ws.run(ExecutiveParams(start=start, end=end, period=period))
        project_name, currency, folder = ws.cfg.name, ws.cfg.currency, ws.project_dir
    if fmt == "json":
        sys.stdout.write(report.to_json() + "\n")
        return
    html = executive.document(report, project=project_name, currency=currency, project_dir=folder)
    target = output or Path(f"executive-report.{fmt}")
    if fmt == "html":
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
    else:
        with busy("printing the PDF"):
            executive.to_pdf(html, target)
    out.print(f"wrote {target} ({report.params['from']} to {report.params['to']})")
