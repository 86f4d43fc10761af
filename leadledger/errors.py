"""Typed errors. Every error has a stable snake_case ``code`` and an optional ``hint``.

Surfaces (CLI, API) print ``code: message`` plus the hint and exit non-zero; they never show a
traceback for a user mistake.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leadledger.config.loader import ConfigIssue


class LeadledgerError(Exception):
    """Base class of every error leadledger raises on purpose."""

    code = "leadledger_error"
    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ProjectNotFound(LeadledgerError):
    code = "project_not_found"


class ProjectExists(LeadledgerError):
    code = "project_exists"


class ConfigError(LeadledgerError):
    """The project configuration is invalid; ``issues`` lists every problem found."""

    code = "config_invalid"

    def __init__(
        self, message: str, *, issues: list[ConfigIssue] | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.issues = issues or []


class MappingError(LeadledgerError):
    code = "mapping_invalid"


class ImportFileError(LeadledgerError):
    """A file cannot be read at all (missing, unknown format, undecodable)."""

    code = "import_file_unreadable"


class RejectedRows(LeadledgerError):
    """Rows were rejected and quarantined; raised after the import when not allowed."""

    code = "import_rows_rejected"


class UnknownField(LeadledgerError):
    code = "unknown_field"


class UnknownStage(LeadledgerError):
    code = "unknown_stage"


class InvalidArgument(LeadledgerError):
    code = "invalid_argument"


class EngineError(LeadledgerError):
    code = "engine_error"


class GoalNotFound(LeadledgerError):
    code = "goal_not_found"


class ExperimentNotFound(LeadledgerError):
    code = "experiment_not_found"


class NotEnoughHistory(LeadledgerError):
    """A rate or value must be measured from the ledger, and the ledger holds too little."""

    code = "not_enough_history"


class WebhookFailed(LeadledgerError):
    """The webhook did not accept the alerts after every retry."""

    code = "webhook_failed"


class LeadNotFound(LeadledgerError):
    """A lead id named on the command line is not in the ledger."""

    code = "lead_not_found"


class ModelNotTrained(LeadledgerError):
    """A predictive score is asked for before `leadledger model train` saved a model."""

    code = "model_not_trained"


class UnknownModel(LeadledgerError):
    """An attribution model name that is not in the registry."""

    code = "unknown_model"


class ModelMismatch(LeadledgerError):
    """A saved predictive model does not fit the current project (fields, stages, features)."""

    code = "model_mismatch"


class ScoringNotConfigured(LeadledgerError):
    """A scoring command runs on a project whose leadledger.yaml has no scoring rules."""

    code = "scoring_not_configured"


class StoreLocked(LeadledgerError):
    """The embedded DuckDB file is held by another process (a running ``leadledger serve``)."""

    code = "store_locked"


class Unauthorized(LeadledgerError):
    """No valid API token was given."""

    code = "unauthorized"


class Forbidden(LeadledgerError):
    """The token's scope does not allow this call."""

    code = "forbidden"


class TokenNotFound(LeadledgerError):
    code = "token_not_found"


class BatchTooLarge(LeadledgerError):
    """``POST /api/v1/events`` with more events than one batch may carry (HTTP 413)."""

    code = "batch_too_large"


class ChromiumNotFound(LeadledgerError):
    """``export report --format pdf``: no headless Chromium to print the PDF with."""

    code = "chromium_not_found"


class PdfFailed(LeadledgerError):
    """Headless Chromium ran but did not print the PDF (crash, timeout)."""

    code = "pdf_failed"
