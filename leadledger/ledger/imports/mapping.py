"""Import mappings: rename columns, parse dates with given formats, map values, set constants,
and turn one-row-per-lead exports into stage events. Presets are mappings shipped with the package
(``leadledger/ledger/imports/presets/*.yaml``); the format is documented in ``docs/import.md``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from leadledger.errors import MappingError
from leadledger.suggest import did_you_mean


class Mapping(BaseModel):
    """How the columns of a source file become ledger fields."""

    model_config = ConfigDict(extra="forbid")

    kind: str | None = None
    description: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    #: Decimal and thousands separators of numbers in the file.
    decimal: str = "."
    thousands: str | None = None
    #: target field → source column, or a list of alternative columns (the first one the file
    #: has is used: an export names a column by its API name or by its label).
    columns: dict[str, list[str]] = Field(default_factory=dict)
    #: Whether a mapped column the file lacks is skipped (presets: an export holds only the
    #: columns someone picked) instead of being an error (a typo in a mapping file).
    skip_missing_columns: bool = False
    #: target field → strptime formats tried in order; ``ISO8601`` stands for ISO 8601 with or
    #: without an offset (``2024-03-05 14:22``, ``2024-03-05T14:22:10.000Z``). Default: ISO 8601.
    dates: dict[str, list[str]] = Field(default_factory=dict)
    #: time zone of timestamps without an offset (default: the project's)
    timezone: str | None = None
    #: target field → {source value: value}; matched exactly, then ignoring case
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    #: target field → constant for every row
    constants: dict[str, str] = Field(default_factory=dict)
    #: fields whose alternative ``columns`` are all read: per row, the first non-empty one (an
    #: Activities report with a Lead ID and a Contact ID column; HubSpot's Call outcome and
    #: Meeting outcome). The columns after the first stay in ``properties`` too.
    coalesce: list[str] = Field(default_factory=list)
    #: target field → separators: a cell holding several values (HubSpot's ``11440;70238``) gives
    #: the field its first value; the whole cell is kept in ``properties`` under its column's name
    #: (kinds with properties).
    split: dict[str, list[str]] = Field(default_factory=dict)
    #: stage key → column (or columns) holding the date the lead entered it (one-row-per-lead
    #: exports); each dated cell becomes a stage event.
    stage_columns: dict[str, list[str]] = Field(default_factory=dict)
    #: formats of the stage columns (default: those of created_at, else ISO 8601)
    stage_dates: list[str] = Field(default_factory=list)
    name: str | None = None

    @field_validator("columns", "stage_columns", "dates", "split", mode="before")
    @classmethod
    def _lists(cls, value: object) -> object:
        """``{field: one}`` is short for ``{field: [one]}`` in every section of lists."""
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("stage_dates", mode="before")
    @classmethod
    def _stage_dates(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("constants", mode="before")
    @classmethod
    def _constants(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: str(v) for k, v in value.items()}
        return value

    @field_validator("values", mode="before")
    @classmethod
    def _values(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: {str(a): str(b) for a, b in (v or {}).items()} for k, v in value.items()}
        return value


def presets() -> dict[str, Path]:
    folder = files("leadledger.ledger.imports") / "presets"
    return {
        p.name.removesuffix(".yaml"): Path(str(p))
        for p in folder.iterdir()
        if p.name.endswith(".yaml")
    }


def load_mapping(path: Path | None = None, preset: str | None = None) -> Mapping:
    """A mapping from a file, a preset, or both (the file's keys override the preset's)."""
    data: dict[str, Any] = {}
    if preset:
        available = presets()
        if preset not in available:
            hint = did_you_mean(preset, available) or f"presets: {', '.join(sorted(available))}"
            raise MappingError(f"unknown preset '{preset}'", hint=hint)
        data.update(_read_yaml(available[preset]))
        data.setdefault("name", preset)
    if path:
        own = _read_yaml(path)
        for key, value in own.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                merged = {**data[key], **value}
                if key == "values":  # value maps merge per field, not replace each other
                    for field, vmap in value.items():
                        base = data[key].get(field)
                        if isinstance(base, dict) and isinstance(vmap, dict):
                            merged[field] = {**base, **vmap}
                data[key] = merged
            else:
                data[key] = value
        data["name"] = str(path) if not preset else f"{preset}+{path.name}"
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = " -> ".join(str(p) for p in err["loc"])
            msg = str(err["msg"])
            if err["type"] == "extra_forbidden":
                msg = f"unknown key '{err['loc'][-1]}'"
                suggestion = did_you_mean(str(err["loc"][-1]), Mapping.model_fields)
                if suggestion:
                    msg += f" ({suggestion})"
            problems.append(f"{msg} (at {loc})")
        where = path or preset
        raise MappingError(
            f"mapping {where}: " + "; ".join(problems),
            hint="see docs/import.md for the mapping format",
        ) from exc


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        with Path(path).open(encoding="utf-8") as fh:
            data = YAML(typ="safe").load(fh)
    except FileNotFoundError as exc:
        raise MappingError(f"mapping file {path} does not exist") from exc
    except MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else "?"
        raise MappingError(f"{path}:{line}: {exc.problem}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MappingError(f"{path}: a mapping file must hold a mapping of keys")
    return data
