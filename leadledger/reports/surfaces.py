"""What every surface (the CLI, the API) makes of a report's ``Params`` model: the raw type and
default of a field, and a function whose signature is a list of parameters (Typer and FastAPI
read a function's signature to build a command or a route)."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

from leadledger.reports.params import Params


def raw_type(annotation: Any, raw: Any) -> Any:
    """The type a surface takes for a field: its declared raw type, else the field's own
    annotation without its metadata."""
    if raw is not None:
        return raw
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def raw_default(value: Any) -> Any:
    """A field's default as the CLI shows it: tuples (an empty breakdown) are "not given";
    durations and instants as they were written."""
    if isinstance(value, tuple | list | frozenset):
        return None if not value else list(value)
    if value is None or isinstance(value, str | int | float | bool | Path):
        return value
    return str(value)


def with_signature(
    fn: Callable[..., Any], parameters: Sequence[inspect.Parameter], doc: str
) -> Callable[..., Any]:
    """``fn(**kwargs)`` as a function Typer reads: ``parameters`` as its signature."""

    def command(**kwargs: Any) -> Any:
        return fn(**kwargs)

    command.__signature__ = inspect.Signature(list(parameters))  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__doc__ = doc
    command.__name__ = fn.__name__
    return command


def fields_of(params: type[Params], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments that are fields of ``params`` (the rest are the CLI's own)."""
    return {k: v for k, v in kwargs.items() if k in params.model_fields}
