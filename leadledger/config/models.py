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

    key: str = Field(
        description="Stage key used in reports, `--from-stage`/`--to-stage` and stage events "
        "(lower_snake_case). The order of `stages` is the funnel order; every lead enters the "
        "first stage when it is created."
    )
    label: str | None = Field(
        default=None, description="Display name (reports show the key for now)."
    )
    source_values: list[str] = Field(
        default_factory=list,
        description="Names the source data uses for this stage, matched case-insensitively at "
        "import (e.g. HubSpot's lifecycle stage `marketingqualifiedlead`); the key itself always "
        "matches.",
    )
    description: str | None = Field(
        default=None, description="Free text: what the stage means in this company."
    )

    _key = field_validator("key")(_check_key)

    @property
    def title(self) -> str:
        return self.label or self.key.upper()


class SideState(Strict):
    """A state outside the ordered funnel (disqualified, recycled, lost)."""

    key: str = Field(
        description="Side-state key (lower_snake_case). `disqualified` and `recycled` after "
        "entering mql count as a rejection by sales in the acceptance report."
    )
    label: str | None = Field(
        default=None, description="Display name (reports show the key for now)."
    )
    source_values: list[str] = Field(
        default_factory=list,
        description="Names the source data uses for this state, matched case-insensitively at "
        "import; the key itself always matches.",
    )
    reason_codes: list[str] = Field(
        default_factory=list,
        description="Reason codes expected with this state (e.g. `no_budget`); other codes are "
        "still imported and listed by `leadledger check` (`unknown_reason`). Empty: any code.",
    )

    _key = field_validator("key")(_check_key)


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _monday_to_friday() -> list[Weekday]:
    return ["mon", "tue", "wed", "thu", "fri"]


class Calendar(Strict):
    """Working days: weekdays minus public holidays minus the project's own closures."""

    country: str | None = Field(
        default=None,
        description="ISO 3166-1 alpha-2 code of the country whose public holidays (from the "
        "`holidays` package) are not working days, e.g. `ES`. Null: no public holidays.",
    )
    subdivision: str | None = Field(
        default=None,
        description="Subdivision of `country` whose regional holidays also count, e.g. `MD` "
        "(Madrid); needs `country`.",
    )
    working_weekdays: list[Weekday] = Field(
        default_factory=_monday_to_friday,
        description="Weekdays that are working days (unless a holiday or a closure).",
    )
    closures: list[dt.date] = Field(
        default_factory=list,
        description="The project's own closure days (YYYY-MM-DD): not working days.",
    )
    business_hours: tuple[dt.time, dt.time] = Field(
        default=(dt.time(9, 0), dt.time(17, 0)),
        description="Start and end of the working day (`HH:MM`, start before end), local wall "
        "time in `timezone` on working days: SLA clocks in `business_hours`/`business_days` and "
        "the follow-up delays of `leadledger decay` count only this time (a clock started "
        "outside it starts at the next opening; one business day is end − start).",
    )


class Channel(Strict):
    key: str = Field(
        description="Channel key (lower_snake_case) stored on leads and touches, used by "
        "`--by channel`."
    )
    label: str | None = Field(
        default=None, description="Display name (reports show the key for now)."
    )
    sourced: Literal["marketing", "sales"] = Field(
        default="marketing",
        description="Whether customers originating from this channel count as marketing- or "
        "sales-sourced (e.g. SDR outbound) in `report sourced`.",
    )
    source_values: list[str] = Field(
        default_factory=list,
        description="Names the source data uses for this channel, matched case-insensitively at "
        "import (e.g. HubSpot's `PAID_SEARCH`); the key itself always matches.",
    )

    _key = field_validator("key")(_check_key)


class SourcedShare(Strict):
    """Which of the seed's benchmark bands the project compares itself with."""

    band: Literal["field_sales", "inside_sales"] = Field(
        default="inside_sales",
        description="Benchmark band for the marketing-sourced share of new customers: "
        "`field_sales` = 20–40 % (field sales team with inside sales support), `inside_sales` = "
        "40–80 % (inside sales team with lead-focused marketing).",
    )


