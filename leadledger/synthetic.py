"""A deterministic synthetic company: leads, stage events, touches, deals, costs and traffic.

``generate_company(leads, seed)`` makes two years (by default) of a B2B company's funnel ending at
a fixed date, so the same seed always gives the same frames. Everything is vectorised with
NumPy/pandas/pyarrow (loops run per channel, stage or month, never per lead or event), so two
million leads (~10M stage events + touches) take seconds, not minutes.

What the data looks like:

- **Leads** arrive on nine channels (``sdr_outbound`` is sales-sourced) that differ in volume,
  quality and cost, with weekly and yearly seasonality (fewer at weekends, in August, at
  Christmas), almost none on the public holidays of Madrid, and a growth trend. Each lead has a
  persona, a segment, a campaign and (for web channels) a landing page that shift conversion.
- **Stage events** follow lead → mql → sal → sql → opportunity → customer with delays that
  differ by stage, channel and segment; sales actions happen in business hours on working days.
  Some leads skip stages (lead → sql: SDR outbound and hand-raisers), MQLs are accepted or
  rejected (``disqualified`` with a reason code, or ``recycled``; some recycled leads come back as
  MQLs months later), some SQLs go cold (a long gap, then ``lost``), opportunities are won or
  lost. The lead's creation is its entry into the first stage, so ``lead`` is never an event.
  Nothing happens after ``end``: recent leads are simply still open.
- **Touches**: anonymous visits and ad clicks before the lead is created (with the visitor's
  ``anonymous_id``, stitched to the lead), the conversion touch at creation, nurture e-mail
  clicks and return visits after it, and sales calls and meetings around the sales stages.
- **Deals**: one per opportunity, created at opportunity entry, won at ``customer``, lost at
  ``lost`` (else open), amounts lognormal by segment, in EUR.
- **Costs**: monthly media per paid campaign, event costs per event, agency fees, staff and
  technology; some untagged (no channel). **Traffic**: daily visits and unique visitors per
  channel, campaign and landing page, consistent with the leads (visit → lead of a few percent).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import holidays
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from leadledger.config import default_config_text
from leadledger.errors import InvalidArgument

__all__ = [
    "DEFAULT_END",
    "KINDS",
    "Company",
    "generate_company",
    "write_company",
]

#: The default last day of the data: fixed, so a seed always gives the same company.
DEFAULT_END = dt.date(2026, 10, 31)
KINDS = ("leads", "stages", "touches", "deals", "costs", "traffic")
TIMEZONE = "Europe/Madrid"
COUNTRY, SUBDIVISION = "ES", "MD"
CURRENCY = "EUR"
COMPANY_NAME = "Talavera Analytics"

DAY = 86_400
HOUR = 3_600
_I64 = np.int64

# -- funnel vocabulary ---------------------------------------------------------------------------
STAGES = ("lead", "mql", "sal", "sql", "opportunity", "customer", "disqualified", "recycled",
          "lost")  # fmt: skip
LEAD, MQL, SAL, SQL, OPP, CUSTOMER, DISQUALIFIED, RECYCLED, LOST = range(9)
REASONS = ("no_budget", "no_authority", "no_need", "bad_timing", "competitor", "student",
           "bad_data", "duplicate", "unresponsive", "other")  # fmt: skip
R = {name: i for i, name in enumerate(REASONS)}
TOUCH_KINDS = ("visit", "ad_click", "form", "email_click", "call", "meeting", "event")
KIND = {k: i for i, k in enumerate(TOUCH_KINDS)}

# fmt: off
PERSONAS = ("cfo", "cto", "ops_manager", "founder", "marketing_manager")
SEGMENTS = ("smb", "mid_market", "enterprise")
#: Multipliers of the step probabilities (mql, accept, qualify, opportunity, win) by persona.
PERSONA_MULT = np.array([
    [1.15, 1.10, 1.10, 1.05, 1.10],  # cfo: holds the budget
    [1.00, 1.00, 0.95, 1.00, 0.95],  # cto
    [0.90, 0.90, 0.95, 0.95, 1.00],  # ops_manager
    [1.10, 1.05, 1.15, 1.10, 1.15],  # founder: decides fast
    [0.85, 0.85, 0.85, 0.90, 0.85],  # marketing_manager: often only researching
])
#: ... and by segment.
SEGMENT_MULT = np.array([
    [0.95, 0.90, 0.95, 1.00, 1.15],  # smb
    [1.05, 1.10, 1.05, 1.00, 1.00],  # mid_market
    [1.15, 1.15, 1.00, 0.95, 0.70],  # enterprise: accepted readily, hard to close
])
SEGMENT_SPEED = np.array([0.75, 1.0, 1.7])  # delay multipliers
SEGMENT_PRE_TOUCHES = np.array([0.9, 1.1, 1.5])  # research before converting
DEAL_MEDIAN = np.array([5_000.0, 18_000.0, 70_000.0])  # EUR
DEAL_SIGMA = np.array([0.45, 0.50, 0.60])  # lognormal
TITLES = (
    ("CFO", "Finance Director", "Head of Finance"),
    ("CTO", "Head of Engineering", "IT Director"),
    ("Operations Manager", "Head of Operations", "COO"),
    ("Founder & CEO", "Co-founder", "Managing Director"),
    ("Marketing Manager", "Head of Marketing", "CMO"),
)
COUNTRIES = (("ES", 0.72), ("PT", 0.08), ("FR", 0.06), ("MX", 0.05), ("DE", 0.04), ("IT", 0.03),
             ("GB", 0.02))
SDRS = ("Lucía Martín", "Javier Romero", "Marta Navarro", "Pablo Ortega", "Irene Castillo",
        "Daniel Vega")
#: Account executives: the first two work enterprise deals, the rest smb and mid-market.
AES = ("Carmen Ruiz", "Alberto Gil", "Sofía Delgado", "Miguel Herrera", "Elena Prieto")

PAGES = ("/", "/demo", "/pricing", "/blog", "/ebook/roi-marketing", "/webinar")
#: Per landing page: multiplier of P(mql) and of P(lead → sql), the last entry for no page;
#: and of the visit → lead conversion.
PAGE_MQL = np.array([1.0, 1.35, 1.2, 0.75, 0.85, 1.0, 1.0])
PAGE_SKIP = np.array([1.0, 2.5, 1.5, 0.5, 0.3, 0.5, 1.0])
PAGE_CVR = np.array([0.8, 2.2, 1.3, 0.45, 1.4, 1.5])

FIRST_NAMES = (
    "Ana", "Carlos", "María", "José", "Laura", "David", "Elena", "Javier", "Lucía", "Daniel",
    "Carmen", "Pablo", "Marta", "Sergio", "Paula", "Alejandro", "Sara", "Manuel", "Cristina",
    "Francisco", "Isabel", "Antonio", "Raquel", "Miguel", "Beatriz", "Jorge", "Nuria", "Álvaro",
    "Inés", "Rubén", "João", "Inês", "Pierre", "Claire", "Lukas", "Anna", "Giulia", "Marco",
    "Sofía", "Andrés",
)
LAST_NAMES = (
    "García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez",
    "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez",
    "Romero", "Alonso", "Gutiérrez", "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos", "Gil",
    "Ramírez", "Serrano", "Blanco", "Molina", "Silva", "Costa", "Dubois", "Martin", "Müller",
    "Schmidt", "Rossi", "Bianchi", "Ortega", "Iglesias",
)
COMPANY_CORES = (
    "Norte", "Alba", "Brisa", "Cierzo", "Delta", "Ebro", "Faro", "Garza", "Hélice", "Iris",
    "Júcar", "Lince", "Mistral", "Nébula", "Olivo", "Pinar", "Quimera", "Roble", "Sauce", "Tajo",
    "Umbral", "Vega", "Zafiro", "Atlas", "Boreal", "Cima", "Duna", "Eólica", "Fénix", "Granito",
    "Horizonte", "Ícaro", "Jara", "Kappa", "Lumen", "Marea", "Nácar", "Orión", "Prisma",
    "Quásar", "Rumbo", "Sirio", "Tesela", "Ursa", "Vértice", "Xenón", "Yunque", "Zenit",
    "Aurora", "Bruma", "Cobalto", "Dintel", "Estela", "Fragua", "Galena", "Halcón", "Índigo",
    "Jade", "Kilo", "Lira",
)
COMPANY_SECTORS = (
    "Logística", "Retail", "Software", "Consulting", "Foods", "Health", "Energía", "Ingeniería",
    "Legal", "Media", "Fintech", "Seguros", "Textil", "Turismo", "Inmobiliaria", "Farma",
    "Automoción", "Educación", "Agro", "Telecom", "Construcción", "Biotech", "Marketing", "Data",
    "Robotics", "Packaging", "Hostelería", "Transporte", "Cosmética", "Deportes",
)
COMPANY_SUFFIXES = (("S.L.", "S.L.U.", "Studio", "Lab"), ("S.A.", "Group", "Iberia"),
                    ("Holding S.A.", "Group S.A.", "Corporation"))
SEGMENT_TLD = (".es", ".com", ".com")

#: Weekday weights (Mon..Sun) of lead creation.
WEEKDAY_INBOUND = np.array([1.05, 1.12, 1.10, 1.00, 0.80, 0.30, 0.25])
WEEKDAY_EMAIL = np.array([0.80, 1.60, 0.90, 1.40, 0.70, 0.20, 0.20])  # sends on Tue and Thu
WEEKDAY_SOCIAL = np.array([1.00, 1.05, 1.05, 1.00, 0.90, 0.55, 0.50])
WEEKDAY_SALES = np.array([1.00, 1.05, 1.05, 1.00, 0.80, 0.0, 0.0])
#: Month weights (Jan..Dec): August and December are quiet.
MONTH = np.array([1.05, 1.05, 1.10, 0.95, 1.05, 1.00, 0.80, 0.45, 1.10, 1.15, 1.10, 0.75])
#: Hour-of-day weights (local time) of web conversions, and of sales and event activity.
HOURS_WEB = np.array([0.30, 0.15, 0.10, 0.08, 0.08, 0.15, 0.40, 1.00, 2.20, 3.50, 4.20, 4.40,
                      4.00, 3.00, 2.80, 3.60, 3.80, 3.40, 2.60, 2.00, 1.80, 1.70, 1.30, 0.70])
HOURS_WORK = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 2.0, 3.0, 3.0, 2.5, 1.5, 2.5, 3.0, 2.5, 1.5,
                       0.8, 0, 0, 0, 0, 0])
#: Trade shows: month → event name (the year is appended).
EVENT_MONTHS = {2: "retail_forum_barcelona", 3: "cfo_day_madrid", 5: "saas_summit_valencia",
                6: "ops_congress_bilbao", 9: "digital_expo_lisboa", 10: "b2b_growth_madrid",
                11: "tech_week_sevilla"}
# fmt: on


@dataclasses.dataclass(frozen=True)
class _Campaign:
    name: str | None
    weight: float
    quality: float = 1.0  # multiplier of P(mql)
    cpl: float = 0.0  # media cost per lead, EUR


@dataclasses.dataclass(frozen=True)
class _Channel:
    """A lead source: volume, quality at every funnel step, speed, touches, traffic and cost."""

    key: str
    label: str
    source_values: tuple[str, ...]
    share: float  # of all leads
    # step probabilities (before the persona/segment/page/campaign multipliers)
    mql: float  # lead → mql
    skip: float  # lead → sql directly (hand-raisers, SDR outbound)
    accept: float  # mql → sal
    qualify: float  # sal → sql
    opportunity: float  # sql → opportunity
    win: float  # opportunity → customer
    speed: float  # delay multiplier
    response_hours: float  # median sales response to an MQL
    pre_touches: float  # mean anonymous touches before the lead is created
    visit_rate: float  # visit → lead (0: no web traffic)
    campaigns: tuple[_Campaign, ...]
    pages: tuple[tuple[str, float], ...] = ()
    weekdays: str = "inbound"
    personas: tuple[float, ...] = (0.20, 0.22, 0.25, 0.15, 0.18)
    segments: tuple[float, ...] = (0.60, 0.30, 0.10)
    sourced: str = "marketing"


# fmt: off
CHANNELS: tuple[_Channel, ...] = (
    _Channel(
        "organic_search", "Organic search", ("ORGANIC_SEARCH", "seo"), share=0.22,
        mql=0.36, skip=0.02, accept=0.68, qualify=0.55, opportunity=0.55, win=0.28,
        speed=1.0, response_hours=8, pre_touches=1.6, visit_rate=0.018,
        campaigns=(_Campaign(None, 1.0),),
        pages=(("/", 0.15), ("/blog", 0.50), ("/pricing", 0.12), ("/ebook/roi-marketing", 0.15),
               ("/demo", 0.08)),
    ),
    _Channel(
        "paid_search", "Paid search", ("PAID_SEARCH", "sem", "google ads"), share=0.17,
        mql=0.42, skip=0.04, accept=0.66, qualify=0.55, opportunity=0.52, win=0.27,
        speed=0.9, response_hours=5, pre_touches=1.4, visit_rate=0.025,
        campaigns=(_Campaign("google_brand", 0.25, quality=1.25, cpl=90),
                   _Campaign("google_generic", 0.40, quality=1.0, cpl=240),
                   _Campaign("google_competitors", 0.15, quality=0.8, cpl=320),
                   _Campaign("google_retargeting", 0.20, quality=1.15, cpl=120)),
        pages=(("/demo", 0.50), ("/pricing", 0.30), ("/ebook/roi-marketing", 0.20)),
    ),
    _Channel(
        "paid_social", "Paid social", ("PAID_SOCIAL",), share=0.15,
        mql=0.24, skip=0.01, accept=0.50, qualify=0.45, opportunity=0.45, win=0.22,
        speed=1.2, response_hours=10, pre_touches=0.9, visit_rate=0.012,
        campaigns=(_Campaign("linkedin_leadgen", 0.40, quality=1.0, cpl=190),
                   _Campaign("linkedin_abm", 0.20, quality=1.4, cpl=360),
                   _Campaign("meta_prospecting", 0.40, quality=0.7, cpl=70)),
        pages=(("/ebook/roi-marketing", 0.55), ("/webinar", 0.35), ("/demo", 0.10)),
        weekdays="social", personas=(0.12, 0.15, 0.20, 0.28, 0.25), segments=(0.75, 0.20, 0.05),
    ),
    _Channel(
        "organic_social", "Organic social", ("SOCIAL_MEDIA",), share=0.06,
        mql=0.22, skip=0.01, accept=0.55, qualify=0.45, opportunity=0.48, win=0.22,
        speed=1.2, response_hours=12, pre_touches=1.0, visit_rate=0.009,
        campaigns=(_Campaign("linkedin_page", 0.75), _Campaign("youtube_channel", 0.25, 0.9)),
        pages=(("/blog", 0.50), ("/webinar", 0.30), ("/ebook/roi-marketing", 0.20)),
        weekdays="social", personas=(0.12, 0.18, 0.20, 0.25, 0.25), segments=(0.70, 0.24, 0.06),
    ),
    _Channel(
        "email", "E-mail", ("EMAIL_MARKETING", "newsletter"), share=0.08,
        mql=0.40, skip=0.02, accept=0.65, qualify=0.50, opportunity=0.50, win=0.27,
        speed=1.0, response_hours=8, pre_touches=1.2, visit_rate=0.035,
        campaigns=(_Campaign("newsletter", 0.35, 0.9), _Campaign("nurture_sequence", 0.30, 1.1),
                   _Campaign("product_launch", 0.15, 1.0), _Campaign("webinar_invite", 0.20)),
        pages=(("/webinar", 0.45), ("/ebook/roi-marketing", 0.25), ("/demo", 0.15),
               ("/blog", 0.15)),
        weekdays="email",
    ),
    _Channel(
        "referral", "Referral", ("REFERRALS",), share=0.05,
        mql=0.45, skip=0.08, accept=0.80, qualify=0.65, opportunity=0.62, win=0.38,
        speed=0.8, response_hours=4, pre_touches=1.0, visit_rate=0.030,
        campaigns=(_Campaign("partner_program", 0.50, quality=1.0, cpl=150),
                   _Campaign("customer_referral", 0.30, quality=1.2),
                   _Campaign("review_sites", 0.20, quality=0.9, cpl=50)),
        pages=(("/", 0.45), ("/demo", 0.40), ("/pricing", 0.15)),
        segments=(0.45, 0.38, 0.17),
    ),
    _Channel(
        "direct", "Direct", ("DIRECT_TRAFFIC",), share=0.11,
        mql=0.38, skip=0.05, accept=0.70, qualify=0.58, opportunity=0.55, win=0.30,
        speed=0.9, response_hours=5, pre_touches=2.2, visit_rate=0.025,
        campaigns=(_Campaign(None, 1.0),),
        pages=(("/", 0.40), ("/demo", 0.35), ("/pricing", 0.25)),
    ),
    _Channel(  # campaigns: one per trade show, made by the generator
        "events", "Events", ("OFFLINE", "trade show"), share=0.07,
        mql=0.32, skip=0.03, accept=0.60, qualify=0.50, opportunity=0.55, win=0.28,
        speed=1.3, response_hours=16, pre_touches=0.3, visit_rate=0.0,
        campaigns=(), weekdays="events",
        personas=(0.24, 0.20, 0.28, 0.14, 0.14), segments=(0.35, 0.40, 0.25),
    ),
    _Channel(  # no MQL step: an SDR's lead goes to sql or is dropped; campaign = segment
        "sdr_outbound", "SDR outbound", ("outbound",), share=0.09,
        mql=0.0, skip=0.28, accept=0.0, qualify=0.0, opportunity=0.50, win=0.22,
        speed=0.8, response_hours=2, pre_touches=0.0, visit_rate=0.0,
        campaigns=(_Campaign("outbound_smb", 0.0), _Campaign("outbound_mid_market", 0.0),
                   _Campaign("outbound_enterprise", 0.0)),
        weekdays="sales", personas=(0.30, 0.25, 0.25, 0.12, 0.08), segments=(0.20, 0.50, 0.30),
        sourced="sales",
    ),
)
# fmt: on
CH = {c.key: i for i, c in enumerate(CHANNELS)}
#: Channels of a visitor's other sessions (touches that are not on the lead's own channel).
OTHER_TOUCH_CHANNELS = (("direct", 0.35), ("organic_search", 0.30), ("paid_search", 0.15),
                        ("paid_social", 0.10), ("email", 0.10))  # fmt: skip


@dataclasses.dataclass
class Company:
    """A synthetic company: one frame per import kind (columns = ledger field names) and the
    ``leadledger.yaml`` that describes it."""

    leads: pd.DataFrame
    stages: pd.DataFrame
    touches: pd.DataFrame
    deals: pd.DataFrame
    costs: pd.DataFrame
    traffic: pd.DataFrame
    config_text: str
    name: str = COMPANY_NAME
    seed: int = 0
    start: dt.date = DEFAULT_END
    end: dt.date = DEFAULT_END

    def frames(self) -> dict[str, pd.DataFrame]:
        """Import kind → frame, in import order."""
        return {kind: getattr(self, kind) for kind in KINDS}


# -- public API ----------------------------------------------------------------------------------
def generate_company(
    leads: int, seed: int, *, end: dt.date | None = None, years: int = 2
) -> Company:
    """A deterministic synthetic company with ``leads`` leads created over ``years`` years up to
    ``end`` (default 2026-10-31). The same arguments always give the same frames."""
    if isinstance(leads, bool) or not isinstance(leads, int | np.integer) or leads < 1:
        raise InvalidArgument(f"leads must be a whole number ≥ 1, not {leads!r}")
    if isinstance(years, bool) or not isinstance(years, int | np.integer) or years < 1:
        raise InvalidArgument(f"years must be a whole number ≥ 1, not {years!r}")
    end = end or DEFAULT_END
    if isinstance(end, dt.datetime):
        end = end.date()
    return _Generator(int(leads), int(seed), end, int(years)).run()


def write_company(company: Company, directory: Path, fmt: str = "csv") -> dict[str, Path]:
    """Write one file per import kind (``leads.csv`` … or ``.parquet``) into ``directory``;
    returns kind → path in import order. CSV timestamps are ISO 8601 with a UTC offset."""
    fmt = str(fmt).lower()
    if fmt not in ("csv", "parquet"):
        raise InvalidArgument(f"unknown file format '{fmt}'", hint="use csv or parquet")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for kind in KINDS:
        frame: pd.DataFrame = getattr(company, kind)
        table = _arrow_table(frame)
        path = directory / f"{kind}.{fmt}"
        if fmt == "parquet":
            pq.write_table(table, path)
        else:
            pacsv.write_csv(
                _csv_ready(table), path, write_options=pacsv.WriteOptions(quoting_style="needed")
            )
        paths[kind] = path
    return paths


# -- calendar ------------------------------------------------------------------------------------
def _epoch_day(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


@dataclasses.dataclass
class _Calendar:
    """Day-indexed lookups over [first, first + n): working days, holidays, UTC offsets."""

    first: dt.date
    n: int
    working: np.ndarray  # bool
    holiday: np.ndarray  # public holiday or closure
    next_working: np.ndarray  # index of the next working day ≥ i (n when none); length n + 1
    offset: np.ndarray  # local − UTC in seconds (at noon)
    weekday: np.ndarray
    month: np.ndarray  # 1..12
    dates: np.ndarray  # datetime64[D]

    @property
    def day0(self) -> int:
        return _epoch_day(self.first)

    @classmethod
    def build(cls, first: dt.date, last: dt.date) -> _Calendar:
        n = (last - first).days + 1
        dates = np.arange(np.datetime64(first, "D"), np.datetime64(last, "D") + 1)
        idx = pd.DatetimeIndex(dates)
        weekday = idx.day_of_week.to_numpy()
        month = idx.month.to_numpy()
        days = set(
            holidays.country_holidays(
                COUNTRY, subdiv=SUBDIVISION, years=range(first.year, last.year + 1)
            )
        )
        days |= {c for c in _closures(first.year, last.year)}
        hol = np.isin(dates, np.array(sorted(days), dtype="datetime64[D]"))
        working = (weekday < 5) & ~hol
        positions = np.flatnonzero(working)
        nxt = np.searchsorted(positions, np.arange(n + 1))
        next_working = np.append(positions, n)[nxt]
        noon = idx + pd.Timedelta(hours=12)
        aware = noon.tz_localize(TIMEZONE)
        offset = aware.tz_localize(None) - aware.tz_convert("UTC").tz_localize(None)
        off = offset.to_numpy().astype("timedelta64[s]").astype(_I64)
        return cls(first, n, working, hol, next_working.astype(_I64), off, weekday, month, dates)

    def day_index(self, t: np.ndarray) -> np.ndarray:
        return t // DAY - self.day0

    def to_utc(self, t: np.ndarray) -> np.ndarray:
        """Local wall-clock seconds → UTC epoch seconds (offset of the local day)."""
        d = np.clip(self.day_index(t), 0, self.n - 1)
        return t - self.offset[d]

    def business(self, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Move local times outside business hours (09–18 on working days) to the next working
        morning; times past the calendar stay (they are past ``end`` anyway)."""
        day = self.day_index(t)
        inside = (day >= 0) & (day < self.n)
        d = np.clip(day, 0, self.n - 1)
        sec = t - (t // DAY) * DAY
        work = self.working[d]
        ok = ~inside | (work & (sec >= 9 * HOUR) & (sec < 18 * HOUR))
        late = work & (sec >= 18 * HOUR)
        target = self.next_working[d + late]
        jitter = (rng.random(t.size) * 4 * HOUR).astype(_I64)
        moved = (self.day0 + target) * DAY + 9 * HOUR + jitter
        return np.where(ok, t, moved)


def _closures(first_year: int, last_year: int) -> list[dt.date]:
    """The company's own closure days: Christmas Eve and New Year's Eve."""
    out = []
    for year in range(first_year, last_year + 1):
        out += [dt.date(year, 12, 24), dt.date(year, 12, 31)]
    return out


# -- small vectorised helpers -------------------------------------------------------------------
_STR: object
try:  # pandas ≥ 2.3: the default "str" dtype (pyarrow-backed, NaN for missing)
    _STR = pd.StringDtype("pyarrow", na_value=np.nan)
except TypeError:  # pragma: no cover - older pandas
    _STR = pd.StringDtype("pyarrow")


def _strings(arr: pa.Array | pa.ChunkedArray) -> pd.Series:
    return pd.Series(pd.array(arr, dtype=_STR))  # type: ignore[call-overload]


def _pick(values: Sequence[str | None], codes: np.ndarray) -> pd.Series:
    """values[codes] as a string column; code −1 (or a None value) is missing."""
    table = pa.array([*values, None], type=pa.string())
    codes = np.where(codes < 0, len(values), codes)
    return _strings(pc.take(table, pa.array(codes.astype(np.int32))))


def _numbered(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    """prefix + zero-padded numbers, built straight into an Arrow buffer."""
    n = numbers.shape[0]
    size = len(prefix) + width
    buf = np.empty((n, size), dtype=np.uint8)
    buf[:, : len(prefix)] = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    rest = numbers.astype(_I64)
    pos = size
    while pos > len(prefix):  # four digits at a time, from the right
        step = min(4, pos - len(prefix))
        buf[:, pos - step : pos] = _DIGITS4[rest % 10_000][:, 4 - step :]
        rest = rest // 10_000
        pos -= step
    offsets = np.arange(0, (n + 1) * size, size, dtype=np.int32 if n * size < 2**31 else _I64)
    typ = pa.string() if offsets.dtype == np.int32 else pa.large_string()
    arr = pa.Array.from_buffers(typ, n, [None, pa.py_buffer(offsets), pa.py_buffer(buf)])
    return _strings(arr)


#: "0000" … "9999" as bytes, one row per number
_DIGITS4 = (48 + (np.arange(10_000)[:, None] // np.array([1000, 100, 10, 1]) % 10)).astype(np.uint8)


def _timestamps(t_utc: np.ndarray, missing: np.ndarray | None = None) -> pd.Series:
    """UTC epoch seconds → tz-aware UTC timestamps (microseconds)."""
    values = (t_utc.astype(_I64) * 1_000_000).astype("datetime64[us]")
    if missing is not None:
        values[missing] = np.datetime64("NaT")
    return pd.Series(values, dtype=pd.DatetimeTZDtype("us", "UTC"))


def _choice(
    rng: np.random.Generator, weights: Sequence[float] | np.ndarray, size: int
) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=size, p=w / w.sum())


def _outcomes(rng: np.random.Generator, probs: Sequence[np.ndarray | float], n: int) -> np.ndarray:
    """One outcome per row: i with probability probs[i] (scaled down when they exceed 1),
    len(probs) otherwise."""
    ps = [np.broadcast_to(np.asarray(p, dtype=float), (n,)) for p in probs]
    total = np.sum(ps, axis=0) if ps else np.zeros(n)
    scale = np.where(total > 1.0, 1.0 / np.maximum(total, 1e-12), 1.0)
    u = rng.random(n)
    out = np.full(n, len(ps), dtype=np.int8)
    cum = np.zeros(n)
    for i, p in enumerate(ps):
        upper = cum + p * scale
        out[(out == len(ps)) & (u < upper)] = i
        cum = upper
    return out


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", ascii_text.lower())


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


# -- the generator -------------------------------------------------------------------------------
class _Events:
    """Stage events collected per step: lead index, stage, local time, reason, owner kind."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, int, np.ndarray, np.ndarray, int]] = []

    def add(
        self,
        idx: np.ndarray,
        stage: int,
        t: np.ndarray,
        reason: np.ndarray | None = None,
        owner: int = 0,
    ) -> None:
        if idx.size:
            r = np.full(idx.size, -1, dtype=np.int8) if reason is None else reason
            self.parts.append((idx, stage, t, r, owner))


class _Generator:
    def __init__(self, leads: int, seed: int, end: dt.date, years: int) -> None:
        self.n = leads
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.end = end
        try:
            self.start = end.replace(year=end.year - years) + dt.timedelta(days=1)
        except ValueError:  # 29 February
            self.start = end.replace(year=end.year - years, day=28) + dt.timedelta(days=1)
        self.cal = _Calendar.build(self.start - dt.timedelta(days=200), end + dt.timedelta(days=40))
        self.first_idx = (self.start - self.cal.first).days
        self.ndays = (end - self.start).days + 1
        #: first local second after ``end``: nothing happens at or after it
        self.cutoff = (_epoch_day(end) + 1) * DAY

    # .. orchestration .........................................................................
    def run(self) -> Company:
        self._schedule_events()
        self._campaign_table()
        self._create_leads()
        self._attributes()
        self._funnel()
        leads = self._leads_frame()
        stages = self._stages_frame()
        deals = self._deals_frame()
        touches = self._touches_frame()
        costs = self._costs_frame()
        traffic = self._traffic_frame()
        name = f"{COMPANY_NAME} (synthetic, seed {self.seed})"
        return Company(
            leads,
            stages,
            touches,
            deals,
            costs,
            traffic,
            config_text=company_config_text(name, self.start, self.end),
            name=name,
            seed=self.seed,
            start=self.start,
            end=self.end,
        )

    # .. calendar of trade shows and campaigns .................................................
    def _schedule_events(self) -> None:
        """Two-day trade shows on working days in the event months (one loop per month)."""
        cal, rng = self.cal, self.rng
        self.event_of_day = np.full(self.ndays, -1, dtype=np.int32)
        self.event_names: list[str] = []
        self.event_days: list[tuple[int, int]] = []  # first/last lead-window day index
        self.event_size: list[float] = []
        months = pd.period_range(self.start, self.end, freq="M")
        for month in months:
            name = EVENT_MONTHS.get(month.month)
            if name is None:
                continue
            lo = max(_epoch_day(month.start_time.date()) + 7, _epoch_day(self.start))
            hi = min(_epoch_day(month.start_time.date()) + 24, _epoch_day(self.end) - 1)
            cand = [
                d
                for d in range(lo, hi + 1)
                if cal.working[d - cal.day0] and cal.working[d + 1 - cal.day0]
            ]
            if not cand:
                continue
            day = cand[int(rng.integers(len(cand)))]
            i0 = day - _epoch_day(self.start)
            code = len(self.event_names)
            self.event_names.append(f"{name}_{month.year}")
            self.event_days.append((i0, i0 + 1))
            self.event_size.append(float(rng.lognormal(0.0, 0.35)))
            self.event_of_day[i0 : i0 + 2] = code

    def _campaign_table(self) -> None:
        """One global list of (channel, campaign) with quality and cost per lead."""
        self.camp_name: list[str | None] = []
        self.camp_quality: list[float] = []
        self.camp_cpl: list[float] = []
        self.camp_first: list[int] = []  # first campaign code of each channel
        for ch in CHANNELS:
            self.camp_first.append(len(self.camp_name))
            camps = ch.campaigns
            if ch.key == "events":
                names = self.event_names or ["trade_shows"]
                camps = tuple(_Campaign(name, 1.0) for name in names)
            for camp in camps:
                self.camp_name.append(camp.name)
                self.camp_quality.append(camp.quality)
                self.camp_cpl.append(camp.cpl)

    # .. leads ...................................................................................
    def _day_weights(self, ch: _Channel) -> np.ndarray:
        cal = self.cal
        sl = slice(self.first_idx, self.first_idx + self.ndays)
        if ch.weekdays == "events" and self.event_days:
            w = np.zeros(self.ndays)
            for (i0, i1), size in zip(self.event_days, self.event_size, strict=True):
                w[i0] = size
                w[i1] = 0.8 * size
            return w
        t = np.arange(self.ndays) / 365.0
        trend = np.exp(np.log(1.25) * t)  # +25 % a year
        wd = {
            "inbound": WEEKDAY_INBOUND,
            "email": WEEKDAY_EMAIL,
            "social": WEEKDAY_SOCIAL,
            "sales": WEEKDAY_SALES,
            "events": WEEKDAY_SALES,
        }[ch.weekdays][cal.weekday[sl]]
        w = trend * wd * MONTH[cal.month[sl] - 1]
        days = pd.DatetimeIndex(cal.dates[sl])
        xmas = ((days.month == 12) & (days.day >= 22)) | ((days.month == 1) & (days.day <= 6))
        w = w * np.where(xmas, 0.4, 1.0)
        if ch.weekdays in ("sales", "events"):  # events: only without a trade show in range
            w = w * cal.working[sl]
        else:
            w = w * np.where(cal.holiday[sl], 0.2, 1.0)
        return w

    def _create_leads(self) -> None:
        rng = self.rng
        shares = np.array([c.share for c in CHANNELS])
        counts = rng.multinomial(self.n, shares / shares.sum())
        self.day_weights = [self._day_weights(c) for c in CHANNELS]
        created, chans = [], []
        for c, ch in enumerate(CHANNELS):
            k = int(counts[c])
            w = self.day_weights[c]
            days = _choice(rng, w, k)
            hours = _choice(rng, HOURS_WORK if ch.weekdays in ("sales", "events") else HOURS_WEB, k)
            secs = rng.integers(0, HOUR, k)
            created.append((_epoch_day(self.start) + days) * DAY + hours * HOUR + secs)
            chans.append(np.full(k, c, dtype=np.int8))
        t = np.concatenate(created).astype(_I64)
        ch_all = np.concatenate(chans)
        order = np.argsort(t, kind="stable")
        self.created = t[order]
        self.ch = ch_all[order]

    def _attributes(self) -> None:
        rng, n = self.rng, self.n
        self.persona = np.zeros(n, dtype=np.int8)
        self.segment = np.zeros(n, dtype=np.int8)
        self.page = np.full(n, -1, dtype=np.int8)
        self.camp = np.zeros(n, dtype=np.int32)
        day = (self.created // DAY - _epoch_day(self.start)).astype(_I64)
        for c, ch in enumerate(CHANNELS):
            m = np.flatnonzero(self.ch == c)
            k = m.size
            self.persona[m] = _choice(rng, ch.personas, k)
            self.segment[m] = _choice(rng, ch.segments, k)
            if ch.pages:
                self.page[m] = np.array([PAGES.index(p) for p, _ in ch.pages])[
                    _choice(rng, [w for _, w in ch.pages], k)
                ]
            first = self.camp_first[c]
            if ch.key == "events":
                self.camp[m] = first + np.maximum(self.event_of_day[day[m]], 0)
            elif ch.key == "sdr_outbound":
                self.camp[m] = first + self.segment[m]
            else:
                self.camp[m] = first + _choice(rng, [x.weight for x in ch.campaigns], k)
        self.sdr = rng.integers(0, len(SDRS), n).astype(np.int8)
        self.ae = np.where(
            self.segment == 2, rng.integers(0, 2, n), 2 + rng.integers(0, len(AES) - 2, n)
        ).astype(np.int8)
        self.speed = np.array([c.speed for c in CHANNELS])[self.ch] * SEGMENT_SPEED[self.segment]

    # .. funnel ..................................................................................
    def _p(self, step: int, base: str) -> np.ndarray:
        """Per-lead probability of a funnel step (0 mql, 1 accept, 2 qualify, 3 opp, 4 win)."""
        b = np.array([getattr(c, base) for c in CHANNELS])[self.ch]
        p = b * PERSONA_MULT[self.persona, step] * SEGMENT_MULT[self.segment, step]
        if step == 0:
            p = p * PAGE_MQL[self.page] * np.array(self.camp_quality)[self.camp]
        return np.clip(p, 0.0, 0.95)

    def _delay(self, idx: np.ndarray, median_days: float | np.ndarray, sigma: float) -> np.ndarray:
        d = self.rng.lognormal(0.0, sigma, idx.size) * median_days * self.speed[idx] * DAY
        return np.maximum(d, 60).astype(_I64)

    def _reasons(self, weights: dict[str, float], size: int) -> np.ndarray:
        codes = np.array([R[k] for k in weights], dtype=np.int8)
        return codes[_choice(self.rng, list(weights.values()), size)]

    def _funnel(self) -> None:
        rng, cal = self.rng, self.cal
        ev = self.events = _Events()
        self.p_mql = self._p(0, "mql")
        self.p_acc = self._p(1, "accept")
        self.p_qual = self._p(2, "qualify")
        self.p_opp = self._p(3, "opportunity")
        self.p_win = self._p(4, "win")
        base_skip = np.array([c.skip for c in CHANNELS])[self.ch]
        self.p_skip = np.clip(
            base_skip * PAGE_SKIP[self.page] * PERSONA_MULT[self.persona, 2], 0.0, 0.9
        )
        idx = np.arange(self.n)
        t0 = self.created
        sdr = self.ch == CH["sdr_outbound"]

        # lead → mql (automated scoring) / → sql (hand-raisers, SDR outbound) / rejected early
        inbound = idx[~sdr]
        out = _outcomes(rng, [self.p_mql[inbound], self.p_skip[inbound], 0.09], inbound.size)
        to_mql = inbound[out == 0]
        t_mql = t0[to_mql] + self._delay(to_mql, 1.5, 1.4)
        ev.add(to_mql, MQL, t_mql)
        to_sql = inbound[out == 1]
        t_sql = cal.business(t0[to_sql] + self._delay(to_sql, 4.0, 1.0), rng)
        ev.add(to_sql, SQL, t_sql, owner=1)
        # marketing weeds out junk: bad data, students, duplicates of earlier leads
        bad = inbound[out == 2]
        why = {"bad_data": 0.35, "student": 0.25, "duplicate": 0.25, "other": 0.15}
        self.early_reject, self.early_reason = bad, self._reasons(why, bad.size)
        t_bad = cal.business(t0[bad] + self._delay(bad, 2.0, 1.0), rng)
        ev.add(bad, DISQUALIFIED, t_bad, self.early_reason)

        outbound = idx[sdr]
        out = _outcomes(rng, [self.p_skip[outbound], 0.35, 0.15], outbound.size)
        o_sql = outbound[out == 0]
        o_t = cal.business(t0[o_sql] + self._delay(o_sql, 2.0, 0.9), rng)
        ev.add(o_sql, SQL, o_t, owner=1)
        o_dq = outbound[out == 1]
        ev.add(
            o_dq,
            DISQUALIFIED,
            cal.business(t0[o_dq] + self._delay(o_dq, 10.0, 0.8), rng),
            self._reasons(
                {
                    "no_need": 0.30,
                    "bad_timing": 0.20,
                    "unresponsive": 0.25,
                    "no_authority": 0.15,
                    "competitor": 0.10,
                },
                o_dq.size,
            ),
            owner=1,
        )
        o_rc = outbound[out == 2]
        ev.add(o_rc, RECYCLED, cal.business(t0[o_rc] + self._delay(o_rc, 10.0, 0.8), rng), owner=1)

        self.deal_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        recycled = self._pass(
            to_mql,
            t_mql,
            np.concatenate([to_sql, o_sql]),
            np.concatenate([t_sql, o_t]),
            recycle=True,
        )
        # nurture brings some recycled leads back as MQLs months later (once)
        back_idx, back_t = recycled
        back = rng.random(back_idx.size) < 0.22
        again = back_idx[back]
        t_again = back_t[back] + (rng.lognormal(0.0, 0.5, again.size) * 100 * DAY).astype(_I64)
        ev.add(again, MQL, t_again)
        self._pass(again, t_again, np.zeros(0, _I64), np.zeros(0, _I64), recycle=False)

    def _pass(
        self,
        mql_idx: np.ndarray,
        mql_t: np.ndarray,
        sql_idx: np.ndarray,
        sql_t: np.ndarray,
        *,
        recycle: bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        """mql → sal → sql → opportunity → customer/lost for the leads given; returns the leads
        recycled at the mql or sal stage, and when (those may come back as MQLs; a lead recycled
        as an SQL may have skipped mql, so it does not)."""
        rng, cal, ev = self.rng, self.cal, self.events
        rec_idx: list[np.ndarray] = []
        rec_t: list[np.ndarray] = []
        rc = 1.0 if recycle else 0.0

        def reject(
            idx: np.ndarray,
            t: np.ndarray,
            weights: dict[str, float],
            p_dq: float,
            p_rc: float,
            owner: int,
        ) -> None:
            out = _outcomes(rng, [p_dq + p_rc * (1 - rc), p_rc * rc], idx.size)
            dq = out == 0
            ev.add(idx[dq], DISQUALIFIED, t[dq], self._reasons(weights, int(dq.sum())), owner)
            rcm = out == 1
            ev.add(idx[rcm], RECYCLED, t[rcm], owner=owner)
            rec_idx.append(idx[rcm])
            rec_t.append(t[rcm])

        # mql → sal: the sales response, in business hours
        resp = np.array([c.response_hours for c in CHANNELS])[self.ch[mql_idx]] / 24.0
        acc = rng.random(mql_idx.size) < self.p_acc[mql_idx]
        wait = (rng.lognormal(0.0, 1.1, mql_idx.size) * resp * DAY).astype(_I64)
        t_dec = cal.business(mql_t + np.maximum(wait, 300), rng)
        sal_idx, sal_t = mql_idx[acc], t_dec[acc]
        ev.add(sal_idx, SAL, sal_t, owner=1)
        no = ~acc
        slow = t_dec[no] + self._delay(mql_idx[no], 1.0, 1.0)
        reject(
            mql_idx[no],
            cal.business(slow, rng),
            {
                "no_need": 0.18,
                "no_budget": 0.15,
                "no_authority": 0.14,
                "bad_timing": 0.12,
                "unresponsive": 0.14,
                "student": 0.06,
                "bad_data": 0.08,
                "duplicate": 0.04,
                "competitor": 0.05,
                "other": 0.04,
            },
            0.55,
            0.30,
            owner=1,
        )

        # sal → sql
        ok = rng.random(sal_idx.size) < self.p_qual[sal_idx]
        t_next = cal.business(sal_t + self._delay(sal_idx, 6.0, 0.8), rng)
        q_idx = np.concatenate([sal_idx[ok], sql_idx])
        q_t = np.concatenate([t_next[ok], sql_t])
        ev.add(sal_idx[ok], SQL, t_next[ok], owner=1)
        no = ~ok
        t_no = cal.business(sal_t[no] + self._delay(sal_idx[no], 12.0, 0.8), rng)
        reject(
            sal_idx[no],
            t_no,
            {
                "unresponsive": 0.30,
                "no_budget": 0.20,
                "no_authority": 0.15,
                "no_need": 0.15,
                "bad_timing": 0.12,
                "competitor": 0.05,
                "other": 0.03,
            },
            0.45,
            0.40,
            owner=1,
        )

        # sql → opportunity; rejected, recycled, or left to go cold (then lost)
        out = _outcomes(rng, [self.p_opp[q_idx]], q_idx.size)
        o_idx = q_idx[out == 0]
        o_t = cal.business(q_t[out == 0] + self._delay(o_idx, 10.0, 0.7), rng)
        ev.add(o_idx, OPP, o_t, owner=2)
        rest_idx, rest_t = q_idx[out == 1], q_t[out == 1]
        fate = _outcomes(rng, [0.30, 0.50, 0.12 * rc], rest_idx.size)
        dq = fate == 0
        t_dq = cal.business(rest_t[dq] + self._delay(rest_idx[dq], 8.0, 0.8), rng)
        ev.add(
            rest_idx[dq],
            DISQUALIFIED,
            t_dq,
            self._reasons(
                {
                    "no_budget": 0.30,
                    "no_authority": 0.25,
                    "no_need": 0.20,
                    "competitor": 0.15,
                    "other": 0.10,
                },
                int(dq.sum()),
            ),
            owner=1,
        )
        cold = fate == 1
        gap = (60 + rng.lognormal(0.0, 0.5, int(cold.sum())) * 70) * DAY
        t_cold = cal.business(rest_t[cold] + gap.astype(_I64), rng)
        ev.add(
            rest_idx[cold],
            LOST,
            t_cold,
            self._reasons({"unresponsive": 0.70, "bad_timing": 0.30}, int(cold.sum())),
            owner=1,
        )
        rcm = fate == 2
        t_rc = cal.business(rest_t[rcm] + self._delay(rest_idx[rcm], 30.0, 0.6), rng)
        ev.add(rest_idx[rcm], RECYCLED, t_rc, owner=1)
        # fate 3: nobody works the SQL (it stays open: an SLA breach)

        # opportunity → customer / lost
        won = rng.random(o_idx.size) < self.p_win[o_idx]
        t_close = np.where(won, self._delay(o_idx, 40.0, 0.55), self._delay(o_idx, 50.0, 0.6))
        t_close = cal.business(o_t + t_close, rng)
        ev.add(o_idx[won], CUSTOMER, t_close[won], owner=2)
        lost = ~won
        ev.add(
            o_idx[lost],
            LOST,
            t_close[lost],
            self._reasons(
                {
                    "competitor": 0.35,
                    "no_budget": 0.25,
                    "bad_timing": 0.20,
                    "no_need": 0.10,
                    "unresponsive": 0.07,
                    "other": 0.03,
                },
                int(lost.sum()),
            ),
            owner=2,
        )
        self.deal_parts.append((o_idx, o_t, t_close, won))
        return np.concatenate(rec_idx), np.concatenate(rec_t)

    # .. frames ..................................................................................
    def _leads_frame(self) -> pd.DataFrame:
        rng, n = self.rng, self.n
        ids = self.lead_ids = _numbered("L", np.arange(1, n + 1), max(7, len(str(n))))
        # identities: names, companies (a pool per segment, some companies with many leads);
        # leads rejected as duplicates repeat an earlier lead's identity
        ident = np.arange(n)
        dup = self.early_reject[self.early_reason == R["duplicate"]]
        dup = dup[dup > 0]
        ident[dup] = (rng.random(dup.size) * dup).astype(_I64)
        first = _choice(rng, np.ones(len(FIRST_NAMES)), n)[ident]
        last = _choice(rng, np.ones(len(LAST_NAMES)), n)[ident]
        k = np.zeros(n, dtype=_I64)
        for s, size in enumerate(self._company_pool(s) for s in range(3)):
            m = self.segment == s
            k[m] = (size * rng.random(int(m.sum())) ** 1.6).astype(_I64)
        seg = self.segment[ident]
        k = k[ident]
        cores, sectors = k % len(COMPANY_CORES), (k // len(COMPANY_CORES)) % len(COMPANY_SECTORS)
        suffix_len = np.array([len(x) for x in COMPANY_SUFFIXES])[seg]
        suffix = (k // (len(COMPANY_CORES) * len(COMPANY_SECTORS))) % suffix_len
        suffix_flat = [x for group in COMPANY_SUFFIXES for x in group]
        suffix_off = np.cumsum([0] + [len(x) for x in COMPANY_SUFFIXES])[:-1][seg]

        def words(values: Sequence[str], codes: np.ndarray) -> pa.Array:
            return pa.array(values, type=pa.string()).take(pa.array(codes))

        company = pc.binary_join_element_wise(
            words(COMPANY_CORES, cores),
            words(COMPANY_SECTORS, sectors),
            words(suffix_flat, suffix_off + suffix),
            " ",
        )
        domain = _join(
            words([_slug(x) for x in COMPANY_CORES], cores),
            words([_slug(x) for x in COMPANY_SECTORS], sectors),
            words(SEGMENT_TLD, seg),
        )
        number = pc.cast(pa.array(ident + 1), pa.string())
        email = _join(
            words([_slug(x) for x in FIRST_NAMES], first),
            ".",
            words([_slug(x) for x in LAST_NAMES], last),
            number,
            "@",
            domain,
        )
        full = pc.binary_join_element_wise(words(FIRST_NAMES, first), words(LAST_NAMES, last), " ")
        title = self.persona.astype(_I64) * 3 + rng.integers(0, 3, n)
        titles = [t for group in TITLES for t in group]
        student = self.early_reject[self.early_reason == R["student"]]
        title[student] = len(titles)
        country = _choice(rng, [w for _, w in COUNTRIES], n)
        country[self.ch == CH["events"]] = 0  # trade shows in Spain
        frame = pd.DataFrame(
            {
                "lead_id": ids,
                "created_at": _timestamps(self.cal.to_utc(self.created)),
                "email": _strings(email),
                "name": _strings(full),
                "company": _strings(company),
                "title": _pick([*titles, "Student"], title),
                "channel": _pick([c.key for c in CHANNELS], self.ch),
                "campaign": _pick(self.camp_name, self.camp),
                "landing_page": _pick(PAGES, self.page),
                "owner": _pick(SDRS, self.sdr),
                "country": _pick([c for c, _ in COUNTRIES], country),
                "source_system": _pick(["hubspot"], np.zeros(n, dtype=_I64)),
                "persona": _pick(PERSONAS, self.persona),
                "segment": _pick(SEGMENTS, self.segment),
            }
        )
        return frame

    def _company_pool(self, segment: int) -> int:
        leads = int((self.segment == segment).sum())
        per = (3, 6, 12)[segment]
        cap = len(COMPANY_CORES) * len(COMPANY_SECTORS) * len(COMPANY_SUFFIXES[segment])
        return int(min(cap, max(1, leads // per)))

    def _stages_frame(self) -> pd.DataFrame:
        # a sentinel part keeps the concatenations valid for a company without any event
        nothing = np.zeros(0, dtype=_I64)
        parts = [*self.events.parts, (nothing, LEAD, nothing, np.zeros(0, np.int8), 0)]
        idx = np.concatenate([p[0] for p in parts])
        stage = np.concatenate([np.full(p[0].size, p[1], dtype=np.int8) for p in parts])
        t = np.concatenate([p[2] for p in parts])
        reason = np.concatenate([p[3] for p in parts])
        owner_kind = np.concatenate([np.full(p[0].size, p[4], dtype=np.int8) for p in parts])
        keep = t < self.cutoff
        idx, stage, t, reason, owner_kind = (a[keep] for a in (idx, stage, t, reason, owner_kind))
        t_utc = self.cal.to_utc(t)
        order = np.argsort(t_utc, kind="stable")
        idx, stage, t_utc, reason, owner_kind = (
            a[order] for a in (idx, stage, t_utc, reason, owner_kind)
        )
        t = t[order]
        self.stage_idx, self.stage_code, self.stage_local = idx, stage, t
        owner = np.where(
            owner_kind == 1, self.sdr[idx], np.where(owner_kind == 2, len(SDRS) + self.ae[idx], -1)
        )
        return pd.DataFrame(
            {
                "lead_id": _strings(pc.take(pa.array(self.lead_ids), pa.array(idx))),
                "stage": _pick(STAGES, stage),
                "entered_at": _timestamps(t_utc),
                "reason": _pick(REASONS, reason),
                "owner": _pick([*SDRS, *AES], owner),
            }
        )

    def _deals_frame(self) -> pd.DataFrame:
        rng = self.rng
        idx = np.concatenate([p[0] for p in self.deal_parts])
        t_open = np.concatenate([p[1] for p in self.deal_parts])
        t_close = np.concatenate([p[2] for p in self.deal_parts])
        won = np.concatenate([p[3] for p in self.deal_parts])
        keep = t_open < self.cutoff
        idx, t_open, t_close, won = idx[keep], t_open[keep], t_close[keep], won[keep]
        order = np.lexsort((idx, t_open))
        idx, t_open, t_close, won = idx[order], t_open[order], t_close[order], won[order]
        closed = t_close < self.cutoff
        status = np.where(~closed, 0, np.where(won, 1, 2))
        seg = self.segment[idx]
        ch_factor = np.where(
            self.ch[idx] == CH["referral"],
            1.1,
            np.where(self.ch[idx] == CH["sdr_outbound"], 1.2, 1.0),
        )
        amount = DEAL_MEDIAN[seg] * ch_factor * rng.lognormal(0.0, 1.0, idx.size) ** DEAL_SIGMA[seg]
        amount = np.round(amount / 50.0) * 50.0
        n = idx.size
        return pd.DataFrame(
            {
                "deal_id": _numbered("D", np.arange(1, n + 1), max(6, len(str(n)))),
                "lead_id": _strings(pc.take(pa.array(self.lead_ids), pa.array(idx))),
                "created_at": _timestamps(self.cal.to_utc(t_open)),
                "closed_at": _timestamps(
                    self.cal.to_utc(np.where(closed, t_close, t_open)), missing=~closed
                ),
                "status": _pick(("open", "won", "lost"), status),
                "amount": amount.astype(float),
                "currency": _pick([CURRENCY], np.zeros(n, dtype=_I64)),
                "owner": _pick(AES, self.ae[idx]),
            }
        )

    def _touches_frame(self) -> pd.DataFrame:
        rng, n, cal = self.rng, self.n, self.cal
        created = self.created
        own_ch = self.ch.astype(np.int32)
        # leads with a cookie: web channels, and trade-show leads that visited the site before
        web = np.array([c.visit_rate > 0 or c.key == "events" for c in CHANNELS])[self.ch]
        web_form = np.array([c.visit_rate > 0 for c in CHANNELS])[self.ch]
        # anonymous visitor ids (a bijection of the lead index, so unique)
        anon_num = (np.arange(n, dtype=_I64) * 7_919_423 + 1_234_567) % 9_999_999_967
        parts: list[dict[str, np.ndarray]] = []

        def add(
            idx: np.ndarray,
            t: np.ndarray,
            ch: np.ndarray,
            camp: np.ndarray,
            kind: int | np.ndarray,
            page: np.ndarray,
            anon: bool,
        ) -> None:
            parts.append(
                {
                    "idx": idx,
                    "t": t,
                    "ch": ch.astype(np.int32),
                    "camp": camp.astype(np.int32),
                    "kind": np.broadcast_to(np.asarray(kind, dtype=np.int8), idx.shape),
                    "page": page.astype(np.int8),
                    "anon": np.full(idx.size, anon),
                }
            )

        # before the lead: anonymous sessions (stitched to the lead when it converts)
        lam = (
            np.array([c.pre_touches for c in CHANNELS])[self.ch] * SEGMENT_PRE_TOUCHES[self.segment]
        )
        k = rng.poisson(lam)
        pre = np.repeat(np.arange(n), k)
        window = (
            np.minimum(rng.lognormal(np.log(9.0), 1.0, n) * SEGMENT_SPEED[self.segment], 90.0) * DAY
        )
        u = rng.uniform(0.01, 1.0, pre.size)
        t_pre = created[pre] - np.maximum(window[pre] * u, 600).astype(_I64)
        same = rng.random(pre.size) < 0.45
        other_keys = [CH[c] for c, _ in OTHER_TOUCH_CHANNELS]
        other = np.array(other_keys)[_choice(rng, [w for _, w in OTHER_TOUCH_CHANNELS], pre.size)]
        pre_ch = np.where(same, own_ch[pre], other)
        pre_ch = np.where(own_ch[pre] == CH["events"], np.where(same, CH["direct"], other), pre_ch)
        pre_camp, pre_page = self._touch_campaign_page(pre_ch, same, pre)
        add(pre, t_pre, pre_ch, pre_camp, self._kind_of(pre_ch), pre_page, anon=True)

        # the conversion: a form (web), a badge scan (events) or a reply to the SDR (outbound)
        all_idx = np.arange(n)
        conv_kind = np.where(
            self.ch == CH["events"],
            KIND["event"],
            np.where(self.ch == CH["sdr_outbound"], KIND["call"], KIND["form"]),
        )
        parts.append(
            {
                "idx": all_idx,
                "t": created,
                "ch": own_ch,
                "camp": self.camp.copy(),
                "kind": conv_kind.astype(np.int8),
                "page": self.page.copy(),
                "anon": web_form,
            }
        )

        # after: nurture e-mail clicks and return visits
        reached_mql = np.zeros(n, dtype=bool)
        reached_mql[self.stage_idx[self.stage_code == MQL]] = True
        k = rng.poisson(0.5 + 0.9 * reached_mql)
        post = np.repeat(all_idx, k)
        t_post = created[post] + (rng.exponential(25.0, post.size) * DAY).astype(_I64) + 60
        email_first = self.camp_first[CH["email"]]
        e_camp = email_first + _choice(rng, [0.3, 0.5, 0.1, 0.1], post.size)
        e_page = np.array(
            [PAGES.index(p) for p in ("/blog", "/webinar", "/pricing", "/ebook/roi-marketing")]
        )[_choice(rng, [0.3, 0.3, 0.25, 0.15], post.size)]
        add(
            post,
            t_post,
            np.full(post.size, CH["email"]),
            e_camp,
            KIND["email_click"],
            e_page,
            anon=False,
        )
        k = rng.poisson(0.35, n)
        back = np.repeat(all_idx, k)
        t_back = created[back] + (rng.exponential(15.0, back.size) * DAY).astype(_I64) + 60
        b_ch = np.where(rng.random(back.size) < 0.6, CH["direct"], CH["organic_search"])
        b_camp = np.array(self.camp_first)[b_ch]
        b_page = np.where(rng.random(back.size) < 0.6, PAGES.index("/pricing"), PAGES.index("/"))
        add(back, t_back, b_ch, b_camp, KIND["visit"], b_page, anon=True)

        # sales conversations just before the sales stages
        for stage, kind in (
            (SAL, "call"),
            (SQL, "meeting"),
            (OPP, "meeting"),
            (CUSTOMER, "meeting"),
        ):
            m = self.stage_code == stage
            idx = self.stage_idx[m]
            before = (rng.uniform(0.25, 3.0, idx.size) * HOUR).astype(_I64)
            t = np.maximum(self.stage_local[m] - before, created[idx] + 1)
            add(idx, t, own_ch[idx], self.camp[idx], KIND[kind], np.full(idx.size, -1), anon=False)

        idx = np.concatenate([p["idx"] for p in parts])
        t = np.concatenate([p["t"] for p in parts])
        keep = t < self.cutoff
        cols = {
            key: np.concatenate([p[key] for p in parts])[keep]
            for key in ("idx", "ch", "camp", "kind", "page", "anon")
        }
        t_utc = cal.to_utc(t[keep])
        idx = idx[keep]
        parts.clear()
        del t
        order = np.argsort(t_utc, kind="stable")
        idx, t_utc = idx[order], t_utc[order]
        cols = {key: v[order] for key, v in cols.items()}
        del order
        m = idx.size
        has_anon = cols.pop("anon") & web[idx]
        # visitor ids: numbered for the rows that have one, null elsewhere
        visitors = pa.array(_numbered("V", anon_num[idx[has_anon]], 10))
        pos = np.cumsum(has_anon) - 1
        anon_col = _strings(pc.take(visitors, pa.array(pos, mask=~has_anon)))
        lead_ids = pa.array(self.lead_ids)
        return pd.DataFrame(
            {
                "touch_id": _numbered("T", np.arange(1, m + 1), max(8, len(str(m)))),
                "lead_id": _strings(pc.take(lead_ids, pa.array(idx))),
                "anonymous_id": anon_col,
                "at": _timestamps(t_utc),
                "channel": _pick([c.key for c in CHANNELS], cols["ch"]),
                "campaign": _pick(self.camp_name, cols["camp"]),
                "kind": _pick(TOUCH_KINDS, cols["kind"]),
                "page": _pick(PAGES, cols["page"]),
            }
        )

    def _touch_campaign_page(
        self, ch: np.ndarray, same: np.ndarray, idx: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Campaign and landing page of touches on channel ``ch`` (the lead's own when
        ``same`` and the channel is the lead's)."""
        rng = self.rng
        camp = np.zeros(ch.size, dtype=np.int32)
        page = np.full(ch.size, -1, dtype=np.int8)
        for c, spec in enumerate(CHANNELS):
            m = np.flatnonzero(ch == c)
            if not m.size:
                continue
            if spec.campaigns and spec.key not in ("events", "sdr_outbound"):
                camp[m] = self.camp_first[c] + _choice(
                    rng, [x.weight for x in spec.campaigns], m.size
                )
            else:
                camp[m] = self.camp_first[c]
            if spec.pages:
                page[m] = np.array([PAGES.index(p) for p, _ in spec.pages])[
                    _choice(rng, [w for _, w in spec.pages], m.size)
                ]
        mine = same & (ch == self.ch[idx])
        camp[mine] = self.camp[idx[mine]]
        page[mine] = np.where(self.page[idx[mine]] >= 0, self.page[idx[mine]], page[mine])
        return camp, page

    @staticmethod
    def _kind_of(ch: np.ndarray) -> np.ndarray:
        paid = (ch == CH["paid_search"]) | (ch == CH["paid_social"])
        return np.where(
            paid, KIND["ad_click"], np.where(ch == CH["email"], KIND["email_click"], KIND["visit"])
        )

    # .. costs and traffic ........................................................................
    def _months(self) -> list[tuple[dt.date, dt.date]]:
        out = []
        for p in pd.period_range(self.start, self.end, freq="M"):
            lo = max(p.start_time.date(), self.start)
            hi = min(p.end_time.date(), self.end)
            out.append((lo, hi))
        return out

    def _costs_frame(self) -> pd.DataFrame:
        rng = self.rng
        months = self._months()
        nm = len(months)
        local_day = self.created // DAY
        month_of_lead = (
            np.searchsorted(np.array([_epoch_day(lo) for lo, _ in months]), local_day, side="right")
            - 1
        )
        n_ch = len(CHANNELS)
        by_ch = np.bincount(month_of_lead * n_ch + self.ch, minlength=nm * n_ch).reshape(nm, n_ch)
        n_camp = len(self.camp_name)
        by_camp = np.bincount(month_of_lead * n_camp + self.camp, minlength=nm * n_camp).reshape(
            nm, n_camp
        )
        # smooth volume for salaries and licences: the average month, growing with the trend
        mean = by_ch.mean(axis=0)
        growth = np.exp(np.log(1.25) * (np.arange(nm) - (nm - 1) / 2) / 12.0)
        rows: list[tuple[dt.date, dt.date, str | None, str | None, str, float, str]] = []

        def noise() -> float:
            return float(rng.lognormal(0.0, 0.08))

        for m, (lo, hi) in enumerate(months):
            for c, spec in enumerate(CHANNELS):  # media per paid campaign
                if spec.key == "events":
                    continue
                for j in range(len(spec.campaigns)):
                    code = self.camp_first[c] + j
                    cpl = self.camp_cpl[code]
                    if cpl and by_camp[m, code]:
                        desc = {
                            "paid_search": "Google Ads",
                            "paid_social": "Social ads",
                            "referral": "Partner and review-site fees",
                        }[spec.key]
                        rows.append(
                            (
                                lo,
                                hi,
                                spec.key,
                                self.camp_name[code],
                                "media",
                                by_camp[m, code] * cpl * noise(),
                                desc,
                            )
                        )
            media_ps = sum(r[5] for r in rows if r[0] == lo and r[2] == "paid_search")
            media_so = sum(r[5] for r in rows if r[0] == lo and r[2] == "paid_social")
            g = growth[m]
            fixed = [
                ("paid_search", "agency", media_ps * 0.12, "Paid search agency fee"),
                ("paid_social", "agency", media_so * 0.15, "Paid social agency fee"),
                (
                    "organic_search",
                    "agency",
                    mean[CH["organic_search"]] * g * 30,
                    "SEO and content agency",
                ),
                ("sdr_outbound", "staff", mean[CH["sdr_outbound"]] * g * 450, "SDR team salaries"),
                (
                    "organic_social",
                    "staff",
                    mean[CH["organic_social"]] * g * 50,
                    "Community manager",
                ),
                (None, "staff", mean.sum() * g * 45, "Marketing team salaries"),
                (
                    "email",
                    "technology",
                    mean[CH["email"]] * g * 12 + mean.sum() * g * 3,
                    "Marketing automation licence",
                ),
                (
                    "sdr_outbound",
                    "technology",
                    mean[CH["sdr_outbound"]] * g * 30,
                    "Sales engagement licence",
                ),
                (None, "technology", mean.sum() * g * 12, "CRM and analytics licences"),
            ]
            share = ((hi - lo).days + 1) / (
                (lo.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - lo.replace(day=1)
            ).days
            for ch_key, cat, amount, desc in fixed:
                if amount > 0:
                    rows.append((lo, hi, ch_key, None, cat, amount * share * noise(), desc))
        for code, ((i0, i1), name) in enumerate(
            zip(self.event_days, self.event_names, strict=True)
        ):
            n_ev = int(
                (
                    (self.ch == CH["events"]) & (self.camp == self.camp_first[CH["events"]] + code)
                ).sum()
            )
            d0 = self.start + dt.timedelta(days=i0)
            d1 = self.start + dt.timedelta(days=i1)
            amount = max(n_ev, 1) * 350 * noise()
            rows.append((d0, d1, "events", name, "media", amount, "Booth, travel and sponsorship"))
        frame = pd.DataFrame(
            rows,
            columns=[
                "period_start",
                "period_end",
                "channel",
                "campaign",
                "category",
                "amount",
                "description",
            ],
        )
        frame["amount"] = frame["amount"].astype(float).round(2)
        frame = frame.sort_values(
            ["period_start", "category", "channel", "campaign"], na_position="first", kind="stable"
        ).reset_index(drop=True)
        frame.insert(6, "currency", CURRENCY)
        for col in ("channel", "campaign", "category", "currency", "description"):
            frame[col] = frame[col].astype(_STR)  # type: ignore[call-overload]
        return frame

    def _traffic_frame(self) -> pd.DataFrame:
        """Daily visits per (channel, campaign, landing page), consistent with the leads."""
        rng = self.rng
        cal = self.cal
        sl = slice(self.first_idx, self.first_idx + self.ndays)
        weekend = cal.weekday[sl] >= 5
        shares = np.array([c.share for c in CHANNELS])
        shares = shares / shares.sum()
        days = cal.dates[sl].astype(object)
        out_day, out_combo, out_visits = [], [], []
        combos: list[tuple[int, int, int]] = []
        for c, spec in enumerate(CHANNELS):
            if spec.visit_rate <= 0:
                continue
            w = self.day_weights[c]
            per_day = self.n * shares[c] * w / w.sum()  # expected leads per day
            camps = spec.campaigns or (_Campaign(None, 1.0),)
            cw = np.array([x.weight for x in camps])
            cw = cw / cw.sum()
            pw = np.array([p for _, p in spec.pages])
            pw = pw / pw.sum()
            for j in range(len(camps)):
                for p, (page, _) in enumerate(spec.pages):
                    page_code = PAGES.index(page)
                    cvr = spec.visit_rate * PAGE_CVR[page_code]
                    lam = per_day * cw[j] * pw[p] / cvr * np.where(weekend, 1.5, 1.0)
                    lam = lam * rng.lognormal(0.0, 0.15, self.ndays)
                    visits = rng.poisson(lam)
                    nz = np.flatnonzero(visits > 0)
                    out_day.append(nz)
                    out_combo.append(np.full(nz.size, len(combos)))
                    out_visits.append(visits[nz])
                    combos.append((c, self.camp_first[c] + j, page_code))
        day_i = np.concatenate(out_day)
        combo = np.concatenate(out_combo)
        visits = np.concatenate(out_visits).astype(_I64)
        order = np.lexsort((combo, day_i))
        day_i, combo, visits = day_i[order], combo[order], visits[order]
        unique = rng.binomial(visits, 0.82)
        unique = np.maximum(unique, np.minimum(visits, 1))
        cmb = np.array(combos)
        return pd.DataFrame(
            {
                "day": days[day_i],
                "channel": _pick([c.key for c in CHANNELS], cmb[combo, 0]),
                "landing_page": _pick(PAGES, cmb[combo, 2]),
                "campaign": _pick(self.camp_name, cmb[combo, 1]),
                "visits": visits,
                "unique_visitors": unique.astype(_I64),
            }
        )


# -- config --------------------------------------------------------------------------------------
def company_config_text(name: str, start: dt.date, end: dt.date) -> str:
    """The default ``leadledger.yaml`` made to describe the synthetic company: its name, the
    channels its data uses (with marketing/sales sourcing), the persona and segment attributes,
    the ES-MD calendar with the company's closure days."""
    text = default_config_text()
    closures = ", ".join(d.isoformat() for d in _closures(start.year, end.year + 1))
    channels = "channels:\n" + "".join(
        f"  - {{key: {c.key}, label: {c.label}, sourced: {c.sourced}, "
        f"source_values: [{', '.join(c.source_values)}]}}\n"
        for c in CHANNELS
    )
    replacements = [
        (r"(?m)^name: .*$", f"name: {name}"),
        (r"(?m)^timezone: .*$", f"timezone: {TIMEZONE}"),
        (r"(?m)^currency: .*$", f"currency: {CURRENCY}"),
        (r"(?m)^  country: .*$", f"  country: {COUNTRY}"),
        (r"(?m)^  subdivision: .*$", f"  subdivision: {SUBDIVISION}"),
        (r"(?m)^  closures: .*$", f"  closures: [{closures}]"),
        (r"(?m)^channels:\n(?:  - .*\n)+", channels),
        (r"(?m)^attributes: .*$", "attributes: [persona, segment]"),
        # scoring rules the synthetic data cannot match (its e-mails are company addresses,
        # every lead has a company, no one unsubscribes) would only make `validate` warn
        (r"(?m)^        - \{name: free_email, .*\n", ""),
        (r"(?m)^        - \{name: no_company, .*\n", ""),
        (r"(?m)^        - \{name: unsubscribed, .*\n", ""),
        (r"(?m)^experiments: \[\]$", _demo_experiment(end)),
    ]
    for pattern, new in replacements:
        found = re.search(pattern, text)
        if found is None:
            raise RuntimeError(f"the default leadledger.yaml has no line matching {pattern!r}")
        text = text[: found.start()] + new + text[found.end() :]
    return text


def _demo_experiment(end: dt.date) -> str:
    """One hash-assigned experiment for the demo: a 10 % holdout of the MQLs of the data's last
    two quarters from the nurture programme (the data has no treatment effect: the groups differ
    by chance only, which is what an honest report then says)."""
    last_q = dt.date(end.year, 3 * ((end.month - 1) // 3) + 1, 1)
    before = last_q - dt.timedelta(days=1)  # the previous quarter's last day
    first = dt.date(before.year, 3 * ((before.month - 1) // 3) + 1, 1)
    return (
        "experiments:\n"
        f"  - {{name: nurture_holdout, stage: mql, control_share: 0.1, "
        f"start: {first.isoformat()}, end: {end.isoformat()}}}"
    )


# -- writing -------------------------------------------------------------------------------------
def _arrow_table(frame: pd.DataFrame) -> pa.Table:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata(None)
    cols = []
    for field, col in zip(table.schema, table.columns, strict=True):
        if pa.types.is_large_string(field.type):
            col = col.cast(pa.string()) if sum(c.nbytes for c in col.chunks) < 2**31 else col
        cols.append(col)
    return pa.table(cols, names=table.column_names)


def _csv_ready(table: pa.Table) -> pa.Table:
    """Timestamps as ISO 8601 text with the UTC offset: 2025-03-04T10:15:00+00:00."""
    cols = []
    for field, col in zip(table.schema, table.columns, strict=True):
        if pa.types.is_timestamp(field.type):
            naive = col.cast(pa.timestamp(field.type.unit)).cast(pa.timestamp("s"))
            text = pc.replace_substring(naive.cast(pa.string()), " ", "T", max_replacements=1)
            col = pc.binary_join_element_wise(text, "+00:00", "")
        cols.append(col)
    return pa.table(cols, names=table.column_names)
