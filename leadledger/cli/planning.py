"""CLI commands of planning: ``plan`` (reverse funnel; ``--save NAME`` keeps it as a goal in
leadledger.yaml), ``pace`` and ``whatif``, made from the report registry."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Annotated, Any

import typer

from leadledger.cli.common import register_report
from leadledger.reports.registry import get

if TYPE_CHECKING:
    from leadledger.reports.context import Ctx
    from leadledger.reports.result import Report

#: ``plan``'s CLI-only options: saving a goal writes leadledger.yaml, which the API never does.
SAVE_OPTIONS = [
    inspect.Parameter(
        "save",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            str | None,
            typer.Option(
                "--save", help="Save the plan as goal NAME in leadledger.yaml.", show_default=False
            ),
        ],
    ),
    inspect.Parameter(
        "force",
        inspect.Parameter.KEYWORD_ONLY,
        default=False,
        annotation=Annotated[bool, typer.Option(help="Replace a saved goal of the same name.")],
    ),
]


def save_plan(report: Report, ctx: Ctx, extra: dict[str, Any]) -> Report:
    """``plan --save NAME [--force]``: the plan as goal NAME in the project's leadledger.yaml,
    while the project is open."""
    from leadledger.config import CONFIG_NAME
    from leadledger.config.goals import save_goal
    from leadledger.errors import ProjectNotFound
    from leadledger.reports.planning import goal_entry

    name = extra.get("save")
    if not name:
        return report
    if not ctx.has_project:
        raise ProjectNotFound("--save needs a project", hint="pass --project DIR")
    path = save_goal(
        ctx.project_dir / CONFIG_NAME, goal_entry(name, report), force=bool(extra.get("force"))
    )
    report.notes.append(f"saved as goal '{name}' in {path}")
    return report


register_report(get("plan"), extra=SAVE_OPTIONS, after=save_plan)
register_report(get("pace"))
register_report(get("whatif"))