BANDS: dict[str, tuple[float, float, str]] = {
    "field_sales": (0.20, 0.40, "field sales team with inside sales support"),
    "inside_sales": (0.40, 0.80, "inside sales team with lead-focused marketing"),
}


SLA_UNITS = ("business_hours", "business_days", "hours", "days")


class Sla(Strict):
    """A response-time promise between marketing and sales (seed 003), checked by
    `leadledger sla` and `leadledger alerts` (see docs/sla-and-decay.md)."""

    name: str = Field(description="SLA key (lower_snake_case), shown in `leadledger sla`.")
    start: str = Field(
        description="Stage whose first real entry starts the clock (e.g. `mql`, `sql`); a lead "
        "that skipped the stage has no clock."
    )
    until: str = Field(
        default="sales_touch",
        description="What stops the clock: `sales_touch` (the first response at or after the "
        "start: an activity of `activities.response_kinds` or a touch of a kind in "
        "`sales_touch_kinds`) or a stage key (its first entry at or after "
        "the start). A side state entered before that (disqualified, recycled, lost) closes "
        "the clock without a breach.",
    )
    within: float = Field(gt=0, description="The limit, in `unit`s.")
    unit: Literal["business_hours", "business_days", "hours", "days"] = Field(
        default="business_hours",
        description="`business_hours` and `business_days` follow the project calendar (working "
        "days, `business_hours`, time zone); `hours` and `days` are calendar time. A business "
        "day is one working day's business hours.",
    )
    where: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Only leads whose attribute has one of these values, e.g. "
        "`{segment: [enterprise]}` (any breakdown field). Empty: every lead.",
    )
    description: str | None = Field(default=None, description="Free text.")

    _key = field_validator("name")(_check_key)


ActivityKind = Literal["call", "meeting", "email", "task", "note"]
DEFAULT_RESPONSE_KINDS: tuple[ActivityKind, ...] = ("call", "meeting", "email")


class Activities(Strict):
    """Which imported sales activities (the `activities` import kind) are a response to a lead:
    they stop `until: sales_touch` SLA clocks and date an SQL's first follow-up in the decay
    curve, together with the touches of `sales_touch_kinds` (whichever comes first)."""

    response_kinds: list[ActivityKind] = Field(
        default_factory=lambda: list(DEFAULT_RESPONSE_KINDS),
        description="Activity kinds (call, meeting, email, task, note) that are a response to "
        "the lead. Tasks and notes are to-dos and records, not contact with the lead.",
    )
    outbound_only: bool = Field(
        default=True,
        description="Only outbound e-mails, or e-mails of unknown direction, are a response; an "
        "inbound e-mail (from the lead) is not. Calls and meetings count whatever their "
        "direction. `false`: every e-mail counts.",
    )


class DecayLimit(Strict):
    """The time limit of an SQL for the leads matching ``where``."""

    where: dict[str, list[str]] = Field(
        description="Lead attribute values this limit applies to, e.g. `{segment: [consumer]}`."
    )
    days: float = Field(
        gt=0,
        description="Calendar days an SQL of these leads keeps its value without a follow-up "
        "(used where the decay curve has too little history).",
    )


