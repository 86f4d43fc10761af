"""The money story shared by the tests: a few leads, costs, touches and deals whose spend, counts,
cost per stage, shares and reconciliation are worked out by hand in the tests.

Costs (Europe/Madrid project, EUR):
- C1 paid_search / brand / media: 3,000 over 2025-01-01..2025-01-30 (30 days → 100 a day)
- C2 no channel / staff: 620 over January (31 days → 20 a day)
- C3 email / no campaign / technology: 280 over February (28 days → 10 a day)
- C4 paid_social / cfo_ads / media: 500 on 2025-02-10 (one day)

Leads (``created`` is the lead stage):
- L1 paid_search/brand/cfo: mql 01-08, sql 01-20, opportunity 01-27, customer 02-10
- L2 paid_search/brand/cto: mql 01-09
- L3 email/cfo: mql 01-15
- L4 organic_search: created 01-20 only
- L5 no channel: created 01-21 only
- L6 paid_social/cfo_ads/cfo: created 02-11, mql 02-12, customer 02-20 (skips sql and
  opportunity: they count as reached on 02-20)
- L7 sdr_outbound (sales-sourced): created 01-10, customer 03-03 (reaches mql…opportunity then)
- L8 referral: created 2024-12-01, customer 2024-12-20

Deals:
- D1 L1 won 24,000 (created 01-27, closed 02-10); D11 L1 won 1,000 (created 03-20, closed 04-02)
- D6 L6 won 12,000 (created 02-15, closed 02-20)
- D7 no lead, won 5,000 (created 02-01, closed 02-05)
- D8 L2 open 8,000 (created 01-25)
- D9 L4 won 3,000 (created 02-01, closed 02-15) — L4 never entered customer
- D10 L7 won 6,000 (created 02-20, closed 03-03)
- D12 L8 won 2,000 (created 2024-12-15, closed 03-10)

Touches: L1 organic_search visit 01-05, paid_search/brand form 01-06, email click 01-10;
anonymous paid_search/brand form 01-07; L6 paid_social/cfo_ads form 02-11; L7 none.
"""

from __future__ import annotations

from typing import Any

from leadledger.service import Workspace
from tests.conftest import load_journeys, write_csv

STORY: dict[str, dict[str, Any]] = {
    "L1": {
        "created": "2025-01-06 10:00",
        "channel": "paid_search",
        "campaign": "brand",
        "persona": "cfo",
        "stages": [
            ("mql", "2025-01-08 10:00"),
            ("sql", "2025-01-20 10:00"),
            ("opportunity", "2025-01-27 10:00"),
            ("customer", "2025-02-10 10:00"),
        ],
    },
    "L2": {
        "created": "2025-01-07 10:00",
        "channel": "paid_search",
        "campaign": "brand",
        "persona": "cto",
        "stages": [("mql", "2025-01-09 10:00")],
    },
    "L3": {
        "created": "2025-01-14 10:00",
        "channel": "email",
        "persona": "cfo",
        "stages": [("mql", "2025-01-15 10:00")],
    },
    "L4": {"created": "2025-01-20 10:00", "channel": "organic_search"},
    "L5": {"created": "2025-01-21 10:00"},
    "L6": {
        "created": "2025-02-11 10:00",
        "channel": "paid_social",
        "campaign": "cfo_ads",
        "persona": "cfo",
        "stages": [("mql", "2025-02-12 10:00"), ("customer", "2025-02-20 10:00")],
    },
    "L7": {
        "created": "2025-01-10 10:00",
        "channel": "sdr_outbound",
        "stages": [("customer", "2025-03-03 10:00")],
    },
    "L8": {
        "created": "2024-12-01 10:00",
        "channel": "referral",
        "stages": [("customer", "2024-12-20 10:00")],
    },
}

