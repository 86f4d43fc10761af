"""CLI commands made from the report registry: one command per registered report.

A command's options are its ``Params`` model's fields (flag, help, default and raw type from
the field, see :mod:`leadledger.reports.params`), plus ``--project`` and ``--format``. It
validates what it was given into the model, runs the report on the project (or without one,
when the parameters say they need none) and prints it. Nothing here knows a report by name:
a report with a ``cli=`` path in its registration gets its command.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer

from leadledger.reports.params import Params, flag_of, surface_of
from leadledger.reports.surfaces import raw_default, raw_type, with_signature

Handler = Callable[..., None]


def options(params: type[Params]) -> list[inspect.Parameter]:
    """One keyword parameter (a Typer option or argument) per field of ``params`` shown on the
    CLI, in the model's order (arguments first, as Typer wants them)."""
    out: list[inspect.Parameter] = []
    for name, field in params.model_fields.items():
        s = surface_of(field)
        if not s.cli:
            continue
        raw = raw_type(field.annotation, s.raw)
        required = field.is_required()
        default = ... if required else raw_default(field.default)
        help_text = field.description or ""
        if s.argument:
            show_arg = s.show_default if s.show_default is not None else True
            info: Any = typer.Argument(help=help_text, show_default=show_arg)
        else:
            flag = flag_of(name, field)
            decls = [flag, *([s.short] if s.short else [])]
            if s.negatable:
                decls = [f"{flag}/--no-{flag.removeprefix('--')}"]
            show = s.show_default if s.show_default is not None else default is not None
            info = typer.Option(*decls, help=help_text, show_default=show)
        out.append(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=inspect.Parameter.empty if required else default,
                annotation=Annotated[raw, info],
            )
        )
    out.sort(key=lambda p: p.default is not inspect.Parameter.empty)
    return out


def register(
    groups: dict[str, typer.Typer],
    path: tuple[str, ...],
    handler: Handler,
    parameters: Sequence[inspect.Parameter],
    doc: str,
) -> None:
    """Add ``handler`` as the command ``path`` (``("report", "stages")``) of its group."""
    *group, name = path
    app = groups[" ".join(group)]
    app.command(name)(with_signature(handler, parameters, doc))


def common(project: Any, fmt: Any) -> list[inspect.Parameter]:
    """``--project`` and ``--format`` (the annotated types of ``leadledger.cli.main``)."""
    kw = inspect.Parameter.KEYWORD_ONLY
    return [
        inspect.Parameter("project", kw, default=None, annotation=project),
        inspect.Parameter("fmt", kw, default="table", annotation=fmt),
    ]