class Decay(Strict):
    """Lead decay in money (seed 003): what an SQL is worth and how it goes cold."""

    stage: str = Field(
        default="sql", description="The stage whose leads carry the value (seed 003: SQLs)."
    )
    won_stage: str = Field(
        default="customer", description="The stage that realises the value (a won customer)."
    )
    customer_value: float | None = Field(
        default=None,
        gt=0,
        description="Value of one customer in the project currency. Null: the mean amount of "
        "won deals over the history window.",
    )
    limit_days: float = Field(
        default=30,
        gt=0,
        description="Default time limit (calendar days) of an SQL without a follow-up: past it "
        "the SQL has lost its value when the history is too thin for a curve (B2B ≈ a month).",
    )
    limits: list[DecayLimit] = Field(
        default_factory=list,
        description="Time limits by segment, first match wins, e.g. "
        "`[{where: {segment: [consumer]}, days: 1}]` (consumer ≈ a day).",
    )
    buckets: list[float] = Field(
        default_factory=lambda: [1.0, 2.0, 5.0, 10.0, 20.0],
        description="Upper bounds (business days) of the first-follow-up delay buckets of the "
        "decay curve, ascending; a last bucket holds longer delays and one holds no follow-up.",
    )
    min_per_bucket: int = Field(
        default=30,
        ge=1,
        description="SQLs a bucket needs for its measured conversion to be used; thinner "
        "history falls back to the configured time limit.",
    )


class Goal(Strict):
    """A saved plan: counts per stage to reach over a period (per channel or campaign)."""

    name: str = Field(description="Goal key (lower_snake_case), used by `--goal`.")
    start: dt.date = Field(description="First day of the goal's period.")
    end: dt.date = Field(description="Last day of the goal's period (inclusive).")
    channel: str | None = Field(default=None, description="Only leads of this channel.")
    campaign: str | None = Field(default=None, description="Only leads of this campaign.")
    counts: dict[str, int] = Field(
        description="Stage (or `visitor`) → entries to reach over the whole period; the pace "
        "per working day follows the calendar."
    )
    revenue: float | None = Field(default=None, description="The revenue target it came from.")
    deal_size: float | None = Field(default=None, description="The average deal size used.")
    rates: dict[str, float] = Field(
        default_factory=dict, description="The conversion rates the plan used (for the record)."
    )
    budget: float | None = Field(
        default=None, description="The budget the plan needs at measured cost per lead."
    )

    _key = field_validator("name")(_check_key)


class Experiment(Strict):
    """A test vs control experiment on funnel stages (seed 004)."""

    name: str = Field(
        description="Experiment key (lower_snake_case), as in `leadledger experiment report "
        "NAME`. It salts the hash: renaming a hash experiment reshuffles its groups."
    )
    assignment: Literal["hash", "imported"] = Field(
        default="hash",
        description="`hash`: a lead is in `control` when the first 8 bytes of "
        "sha256(`NAME:LEAD_ID`) ÷ 2^64 fall below `control_share`, else in `test` "
        "(deterministic on every run and engine, no table needed; `leadledger experiment "
        "assign` exports it). `imported`: the groups come from `leadledger experiment import` "
        "(a CSV/Parquet of `lead_id`,`group`), e.g. when the marketing tool did the split.",
    )
    control_share: float = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="Share of the population held out as control (hash assignment only), "
        "e.g. 0.1 for a 10 % holdout.",
    )
    stage: str = Field(
        default="lead",
        description="The population: leads reaching this stage between `start` and `end` "
        "(skipped stages count as reached when `count_skipped_stages`). The report compares "
        "conversion to the later stages. An imported experiment's population is its imported "
        "members; its report also shows this stage.",
    )
    start: dt.date | None = Field(
        default=None,
        description="First day of the population (project time zone); open when empty. "
        "Hash assignment only.",
    )
    end: dt.date | None = Field(
        default=None,
        description="Last day of the population, inclusive; open (still running) when empty. "
        "Hash assignment only.",
    )
    where: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Only leads whose current fields have these values, e.g. "
        "`{campaign: [spring_promo]}` (any `--by` field). Hash assignment only.",
    )
    description: str | None = Field(
        default=None, description="Free text: the hypothesis, the change tested."
    )

    _key = field_validator("name")(_check_key)


DealStatus = Literal["open", "won", "lost"]


