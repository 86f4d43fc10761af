"""What every command shares: the consoles, ``--project`` and ``--format``, the progress bar,
opening the project, and running a registered report from its command's options."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from leadledger.cli.output import FORMATS, make_console, print_report
from leadledger.errors import InvalidArgument

if TYPE_CHECKING:
    from leadledger.reports.context import Ctx
    from leadledger.reports.registry import ReportSpec
    from leadledger.reports.result import Report
    from leadledger.service import Workspace

err = make_console(stderr=True, soft_wrap=True)  # an error is one line, never wrapped
out = make_console()

ProjectOpt = Annotated[
    Path | None,
    typer.Option(
        "--project",
        "-p",
        help="Project folder (default: the nearest folder upward holding leadledger.yaml).",
        show_default=False,
    ),
]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")]


def workspace(project: Path | None) -> Workspace:
    from leadledger.service import Workspace

    return Workspace(project)


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidArgument(f"--format '{fmt}' is not one of {', '.join(FORMATS)}")
    return fmt


@contextlib.contextmanager
def busy(description: str, *, show: bool = True) -> Iterator[Callable[[str], None]]:
    """A transient progress bar on stderr while the engine works; yields a callback that names
    the current step. ``show=False`` (JSON or CSV output) keeps stderr quiet for pipes."""
    if not show:
        yield lambda _msg: None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)
        yield lambda msg: bar.update(task, description=msg)


#: The command groups by path ("" is the root, "report", "score", …): each command module adds
#: its own Typer group here, and the registered reports' commands are added to them.
GROUPS: dict[str, typer.Typer] = {}

#: ``after(report, ctx, extra)``: what a command does with the report before printing it (save
#: a plan as a goal, cut a long table), with its CLI-only options in ``extra``.
After = Callable[["Report", "Ctx", dict[str, Any]], "Report"]
#: ``show(report, fmt, extra)``: how a command prints its report in ``--format`` (default
#: ``print_report``), e.g. a terminal table cut to ``--limit`` rows or with its own rounding;
#: JSON and CSV stay whole.
Show = Callable[["Report", str, dict[str, Any]], None]


def compute(
    spec: ReportSpec[Any],
    project: Path | None,
    given: dict[str, Any],
    fmt: str,
    after: After | None = None,
) -> Report:
    """Validate ``given`` (the command's options) into the report's Params and run it: on the
    project (``--project``, else the one found upward), or on none when the parameters say
    they need none (``decay`` on given counts) or may go without (``plan``) and none is found.
    ``after`` runs while the project is open."""
    from leadledger.errors import ProjectNotFound
    from leadledger.reports.context import Ctx
    from leadledger.reports.surfaces import fields_of

    params = spec.params.model_validate(fields_of(spec.params, given))
    extra = {k: v for k, v in given.items() if k not in spec.params.model_fields}
    use = params.project_use()

    def finish(ctx: Ctx) -> Report:
        report = spec.run(ctx, params)
        return after(report, ctx, extra) if after is not None else report

    with busy(spec.name.replace("_", " "), show=fmt == "table") as step:
        if project is None and use == "none":
            return finish(Ctx(None, progress=step))
        if project is None and use == "optional":
            try:
                ws = workspace(None)
            except ProjectNotFound:
                return finish(Ctx(None, progress=step))
        else:
            ws = workspace(project)
        with ws:
            ctx = ws.ctx
            ctx.progress = step
            return finish(ctx)


def report_command(
    spec: ReportSpec[Any], after: After | None = None, show: Show | None = None
) -> Callable[..., None]:
    """The body of a registered report's command: compute it, print it in ``--format``."""

    def run(*, project: Path | None = None, fmt: str = "table", **given: Any) -> None:
        check_format(fmt)
        report = compute(spec, project, given, fmt, after)
        if show is None:
            print_report(report, fmt)
        else:
            show(report, fmt, {k: v for k, v in given.items() if k not in spec.params.model_fields})

    run.__name__ = spec.name
    return run


def register_report(
    spec: ReportSpec[Any],
    *,
    extra: Sequence[inspect.Parameter] = (),
    after: After | None = None,
    show: Show | None = None,
) -> None:
    """Add the command of a registered report to its group: its Params' options, ``--project``,
    ``--format`` and ``extra`` CLI-only options (handed to ``after`` and ``show``)."""
    from leadledger.cli import factory

    assert spec.cli is not None
    params = [*factory.options(spec.params), *extra, *factory.common(ProjectOpt, FormatOpt)]
    factory.register(GROUPS, spec.cli, report_command(spec, after, show), params, spec.help)
    REGISTERED.add(spec.name)


#: The reports whose command is registered (by a command module, with extras, or by
#: :func:`register_reports`).
REGISTERED: set[str] = set()


def register_reports() -> None:
    """The command of every registered report with a ``cli`` path not registered yet."""
    from leadledger.reports.registry import specs

    for spec in specs():
        if spec.cli is None or spec.name in REGISTERED:
            continue
        if " ".join(spec.cli[:-1]) not in GROUPS:
            raise RuntimeError(f"report {spec.name}: no command group '{spec.cli[0]}'")
        register_report(spec)
