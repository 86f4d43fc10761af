"""Load ``leadledger.yaml`` with line numbers, validate it, and report every problem at once."""

from __future__ import annotations

import dataclasses
import zoneinfo
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import holidays
from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from leadledger.config.models import ProjectConfig, SideState, Stage
from leadledger.errors import ConfigError, ProjectNotFound
from leadledger.suggest import did_you_mean

CONFIG_NAME = "leadledger.yaml"


#: Where in the file: the keys and list indexes from the top of the document down.
Loc = tuple[str | int, ...]


class AddIssue(Protocol):
    """The callback the rule functions report a problem through."""

    def __call__(
        self,
        code: str,
        message: str,
        path: Loc,
        severity: str = "error",
        hint: str | None = None,
    ) -> None: ...


@dataclasses.dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config file: ``message (at a -> b)``, with file and line."""

    code: str
    message: str
    path: Loc = ()
    line: int | None = None
    severity: str = "error"  # or "warning"
    hint: str | None = None
    file: str | None = None

    def location(self) -> str:
        where = self.file or CONFIG_NAME
        if self.line is not None:
            where += f":{self.line}"
        return where

    def render(self) -> str:
        at = " -> ".join(str(p) for p in self.path)
        text = f"{self.location()}: {self.severity}: {self.message}"
        if at:
            text += f" (at {at})"
        if self.hint:
            text += f"; {self.hint}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "path": list(self.path),
            "file": self.file,
            "line": self.line,
            "hint": self.hint,
        }


def find_project_dir(start: Path | None = None) -> Path:
    """The nearest folder upward from ``start`` (default: cwd) that holds leadledger.yaml."""
    here = (start or Path.cwd()).resolve()
    for folder in [here, *here.parents]:
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise ProjectNotFound(
        f"no {CONFIG_NAME} in {here} or any folder above it",
        hint="run 'leadledger init DIR' to create a project, or pass --project DIR",
    )


def _line_of(data: Any, path: Sequence[str | int]) -> int | None:
    """1-based line of the deepest node of ``path`` that exists in the ruamel tree."""
    node = data
    line: int | None = None
    for part in path:
        try:
            if isinstance(node, CommentedMap) and part in node:
                line = node.lc.key(part)[0] + 1
                node = node[part]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
                line = node.lc.item(part)[0] + 1
                node = node[part]
            else:
                break
        except (KeyError, AttributeError, TypeError):
            break
    return line


def _model_at(path: Sequence[str | int]) -> type[BaseModel] | None:
    """The pydantic model class that holds the last key of ``path``."""
    model: type[BaseModel] = ProjectConfig
    for part in path[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        annotation = field.annotation
        inner = getattr(annotation, "__args__", None)
        candidates = [annotation, *(inner or [])]
        found = None
        for cand in candidates:
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                found = cand
        if found is None:
            return None
        model = found
    return model


def _issues_from_validation(exc: ValidationError, data: Any, file: str) -> list[ConfigIssue]:
    issues = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        hint = None
        if err["type"] == "extra_forbidden" and loc:
            model = _model_at(loc)
            if model is not None:
                hint = did_you_mean(str(loc[-1]), model.model_fields)
                known = ", ".join(model.model_fields)
                hint = (hint + " " if hint else "") + f"known keys: {known}"
            message = f"unknown key '{loc[-1]}'"
        else:
            message = err["msg"].removeprefix("Value error, ")
        issues.append(
            ConfigIssue(
                code="config_" + str(err["type"]),
                message=message,
                path=loc,
                line=_line_of(data, loc),
                hint=hint,
                file=file,
            )
        )
    return issues


def _cross_rules(cfg: ProjectConfig, data: Any, file: str) -> list[ConfigIssue]:
    """Rules across objects; they return issues instead of raising."""
    issues: list[ConfigIssue] = []

    def add(
        code: str, message: str, path: Loc, severity: str = "error", hint: str | None = None
    ) -> None:
        issues.append(ConfigIssue(code, message, path, _line_of(data, path), severity, hint, file))

    groups: tuple[tuple[str, Sequence[Stage | SideState]], ...] = (
        ("stages", cfg.stages),
        ("side_states", cfg.side_states),
    )
    if len(cfg.stages) < 2:
        add("stages_too_few", "a funnel needs at least two ordered stages", ("stages",))
    seen: dict[str, Loc] = {}
    for kind, items in groups:
        for i, item in enumerate(items):
            if item.key in seen:
                add(
                    "stage_duplicate",
                    f"stage key '{item.key}' is defined twice",
                    (kind, i, "key"),
                    hint=f"first defined at {' -> '.join(map(str, seen[item.key]))}",
                )
            seen[item.key] = (kind, i)
    values: dict[str, str] = {}
    for kind, items in groups:
        for i, item in enumerate(items):
            for j, value in enumerate(item.source_values):
                folded = value.casefold()
                if folded in values and values[folded] != item.key:
                    add(
                        "stage_value_ambiguous",
                        f"source value '{value}' maps to both '{values[folded]}' and '{item.key}'",
                        (kind, i, "source_values", j),
                    )
                values[folded] = item.key
    try:
        zoneinfo.ZoneInfo(cfg.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zones = zoneinfo.available_timezones()
        add(
            "timezone_unknown",
            f"unknown time zone '{cfg.timezone}'",
            ("timezone",),
            hint=did_you_mean(cfg.timezone, zones) or "use an IANA name such as Europe/Madrid",
        )
    cal = cfg.calendar
    if cal.country:
        supported = holidays.list_supported_countries()
        if cal.country not in supported:
            add(
                "calendar_country_unknown",
                f"the holidays package has no calendar for country '{cal.country}'",
                ("calendar", "country"),
                hint=did_you_mean(cal.country, supported) or "use an ISO 3166-1 alpha-2 code",
            )
        elif cal.subdivision and cal.subdivision not in supported[cal.country]:
            add(
                "calendar_subdivision_unknown",
                f"country '{cal.country}' has no subdivision '{cal.subdivision}'",
                ("calendar", "subdivision"),
                hint=did_you_mean(cal.subdivision, supported[cal.country])
                or f"valid: {', '.join(supported[cal.country][:30])}",
            )
    elif cal.subdivision:
        add(
            "calendar_subdivision_without_country",
            "subdivision needs a country",
            ("calendar", "subdivision"),
        )
    if not cal.working_weekdays:
        add(
            "calendar_no_working_days",
            "working_weekdays is empty",
            ("calendar", "working_weekdays"),
        )
    if cal.business_hours[0] >= cal.business_hours[1]:
        add(
            "calendar_business_hours",
            "business_hours must start before they end",
            ("calendar", "business_hours"),
        )
    ch_seen: dict[str, str] = {}
    ch_keys: set[str] = set()
    for i, ch in enumerate(cfg.channels):
        if ch.key in ch_keys:
            add("channel_duplicate", f"channel '{ch.key}' is defined twice", ("channels", i, "key"))
        ch_keys.add(ch.key)
        for j, value in enumerate(ch.source_values):
            folded = value.casefold()
            if folded in ch_seen and ch_seen[folded] != ch.key:
                add(
                    "channel_value_ambiguous",
                    f"source value '{value}' maps to both '{ch_seen[folded]}' and '{ch.key}'",
                    ("channels", i, "source_values", j),
                )
            ch_seen[folded] = ch.key
    if not cfg.channels:
        add(
            "channels_missing",
            "no channels configured: every lead's channel counts as unknown for the "
            "marketing-sourced share",
            ("channels",),
            severity="warning",
        )
    if len(set(cfg.attributes)) != len(cfg.attributes):
        add("attribute_duplicate", "an attribute is listed twice", ("attributes",))
    _planning_rules(cfg, add, decay_given=isinstance(data, dict) and "decay" in data)
    given_deals = data.get("deal_stages") if isinstance(data, dict) else None
    _deal_rules(cfg, add, given=given_deals if isinstance(given_deals, dict) else {})
    _scoring_rules(cfg, add)
    given = data.get("attribution") if isinstance(data, dict) else None
    _money_rules(cfg, add, conversion_given=isinstance(given, dict) and "conversion" in given)
    engine = cfg.engine
    if not (
        engine.startswith(("duckdb://", "postgres://", "postgresql://"))
        or engine.endswith((".duckdb", ".db"))
    ):
        add(
            "engine_unsupported",
            f"engine URL '{engine}' is not supported",
            ("engine",),
            hint="use duckdb:///file.duckdb (default) or postgres://user@host:port/db",
        )
    return issues


def _planning_rules(cfg: ProjectConfig, add: AddIssue, *, decay_given: bool) -> None:
    """Cross-object rules of SLAs, decay, goals and experiments (they report through ``add``)."""
    stages = cfg.stage_keys
    fields = cfg.breakdown_fields

    def stage(value: str, path: Loc, extra: Sequence[str] = ()) -> None:
        valid = [*extra, *stages]
        if value not in valid:
            add(
                "stage_unknown",
                f"'{value}' is not a funnel stage",
                path,
                hint=did_you_mean(value, valid) or f"stages: {', '.join(valid)}",
            )

    def where(filters: dict[str, list[str]], path: Loc) -> None:
        for name in filters:
            if name not in fields:
                add(
                    "field_unknown",
                    f"'{name}' is not a lead field",
                    (*path, name),
                    hint=did_you_mean(name, fields) or f"fields: {', '.join(fields)}",
                )

    def unique(items: Sequence[Any], section: str, attr: str = "name") -> None:
        seen: set[str] = set()
        for i, item in enumerate(items):
            key = getattr(item, attr)
            if key in seen:
                add(f"{section}_duplicate", f"{section} '{key}' is defined twice", (section, i))
            seen.add(key)

    unique(cfg.slas, "slas")
    for i, sla in enumerate(cfg.slas):
        stage(sla.start, ("slas", i, "start"))
        if sla.until != "sales_touch":
            stage(sla.until, ("slas", i, "until"), extra=["sales_touch"])
            if (
                sla.until in stages
                and sla.start in stages
                and (stages.index(sla.until) <= stages.index(sla.start))
            ):
                add(
                    "sla_order",
                    f"SLA '{sla.name}': until '{sla.until}' must come after start '{sla.start}'",
                    ("slas", i, "until"),
                )
        where(sla.where, ("slas", i, "where"))
    if (
        cfg.slas
        and not cfg.sales_touch_kinds
        and not cfg.activities.response_kinds
        and any(s.until == "sales_touch" for s in cfg.slas)
    ):
        add(
            "sales_touch_kinds_empty",
            "SLAs wait for a sales touch but sales_touch_kinds and activities.response_kinds "
            "are both empty",
            ("sales_touch_kinds",),
        )
    d = cfg.decay
    if decay_given:  # the defaults name sql and customer; a funnel without them needs no decay
        stage(d.stage, ("decay", "stage"))
        stage(d.won_stage, ("decay", "won_stage"))
    if (
        d.stage in stages
        and d.won_stage in stages
        and (stages.index(d.won_stage) <= stages.index(d.stage))
    ):
        add(
            "decay_order",
            f"decay: won_stage '{d.won_stage}' must come after stage '{d.stage}'",
            ("decay", "won_stage"),
        )
    if not d.buckets or any(b <= 0 for b in d.buckets) or sorted(set(d.buckets)) != d.buckets:
        add(
            "decay_buckets",
            "decay buckets must be positive business days in ascending order",
            ("decay", "buckets"),
        )
    for i, limit in enumerate(d.limits):
        where(limit.where, ("decay", "limits", i, "where"))
    unique(cfg.goals, "goals")
    channels = {c.key for c in cfg.channels}
    for i, goal in enumerate(cfg.goals):
        if goal.end < goal.start:
            add("goal_dates", f"goal '{goal.name}' ends before it starts", ("goals", i, "end"))
        for key, count in goal.counts.items():
            stage(key, ("goals", i, "counts", key), extra=["visitor"])
            if count < 0:
                add(
                    "goal_negative",
                    f"goal '{goal.name}': {key} is negative",
                    ("goals", i, "counts", key),
                )
        if goal.channel and channels and goal.channel not in channels:
            add(
                "goal_channel_unknown",
                f"goal '{goal.name}': channel '{goal.channel}' is not configured",
                ("goals", i, "channel"),
                severity="warning",
                hint=did_you_mean(goal.channel, channels),
            )
    unique(cfg.experiments, "experiments")
    for i, exp in enumerate(cfg.experiments):
        stage(exp.stage, ("experiments", i, "stage"))
        if exp.start and exp.end and exp.end < exp.start:
            add(
                "experiment_dates",
                f"experiment '{exp.name}' ends before it starts",
                ("experiments", i, "end"),
            )
        where(exp.where, ("experiments", i, "where"))


def _deal_rules(cfg: ProjectConfig, add: AddIssue, *, given: dict[str, Any]) -> None:
    """``deal_stages``: the stages a deal enters must exist (the defaults, opportunity, customer
    and lost, are checked only when written: a funnel without them is valid and deals then enter
    no stage there); deal stage keys and source values are unique."""
    ds = cfg.deal_stages
    targets = (
        ("created", ds.created, cfg.stage_keys),
        ("won", ds.won, cfg.stage_keys),
        ("lost", ds.lost, cfg.side_state_keys),
    )
    for name, value, valid in targets:
        if value is None or name not in given or value in valid:
            continue
        what = "funnel stage" if name != "lost" else "side state"
        add(
            "deal_stage_target_unknown",
            f"deal_stages.{name} '{value}' is not a {what}",
            ("deal_stages", name),
            hint=did_you_mean(value, valid) or f"{what}s: {', '.join(valid)}",
        )
    keys: set[str] = set()
    values: dict[str, str] = {}
    for i, st in enumerate(ds.stages):
        if st.key in keys:
            add(
                "deal_stage_duplicate",
                f"deal stage '{st.key}' is defined twice",
                ("deal_stages", "stages", i, "key"),
            )
        keys.add(st.key)
        for j, value in enumerate([st.key, *st.source_values]):
            folded = value.casefold()
            if folded in values and values[folded] != st.key:
                add(
                    "deal_stage_value_ambiguous",
                    f"deal stage value '{value}' maps to both '{values[folded]}' and '{st.key}'",
                    ("deal_stages", "stages", i, "source_values", max(j - 1, 0)),
                )
            values[folded] = st.key


def _money_rules(cfg: ProjectConfig, add: AddIssue, *, conversion_given: bool) -> None:
    """The ``attribution`` and ``costs`` sections name stages, models and channels. The default
    conversion stage (customer) is checked only when written: a funnel without it is valid, and
    the attribution reports say what is missing when they run."""
    from leadledger.attribution import model_names  # the registry; imported late (no cycle)

    att = cfg.attribution
    if conversion_given and att.conversion not in cfg.stage_keys:
        add(
            "attribution_stage_unknown",
            f"attribution.conversion '{att.conversion}' is not a stage",
            ("attribution", "conversion"),
            hint=did_you_mean(att.conversion, cfg.stage_keys)
            or f"stages: {', '.join(cfg.stage_keys)}",
        )
    names = model_names()
    if att.model not in names:
        add(
            "attribution_model_unknown",
            f"attribution.model '{att.model}' is not an attribution model",
            ("attribution", "model"),
            hint=did_you_mean(att.model, names) or f"models: {', '.join(names)}",
        )
    channels = [c.key for c in cfg.channels]
    if channels:
        for i, ch in enumerate(att.direct_channels):
            if ch not in channels:
                add(
                    "attribution_channel_unknown",
                    f"attribution.direct_channels names '{ch}', which is not a configured channel",
                    ("attribution", "direct_channels", i),
                    severity="warning",
                    hint=did_you_mean(ch, channels) or f"channels: {', '.join(channels)}",
                )
    if cfg.costs.campaign_personas and "persona" not in cfg.attributes:
        add(
            "costs_persona_attribute_missing",
            "costs.campaign_personas maps campaigns to personas, but 'persona' is not among "
            "the lead attributes",
            ("costs", "campaign_personas"),
            hint="add persona to attributes, or remove campaign_personas",
        )


def _scoring_rules(cfg: ProjectConfig, add: AddIssue) -> None:
    """Cross-object rules of ``scoring``: fields, operators, stages, groups, names, bands."""
    from leadledger.config.models import CORE_LEAD_FIELDS, SCORING_OPS, Pattern

    sc = cfg.scoring
    fields = [f for f in CORE_LEAD_FIELDS if f not in ("lead_id", "created_at")] + list(
        cfg.attributes
    )
    if sc.mql_stage not in cfg.stage_keys:
        add(
            "stage_unknown",
            f"'{sc.mql_stage}' is not a funnel stage",
            ("scoring", "mql_stage"),
            hint=did_you_mean(sc.mql_stage, cfg.stage_keys)
            or f"stages: {', '.join(cfg.stage_keys)}",
        )
    if sc.below_threshold == "recycled" and "recycled" not in cfg.side_state_keys:
        add(
            "scoring_recycled_state_missing",
            "below_threshold: recycled needs a 'recycled' side state",
            ("scoring", "below_threshold"),
            hint="add it under side_states, or use below_threshold: stay",
        )
    seen: dict[str, Loc] = {}
    groups = [g.name for g in sc.groups]
    for gi, group in enumerate(sc.groups):
        gpath: Loc = ("scoring", "groups", gi)
        if groups.count(group.name) > 1 and groups.index(group.name) != gi:
            add(
                "scoring_group_duplicate",
                f"scoring group '{group.name}' is defined twice",
                (*gpath, "name"),
            )
        if group.cap is not None and group.floor is not None and group.floor > group.cap:
            add(
                "scoring_cap_below_floor",
                f"group '{group.name}': floor {group.floor:g} is above cap {group.cap:g}",
                (*gpath, "floor"),
            )
        for ri, rule in enumerate(group.rules):
            path: Loc = (*gpath, "rules", ri)
            if rule.name in seen:
                add(
                    "scoring_rule_duplicate",
                    f"scoring rule '{rule.name}' is defined twice",
                    (*path, "name"),
                    hint=f"first defined at {' -> '.join(map(str, seen[rule.name]))}; rule "
                    "names are unique across groups",
                )
            seen.setdefault(rule.name, path)
            if rule.lead is None and rule.touch is None:
                add(
                    "scoring_rule_empty",
                    f"rule '{rule.name}' has neither a lead condition nor a touch filter",
                    path,
                    hint="add lead: {field, op, value} or touch: {kind: [...], ...}",
                )
            if rule.touch is None:
                extras = [
                    k
                    for k in ("count", "half_life_days", "expire_after_days")
                    if getattr(rule, k) is not None
                ]
                if rule.per == "occurrence":
                    extras.append("per")
                for key in extras:
                    add(
                        "scoring_touch_option_without_touch",
                        f"rule '{rule.name}': '{key}' applies to touch rules only",
                        (*path, key),
                    )
            if rule.points == 0:
                add(
                    "scoring_zero_points",
                    f"rule '{rule.name}' gives 0 points",
                    (*path, "points"),
                    severity="warning",
                )
            c = rule.lead
            if c is not None:
                cpath = (*path, "lead")
                if c.field not in fields:
                    add(
                        "field_unknown",
                        f"'{c.field}' is not a lead field",
                        (*cpath, "field"),
                        hint=did_you_mean(c.field, fields) or f"fields: {', '.join(fields)}",
                    )
                if c.op not in SCORING_OPS:
                    add(
                        "scoring_operator_unknown",
                        f"unknown operator '{c.op}'",
                        (*cpath, "op"),
                        hint=did_you_mean(c.op, SCORING_OPS)
                        or f"operators: {', '.join(SCORING_OPS)}",
                    )
                elif c.op == "range":
                    if c.min is None and c.max is None:
                        add(
                            "scoring_range_empty",
                            f"rule '{rule.name}': range needs min and/or max",
                            (*cpath, "op"),
                        )
                    elif c.min is not None and c.max is not None and c.min >= c.max:
                        add(
                            "scoring_range_empty",
                            f"rule '{rule.name}': range min {c.min:g} is not below max {c.max:g}",
                            (*cpath, "max"),
                        )
                elif c.op in ("missing", "present"):
                    pass
                elif c.value is None or c.value == []:
                    add(
                        "scoring_value_missing",
                        f"rule '{rule.name}': operator '{c.op}' needs a value",
                        (*cpath, "op"),
                    )
                elif c.op in ("regex", "not_regex"):
                    _check_regex(add, str(c.value), (*cpath, "value"))
            if rule.touch is not None:
                for name in ("kind", "channel", "campaign", "page"):
                    spec = getattr(rule.touch, name)
                    if isinstance(spec, Pattern):
                        _check_regex(add, spec.regex, (*path, "touch", name, "regex"))
    for kind in ("fit", "engagement"):
        scale = getattr(sc.grades, kind)
        if scale is None:
            continue
        gpath = ("scoring", "grades", kind)
        if scale.group not in groups:
            add(
                "scoring_group_unknown",
                f"grades.{kind}: '{scale.group}' is not a scoring group",
                (*gpath, "group"),
                hint=did_you_mean(scale.group, groups) or f"groups: {', '.join(groups) or '-'}",
            )
        if len(scale.bands) != 3 or sorted(scale.bands, reverse=True) != scale.bands:
            add(
                "scoring_grade_bands",
                f"grades.{kind}: bands must be three descending lower bounds, e.g. [40, 25, 10]",
                (*gpath, "bands"),
            )


#: Regular-expression syntax that DuckDB (RE2) and PostgreSQL (ARE) read differently or not at
#: all: (pattern that finds it, what to call it).
REGEX_UNPORTABLE = (
    (r"\\[bB]", "a word boundary (RE2) that PostgreSQL reads as a backspace"),
    (r"\\[yYmMAzZ]", "an escape only one of the engines knows"),
    (r"\\[pP]\{", "Unicode classes"),
    (r"\(\?<?[=!]", "look-around"),
    (r"\(\?P?<\w", "named groups"),
    (r"\\[1-9]", "back-references"),
)


def _check_regex(add: AddIssue, pattern: str, path: Loc) -> None:
    import re

    try:
        re.compile(pattern)
    except re.error as exc:
        add("scoring_regex_invalid", f"invalid regular expression '{pattern}': {exc}", path)
        return
    problems = [what for probe, what in REGEX_UNPORTABLE if re.search(probe, pattern)]
    flags = [m.start() for m in re.finditer(r"\(\?[^:)]", pattern)]
    if any(pos != 0 or not pattern.startswith("(?i)") for pos in flags) and not problems:
        problems.append("an inline flag other than (?i) at the very start")
    if problems:
        add(
            "scoring_regex_unportable",
            f"'{pattern}' uses {problems[0]}: DuckDB and PostgreSQL do not read it alike",
            path,
            hint="see docs/scoring.md for the regular expressions both engines share",
        )


def scoring_rule_paths(path: Path) -> dict[str, tuple[Loc, int | None]]:
    """Scoring rule name → (its path in the file, its line), for warnings about rules."""
    try:
        data = load_config_data(path)
    except ConfigError:
        return {}
    out: dict[str, tuple[Loc, int | None]] = {}
    scoring = data.get("scoring") if isinstance(data, dict) else None
    groups = scoring.get("groups") if isinstance(scoring, dict) else None
    for gi, group in enumerate(groups or []):
        for ri, rule in enumerate((group or {}).get("rules") or []):
            if isinstance(rule, dict) and "name" in rule:
                p: Loc = ("scoring", "groups", gi, "rules", ri)
                out[str(rule["name"])] = (p, _line_of(data, p))
    return out


def load_config_data(path: Path) -> Any:
    yaml = YAML(typ="rt")
    # dates stay text for pydantic to parse: an impossible date (2025-13-40) must be an issue
    # with a line number, not a crash inside the YAML parser
    yaml.constructor.add_constructor(
        "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
    )
    try:
        with path.open(encoding="utf-8") as fh:
            data = yaml.load(fh)
    except FileNotFoundError as exc:
        raise ProjectNotFound(f"{path} does not exist") from exc
    except MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        issue = ConfigIssue("yaml_syntax", str(exc.problem), line=line, file=str(path))
        raise ConfigError(issue.render(), issues=[issue]) from exc
    return data if data is not None else CommentedMap()


def validate_config(path: Path) -> tuple[ProjectConfig | None, list[ConfigIssue]]:
    """Every problem in the file at once; the config is None when it has errors."""
    file = str(path)
    try:
        data = load_config_data(path)
    except ConfigError as exc:
        return None, list(exc.issues)
    if not isinstance(data, dict):
        return None, [ConfigIssue("config_not_mapping", "the file must hold a mapping", file=file)]
    plain = _plain(data)
    issues: list[ConfigIssue] = []
    cfg: ProjectConfig | None = None
    # Structural errors do not hide the cross-object rules: drop what failed and validate the
    # rest again, so one run reports every problem of the file.
    for _ in range(10):
        try:
            cfg = ProjectConfig.model_validate(plain)
            break
        except ValidationError as exc:
            found = _issues_from_validation(exc, data, file)
            issues.extend(found)
            if not _drop_paths(plain, [i.path for i in found]):
                break
    if cfg is not None:
        issues.extend(_cross_rules(cfg, data, file))
    issues = _unique_sorted(issues)
    if any(i.severity == "error" for i in issues):
        return None, issues
    return cfg, issues


def _drop_paths(data: Any, paths: list[Loc]) -> bool:
    """Remove the value at each path (its parent key or list item); True when anything went."""
    dropped = False
    # deepest and last items first, so list indexes stay valid while deleting
    for path in sorted(paths, key=lambda p: [str(x).zfill(8) for x in p], reverse=True):
        node = data
        for part in path[:-1]:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                node = None
                break
        last = path[-1] if path else None
        in_dict = isinstance(node, dict) and last in node
        in_list = isinstance(node, list) and isinstance(last, int) and last < len(node)
        if in_dict or in_list:
            del node[last]
            dropped = True
    return dropped


def _unique_sorted(issues: list[ConfigIssue]) -> list[ConfigIssue]:
    seen: set[tuple[str, Loc, str]] = set()
    out = []
    for issue in issues:
        key = (issue.code, issue.path, issue.message)
        if key not in seen:
            seen.add(key)
            out.append(issue)
    return sorted(out, key=lambda i: (i.line is None, i.line or 0))


def load_config(path: Path) -> ProjectConfig:
    cfg, issues = validate_config(path)
    errors = [i for i in issues if i.severity == "error"]
    if cfg is None or errors:
        first = errors[0].render() if errors else "invalid configuration"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(
            first + more, issues=issues, hint="run 'leadledger validate' to see every problem"
        )
    return cfg


def _plain(node: Any) -> Any:
    """ruamel's commented containers → plain dicts/lists (pydantic prefers them)."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node