class DealStage(Strict):
    """One stage of the CRM's deal pipeline (HubSpot deal stage, Salesforce opportunity stage)."""

    key: str = Field(description="The stage's key (lower_snake_case), shown in reports.")
    label: str | None = Field(default=None, description="Display name.")
    status: DealStatus = Field(
        default="open",
        description="What a deal in this stage is: `open`, `won` or `lost`. A deal row's own "
        "`status` column, when the file has one, wins over its stage.",
    )
    probability: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="The chance (0–1) that a deal in this stage is won, for the weighted "
        "pipeline. Null: measured from the deals' own history.",
    )
    source_values: list[str] = Field(
        default_factory=list,
        description="Names the CRM uses for this stage (internal value and label, e.g. "
        "`closedwon`, `Closed Won`), matched case-insensitively; the key always matches.",
    )

    _key = field_validator("key")(_check_key)


class DealStages(Strict):
    """How deals drive the funnel: a deal's creation, win and loss are stage entries of every
    contact linked to it, derived from the deals table (never copied into stage events)."""

    created: str | None = Field(
        default="opportunity",
        description="The stage every linked contact enters when a deal is created (its "
        "`created_at`). Null: deal creation enters no stage.",
    )
    won: str | None = Field(
        default="customer",
        description="The stage every linked contact enters when a deal is won (its `closed_at`). "
        "Null: none.",
    )
    lost: str | None = Field(
        default="lost",
        description="The side state a contact enters when all its deals are closed lost (at "
        "the last one's `closed_at`): it closes the open stage. A contact with another deal "
        "open or won is not lost. Null: none.",
    )
    stages: list[DealStage] = Field(
        default_factory=lambda: default_deal_stages(),
        description="The CRM's deal stages, in pipeline order (several pipelines may be listed "
        "one after the other). A deal's `stage` is matched against the keys and source values; "
        "a deal whose stage no entry knows and which has no `status` counts in no stage and is "
        "listed by `leadledger check`. Default: HubSpot's default sales pipeline and "
        "Salesforce's standard opportunity stages.",
    )

    def value_map(self) -> dict[str, DealStage]:
        """Source value or key (case-folded) → the deal stage."""
        mapping: dict[str, DealStage] = {}
        for st in self.stages:
            mapping[st.key.casefold()] = st
            for value in st.source_values:
                mapping[value.casefold()] = st
        return mapping


CreditMode = Literal["equal", "primary", "role"]


class DealContacts(Strict):
    """How a deal is linked to its contacts, and how its money is shared among them."""

    separators: str = Field(
        default=";,",
        description="Characters that separate several ids in a deal's `contact_ids` column "
        "(HubSpot's `Associated Contact IDs` = `11440;70238`).",
    )
    credit: CreditMode = Field(
        default="equal",
        description="How attribution, ROI and sourced share credit a deal's amount to its "
        "contacts: `equal` (every contact the same share), `primary` (the primary contact; a "
        "deal with none marked primary shares equally) or `role` (by `role_weights`). The "
        "credits of a deal always sum to its amount.",
    )
    role_weights: dict[str, float] = Field(
        default_factory=dict,
        description="`credit: role`: the weight of each contact role (e.g. `{Decision Maker: 3, "
        "Influencer: 1}`), matched case-insensitively; a role not listed, or none, weighs "
        "`other_role_weight`.",
    )
    other_role_weight: float = Field(
        default=1.0, ge=0, description="`credit: role`: the weight of an unlisted role."
    )

    @field_validator("role_weights")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        for role, w in value.items():
            if w < 0:
                raise ValueError(f"role weight of '{role}' must not be negative")
        return value


