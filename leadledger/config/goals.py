"""Goals in ``leadledger.yaml``: finding the goal a day falls in, and saving a plan as one.

A goal is a saved plan (``leadledger plan ... --save NAME``): counts per stage over a period,
with the revenue, deal size, rates and budget it came from. Saving rewrites only the file's
``goals:`` key (comments and the rest of the file are kept) and checks the whole file first:
a goal that would make the project invalid is never written.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from leadledger.config.models import Goal, ProjectConfig
from leadledger.errors import ConfigError, GoalNotFound, InvalidArgument

__all__ = ["find_goal", "save_goal", "write_goals"]


def find_goal(cfg: ProjectConfig, name: str | None, day: dt.date) -> Goal:
    """The goal called ``name``, else the one goal whose period holds ``day``
    (``GoalNotFound`` when there is none, or more than one)."""
    goals = cfg.goals
    if name is not None:
        for g in goals:
            if g.name == name:
                return g
        raise GoalNotFound(
            f"no goal '{name}' in leadledger.yaml",
            hint=f"goals: {', '.join(g.name for g in goals)}"
            if goals
            else "save one with 'leadledger plan ... --save NAME'",
        )
    covering = [g for g in goals if g.start <= day <= g.end]
    if len(covering) == 1:
        return covering[0]
    if not covering:
        raise GoalNotFound(
            f"no goal covers {day.isoformat()}",
            hint="save one with 'leadledger plan ... --save NAME', or pass --goal NAME "
            "and --as-of a day inside it",
        )
    raise GoalNotFound(
        f"{len(covering)} goals cover {day.isoformat()}: " + ", ".join(g.name for g in covering),
        hint="pick one with --goal NAME",
    )


def save_goal(path: Path, entry: Mapping[str, Any], *, force: bool = False) -> Path:
    """Write ``entry`` (a goal as ``leadledger.yaml`` holds it: name, start, end, counts, …) into
    the config file ``path``'s ``goals``, replacing the goal of the same name only with
    ``force``; the new file is validated before it replaces the old one."""
    from leadledger.config.loader import load_config_data, validate_config

    name = str(entry["name"])
    data = load_config_data(path)
    goals = data.get("goals") if isinstance(data, dict) else None
    if goals is None:
        goals = []
    existing = [i for i, g in enumerate(goals) if isinstance(g, dict) and g.get("name") == name]
    if existing and not force:
        raise InvalidArgument(
            f"goal '{name}' already exists in {path}", hint="pass --force to replace it"
        )
    Goal.model_validate(dict(entry))
    new_goals = list(goals)
    if existing:
        new_goals[existing[0]] = dict(entry)
    else:
        new_goals.append(dict(entry))
    text = write_goals(path, new_goals)
    tmp = path.with_name(path.name + ".new")
    tmp.write_text(text, encoding="utf-8")
    cfg, issues = validate_config(tmp)
    errors = [i for i in issues if i.severity == "error"]
    if cfg is None or errors:
        tmp.unlink()
        raise ConfigError(
            f"saving goal '{name}' would make {path} invalid: "
            + (errors[0].render() if errors else "it no longer loads"),
            issues=errors,
        )
    tmp.replace(path)
    return path


def write_goals(path: Path, goals: Sequence[Any]) -> str:
    """The config text of ``path`` with ``goals:`` replaced, the rest of the file (comments)
    untouched."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    yaml = YAML()
    yaml.preserve_quotes = True
    with path.open(encoding="utf-8") as fh:
        doc = yaml.load(fh)
    seq = CommentedSeq()
    for g in goals:
        item = CommentedMap()
        for k, v in dict(g).items():
            if isinstance(v, dict):
                inner = CommentedMap(v)
                inner.fa.set_flow_style()
                item[k] = inner
            else:
                item[k] = v
        seq.append(item)
    doc["goals"] = seq
    buf = io.StringIO()
    yaml.dump(doc, buf)
    return buf.getvalue()
