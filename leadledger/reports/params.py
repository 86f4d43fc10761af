"""The parameters of every report, each kind defined once with its grammar and its help.

A report's ``Params`` model holds **syntax only**: a date is a date, a duration is a duration,
a period is one of the periods. Whatever needs the project (a breakdown field that exists, a
stage of the funnel, "--to defaults to the last day with data") is checked by the model's
``resolve(ctx)``. The surfaces are generated from the models:

- the CLI option of a field is ``--`` + its name with dashes (``as_of`` → ``--as-of``), unless
  its :class:`Surface` says otherwise (``start`` → ``--from``); its help is the field's
  ``description``;
- the API query parameter is the field's ``api`` name (``from``, ``to``, ``as_of``…);
- the raw type (what a surface hands over: text for dates, durations and instants) is
  :attr:`Surface.raw`; the model parses it into the typed value.

A bad value raises the same typed :class:`~leadledger.errors.InvalidArgument` whatever the
surface, naming the CLI option (``--window '90x' is not a duration``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import operator
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Self, TypeVar

import pandas as pd
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic.fields import FieldInfo

if TYPE_CHECKING:
    from leadledger.reports.context import Ctx
    from leadledger.reports.registry import Resolved
from pydantic_core import core_schema

from leadledger.errors import InvalidArgument
from leadledger.suggest import did_you_mean

__all__ = [
    "FIRST_YEAR",
    "FORMATS",
    "LARGEST_LIMIT",
    "LAST_YEAR",
    "LONGEST_WINDOW_DAYS",
    "PERIODS",
    "Breakdown",
    "Duration",
    "Instant",
    "Params",
    "Surface",
    "check_year",
    "choice",
    "duration",
    "parse_day",
    "surface_of",
]

PERIODS = ("day", "week", "month", "quarter", "year")
FORMATS = ("table", "json", "csv")
#: Years a date (--from, --to) or an instant (--as-of) may lie in. Period arithmetic (the
#: period before the first, the one after the last) overflows Python's dates at years 1 and
#: 9999, and the reports' times are pandas nanosecond timestamps (1677-09-21 to 2262-04-11):
#: 1900–2100 keeps any of them, moved by the longest window (a century), inside that range.
FIRST_YEAR, LAST_YEAR = 1900, 2100
#: The longest duration a window (--window, --lookback, --history, --cohort) may span: a
#: century, in days. Longer ones push dates out of range and answer no question anyone asks.
LONGEST_WINDOW_DAYS = 36_525
#: The most rows a --limit may ask for (a bigger number is "all" in practice, and beyond
#: 2**63 − 1 the database cannot even hold it).
LARGEST_LIMIT = 1_000_000
#: Days in a month and a year of a duration measured from an instant (a conversion window):
#: the Gregorian average, 365.2425 days a year. A history window that ends on a day steps back
#: whole calendar months instead (:meth:`Duration.start_before`).
DAYS_PER_YEAR = 365.2425
DAYS = {"h": 1 / 24, "d": 1.0, "w": 7.0, "m": DAYS_PER_YEAR / 12, "y": DAYS_PER_YEAR}


# -- how a field shows on the surfaces ------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Surface:
    """How a parameter appears on the CLI and the API (metadata of the field's type)."""

    #: The type a surface hands over (default: the field's own type).
    raw: Any = None
    #: The CLI option (default ``--`` + the field name with dashes); ``short``: e.g. ``-m``.
    flag: str | None = None
    short: str | None = None
    #: The API query parameter's name (default: the field name); ``None`` with ``api=False``.
    api_name: str | None = None
    cli: bool = True
    api: bool = True
    #: A positional CLI argument (and an API path parameter) instead of an option.
    argument: bool = False
    #: Typer's ``show_default`` (default: shown unless the default is None).
    show_default: bool | None = None
    #: Extra FastAPI ``Query`` arguments: constraints the API's schema declares (``ge``, …).
    query: tuple[tuple[str, Any], ...] = ()
    #: An API value that is blank (a form's empty field) means "not given".
    blank_is_none: bool = False
    #: A CLI boolean written ``--flag/--no-flag`` (default: ``--flag`` alone).
    negatable: bool = False

    def merged(self, other: Surface) -> Surface:
        changes = {
            f.name: getattr(other, f.name)
            for f in dataclasses.fields(other)
            if getattr(other, f.name) != f.default
        }
        return dataclasses.replace(self, **changes)


def surface_of(field: FieldInfo) -> Surface:
    """The merged :class:`Surface` metadata of a model field."""
    out = Surface()
    for meta in field.metadata:
        if isinstance(meta, Surface):
            out = out.merged(meta)
    return out


def flag_of(name: str, field: FieldInfo) -> str:
    return surface_of(field).flag or "--" + name.rstrip("_").replace("_", "-")


# -- typed errors from validators -----------------------------------------------------------------
class BadParam(Exception):
    """A value that does not fit its grammar. ``message`` may hold ``{flag}`` (the CLI option
    of the field, filled in by :class:`Params`) and ``{value}``."""

    def __init__(self, message: str, value: Any, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.value = value
        self.hint = hint
        self.field: str | None = None


def _bad(info: ValidationInfo, message: str, value: Any, hint: str | None = None) -> BadParam:
    exc = BadParam(message, value, hint)
    exc.field = info.field_name
    return exc


# -- the base model -------------------------------------------------------------------------------
P = TypeVar("P", bound="Params")


class Params(BaseModel):
    """A report's parameters: syntax only (see the module). ``resolve(ctx)`` of the subclass
    applies the project's defaults and checks against the config."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, validate_default=True
    )

    #: The report this model belongs to (set by ``@report``).
    report_name: ClassVar[str] = ""

    @model_validator(mode="wrap")
    @classmethod
    def _typed_errors(cls, data: Any, handler: Callable[[Any], Any]) -> Any:
        try:
            return handler(data)
        except BadParam as exc:
            raise cls._invalid(exc) from None
        except ValidationError as exc:
            raise cls._from_pydantic(exc) from None

    @classmethod
    def _invalid(cls, exc: BadParam) -> InvalidArgument:
        field = cls.model_fields.get(exc.field or "")
        flag = flag_of(exc.field, field) if field is not None and exc.field else "--value"
        text = exc.message.replace("{flag}", flag).replace("{value}", str(exc.value))
        hint = exc.hint.replace("{flag}", flag) if exc.hint else None
        return InvalidArgument(text, hint=hint)

    @classmethod
    def _from_pydantic(cls, exc: ValidationError) -> InvalidArgument:
        err = exc.errors()[0]
        loc = [str(x) for x in err.get("loc", ())]
        name = loc[0] if loc else ""
        if err.get("type") == "extra_forbidden":
            known = list(cls.model_fields)
            return InvalidArgument(
                f"report {cls.report_name or cls.__name__} has no parameter '{name}'",
                hint=did_you_mean(name, known) or f"parameters: {', '.join(known)}",
            )
        field = cls.model_fields.get(name)
        flag = flag_of(name, field) if field is not None else name
        value = err.get("input")
        return InvalidArgument(f"{flag} '{value}': {err.get('msg', 'invalid')}")

    def project_use(self) -> str:
        """``required`` (the default), ``optional`` (runs without one: ``plan``) or ``none``
        (these parameters never read a project: ``decay`` on given counts, ``attribution
        --paths``); the CLI then does not look for one unless ``--project`` is given."""
        return "required"

    def side_effects(self) -> bool:
        """Whether running these parameters does more than read (``alerts --webhook`` sends):
        such a run is never cached."""
        return False

    def resolve(self, ctx: Ctx) -> Resolved[Self]:
        """The parameters with the project's defaults applied and checked against its config
        (a :class:`~leadledger.reports.registry.Resolved`). This default changes nothing."""
        from leadledger.reports.registry import Resolved

        return Resolved(self)

    def given(self) -> dict[str, Any]:
        """The fields set by the caller (for notes that say what was defaulted)."""
        return {k: getattr(self, k) for k in self.model_fields_set}


# -- dates ----------------------------------------------------------------------------------------
def check_year(day: dt.date | pd.Timestamp, flag: str, value: Any) -> None:
    """A date outside FIRST_YEAR–LAST_YEAR is a typed error naming the option and the value."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        when = "past" if day.year < FIRST_YEAR else "future"
        raise InvalidArgument(
            f"{flag} '{value}' is outside the supported years {FIRST_YEAR}–{LAST_YEAR} "
            f"(too far in the {when})",
            hint=f"use a date between {FIRST_YEAR}-01-01 and {LAST_YEAR}-12-31",
        )


def parse_day(value: Any, flag: str) -> dt.date | None:
    """YYYY-MM-DD (or a date), years FIRST_YEAR–LAST_YEAR; None stays None."""
    if value is None:
        return None
    if isinstance(value, dt.date):
        day = value.date() if isinstance(value, dt.datetime) else value
    else:
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError as exc:
            raise InvalidArgument(f"{flag} '{value}' is not a date", hint="use YYYY-MM-DD") from exc
    check_year(day, flag, value)
    return day


def _day(value: Any, info: ValidationInfo) -> dt.date | None:
    try:
        return parse_day(value, "{flag}")
    except InvalidArgument as exc:
        raise _bad(info, exc.message, value, exc.hint) from None


Day = Annotated[
    dt.date | None,
    BeforeValidator(_day),
    Surface(raw=str | None, query=(("json_schema_extra", {"format": "date"}),)),
]
From = Annotated[
    Day,
    Surface(flag="--from", api_name="from"),
    Field(description="First day (YYYY-MM-DD), project time zone."),
]
To = Annotated[
    Day,
    Surface(flag="--to", api_name="to"),
    Field(description="Last day (YYYY-MM-DD), inclusive."),
]


class _Opaque:
    """A parsed value pydantic keeps as it is (checked by type) and dumps as its text."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return core_schema.is_instance_schema(
            cls, serialization=core_schema.plain_serializer_function_ser_schema(str)
        )


# -- an instant (--as-of) -------------------------------------------------------------------------
AS_OF_HINT = "use YYYY-MM-DD[THH:MM[:SS]][+HH:MM]"


@dataclasses.dataclass(frozen=True)
class Instant(_Opaque):
    """``--as-of`` as written: a date (the end of that local day), a local time, or a time with
    an offset. :meth:`at` makes it a UTC instant in the project's time zone."""

    text: str
    stamp: pd.Timestamp
    date_only: bool

    def at(self, timezone: str) -> pd.Timestamp:
        ts = self.stamp
        if ts.tzinfo is not None:
            return ts.tz_convert("UTC")
        if self.date_only:
            ts = ts + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
        return ts.tz_localize(timezone, nonexistent="shift_forward", ambiguous=False).tz_convert(
            "UTC"
        )

    def __str__(self) -> str:
        return self.text


def parse_instant(value: Any, flag: str = "--as-of") -> Instant | None:
    if value is None or isinstance(value, Instant):
        return value
    if isinstance(value, pd.Timestamp | dt.datetime) and not isinstance(value, str):
        ts = pd.Timestamp(value)
        if pd.isna(ts):
            raise InvalidArgument(f"{flag} '{value}' is not a date or time", hint=AS_OF_HINT)
        check_year(ts, flag, value)
        return Instant(ts.isoformat(), ts, False)
    if isinstance(value, dt.date):
        value = value.isoformat()
    text = str(value).strip()
    try:
        ts = pd.Timestamp(text)
    except (ValueError, OverflowError) as exc:
        raise InvalidArgument(f"{flag} '{value}' is not a date or time", hint=AS_OF_HINT) from exc
    if pd.isna(ts):  # pandas reads '' and 'NaT' as a missing time, which no report expects
        raise InvalidArgument(f"{flag} '{value}' is not a date or time", hint=AS_OF_HINT)
    check_year(ts, flag, value)
    return Instant(text, ts, bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", text)))


def _instant(value: Any, info: ValidationInfo) -> Instant | None:
    try:
        return parse_instant(value, "{flag}")
    except InvalidArgument as exc:
        raise _bad(info, exc.message, value, exc.hint) from None


AsOf = Annotated[
    Instant | None,
    BeforeValidator(_instant),
    Surface(raw=str | None, blank_is_none=True),
    Field(description="Evaluate as of this time (date or timestamp, project time zone; "
                      "default now)."),
]  # fmt: skip


# -- durations: one grammar for every window, history, lookback and cohort ------------------------
@dataclasses.dataclass(frozen=True)
class Duration(_Opaque):
    """``36h``, ``90d``, ``12w``, ``6m``, ``1y`` or a bare number of days."""

    n: float
    unit: str  # h, d, w, m or y
    text: str

    @property
    def days(self) -> float:
        """Its length in days (months and years at their Gregorian average)."""
        return self.n * DAYS[self.unit]

    def start_before(self, end: dt.date) -> dt.date:
        """The first day of the window of this length that ends on ``end`` (inclusive): whole
        calendar months for ``m``/``y``, days for ``d``/``w``."""
        if self.unit in ("m", "y"):
            months = int(self.n) * (12 if self.unit == "y" else 1)
            return months_back(end, months) + dt.timedelta(days=1)
        return end - dt.timedelta(days=math.ceil(self.days) - 1)

    def __str__(self) -> str:
        return self.text


_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([hdwmy]?)\s*")


def months_back(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months earlier (clipped to the month's last day)."""
    import calendar

    m0 = day.year * 12 + day.month - 1 - months
    y, m = divmod(m0, 12)
    return dt.date(y, m + 1, min(day.day, calendar.monthrange(y, m + 1)[1]))


def duration(
    *,
    examples: str = "90d, 12w or 36h",
    noun: str = "duration",
    units: str = "hdwmy",
    whole: bool = False,
    positive: str | None = None,
    longest: str = "days",
) -> Callable[[Any, ValidationInfo], Duration | None]:
    """A validator of the one duration grammar. ``examples``/``noun`` word its error (``--history
    '12q' is not a window``); ``units`` and ``whole`` narrow what a field takes (a history window
    of whole days or more); ``positive``: the message when it must be longer than 0 (else 0 is
    allowed); ``longest``: how the century limit is worded (``days`` or ``units``)."""

    def parse(value: Any, info: ValidationInfo) -> Duration | None:
        if value is None or value == "" or isinstance(value, Duration):
            return value or None
        if isinstance(value, int | float) and not isinstance(value, bool):
            n, unit, text = float(value), "d", f"{value:g}d"
        else:
            m = _DURATION.fullmatch(str(value))
            unit = (m.group(2) or "d") if m else ""
            if not m or unit not in units or (whole and "." in m.group(1)):
                raise _bad(
                    info, f"{{flag}} '{value}' is not a {noun}", value, f"use e.g. {examples}"
                )
            n, text = float(m.group(1)), str(value).strip()
        if not math.isfinite(n):
            raise _bad(info, f"{{flag}} '{value}' is not a {noun}", value, f"use e.g. {examples}")
        d = Duration(n, unit, text)
        if d.days > LONGEST_WINDOW_DAYS:
            if longest == "units":
                cap = math.floor(LONGEST_WINDOW_DAYS / DAYS[unit] + (0.5 if unit == "w" else 0))
                cap = {"d": 36_525, "w": 5_217, "m": 1_200, "y": 100}.get(unit, cap)
                raise _bad(
                    info,
                    f"{{flag}} '{value}' is longer than the longest supported window, a century "
                    f"({cap:,}{unit})",
                    value,
                    f"use e.g. {examples}",
                )
            raise _bad(
                info,
                f"{{flag}} '{value}' is longer than the longest supported window, "
                f"{LONGEST_WINDOW_DAYS:,} days (a century)",
                value,
                f"use e.g. {examples}",
            )
        if positive is not None and d.n <= 0:
            raise _bad(info, positive, value)
        return d

    return parse


Window = Annotated[Duration | None, BeforeValidator(duration()), Surface(raw=str | None)]


# -- limits, counts, numbers ----------------------------------------------------------------------
def limit_validator(minimum: int = 0) -> Callable[[Any, ValidationInfo], int | None]:
    """``--limit N``: a whole number from ``minimum`` to LARGEST_LIMIT (None stays None)."""

    def parse(value: Any, info: ValidationInfo) -> int | None:
        if value is None:
            return None
        number: int | None = None
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,30}\s*", value):
            number = int(value)
        elif not isinstance(value, bool | str):
            try:
                number = operator.index(value)  # int, numpy integers; never a float
            except TypeError:
                number = None
        if number is None or not minimum <= number <= LARGEST_LIMIT:
            raise _bad(
                info,
                f"{{flag}} '{value}' is not a whole number from {minimum} to {LARGEST_LIMIT:,}",
                value,
                "e.g. {flag} 20",
            )
        return number

    return parse


Limit = Annotated[
    int,
    BeforeValidator(limit_validator()),
    Surface(query=(("ge", 0), ("le", LARGEST_LIMIT))),
]


def choice(
    values: Sequence[str], *, message: str | None = None, hint: bool = True
) -> Callable[[Any, ValidationInfo], str | None]:
    """One of ``values``: ``{flag} 'x' is not one of a, b, c`` with a did-you-mean."""

    def parse(value: Any, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        text = str(value)
        if text not in values:
            raise _bad(
                info,
                message or f"{{flag}} '{{value}}' is not one of {', '.join(values)}",
                value,
                did_you_mean(text, values) if hint else None,
            )
        return text

    return parse


Period = Annotated[
    str,
    BeforeValidator(choice(PERIODS)),
    Field(description="day, week, month, quarter or year."),
]


def _breakdown(value: Any, info: ValidationInfo) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    items = value.split(",") if isinstance(value, str) else [x for b in value for x in b.split(",")]
    return tuple(f.strip() for f in items if f.strip())


Breakdown = Annotated[
    tuple[str, ...],
    BeforeValidator(_breakdown),
    Surface(raw=str | None, show_default=False),
    Field(
        description="Break down by FIELD[,FIELD]: any lead attribute, channel, campaign, "
        "first_touch_channel."
    ),
]


def positive_number(
    message: str = "{flag} must be positive, not {value}", *, finite: bool = True
) -> Callable[[Any, ValidationInfo], float | None]:
    """A number > 0 (None stays None)."""

    def parse(value: Any, info: ValidationInfo) -> float | None:
        if value is None:
            return None
        try:
            number = float(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            raise _bad(info, "{flag} '{value}' is not a number", value) from None
        if not number > 0 or (finite and not math.isfinite(number)):
            raise _bad(info, message, value)
        return number

    return parse


def fraction(
    message: str = "{flag} {value} must be a rate in (0, 1]",
    hint: str | None = "write 25 % as 0.25",
    *,
    low_open: bool = True,
) -> Callable[[Any, ValidationInfo], float | None]:
    """A rate: (0, 1] (or [0, 1] with ``low_open=False``); None stays None."""

    def parse(value: Any, info: ValidationInfo) -> float | None:
        if value is None:
            return None
        try:
            number = float(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            raise _bad(info, "{flag} '{value}' is not a number", value) from None
        low_ok = number > 0 if low_open else number >= 0
        if not (low_ok and number <= 1) or math.isnan(number):
            raise _bad(info, message, value, hint)
        return number

    return parse


ModelName = Annotated[
    str,
    BeforeValidator(lambda v, info: _model_name(v, info)),
    Field(description="Model name (options not given: the saved model's)."),
]


def _model_name(value: Any, info: ValidationInfo) -> str:
    text = str(value) if value is not None else ""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", text):
        raise _bad(
            info,
            "{flag} '{value}' is not a model name",
            value,
            "use letters, digits, '_', '-' or '.'",
        )
    return text


Format = Annotated[
    str,
    BeforeValidator(choice(FORMATS, message="--format '{value}' is not one of table, json, csv",
                           hint=False)),
    Surface(flag="--format", short="-f", api=False),
    Field(description="table, json or csv."),
]  # fmt: skip


def resolved(params: P, **changes: Any) -> P:
    """``params`` with ``changes`` (the resolved values), skipping validation: they are the
    typed values themselves."""
    return params.model_copy(update=changes)