def default_deal_stages() -> list[DealStage]:
    """HubSpot's default sales pipeline (internal values and labels, HubSpot's default
    probabilities) and Salesforce's standard opportunity stages (their default probabilities)."""

    def st(key: str, status: DealStatus, p: float, *values: str) -> DealStage:
        return DealStage(key=key, status=status, probability=p, source_values=list(values))

    return [
        st("appointment_scheduled", "open", 0.2, "appointmentscheduled", "Appointment Scheduled"),
        st("qualified_to_buy", "open", 0.4, "qualifiedtobuy", "Qualified To Buy"),
        st(
            "presentation_scheduled", "open", 0.6, "presentationscheduled", "Presentation Scheduled"
        ),
        st(
            "decision_maker_bought_in",
            "open",
            0.8,
            "decisionmakerboughtin",
            "Decision Maker Bought-In",
        ),
        st("contract_sent", "open", 0.9, "contractsent", "Contract Sent"),
        st("prospecting", "open", 0.1, "Prospecting"),
        st("qualification", "open", 0.1, "Qualification"),
        st("needs_analysis", "open", 0.2, "Needs Analysis"),
        st("value_proposition", "open", 0.5, "Value Proposition"),
        st("id_decision_makers", "open", 0.6, "Id. Decision Makers"),
        st("perception_analysis", "open", 0.7, "Perception Analysis"),
        st("proposal", "open", 0.75, "Proposal/Price Quote"),
        st("negotiation", "open", 0.9, "Negotiation/Review"),
        st("closed_won", "won", 1.0, "closedwon", "Closed Won", "won"),
        st("closed_lost", "lost", 0.0, "closedlost", "Closed Lost", "lost"),
    ]


class Costs(Strict):
    """How costs are read: untagged spend and the reporting of cost per stage."""

    untagged: Literal["by_leads", "even", "unallocated"] = Field(
        default="unallocated",
        description="What happens to costs not tagged to a channel (salaries, tools): "
        "`by_leads` spreads each period's untagged spend over the channels by their share of "
        "that period's new leads (leads with a channel), `even` splits it evenly over the "
        "configured channels, `unallocated` keeps it apart as its own row `(unallocated)` "
        "(see docs/money.md).",
    )
    inquiry_kinds: list[str] = Field(
        default_factory=lambda: ["form"],
        description="Touch kinds that count as an inquiry (a form fill, a contact request) for "
        "the `inquiries` and `cost_per_inquiry` columns of `report costs`, keyed by the "
        "touch's own channel and campaign; anonymous touches count too. Empty: no inquiry "
        "counts.",
    )
    contract_months: float = Field(
        default=12,
        gt=0,
        description="Months a won deal's amount covers (a yearly contract: 12), for payback: "
        "monthly margin per customer = mean won amount ÷ `contract_months` × `gross_margin`.",
    )
    gross_margin: float = Field(
        default=1.0,
        gt=0,
        le=1,
        description="Share of a won deal's amount that is gross margin (0–1], for payback. "
        "1 (the default) pays back from revenue.",
    )
    campaign_personas: dict[str, str] = Field(
        default_factory=dict,
        description="Campaign → the persona it targets, e.g. `{cfo_webinar: cfo}`: the spend "
        "of these campaigns is the persona's spend in `report costs --by persona`. Spend of "
        "other campaigns is shown apart as `(no persona)`.",
    )


class Attribution(Strict):
    """Defaults of `leadledger attribution` and `leadledger report roi`."""

    model: str = Field(
        default="linear",
        description="Default model of `report roi` (any name `leadledger attribution --compare` "
        "lists).",
    )
    conversion: str = Field(
        default="customer", description="The stage whose entry is the conversion."
    )
    lookback_days: float = Field(
        default=90, gt=0, description="Touches older than this before the conversion get no credit."
    )
    half_life_days: float = Field(
        default=7, gt=0, description="Half-life of the `time_decay` model, in days."
    )
    markov_order: int = Field(
        default=1, ge=1, le=3, description="Order of the `markov` model (1–3)."
    )
    direct_channels: list[str] = Field(
        default_factory=lambda: ["direct"],
        description="Channels that `last_non_direct` skips (unless a path has nothing else).",
    )


SCORING_OPS = (
    "equals",
    "not_equals",
    "in",
    "not_in",
    "range",
    "regex",
    "not_regex",
    "missing",
    "present",
)