COSTS = [
    {
        "period_start": "2025-01-01",
        "period_end": "2025-01-30",
        "channel": "paid_search",
        "campaign": "brand",
        "category": "media",
        "amount": 3000,
        "description": "Google Ads",
    },
    {
        "period_start": "2025-01-01",
        "period_end": "2025-01-31",
        "category": "staff",
        "amount": 620,
        "description": "Marketing team",
    },
    {
        "period_start": "2025-02-01",
        "period_end": "2025-02-28",
        "channel": "email",
        "category": "technology",
        "amount": 280,
        "description": "Automation licence",
    },
    {
        "period_start": "2025-02-10",
        "period_end": "2025-02-10",
        "channel": "paid_social",
        "campaign": "cfo_ads",
        "category": "media",
        "amount": 500,
        "description": "LinkedIn ads",
    },
]

DEALS = [
    ("D1", "L1", "2025-01-27 10:00", "2025-02-10 10:00", "won", 24000),
    ("D11", "L1", "2025-03-20 10:00", "2025-04-02 10:00", "won", 1000),
    ("D6", "L6", "2025-02-15 10:00", "2025-02-20 10:00", "won", 12000),
    ("D7", None, "2025-02-01 10:00", "2025-02-05 10:00", "won", 5000),
    ("D8", "L2", "2025-01-25 10:00", None, "open", 8000),
    ("D9", "L4", "2025-02-01 10:00", "2025-02-15 10:00", "won", 3000),
    ("D10", "L7", "2025-02-20 10:00", "2025-03-03 10:00", "won", 6000),
    ("D12", "L8", "2024-12-15 10:00", "2025-03-10 10:00", "won", 2000),
]

TOUCHES = [
    ("T1", "L1", None, "2025-01-05 10:00", "organic_search", None, "visit"),
    ("T2", "L1", None, "2025-01-06 10:00", "paid_search", "brand", "form"),
    ("T3", "L1", None, "2025-01-10 10:00", "email", None, "email_click"),
    ("T4", None, "anon-1", "2025-01-07 10:00", "paid_search", "brand", "form"),
    ("T5", "L6", None, "2025-02-11 10:00", "paid_social", "cfo_ads", "form"),
]

GOALS = """goals:
  - name: q1_search
    start: 2025-01-01
    end: 2025-03-31
    channel: paid_search
    budget: 9000
    counts: {lead: 10, mql: 4}"""

# The story's deals are worked out by hand apart from the funnel (D9 is won though L4 never
# entered customer: the reconciliation's "lead not converted"), so here deals drive no stage;
# tests/ledger/test_deal_funnel.py tells the story of deals that do (the default).
COSTS_CONFIG = """costs:
  untagged: unallocated
  campaign_personas: {cfo_ads: cfo}
deal_stages: {created: null, won: null, lost: null}
"""


def load_money(ws: Workspace, *, costs: bool = True, touches: bool = True) -> None:
    """The whole story through the real importer."""
    load_journeys(ws, STORY)
    folder = ws.project_dir
    if costs:
        f = write_csv(folder / "costs.csv", COSTS)
        assert ws.import_files("costs", [f]).rejected == 0
    deals = [
        {
            "deal_id": d,
            "lead_id": lead,
            "created_at": created,
            "closed_at": closed,
            "status": status,
            "amount": amount,
        }
        for d, lead, created, closed, status, amount in DEALS
    ]
    f = write_csv(folder / "deals.csv", deals)
    r = ws.import_files("deals", [f])
    assert r.rejected == 0, r.sample_rejections
    if touches:
        rows = [
            {
                "touch_id": t,
                "lead_id": lead,
                "anonymous_id": anon,
                "at": at,
                "channel": ch,
                "campaign": camp,
                "kind": kind,
            }
            for t, lead, anon, at, ch, camp, kind in TOUCHES
        ]
        f = write_csv(folder / "touches.csv", rows)
        r = ws.import_files("touches", [f])
        assert r.rejected == 0, r.sample_rejections


def money_config(engine: str = "duckdb:///leadledger.duckdb", **replace: str) -> str:
    from tests.conftest import config_text

    text = config_text(engine, **{"goals: []": GOALS, **replace})
    return text + "\n" + COSTS_CONFIG
