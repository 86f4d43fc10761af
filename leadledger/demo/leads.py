"""The leads: when they arrive (nine channels, weekly and yearly seasonality, a growth trend,
trade-show days), who they are (persona, segment, campaign, landing page, owners) and their
identities (names, companies, e-mail addresses, titles, countries)."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadledger.demo.calendar import DAY, HOUR, I64, Calendar, Timeline, epoch_day
from leadledger.demo.campaigns import Campaigns
from leadledger.demo.columns import numbered, pick, strings, timestamps
from leadledger.demo.draws import choice
from leadledger.demo.vocabulary import (
    AES,
    CH,
    CHANNELS,
    COUNTRIES,
    PAGES,
    PERSONAS,
    SDRS,
    SEGMENT_SPEED,
    SEGMENTS,
    TITLES,
    Channel,
    R,
)

# fmt: off
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
# fmt: on


@dataclasses.dataclass(frozen=True)
class Leads:
    """The leads in order of creation: one entry per lead in each array (codes into the
    vocabulary), and the expected leads per day of each channel."""

    n: int
    ids: pd.Series  # L0000001 …
    created: np.ndarray  # local wall-clock seconds
    ch: np.ndarray  # channel code
    day_weights: list[np.ndarray]  # per channel: weight of each day of the data
    persona: np.ndarray
    segment: np.ndarray
    page: np.ndarray  # landing page code (−1: none)
    camp: np.ndarray  # campaign code (see ``Campaigns``)
    sdr: np.ndarray
    ae: np.ndarray
    speed: np.ndarray  # delay multiplier (channel × segment)


def day_weights(ch: Channel, tl: Timeline, camps: Campaigns) -> np.ndarray:
    """How likely each day of the data is for a lead of ``ch``: its trade-show days (events), or
    the trend × weekday × month, quiet at Christmas and on holidays (sales: working days only)."""
    cal = tl.cal
    sl = slice(tl.first_idx, tl.first_idx + tl.ndays)
    if ch.weekdays == "events" and camps.event_days:
        w: npt.NDArray[np.float64] = np.zeros(tl.ndays)
        for (i0, i1), size in zip(camps.event_days, camps.event_size, strict=True):
            w[i0] = size
            w[i1] = 0.8 * size
        return w
    t = np.arange(tl.ndays) / 365.0
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


def create_leads(n: int, tl: Timeline, camps: Campaigns, rng: np.random.Generator) -> Leads:
    """``n`` leads over the timeline: their channels and creation times, then who they are."""
    shares = np.array([c.share for c in CHANNELS])
    counts = rng.multinomial(n, shares / shares.sum())
    weights = [day_weights(c, tl, camps) for c in CHANNELS]
    created, chans = [], []
    for c, ch in enumerate(CHANNELS):
        k = int(counts[c])
        w = weights[c]
        days = choice(rng, w, k)
        hours = choice(rng, HOURS_WORK if ch.weekdays in ("sales", "events") else HOURS_WEB, k)
        secs = rng.integers(0, HOUR, k)
        created.append((epoch_day(tl.start) + days) * DAY + hours * HOUR + secs)
        chans.append(np.full(k, c, dtype=np.int8))
    t = np.concatenate(created).astype(I64)
    ch_all = np.concatenate(chans)
    order = np.argsort(t, kind="stable")
    return _attributes(n, t[order], ch_all[order], weights, tl, camps, rng)


def _attributes(
    n: int,
    created: np.ndarray,
    channel: np.ndarray,
    weights: list[np.ndarray],
    tl: Timeline,
    camps: Campaigns,
    rng: np.random.Generator,
) -> Leads:
    persona = np.zeros(n, dtype=np.int8)
    segment = np.zeros(n, dtype=np.int8)
    page = np.full(n, -1, dtype=np.int8)
    camp = np.zeros(n, dtype=np.int32)
    day = (created // DAY - epoch_day(tl.start)).astype(I64)
    for c, ch in enumerate(CHANNELS):
        m = np.flatnonzero(channel == c)
        k = m.size
        persona[m] = choice(rng, ch.personas, k)
        segment[m] = choice(rng, ch.segments, k)
        if ch.pages:
            page[m] = np.array([PAGES.index(p) for p, _ in ch.pages])[
                choice(rng, [w for _, w in ch.pages], k)
            ]
        first = camps.first[c]
        if ch.key == "events":
            camp[m] = first + np.maximum(camps.event_of_day[day[m]], 0)
        elif ch.key == "sdr_outbound":
            camp[m] = first + segment[m]
        else:
            camp[m] = first + choice(rng, [x.weight for x in ch.campaigns], k)
    sdr = rng.integers(0, len(SDRS), n).astype(np.int8)
    ae = np.where(segment == 2, rng.integers(0, 2, n), 2 + rng.integers(0, len(AES) - 2, n)).astype(
        np.int8
    )
    speed = np.array([c.speed for c in CHANNELS])[channel] * SEGMENT_SPEED[segment]
    return Leads(
        n=n,
        ids=numbered("L", np.arange(1, n + 1), max(7, len(str(n)))),
        created=created,
        ch=channel,
        day_weights=weights,
        persona=persona,
        segment=segment,
        page=page,
        camp=camp,
        sdr=sdr,
        ae=ae,
        speed=speed,
    )


def leads_frame(
    leads: Leads,
    camps: Campaigns,
    cal: Calendar,
    early_reject: np.ndarray,
    early_reason: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The leads file. ``early_reject``/``early_reason``: the leads marketing rejected before
    MQL, and why (a duplicate repeats an earlier lead's identity; a student has that title)."""
    n = leads.n
    # identities: names, companies (a pool per segment, some companies with many leads);
    # leads rejected as duplicates repeat an earlier lead's identity
    ident = np.arange(n)
    dup = early_reject[early_reason == R["duplicate"]]
    dup = dup[dup > 0]
    ident[dup] = (rng.random(dup.size) * dup).astype(I64)
    first = choice(rng, np.ones(len(FIRST_NAMES)), n)[ident]
    last = choice(rng, np.ones(len(LAST_NAMES)), n)[ident]
    k = np.zeros(n, dtype=I64)
    for s, size in enumerate(_company_pool(leads.segment, s) for s in range(3)):
        m = leads.segment == s
        k[m] = (size * rng.random(int(m.sum())) ** 1.6).astype(I64)
    seg = leads.segment[ident]
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
    title = leads.persona.astype(I64) * 3 + rng.integers(0, 3, n)
    titles = [t for group in TITLES for t in group]
    student = early_reject[early_reason == R["student"]]
    title[student] = len(titles)
    country = choice(rng, [w for _, w in COUNTRIES], n)
    country[leads.ch == CH["events"]] = 0  # trade shows in Spain
    frame = pd.DataFrame(
        {
            "lead_id": leads.ids,
            "created_at": timestamps(cal.to_utc(leads.created)),
            "email": strings(email),
            "name": strings(full),
            "company": strings(company),
            "title": pick([*titles, "Student"], title),
            "channel": pick([c.key for c in CHANNELS], leads.ch),
            "campaign": pick(camps.names, leads.camp),
            "landing_page": pick(PAGES, leads.page),
            "owner": pick(SDRS, leads.sdr),
            "country": pick([c for c, _ in COUNTRIES], country),
            "source_system": pick(["hubspot"], np.zeros(n, dtype=I64)),
            "persona": pick(PERSONAS, leads.persona),
            "segment": pick(SEGMENTS, leads.segment),
        }
    )
    return frame


def _company_pool(segments: np.ndarray, segment: int) -> int:
    leads = int((segments == segment).sum())
    per = (3, 6, 12)[segment]
    cap = len(COMPANY_CORES) * len(COMPANY_SECTORS) * len(COMPANY_SUFFIXES[segment])
    return int(min(cap, max(1, leads // per)))


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", ascii_text.lower())


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")
