"""What the synthetic company is made of: its identity, the funnel's stages and reasons, touch
kinds, personas and segments (and how they shift conversion, speed and deal size), landing
pages, the owners, and the nine channels with their campaigns."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np

#: The default last day of the data: fixed, so a seed always gives the same company.
DEFAULT_END = dt.date(2026, 10, 31)
KINDS = ("leads", "stages", "touches", "deals", "costs", "traffic")
TIMEZONE = "Europe/Madrid"
COUNTRY, SUBDIVISION = "ES", "MD"
CURRENCY = "EUR"
COMPANY_NAME = "Talavera Analytics"

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
# fmt: on


@dataclasses.dataclass(frozen=True)
class Campaign:
    """A campaign of a channel: its weight among the channel's campaigns, quality and cost."""

    name: str | None
    weight: float
    quality: float = 1.0  # multiplier of P(mql)
    cpl: float = 0.0  # media cost per lead, EUR


@dataclasses.dataclass(frozen=True)
class Channel:
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
    campaigns: tuple[Campaign, ...]
    pages: tuple[tuple[str, float], ...] = ()
    weekdays: str = "inbound"
    personas: tuple[float, ...] = (0.20, 0.22, 0.25, 0.15, 0.18)
    segments: tuple[float, ...] = (0.60, 0.30, 0.10)
    sourced: str = "marketing"


