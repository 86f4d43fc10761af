"""Attribution on the ledger, as stories with credits computed by hand, on every engine.

L1's journey (customer 2025-02-03 00:00, won deal 1,000; lookback 90 days):
  2024-10-01 events         (125 days before: outside the window)
  T1 2025-01-01 10:00 paid_search     (first touch in the window)
  T2 2025-01-05 10:00 organic_search  (lead created at 10:00: the lead-creation touch)
  T3 2025-01-10 10:00 email
  T4 2025-01-20 10:00 direct          (opportunity at 12:00: the opportunity-creation touch)
  T5 2025-02-01 10:00 referral        (the last touch before the conversion)
  2025-02-05 paid_social     (after the conversion: ignored)
L2: one touch (direct), an opportunity by its 500 deal (created 02-10 10:30), customer. L3:
customer (300) with no touch in the window: unattributed. L4: touches, never converts (a null
journey for the data-driven models).
"""

from __future__ import annotations

import datetime as dt
import itertools

import ibis
import numpy as np
import pandas as pd
import pytest

from leadledger.attribution import runner
from leadledger.attribution.paths import conversions, ledger_journeys, path_table
from leadledger.errors import InvalidArgument, UnknownModel, UnknownStage
from tests.conftest import load_journeys, write_csv


def _day(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def credits_all(
    ws,
    *,
    models,
    start=None,
    end=None,
    half_life_days=None,
    order=None,
    **kw,
) -> dict[str, runner.Credits]:
    """The runner on a workspace's ledger (the journeys in a scratch of its store)."""
    settings = runner.model_settings(ws.cfg.attribution, half_life_days=half_life_days, order=order)
    with ws.ctx.scratch() as scratch:
        return runner.credits_all(
            ws.store.tables(),
            ws.cfg,
            ws.store.execute,
            scratch,
            models=models,
            start=_day(start),
            end=_day(end),
            settings=settings,
            **kw,
        )


def credits(ws, *, model=None, **kw) -> runner.Credits:
    name = model or ws.cfg.attribution.model
    return credits_all(ws, models=[name], **kw)[name]


TOUCHES = [
    ("t0", "L1", "2024-10-01 10:00", "events", "fair"),
    ("t1", "L1", "2025-01-01 10:00", "paid_search", "brand"),
    ("t2", "L1", "2025-01-05 10:00", "organic_search", None),
    ("t3", "L1", "2025-01-10 10:00", "email", "nurture"),
    ("t4", "L1", "2025-01-20 10:00", "direct", None),
    ("t5", "L1", "2025-02-01 10:00", "referral", "partners"),
    ("t6", "L1", "2025-02-05 10:00", "paid_social", "retarget"),
    ("t7", "L2", "2025-02-10 10:00", "direct", None),
    ("t8", "L3", "2024-06-01 10:00", "email", "nurture"),
    ("t9", "L4", "2025-02-01 10:00", "paid_search", "brand"),
    ("t10", "L4", "2025-02-02 10:00", "email", "nurture"),
]
CONV_AT = pd.Timestamp("2025-02-03 00:00")
L1_TIMES = [pd.Timestamp(t[2]) for t in TOUCHES[1:6]]
L1_CHANNELS = ["paid_search", "organic_search", "email", "direct", "referral"]


def load(ws) -> None:
    load_journeys(
        ws,
        {
            "L1": {
                "created": "2025-01-05 10:00",
                "channel": "paid_search",
                "stages": [("opportunity", "2025-01-20 12:00"), ("customer", "2025-02-03 00:00")],
            },
            "L2": {
                "created": "2025-02-10 10:00",
                "channel": "direct",
                "stages": [("customer", "2025-02-11 10:00")],
            },
            "L3": {
                "created": "2024-06-01 10:00",
                "channel": "email",
                "stages": [("opportunity", "2025-02-01 10:00"), ("customer", "2025-02-15 10:00")],
            },
            "L4": {"created": "2025-02-01 10:00", "channel": "paid_search"},
        },
    )
    folder = ws.project_dir
    tf = write_csv(
        folder / "touches.csv",
        [
            {"touch_id": i, "lead_id": lead, "at": at, "channel": ch, "campaign": camp}
            for i, lead, at, ch, camp in TOUCHES
        ],
    )
    r = ws.import_files("touches", [tf])
    assert r.rejected == 0, r.sample_rejections
    deals = [
        # deals drive the funnel: their dates are the stage entries of the story
        ("D1", "L1", "2025-01-20 12:00", "2025-02-03", "won", 1000),
        ("D2", "L1", "2025-01-20 12:00", "2025-01-25", "lost", 200),
        ("D3", "L1", "2025-01-21", None, "open", None),
        ("D4", "L2", "2025-02-10 10:30", "2025-02-11 10:00", "won", 500),
        ("D5", "L3", "2025-02-01 10:00", "2025-02-15 10:00", "won", 300),
    ]
    df = write_csv(
        folder / "deals.csv",
        [
            {
                "deal_id": d,
                "lead_id": lead,
                "created_at": c,
                "closed_at": cl,
                "status": st,
                "amount": a,
            }
            for d, lead, c, cl, st, a in deals
        ],
    )
    r = ws.import_files("deals", [df])
    assert r.rejected == 0, r.sample_rejections


@pytest.fixture
def ws(story_ws):
    """The stories' project on each engine (loaded once, see conftest.py)."""
    return story_ws


@pytest.fixture(scope="session")
def every_rule(story_ws):
    """Every rule-based model credited in one call (the journeys stored once)."""
    return credits_all(
        story_ws, models=[*L1_WEIGHTS, "time_decay"], start="2025-01-01", end="2025-02-28"
    )


#: L1's weights over (paid_search, organic_search, email, direct, referral), by hand.
L1_WEIGHTS = {
    "first_touch": [1, 0, 0, 0, 0],
    "last_touch": [0, 0, 0, 0, 1],
    "last_non_direct": [0, 0, 0, 0, 1],
    "linear": [0.2] * 5,
    "u_shaped": [0.4, 0.4, 0.2 / 3, 0.2 / 3, 0.2 / 3],
    "w_shaped": [0.3, 0.3, 0.05, 0.3, 0.05],
    "full_path": [0.225, 0.225, 0.1, 0.225, 0.225],
    "j_shaped": [0.2, 0.2 / 3, 0.2 / 3, 0.2 / 3, 0.6],
    "inverse_j": [0.6, 0.2 / 3, 0.2 / 3, 0.2 / 3, 0.2],
}


def expected(weights: list[float]) -> dict[str, tuple[float, float]]:
    """channel → (conversions, value): L1's weights × (1, 1,000) plus L2 (direct, 1, 500)."""
    out = {ch: (w, w * 1000.0) for ch, w in zip(L1_CHANNELS, weights, strict=True)}
    c, v = out["direct"]
    out["direct"] = (c + 1.0, v + 500.0)
    return {k: v for k, v in out.items() if v[0] != 0}


def check(c, want: dict[str, tuple[float, float]], key: str = "channel") -> None:
    got = {r[key]: (r["conversions"], r["value"]) for r in c.frame.to_dict("records")}
    got = {k: v for k, v in got.items() if abs(v[0]) > 1e-12}
    assert set(got) == set(want)
    for k, (conv, val) in want.items():
        assert got[k][0] == pytest.approx(conv, abs=1e-9), k
        assert got[k][1] == pytest.approx(val, abs=1e-6), k


@pytest.mark.parametrize("model", sorted(L1_WEIGHTS))
def test_position_models_by_hand(every_rule, model):
    c = every_rule[model]
    check(c, expected(L1_WEIGHTS[model]))
    assert (c.converted, c.converted_value) == (3, 1800)
    assert (c.unattributed_conversions, c.unattributed_value) == (1, 300)
    assert any("no touch in the 90-day lookback" in n for n in c.notes)


def test_one_model_alone_equals_the_same_model_among_others(ws, every_rule):
    for model in ("w_shaped", "last_non_direct"):
        alone = credits(ws, model=model, start="2025-01-01", end="2025-02-28")
        pd.testing.assert_frame_equal(alone.frame, every_rule[model].frame)
        assert alone.notes == every_rule[model].notes


def test_time_decay_by_hand(ws, every_rule):
    hours = np.array([(CONV_AT - t).total_seconds() / 3600 for t in L1_TIMES])
    raw = 0.5 ** (hours / (24 * 7))
    check(every_rule["time_decay"], expected(list(raw / raw.sum())))
    c3 = credits(ws, model="time_decay", half_life_days=3, start="2025-01-01", end="2025-02-28")
    raw3 = 0.5 ** (hours / (24 * 3))
    check(c3, expected(list(raw3 / raw3.sum())))


def test_lookback_and_range(ws):
    # 20 days: only T4 (direct, 14 days before) and T5 (referral) are in L1's window
    c = credits(ws, model="linear", lookback_days=20.0, start="2025-01-01", end="2025-02-28")
    check(c, {"direct": (1.5, 1000.0), "referral": (0.5, 500.0)})
    # a range holding only L2's conversion
    c = credits(ws, model="first_touch", start="2025-02-11", end="2025-02-11")
    check(c, {"direct": (1.0, 500.0)})
    assert (c.converted, c.unattributed_conversions) == (1, 0)


def test_value_count_and_opportunity_pipeline(ws):
    c = credits(ws, model="last_touch", value="count", start="2025-01-01", end="2025-02-28")
    check(c, {"referral": (1.0, 1.0), "direct": (1.0, 1.0)})
    # opportunity: L1 (2025-01-20, deals 1,000 + 200 + an open deal without amount), L2 (its
    # deal D4, created 02-10 10:30, makes it an opportunity) and L3
    opp = credits(ws, model="last_touch", conversion="opportunity", start="2025-01-01")
    # L1's last touch before 01-20 12:00 is T4 (direct); L2's before 02-10 10:30 is T7 (direct)
    check(opp, {"direct": (2.0, 1700.0)})
    assert (opp.converted, opp.converted_value) == (3, 2000)
    assert opp.unattributed_value == 300
    assert any("no amount" in n for n in opp.notes)
    mql = credits(ws, model="linear", conversion="mql")
    assert mql.converted == 0
    assert any("has no amount" in n for n in mql.notes)


def test_by_campaign(ws):
    c = credits(ws, model="linear", by="campaign", start="2025-01-01", end="2025-02-28")
    check(
        c,
        {
            "brand": (0.2, 200.0),
            "(no campaign)": (1.4, 900.0),  # T2, T4 of L1 + L2's direct touch
            "nurture": (0.2, 200.0),
            "partners": (0.2, 200.0),
        },
        key="campaign",
    )


def dense_markov_shares(paths: list[tuple[list[str], float, float]]) -> dict[str, float]:
    """Independent reference: dense transition matrix, fundamental matrix by inversion."""
    chans = sorted({c for p, _, _ in paths for c in p})
    states = ["S", *chans, "C", "N"]
    ix = {s: i for i, s in enumerate(states)}
    m = np.zeros((len(states), len(states)))
    for p, conv, null in paths:
        seq = [c for i, c in enumerate(p) if i == 0 or p[i - 1] != c]
        full = ["S", *seq]
        for a, b in itertools.pairwise(full):
            m[ix[a], ix[b]] += conv + null
        m[ix[seq[-1]], ix["C"]] += conv
        m[ix[seq[-1]], ix["N"]] += null

    def p_conv(mat: np.ndarray) -> float:
        rows = mat.sum(axis=1, keepdims=True)
        prob = np.divide(mat, rows, out=np.zeros_like(mat), where=rows > 0)
        q = prob[:-2, :-2]
        r = prob[:-2, -2]
        return float(np.linalg.solve(np.eye(len(q)) - q, r)[0])

    base = p_conv(m)
    re = {}
    for c in chans:
        mm = m.copy()
        mm[:, ix["N"]] += mm[:, ix[c]]
        mm[:, ix[c]] = 0
        re[c] = 1 - p_conv(mm) / base
    total = sum(re.values())
    return {c: v / total for c, v in re.items()}


def test_markov_on_the_ledger_uses_null_journeys(ws):
    c = credits(ws, model="markov", start="2025-01-01", end="2025-02-28")
    paths = [
        (L1_CHANNELS, 1.0, 0.0),
        (["direct"], 1.0, 0.0),
        (["paid_search", "email"], 0.0, 1.0),  # L4
    ]
    shares = dense_markov_shares(paths)
    want = {ch: (s * 2, s * 1500.0) for ch, s in shares.items() if s > 0}
    check(c, want)
    assert c.unattributed_conversions == 1


def test_errors(ws):
    with pytest.raises(UnknownModel, match="markov") as exc:
        credits(ws, model="markv")
    assert exc.value.hint == "did you mean 'markov'?"
    # the report's parameters, checked against the project before the runner is called
    with pytest.raises(UnknownModel, match="markov"):
        ws.report("attribution", model="markv")
    with pytest.raises(UnknownStage):
        ws.report("attribution", conversion="custmer")
    with pytest.raises(InvalidArgument, match="--by 'persona'"):
        ws.report("attribution", by="persona")
    with pytest.raises(InvalidArgument, match="--value 'money'"):
        ws.report("attribution", value="money")
    with pytest.raises(InvalidArgument, match="lookback"):
        ws.report("attribution", lookback="soon")
    with pytest.raises(InvalidArgument, match="--half-life"):
        ws.report("attribution", model="time_decay", half_life=0)
    with pytest.raises(InvalidArgument, match="--order 7 must be 1, 2 or 3"):
        ws.report("attribution", model="markov", order=7)


def test_every_model_reconciles_on_the_ledger(ws, every_rule):
    got = dict(every_rule)
    for order in (1, 2):
        got.update(
            credits_all(
                ws, models=["markov", "shapley"], order=order, start="2025-01-01", end="2025-02-28"
            )
        )
        for model, c in got.items():
            assert c.frame.conversions.sum() + c.unattributed_conversions == pytest.approx(3), model
            assert c.frame.value.sum() + c.unattributed_value == pytest.approx(1800), model


def test_our_path_aggregation_on_the_ledger(ws):
    """The ledger's journeys in ChannelAttribution's layout (paths.path_table), on every engine:
    L1's five touches in the window, L2's one, L4's non-converting two; L3 has no touch."""
    tables, cfg = ws.store.tables(), ws.cfg
    s, e = dt.date(2025, 1, 1), dt.date(2025, 2, 28)
    conv = conversions(tables, cfg, stage="customer", start=s, end=e, value="amount")
    js = ledger_journeys(
        tables,
        cfg,
        conv,
        stage="customer",
        by="channel",
        lookback_days=90,
        nulls=True,
        start=s,
        end=e,
        milestones=(),
    )
    want = {
        " > ".join(L1_CHANNELS): (1.0, 1000.0, 0.0),
        "direct": (1.0, 500.0, 0.0),
        "paid_search > email": (0.0, 0.0, 1.0),
    }
    # the list sort reads fields back from rows: DuckDB only (see path_arrays)
    for sort_in_list in (False, True) if ws.store.dialect == "duckdb" else (False,):
        got = ws.store.execute(path_table(js, sort_in_list=sort_in_list))
        rows = {
            r.path: (r.total_conversions, r.total_conversion_value, r.total_null)
            for r in got.itertuples()
        }
        assert rows == want, sort_in_list


def _temporary_tables(ws) -> set[str]:
    """The session's temporary tables, from each engine's catalog (DuckDB's
    ``list_tables(database="temp")`` lists none, even right after a temporary table is made)."""
    if ws.store.dialect == "duckdb":
        rows = ws.store.con.raw_sql(
            "SELECT table_name FROM duckdb_tables() WHERE temporary"
        ).fetchall()
        return {r[0] for r in rows}
    with ws.store.con.raw_sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = pg_my_temp_schema()::regnamespace::text"
    ) as cur:
        return {r[0] for r in cur.fetchall()}


def test_the_temporary_table_listing_sees_one(ws):
    """The check below can fail: a temporary table made here is listed."""
    ws.store.con.create_table("probe_temp", ibis.memtable({"a": [1]}), temp=True)
    assert "probe_temp" in _temporary_tables(ws)


def test_the_stored_journeys_are_dropped(ws):
    before = _temporary_tables(ws)
    credits_all(ws, models=["linear", "markov"])
    assert _temporary_tables(ws) == before
