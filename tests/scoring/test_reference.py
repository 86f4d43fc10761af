"""Property tests: the engine's scores equal a plain-Python reference scorer written from the
definitions (docs/scoring.md) on random leads and touches, on every engine."""

from __future__ import annotations

import math
import re
from typing import Any

import ibis
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from leadledger.config.models import ProjectConfig
from leadledger.scoring.rules import lead_scores, ledger
from tests.scoring.stories import AS_OF, RULES

CFG = ProjectConfig.model_validate(
    {"attributes": ["persona", "segment", "revenue"], **YAML(typ="safe").load(RULES)}
)
SCORING = CFG.scoring

TITLES = [None, "", "VP Sales", "vp ops", "VPN admin", "Student", "student", "CEO"]
SEGMENTS = [None, "smb", "mid_market", "enterprise", "Enterprise"]
REVENUES = [None, "999.99", "1000", " 2500 ", "4999", "5000", "1e3", "abc", "-7"]
KINDS = ["visit", "email_click", "webinar", "unsubscribe", "form", "call"]
PAGES = [None, "/", "/pricing", "/pricing/plans", "/x/pricing", "/demo"]

leads_st = st.lists(
    st.tuples(
        st.sampled_from(TITLES),
        st.sampled_from(SEGMENTS),
        st.sampled_from([None, "Acme", " "]),
        st.sampled_from(REVENUES),
        st.floats(-5, 400),  # created, days before the as-of (negative: after it)
    ),
    min_size=1,
    max_size=8,
)
touches_st = st.lists(
    st.tuples(
        st.integers(0, 7),
        st.sampled_from(KINDS),
        st.sampled_from(PAGES),
        st.sampled_from([-3.0, 0.0, 1.0, 6.99, 7.0, 7.5, 10.0, 29.0, 30.0, 31.0, 200.0])
        | st.floats(-2, 100),
    ),
    max_size=40,
)


TS = "timestamp('UTC')"
LEADS_SCHEMA = ibis.schema(
    {
        "lead_id": "string",
        "created_at": TS,
        "title": "string",
        "segment": "string",
        "company": "string",
        "revenue": "string",
        "batch_no": "int64",
        "row_no": "int64",
    }
)
TOUCHES_SCHEMA = ibis.schema(
    {
        "touch_id": "string",
        "lead_id": "string",
        "at": TS,
        "kind": "string",
        "page": "string",
        "channel": "string",
        "campaign": "string",
    }
)


def frames(leads: list[tuple], touches: list[tuple]) -> tuple[pd.DataFrame, pd.DataFrame]:
    lf = pd.DataFrame(
        [
            {
                "lead_id": f"L{i}",
                "created_at": AS_OF - pd.Timedelta(days=c),
                "title": t,
                "segment": s,
                "company": co,
                "revenue": r,
                "batch_no": 1,
                "row_no": i,
            }
            for i, (t, s, co, r, c) in enumerate(leads)
        ]
    )
    tf = pd.DataFrame(
        [
            {
                "touch_id": f"T{k}",
                "lead_id": f"L{i % len(leads)}",
                "at": AS_OF - pd.Timedelta(days=ago),
                "kind": kind,
                "page": page,
                "channel": "direct",
                "campaign": None,
            }
            for k, (i, kind, page, ago) in enumerate(touches)
        ],
        columns=["touch_id", "lead_id", "at", "kind", "page", "channel", "campaign"],
    )
    lf["created_at"] = lf["created_at"].astype("datetime64[us, UTC]")
    tf["at"] = tf["at"].astype("datetime64[us, UTC]")
    return lf, tf


def _number(v: Any) -> float | None:
    if v is None or not re.fullmatch(r"\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*", v):
        return None
    return float(v)


def _v(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def reference(lf: pd.DataFrame, tf: pd.DataFrame) -> dict[str, float]:
    """Written from the definitions, one lead at a time."""
    out = {}
    for lead in lf.to_dict(orient="records"):
        if lead["created_at"] > AS_OF:
            continue
        title, seg, company = (_v(lead[k]) for k in ("title", "segment", "company"))
        num = _number(_v(lead["revenue"]))
        fit = 0.0
        fit += 20 if title is not None and re.search(r"(?i)^vp\s", title) else 0
        fit += 15 if seg in ("enterprise", "mid_market") else 0
        fit += -25 if title == "Student" else 0
        fit += -5 if company is None or company.strip() == "" else 0
        fit += 7 if num is not None and 1000 <= num < 5000 else 0
        fit = min(fit, 30)
        mine = tf[(tf["lead_id"] == lead["lead_id"]) & (tf["at"] <= AS_OF)]
        ages = {
            k: [(AS_OF - r["at"]).total_seconds() / 86400 for r in rows.to_dict(orient="records")]
            for k, rows in {
                "pricing": mine[mine["page"].fillna("").str.match(r"^/pricing")],
                "clicks": mine[mine["kind"] == "email_click"],
                "webinar": mine[mine["kind"] == "webinar"],
                "visit": mine[mine["kind"] == "visit"],
                "unsub": mine[mine["kind"] == "unsubscribe"],
                "forms": mine[mine["kind"] == "form"],
            }.items()
        }
        eng = 0.0
        if ages["pricing"]:
            eng += 10 * 0.5 ** (min(ages["pricing"]) / 10)
        if ages["clicks"]:
            eng += min(4 * len(ages["clicks"]), 10)
        if [a for a in ages["webinar"] if a <= 30]:
            eng += 8
        if len([a for a in ages["visit"] if a <= 7]) >= 3:
            eng += 6
        if ages["unsub"]:
            eng -= 30
        if ages["forms"] and seg != "smb":
            eng += sum(3 * 0.5 ** (a / 10) for a in ages["forms"])
        eng = max(min(eng, 25), -20)
        out[lead["lead_id"]] = fit + eng
    return out


def connect(engine: str) -> Any:
    return ibis.duckdb.connect() if engine.startswith("duckdb") else ibis.connect(engine)


@pytest.mark.slow
def test_engine_equals_reference(engine: str) -> None:
    con = connect(engine)
    n = 25 if engine.startswith("duckdb") else 6

    @given(leads_st, touches_st)
    @settings(max_examples=n, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def check(leads: list[tuple], touches: list[tuple]) -> None:
        lf, tf = frames(leads, touches)
        tables = {
            "leads": ibis.memtable(lf, schema=LEADS_SCHEMA),
            "touches": ibis.memtable(tf, schema=TOUCHES_SCHEMA),
        }
        got = con.execute(lead_scores(tables, SCORING, AS_OF))
        want = reference(lf, tf)
        assert dict(zip(got["lead_id"], got["score"], strict=True)) == pytest.approx(want, abs=1e-9)
        led = con.execute(ledger(tables, SCORING, AS_OF))
        sums = led.groupby("lead_id")["points"].sum().to_dict()
        for lead, total in want.items():
            assert math.isclose(sums.get(lead, 0.0), total, abs_tol=1e-9), lead

    try:
        check()
    finally:
        con.disconnect()