class Pattern(Strict):
    """A regular expression a touch field must match (the subset DuckDB and PostgreSQL share,
    see docs/scoring.md)."""

    regex: str = Field(description="Pattern searched anywhere in the value (anchor with ^ $).")


class LeadCondition(Strict):
    """A condition on one field of the current lead (attribute rules, or a filter of a touch
    rule)."""

    field: str = Field(
        description="A lead field: a built-in one (email, title, channel, country, ...) or a "
        "configured attribute."
    )
    op: str = Field(
        default="equals",
        description="`equals`, `not_equals`, `in`, `not_in` (exact text, case matters), "
        "`range` (the value read as a number, `min` ≤ x < `max`), `regex`, `not_regex` "
        "(searched anywhere; `(?i)` at the start ignores case), `missing` (empty), `present`.",
    )
    value: str | float | list[str | float] | None = Field(
        default=None,
        description="The value (`equals`, `not_equals`), the list (`in`, `not_in`) or the "
        "pattern (`regex`, `not_regex`).",
    )
    min: float | None = Field(default=None, description="`range`: lower bound, inclusive.")
    max: float | None = Field(default=None, description="`range`: upper bound, exclusive.")


class TouchFilter(Strict):
    """Which touches a behavioural rule counts: every listed field must match."""

    kind: list[str] | Pattern = Field(
        default_factory=list,
        description="Touch kinds (`form`, `visit`, `email_click`, `unsubscribe`, ...), a list or "
        "`{regex: ...}`. Empty: any.",
    )
    channel: list[str] | Pattern = Field(
        default_factory=list, description="Touch channels, a list or `{regex: ...}`. Empty: any."
    )
    campaign: list[str] | Pattern = Field(
        default_factory=list, description="Touch campaigns, a list or `{regex: ...}`. Empty: any."
    )
    page: list[str] | Pattern = Field(
        default_factory=list,
        description="Pages, a list or `{regex: ...}` (e.g. `{regex: ^/pricing}`). Empty: any.",
    )


class TouchCount(Strict):
    """How many matching touches a rule needs, and in what window."""

    at_least: int = Field(default=1, ge=1, description="Matching touches needed for the rule.")
    within_days: float | None = Field(
        default=None,
        gt=0,
        description="Only touches in the last N days before the as-of count (for the count and "
        "the points). Null: any age.",
    )


class ScoringRule(Strict):
    """One rule: points for a lead condition (fit) or for touches (behaviour)."""

    name: str = Field(
        description="Rule key (lower_snake_case), unique across groups: the reason shown in the "
        "MQL event, `score explain` and `score_events`."
    )
    points: float = Field(description="Points per match or per touch; negative to subtract.")
    lead: LeadCondition | None = Field(
        default=None,
        description="Condition on the lead. Alone: an attribute rule. With `touch`: only leads "
        "meeting it get the touch points.",
    )
    touch: TouchFilter | None = Field(
        default=None, description="The touches this behavioural rule counts."
    )
    per: Literal["match", "occurrence"] = Field(
        default="match",
        description="Touch rules: `match` gives the points once (decayed from the latest "
        "matching touch), `occurrence` gives them for every matching touch (each decayed from "
        "its own time).",
    )
    count: TouchCount | None = Field(
        default=None,
        description="Touch rules: at least N matching touches (within a window) before any "
        "points, e.g. `{at_least: 3, within_days: 30}`.",
    )
    cap: float | None = Field(
        default=None,
        gt=0,
        description="Largest number of points (in absolute value) the rule gives a lead, "
        "after decay.",
    )
    half_life_days: float | None = Field(
        default=None,
        gt=0,
        description="Touch rules: the points of a touch halve every N days (default: the "
        "group's, else `scoring.half_life_days`).",
    )
    decay: bool = Field(
        default=True, description="Touch rules: false keeps the points whole (no half-life)."
    )
    expire_after_days: float | None = Field(
        default=None,
        gt=0,
        description="Touch rules: touches older than N days at the as-of give nothing.",
    )
    description: str | None = Field(default=None, description="Free text.")

    _key = field_validator("name")(_check_key)


