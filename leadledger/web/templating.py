"""The Jinja templates of the dashboard and the exported executive report.

The package's templates are in ``web/templates``; a project folder may hold a ``templates/``
folder whose files override the package's by name (``templates/executive_report.html`` for a
branded board report, ``templates/overview.html`` for a page of one's own).
"""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


@functools.lru_cache(maxsize=16)
def environment(project_dir: Path | None = None) -> jinja2.Environment:
    """The templates of ``project_dir/templates`` first, then the package's."""
    loaders: list[jinja2.BaseLoader] = []
    if project_dir is not None and (project_dir / "templates").is_dir():
        loaders.append(jinja2.FileSystemLoader(str(project_dir / "templates")))
    loaders.append(jinja2.FileSystemLoader(str(TEMPLATES)))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=False,
    )
