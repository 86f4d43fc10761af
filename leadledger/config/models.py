"""The project configuration (``leadledger.yaml``) as pydantic v2 models.

Every model forbids unknown keys; structural checks live here, cross-object rules in
``leadledger.config.rules``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: Lead columns every project has; configured ``attributes`` add more.
CORE_LEAD_FIELDS = (
    "lead_id",
    "created_at",
    "email",
    "name",
    "company",
    "title",
    "channel",
    "campaign",
    "landing_page",
    "owner",
    "country",
    "source_system",
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


def _check_key(value: str) -> str:
    if not KEY_RE.match(value):
        raise ValueError(f"'{value}' is not a valid key: use lower_snake_case (a-z, 0-9, _)")
    return value


class Stage(Strict):
    """One ordered funnel stage."""

    key: str
    label: str | None = None
    source_values: list[str] = Field(default_factory=list)
    description: str | None = None

    _key = field_validator("key")(_check_key)

    @property
    def title(self) -> str:
        return self.label or self.key.upper()


class SideState(Strict):
    """A state outside the ordered funnel (disqualified, recycled, lost)."""

    key: str
    label: str | None = None
    source_values: list[str] = Field(default_factory=list)
    reason_codes: list[str] = Field(default_factory=list)

    _key = field_validator("key")(_check_key)


class Calendar(Strict):
    """Working days: weekdays minus public holidays minus the project's own closures."""

    country: str | None = None
    subdivision: str | None = None
    working_weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"]
    )
    closures: list[dt.date] = Field(default_factory=list)
    business_hours: tuple[dt.time, dt.time] = (dt.time(9, 0), dt.time(17, 0))


class Channel(Strict):
    key: str
    label: str | None = None
    sourced: Literal["marketing", "sales"] = "marketing"
    source_values: list[str] = Field(default_factory=list)

    _key = field_validator("key")(_check_key)


class SourcedShare(Strict):
    """Which of the seed's benchmark bands the project compares itself with."""

    band: Literal["field_sales", "inside_sales"] = "inside_sales"


BANDS: dict[str, tuple[float, float, str]] = {
    "field_sales": (0.20, 0.40, "field sales team with inside sales support"),
    "inside_sales": (0.40, 0.80, "inside sales team with lead-focused marketing"),
}


class ProjectConfig(Strict):
    """The whole ``leadledger.yaml``."""

    name: str = "leadledger project"
    timezone: str = "UTC"
    currency: str = "EUR"
    engine: str = "duckdb:///leadledger.duckdb"
    stages: list[Stage] = Field(default_factory=lambda: default_stages())
    side_states: list[SideState] = Field(default_factory=lambda: default_side_states())
    count_skipped_stages: bool = True
    calendar: Calendar = Field(default_factory=Calendar)
    channels: list[Channel] = Field(default_factory=list)
    attributes: list[str] = Field(default_factory=lambda: ["persona", "segment"])
    sourced_share: SourcedShare = Field(default_factory=SourcedShare)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{3}", value):
            raise ValueError(f"'{value}' is not an ISO 4217 currency code (three capitals, e.g. EUR)")
        return value

    @field_validator("attributes")
    @classmethod
    def _attributes(cls, values: list[str]) -> list[str]:
        for value in values:
            _check_key(value)
            if value in CORE_LEAD_FIELDS:
                raise ValueError(f"'{value}' is a built-in lead field; list only extra attributes")
        return values

    # -- derived helpers -------------------------------------------------------------------
    @property
    def stage_keys(self) -> list[str]:
        return [s.key for s in self.stages]

    @property
    def side_state_keys(self) -> list[str]:
        return [s.key for s in self.side_states]

    def stage_rank(self, key: str) -> int:
        return self.stage_keys.index(key)

    def stage_value_map(self) -> dict[str, str]:
        """Source value (case-folded) → stage or side-state key; keys map to themselves."""
        mapping: dict[str, str] = {}
        for item in [*self.stages, *self.side_states]:
            mapping[item.key.casefold()] = item.key
            for value in item.source_values:
                mapping[value.casefold()] = item.key
        return mapping

    def channel_value_map(self) -> dict[str, str]:
        mapping: dict[str, str] = {}
        for ch in self.channels:
            mapping[ch.key.casefold()] = ch.key
            for value in ch.source_values:
                mapping[value.casefold()] = ch.key
        return mapping

    @property
    def breakdown_fields(self) -> list[str]:
        return [
            "channel",
            "campaign",
            "landing_page",
            "owner",
            "country",
            "source_system",
            "first_touch_channel",
            "first_touch_campaign",
            *self.attributes,
        ]


def default_stages() -> list[Stage]:
    return [
        Stage(key="lead", label="Lead", source_values=["subscriber", "lead", "new"]),
        Stage(
            key="mql",
            label="MQL",
            source_values=["marketingqualifiedlead", "marketing qualified lead", "pql"],
        ),
        Stage(key="sal", label="SAL", source_values=["sales accepted lead", "accepted"]),
        Stage(
            key="sql",
            label="SQL",
            source_values=["salesqualifiedlead", "sales qualified lead"],
        ),
        Stage(key="opportunity", label="Opportunity", source_values=["opportunity"]),
        Stage(key="customer", label="Customer", source_values=["customer", "closed won", "won"]),
    ]


def default_side_states() -> list[SideState]:
    return [
        SideState(
            key="disqualified",
            label="Disqualified",
            source_values=["unqualified", "rejected"],
            reason_codes=[
                "no_budget",
                "no_authority",
                "no_need",
                "bad_timing",
                "competitor",
                "student",
                "bad_data",
                "duplicate",
                "unresponsive",
                "other",
            ],
        ),
        SideState(key="recycled", label="Recycled", source_values=["nurture"]),
        SideState(key="lost", label="Lost", source_values=["closed lost"]),
    ]