class ScoringGroup(Strict):
    """A named group of rules (fit, engagement, one per product or persona) with a cap."""

    name: str = Field(description="Group key (lower_snake_case), e.g. `fit`, `engagement`.")
    cap: float | None = Field(
        default=None, description="Most points the group adds to a lead (after decay). Null: none."
    )
    floor: float | None = Field(
        default=None,
        description="Fewest points the group adds (e.g. -50), a limit on negative points.",
    )
    half_life_days: float | None = Field(
        default=None, gt=0, description="Default half-life of the group's touch rules."
    )
    rules: list[ScoringRule] = Field(default_factory=list, description="The group's rules.")

    _key = field_validator("name")(_check_key)


class GradeScale(Strict):
    """Grade bands of one group's points: the first band a lead reaches is its grade."""

    group: str = Field(description="The scoring group graded.")
    bands: list[float] = Field(
        description="Three descending lower bounds: fit A/B/C (else D), engagement 1/2/3 "
        "(else 4), e.g. `[40, 25, 10]`."
    )


class Grades(Strict):
    """Fit × engagement grade (A–D × 1–4), e.g. `A1` for a great-fit, very engaged lead."""

    fit: GradeScale | None = Field(default=None, description="Letter grade A–D from a group.")
    engagement: GradeScale | None = Field(
        default=None, description="Number grade 1–4 from a group."
    )


class Scoring(Strict):
    """Rule-based lead scoring and the MQL handoff (`leadledger score`, docs/scoring.md)."""

    threshold: float = Field(
        default=50, description="A lead whose score reaches this is marketing qualified."
    )
    mql_by: Literal["points", "probability"] = Field(
        default="points",
        description="What makes an MQL: the rule `points`, or the predictive model's calibrated "
        "`probability` (`leadledger model train` first) against `probability_threshold`.",
    )
    probability_threshold: float = Field(
        default=0.3, gt=0, lt=1, description="`mql_by: probability`: the probability needed."
    )
    mql_stage: str = Field(
        default="mql", description="The stage entered by a lead that crosses the threshold."
    )
    below_threshold: Literal["stay", "recycled"] = Field(
        default="stay",
        description="What happens to an MQL made by scoring, not yet accepted by sales, whose "
        "score falls back under the threshold: `stay` (nothing) or `recycled` (a `recycled` "
        "stage event).",
    )
    half_life_days: float | None = Field(
        default=None,
        gt=0,
        description="Default half-life (days) of every touch rule's points. Null: no decay.",
    )
    top_reasons: int = Field(
        default=3, ge=1, description="Rules named as reasons in the MQL event."
    )
    groups: list[ScoringGroup] = Field(
        default_factory=list, description="Groups of rules; a lead's score is their sum."
    )
    grades: Grades = Field(default_factory=Grades, description="Fit × engagement grades.")

    @property
    def rules(self) -> list[tuple[ScoringGroup, ScoringRule]]:
        return [(g, r) for g in self.groups for r in g.rules]