# fmt: off
CHANNELS: tuple[Channel, ...] = (
    Channel(
        "organic_search", "Organic search", ("ORGANIC_SEARCH", "seo"), share=0.22,
        mql=0.36, skip=0.02, accept=0.68, qualify=0.55, opportunity=0.55, win=0.28,
        speed=1.0, response_hours=8, pre_touches=1.6, visit_rate=0.018,
        campaigns=(Campaign(None, 1.0),),
        pages=(("/", 0.15), ("/blog", 0.50), ("/pricing", 0.12), ("/ebook/roi-marketing", 0.15),
               ("/demo", 0.08)),
    ),
    Channel(
        "paid_search", "Paid search", ("PAID_SEARCH", "sem", "google ads"), share=0.17,
        mql=0.42, skip=0.04, accept=0.66, qualify=0.55, opportunity=0.52, win=0.27,
        speed=0.9, response_hours=5, pre_touches=1.4, visit_rate=0.025,
        campaigns=(Campaign("google_brand", 0.25, quality=1.25, cpl=90),
                   Campaign("google_generic", 0.40, quality=1.0, cpl=240),
                   Campaign("google_competitors", 0.15, quality=0.8, cpl=320),
                   Campaign("google_retargeting", 0.20, quality=1.15, cpl=120)),
        pages=(("/demo", 0.50), ("/pricing", 0.30), ("/ebook/roi-marketing", 0.20)),
    ),
    Channel(
        "paid_social", "Paid social", ("PAID_SOCIAL",), share=0.15,
        mql=0.24, skip=0.01, accept=0.50, qualify=0.45, opportunity=0.45, win=0.22,
        speed=1.2, response_hours=10, pre_touches=0.9, visit_rate=0.012,
        campaigns=(Campaign("linkedin_leadgen", 0.40, quality=1.0, cpl=190),
                   Campaign("linkedin_abm", 0.20, quality=1.4, cpl=360),
                   Campaign("meta_prospecting", 0.40, quality=0.7, cpl=70)),
        pages=(("/ebook/roi-marketing", 0.55), ("/webinar", 0.35), ("/demo", 0.10)),
        weekdays="social", personas=(0.12, 0.15, 0.20, 0.28, 0.25), segments=(0.75, 0.20, 0.05),
    ),
    Channel(
        "organic_social", "Organic social", ("SOCIAL_MEDIA",), share=0.06,
        mql=0.22, skip=0.01, accept=0.55, qualify=0.45, opportunity=0.48, win=0.22,
        speed=1.2, response_hours=12, pre_touches=1.0, visit_rate=0.009,
        campaigns=(Campaign("linkedin_page", 0.75), Campaign("youtube_channel", 0.25, 0.9)),
        pages=(("/blog", 0.50), ("/webinar", 0.30), ("/ebook/roi-marketing", 0.20)),
        weekdays="social", personas=(0.12, 0.18, 0.20, 0.25, 0.25), segments=(0.70, 0.24, 0.06),
    ),
    Channel(
        "email", "E-mail", ("EMAIL_MARKETING", "newsletter"), share=0.08,
        mql=0.40, skip=0.02, accept=0.65, qualify=0.50, opportunity=0.50, win=0.27,
        speed=1.0, response_hours=8, pre_touches=1.2, visit_rate=0.035,
        campaigns=(Campaign("newsletter", 0.35, 0.9), Campaign("nurture_sequence", 0.30, 1.1),
                   Campaign("product_launch", 0.15, 1.0), Campaign("webinar_invite", 0.20)),
        pages=(("/webinar", 0.45), ("/ebook/roi-marketing", 0.25), ("/demo", 0.15),
               ("/blog", 0.15)),
        weekdays="email",
    ),
    Channel(
        "referral", "Referral", ("REFERRALS",), share=0.05,
        mql=0.45, skip=0.08, accept=0.80, qualify=0.65, opportunity=0.62, win=0.38,
        speed=0.8, response_hours=4, pre_touches=1.0, visit_rate=0.030,
        campaigns=(Campaign("partner_program", 0.50, quality=1.0, cpl=150),
                   Campaign("customer_referral", 0.30, quality=1.2),
                   Campaign("review_sites", 0.20, quality=0.9, cpl=50)),
        pages=(("/", 0.45), ("/demo", 0.40), ("/pricing", 0.15)),
        segments=(0.45, 0.38, 0.17),
    ),
    Channel(
        "direct", "Direct", ("DIRECT_TRAFFIC",), share=0.11,
        mql=0.38, skip=0.05, accept=0.70, qualify=0.58, opportunity=0.55, win=0.30,
        speed=0.9, response_hours=5, pre_touches=2.2, visit_rate=0.025,
        campaigns=(Campaign(None, 1.0),),
        pages=(("/", 0.40), ("/demo", 0.35), ("/pricing", 0.25)),
    ),
    Channel(  # campaigns: one per trade show, made by the generator
        "events", "Events", ("OFFLINE", "trade show"), share=0.07,
        mql=0.32, skip=0.03, accept=0.60, qualify=0.50, opportunity=0.55, win=0.28,
        speed=1.3, response_hours=16, pre_touches=0.3, visit_rate=0.0,
        campaigns=(), weekdays="events",
        personas=(0.24, 0.20, 0.28, 0.14, 0.14), segments=(0.35, 0.40, 0.25),
    ),
    Channel(  # no MQL step: an SDR's lead goes to sql or is dropped; campaign = segment
        "sdr_outbound", "SDR outbound", ("outbound",), share=0.09,
        mql=0.0, skip=0.28, accept=0.0, qualify=0.0, opportunity=0.50, win=0.22,
        speed=0.8, response_hours=2, pre_touches=0.0, visit_rate=0.0,
        campaigns=(Campaign("outbound_smb", 0.0), Campaign("outbound_mid_market", 0.0),
                   Campaign("outbound_enterprise", 0.0)),
        weekdays="sales", personas=(0.30, 0.25, 0.25, 0.12, 0.08), segments=(0.20, 0.50, 0.30),
        sourced="sales",
    ),
)
# fmt: on
CH = {c.key: i for i, c in enumerate(CHANNELS)}
#: Channels of a visitor's other sessions (touches that are not on the lead's own channel).
OTHER_TOUCH_CHANNELS = (("direct", 0.35), ("organic_search", 0.30), ("paid_search", 0.15),
                        ("paid_social", 0.10), ("email", 0.10))  # fmt: skip
