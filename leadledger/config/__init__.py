"""Project configuration: models, loading with line numbers, validation."""

from leadledger.config.loader import (
    CONFIG_NAME,
    ConfigIssue,
    find_project_dir,
    load_config,
    validate_config,
)
from leadledger.config.models import BANDS, CORE_LEAD_FIELDS, ProjectConfig, SideState, Stage

__all__ = [
    "BANDS",
    "CONFIG_NAME",
    "CORE_LEAD_FIELDS",
    "ConfigIssue",
    "ProjectConfig",
    "SideState",
    "Stage",
    "find_project_dir",
    "load_config",
    "validate_config",
]


def default_config_text() -> str:
    from importlib.resources import files

    return (files("leadledger.config") / "default.yaml").read_text(encoding="utf-8")