class ProjectConfig(Strict):
    """The whole ``leadledger.yaml``."""

    name: str = Field(default="leadledger project", description="The project's name (free text).")
    timezone: str = Field(
        default="UTC",
        description="IANA time zone of the reports (e.g. `Europe/Madrid`): periods, `--from`/"
        "`--to` and the day a stage was entered are local to it; the ledger stores UTC. Also the "
        "default zone of imported timestamps without an offset.",
    )
    currency: str = Field(
        default="EUR",
        description="ISO 4217 code of the project's one currency (three capitals). Rows with "
        "another currency are rejected at import.",
    )
    engine: str = Field(
        default="duckdb:///leadledger.duckdb",
        description="Where the ledger lives: `duckdb:///FILE` (relative to the project folder; "
        "`duckdb:////abs/path` for an absolute path) or a PostgreSQL URL "
        "`postgres://user@host:5432/db` (needs the `postgres` extra).",
    )
    stages: list[Stage] = Field(
        default_factory=lambda: default_stages(),
        description="The ordered funnel stages, first to last (at least two). Traffic "
        "(`visitor`) is not a stage: it comes from imported traffic counts.",
    )
    side_states: list[SideState] = Field(
        default_factory=lambda: default_side_states(),
        description="States outside the ordered funnel: rejections by sales (`disqualified`, "
        "`recycled`) and `lost`.",
    )
    count_skipped_stages: bool = Field(
        default=True,
        description="Whether a lead that skips stages (lead → sql) counts as having reached "
        "them, entering them when it first entered a later stage. Applies to every report "
        "(stage counts, conversion, acceptance); velocity always uses real entries.",
    )
    calendar: Calendar = Field(
        default_factory=Calendar, description="Working days, for everything per working day."
    )
    channels: list[Channel] = Field(
        default_factory=list,
        description="The channels a lead can originate from. Lead channels not listed here are "
        "kept as written, count as unknown source and are listed by `leadledger check`.",
    )
    attributes: list[str] = Field(
        default_factory=lambda: ["persona", "segment"],
        description="Extra lead columns imported and offered to `--by`, besides the built-in "
        "lead fields (lead_id, created_at, email, name, company, title, channel, campaign, "
        "landing_page, owner, country, source_system).",
    )
    sourced_share: SourcedShare = Field(
        default_factory=SourcedShare,
        description="Benchmark for the marketing-sourced share report.",
    )

    deal_stages: DealStages = Field(
        default_factory=DealStages,
        description="How deals drive the funnel (deal created → opportunity, won → customer, "
        "all lost → lost) and the CRM's deal stages.",
    )
    deal_contacts: DealContacts = Field(
        default_factory=DealContacts,
        description="How deals are linked to contacts and how a deal's amount is credited.",
    )
    sales_touch_kinds: list[str] = Field(
        default_factory=lambda: ["call", "meeting", "sales_email"],
        description="Touch kinds that are a sales follow-up (they stop SLA clocks and date the "
        "first follow-up of the decay curve), besides the imported activities of "
        "`activities.response_kinds`.",
    )
    activities: Activities = Field(
        default_factory=Activities,
        description="Sales activities (calls, meetings, e-mails) that are a response to a lead, "
        "for `leadledger sla` and `leadledger decay`.",
    )
    slas: list[Sla] = Field(
        default_factory=list,
        description="Service levels between marketing and sales, checked by `leadledger sla`.",
    )
    decay: Decay = Field(
        default_factory=Decay, description="Lead decay in money, for `leadledger decay`."
    )
    goals: list[Goal] = Field(
        default_factory=list,
        description="Saved plans (`leadledger plan --save NAME`), followed by `leadledger pace`.",
    )
    experiments: list[Experiment] = Field(
        default_factory=list, description="Test vs control experiments."
    )
    costs: Costs = Field(
        default_factory=Costs, description="Cost allocation, for `report costs` and `report roi`."
    )
    attribution: Attribution = Field(
        default_factory=Attribution,
        description="Multi-touch attribution defaults (`leadledger attribution`, `report roi`).",
    )
    scoring: Scoring = Field(
        default_factory=Scoring,
        description="Rule-based lead scoring and the MQL handoff (`leadledger score`).",
    )

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{3}", value):
            raise ValueError(
                f"'{value}' is not an ISO 4217 currency code (three capitals, e.g. EUR)"
            )
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
        items: list[Stage | SideState] = [*self.stages, *self.side_states]
        for item in items:
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
            source_values=["marketingqualifiedlead", "marketing qualified lead"],
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
