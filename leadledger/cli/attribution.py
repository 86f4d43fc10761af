"""CLI command: ``attribution`` (registered on the main app by leadledger.cli.main)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from leadledger.cli.main import (
    FormatOpt,
    FromOpt,
    LookbackOpt,
    ProjectOpt,
    ToOpt,
    _check_format,
    _workspace,
    app,
    busy,
)
from leadledger.cli.output import print_report


@app.command()
def attribution(
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="first_touch, last_touch, last_non_direct, linear, u_shaped, w_shaped, "
            "full_path, j_shaped, inverse_j, time_decay, markov or shapley "
            "(default: attribution.model).",
            show_default=False,
        ),
    ] = None,
    by: Annotated[
        str, typer.Option("--by", help="Credit channels or campaigns: channel or campaign.")
    ] = "channel",
    conversion: Annotated[
        str | None,
        typer.Option(
            "--conversion",
            help="The stage whose entry is the conversion (default: attribution.conversion).",
            show_default=False,
        ),
    ] = None,
    lookback: LookbackOpt = None,
    paths: Annotated[
        Path | None,
        typer.Option(
            "--paths",
            help="Aggregated journeys in ChannelAttribution's layout (path, total_conversions, "
            "total_conversion_value, total_null) instead of the ledger; needs no project.",
            show_default=False,
        ),
    ] = None,
    sep: Annotated[str, typer.Option("--sep", help="Column separator of the --paths file.")] = ";",
    compare: Annotated[
        bool, typer.Option("--compare", help="Every model side by side (credited conversions).")
    ] = False,
    value: Annotated[
        str,
        typer.Option(
            "--value", help="amount (won deals for customer, deals for opportunity) or count."
        ),
    ] = "amount",
    order: Annotated[
        int | None,
        typer.Option(
            "--order",
            help="Order of the markov model, 1–3 (default: attribution.markov_order).",
            show_default=False,
        ),
    ] = None,
    half_life: Annotated[
        float | None,
        typer.Option(
            "--half-life",
            help="Half-life of time_decay in days (default: attribution.half_life_days).",
            show_default=False,
        ),
    ] = None,
    project: ProjectOpt = None,
    fmt: FormatOpt = "table",
    start: FromOpt = None,
    end: ToOpt = None,
) -> None:
    """Multi-touch attribution: credit each conversion (entry into --conversion with its date in
    --from/--to) to the channels or campaigns of the lead's touches in the lookback window before
    it. Credits of every model sum to the converted value; conversions without a touch in the
    window are reported apart.

    Example: leadledger attribution --model markov --by channel --lookback 90d --format json
    """
    from leadledger.attribution_reports import attribution_report

    _check_format(fmt)
    params: dict[str, Any] = {
        "model": model,
        "by": by,
        "conversion": conversion,
        "lookback": lookback,
        "paths": paths,
        "sep": sep,
        "compare": compare,
        "start": start,
        "end": end,
        "value": value,
        "order": order,
        "half_life": half_life,
    }
    with busy("attributing", show=fmt == "table") as step:
        if paths is not None and project is None:
            report = attribution_report(None, progress=step, **params)
        else:
            with _workspace(project) as ws:
                report = attribution_report(ws, progress=step, **params)
    print_report(report, fmt)
