"""Scoring stories: a rule set that uses every feature, small journeys with hand-computed scores,
and loaders (the real importer, or plain tables for the property tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from leadledger.service import Workspace
from tests.conftest import config_text, load_journeys, write_csv

MARK = "\n# Rule-based lead scoring"

RULES = r"""
scoring:
  threshold: 40
  half_life_days: 10
  groups:
    - name: fit
      cap: 30
      rules:
        - {name: vp, points: 20, lead: {field: title, op: regex, value: "(?i)^vp\\s"}}
        - {name: big, points: 15, lead: {field: segment, op: in, value: [enterprise, mid_market]}}
        - {name: student, points: -25, lead: {field: title, op: equals, value: Student}}
        - {name: no_company, points: -5, lead: {field: company, op: missing}}
        - {name: rich, points: 7, lead: {field: revenue, op: range, min: 1000, max: 5000}}
    - name: engagement
      cap: 25
      floor: -20
      rules:
        - {name: pricing, points: 10, touch: {page: {regex: "^/pricing"}}}
        - {name: clicks, points: 4, per: occurrence, cap: 10, decay: false, touch: {kind: [email_click]}}
        - {name: webinar, points: 8, decay: false, touch: {kind: [webinar]}, expire_after_days: 30}
        - {name: active, points: 6, decay: false, touch: {kind: [visit]}, count: {at_least: 3, within_days: 7}}
        - {name: unsub, points: -30, decay: false, touch: {kind: [unsubscribe]}}
        - {name: forms, points: 3, per: occurrence, touch: {kind: [form]}, lead: {field: segment, op: not_in, value: [smb]}}
  grades:
    fit: {group: fit, bands: [25, 10, 0]}
    engagement: {group: engagement, bands: [15, 5, 0]}
"""  # noqa: E501

AS_OF = pd.Timestamp("2025-03-31T12:00:00+00:00")


def day(n: float) -> str:
    """``n`` days before the as-of, ISO with offset."""
    return (AS_OF - pd.Timedelta(days=n)).isoformat()


#: lead → (lead fields, touches as (days before the as-of, kind, page))
STORY: dict[str, dict[str, Any]] = {
    # fit 20+15+7=42 → capped 30; pricing one half-life ago 5; 4 clicks 16 → cap 10; a webinar
    # 31 days ago has expired; a pricing visit after the as-of does not count → 30 + 15 = 45
    "A": {
        "lead": {
            "title": "VP Sales",
            "segment": "enterprise",
            "company": "Acme",
            "revenue": "2000",
        },
        "touches": [
            (10, "visit", "/pricing"),
            (3, "email_click", "/blog"),
            (4, "email_click", "/blog"),
            (5, "email_click", None),
            (50, "email_click", None),
            (31, "webinar", None),
            (-1, "visit", "/pricing"),
        ],
    },
    # fit −25 −5 = −30 (no floor); 3 visits in 7 days +6; pricing two half-lives ago 2.5 → −21.5
    "B": {
        "lead": {"title": "Student", "segment": "smb", "company": None},
        "touches": [
            (1, "visit", "/"),
            (2, "visit", "/"),
            (6, "visit", "/"),
            (20, "visit", "/pricing"),
        ],
    },
    # fit 20+15 → cap 30 (revenue 'abc' is no number); unsubscribe −30 + webinar 29 days ago 8 =
    # −22 → floor −20; only 2 visits within 7 days (the third is 8 days old) → 10
    "C": {
        "lead": {
            "title": "vp marketing",
            "segment": "mid_market",
            "company": "C&C",
            "revenue": "abc",
        },
        "touches": [
            (0.5, "unsubscribe", None),
            (29, "webinar", None),
            (1, "visit", "/"),
            (2, "visit", "/"),
            (8, "visit", "/"),
        ],
    },
    # nothing matches (revenue 5000 is outside [1000, 5000)); a form but segment is missing, so
    # not_in [smb] holds: +3 → 3
    "E": {
        "lead": {"title": None, "segment": None, "company": "X", "revenue": "5000"},
        "touches": [(0, "form", "/contact")],
    },
    # revenue ' 1000 ' reads as 1000: +7; pricing exactly at the as-of: +10; 2 forms in smb:
    # not_in smb fails → 17
    "F": {
        "lead": {"title": "Ops", "segment": "smb", "company": "F", "revenue": " 1000 "},
        "touches": [(0, "visit", "/pricing/plans"), (3, "form", "/demo"), (4, "form", "/demo")],
    },
    # created after the as-of: not scored
    "D": {
        "lead": {"title": "VP Ops", "segment": "enterprise", "company": "D"},
        "created": -2,
        "touches": [(-1, "visit", "/pricing")],
    },
}
EXPECTED = {"A": 45.0, "B": -21.5, "C": 10.0, "E": 3.0, "F": 17.0}
EXPECTED_GROUPS = {
    "A": (30.0, 15.0),
    "B": (-30.0, 8.5),
    "C": (30.0, -20.0),
    "E": (0.0, 3.0),
    "F": (7.0, 10.0),
}


def story_config(engine: str, rules: str = RULES, **extra: str) -> str:
    text = config_text(engine)
    text = text[: text.index(MARK)] if MARK in text else text
    text = text.replace("attributes: [persona, segment]", "attributes: [persona, segment, revenue]")
    for old, new in extra.items():
        rules = rules.replace(old, new)
    return text + rules


def story_frames(story: dict[str, dict[str, Any]] = STORY) -> tuple[pd.DataFrame, pd.DataFrame]:
    leads, touches = [], []
    n = 0
    for lead_id, spec in story.items():
        created = AS_OF - pd.Timedelta(days=spec.get("created", 500))
        leads.append({"lead_id": lead_id, "created_at": created.isoformat(), **spec["lead"]})
        for ago, kind, page in spec["touches"]:
            n += 1
            touches.append(
                {
                    "touch_id": f"T{n:04d}",
                    "lead_id": lead_id,
                    "at": day(ago),
                    "channel": "email" if kind == "email_click" else "direct",
                    "campaign": None,
                    "kind": kind,
                    "page": page,
                }
            )
    return pd.DataFrame(leads), pd.DataFrame(touches)


def load_story(ws: Workspace, story: dict[str, dict[str, Any]] = STORY, stages: Any = None) -> None:
    leads, touches = story_frames(story)
    folder: Path = ws.project_dir
    journeys = {}
    for rec in leads.to_dict(orient="records"):
        lead_id = rec.pop("lead_id")
        created = rec.pop("created_at")
        journeys[lead_id] = {"created": created, **{k: v for k, v in rec.items() if pd.notna(v)}}
        if stages and lead_id in stages:
            journeys[lead_id]["stages"] = stages[lead_id]
    load_journeys(ws, journeys)
    if len(touches):
        f = write_csv(folder / "story_touches.csv", touches.to_dict(orient="records"))
        r = ws.import_files("touches", [f])
        assert r.rejected == 0, r.sample_rejections
