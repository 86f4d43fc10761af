"""Lead decay in money: seed 003's arithmetic exactly, and small histories computed by hand."""

from __future__ import annotations

import json
from typing import Any

import pytest
from statsmodels.stats.proportion import proportion_confint

from leadledger.cli.main import main
from leadledger.errors import InvalidArgument, NotEnoughHistory
from leadledger.planning.decay import bucket_labels, decay_arithmetic, wilson_interval
from leadledger.reports import Ctx, get
from leadledger.reports.result import Report
from tests.conftest import config_text, load_journeys, write_csv
from tests.planning.test_sla import touches_csv

SEED_003 = {
    "customer_value": 100000.0,
    "sqls": 40,
    "customers": 10,
    "neglected": 5,
    "sql_to_customer_rate": 0.25,
    "value_per_sql": 25000.0,
    "expected_customers": 8.75,
    "customers_lost": 1.25,
    "expected_revenue": 875000.0,
    "value_lost": 125000.0,
}


def decay_without_project(**params: Any) -> Report:
    """``leadledger decay`` on given counts where no project is found."""
    spec = get("decay")
    return spec.run(Ctx(None), spec.params.model_validate(params))


# -- standalone ------------------------------------------------------------------------------------
def test_seed_003_exactly() -> None:
    got = decay_arithmetic(customer_value=100000, sqls=40, customers=10, neglected=5)
    assert got == SEED_003  # exact: no tolerance
    rep = decay_without_project(customer_value=100000, sqls=40, customers=10, neglected=5)
    assert rep.as_dict()["rows"] == [SEED_003]


def test_standalone_cli_needs_no_project(tmp_path: Any, monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.chdir(tmp_path)  # no leadledger.yaml anywhere up from here
    code = main(
        ["decay", "--customer-value", "100000", "--sqls", "40", "--customers", "10",
         "--neglected", "5", "--format", "json"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"report", "params", "rows", "notes"}
    assert data["report"] == "decay" and data["params"]["mode"] == "standalone"
    (row,) = data["rows"]
    assert row["value_per_sql"] == 25000
    assert row["expected_customers"] == 8.75
    assert row["value_lost"] == 125000
    assert row["expected_revenue"] == 875000
    assert (row["customer_value"], row["sqls"], row["customers"], row["neglected"]) == (
        100000,
        40,
        10,
        5,
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"customer_value": 1, "sqls": 40}, "both --sqls and --customers"),
        ({"sqls": 40, "customers": 10}, "--customer-value"),
        ({"customer_value": 1, "sqls": 4, "customers": 10}, "more than --sqls"),
        ({"customer_value": 1, "sqls": 4, "customers": 1, "neglected": 5}, "more than --sqls"),
        ({"customer_value": -1, "sqls": 4, "customers": 1}, "positive"),
        ({"customer_value": 1, "sqls": 0, "customers": 0}, "whole number"),
    ],
)
def test_standalone_refuses_bad_counts(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        decay_without_project(**kwargs)


def test_wilson_interval_matches_statsmodels() -> None:
    for won, n in [(0, 1), (1, 1), (2, 4), (7, 30), (30, 30), (12, 400)]:
        low, high = wilson_interval(won, n)
        ref = proportion_confint(won, n, alpha=0.05, method="wilson")
        assert (low, high) == pytest.approx(ref, abs=1e-12)
    assert wilson_interval(0, 0) == (None, None)


def test_bucket_labels() -> None:
    assert bucket_labels([1, 2, 5]) == ["0-1", "1-2", "2-5", "5+", "no_follow_up"]


# -- from history --------------------------------------------------------------------------------
def project_text(engine: str, decay: str) -> str:
    text = config_text(engine)
    start = text.index("decay:\n")
    end = text.index("\n\n", start) + 1
    return text[:start] + decay + text[end:]


MEASURED = (
    "decay:\n"
    "  customer_value: 1400\n"
    "  limit_days: 10\n"
    "  limits: [{where: {segment: [consumer]}, days: 1}]\n"
    "  buckets: [1, 2, 5]\n"
    "  min_per_bucket: 2\n"
)


def sql(at: str, *more: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [("sql", at), *more]


# May 2025 (Madrid, 09:00–17:00, Mon 12 May on): delays in business days by hand.
HISTORY: dict[str, dict[str, Any]] = {
    # 0-1: 4 SQLs, 2 won → the reference bucket (rate 0.5)
    "A1": {"created": "2025-05-05", "stages": sql("2025-05-12 10:00", ("customer", "2025-05-20"))},
    "A2": {"created": "2025-05-05", "stages": sql("2025-05-12 10:00", ("customer", "2025-05-21"))},
    "A3": {"created": "2025-05-05", "stages": sql("2025-05-13 10:00", ("lost", "2025-05-30"))},
    "A4": {"created": "2025-05-05", "stages": sql("2025-05-13 10:00")},  # call after exactly 1
    # 1-2: 2 SQLs, 1 won → rate 0.5, remaining 1
    "B1": {"created": "2025-05-05", "stages": sql("2025-05-12 10:00", ("customer", "2025-05-28"))},
    "B2": {"created": "2025-05-05", "stages": sql("2025-05-12 10:00")},  # call after exactly 2
    # 2-5: 2 SQLs, none won → remaining 0
    "C1": {"created": "2025-05-05", "stages": sql("2025-05-12 10:00")},  # 4 business days
    "C2": {"created": "2025-05-05",
           "stages": sql("2025-05-12 10:00", ("disqualified", "2025-05-20", "no_need"))},
    # 5+: one SQL (thin): the 10-day limit decides, and it was called after 14 days → 0
    "D1": {"created": "2025-05-05", "stages": sql("2025-05-12 10:00", ("customer", "2025-06-10"))},
    # no follow-up: disqualified 2 hours after entering (its delay stops there)
    "E1": {"created": "2025-05-05",
           "stages": sql("2025-05-19 10:00", ("disqualified", "2025-05-19 12:00", "no_need"))},
    # June, open and never touched: valued at their untouched delay as of 30 June (end of day)
    "E2": {"created": "2025-06-02", "stages": sql("2025-06-23 10:00")},  # 5.875 bd, 7.6 days
    "E3": {"created": "2025-06-02", "stages": sql("2025-06-30 10:00")},  # 0.875 bd
    "E4": {"created": "2025-06-02", "segment": "consumer",
           "stages": sql("2025-06-23 10:00")},  # 5.875 bd, past its 1-day limit
    "E5": {"created": "2025-06-02", "owner": "ana", "channel": "email",
           "stages": sql("2025-06-02 10:00")},  # 20.875 bd, 28.6 days
}  # fmt: skip
CALLS = [
    ("A1", "2025-05-12 12:00", "call"),  # 0.25
    ("A2", "2025-05-12 15:00", "call"),  # 0.625
    ("A3", "2025-05-13 11:00", "meeting"),  # 0.125
    ("A4", "2025-05-14 10:00", "call"),  # 1.0 exactly: (0, 1]
    ("B1", "2025-05-13 14:00", "call"),  # 7 + 5 = 12 h = 1.5
    ("B2", "2025-05-14 10:00", "call"),  # 7 + 8 + 1 = 16 h = 2.0 exactly: (1, 2]
    ("C1", "2025-05-16 10:00", "call"),  # 7 + 24 + 1 = 32 h = 4
    ("C2", "2025-05-15 10:00", "call"),  # 3
    ("D1", "2025-05-26 10:00", "call"),  # 10 business days, 14 calendar days
    ("E2", "2025-05-01 10:00", "call"),  # before its SQL: not a follow-up
    ("A1", "2025-05-12 11:00", "email"),  # marketing e-mail: not a follow-up
]
AS_OF = "2025-06-30"


@pytest.fixture
def history(engine: str, make_project: Any) -> Any:
    ws = make_project(engine, project_text(engine, MEASURED))
    load_journeys(ws, HISTORY)
    touches_csv(ws, CALLS)
    return ws


def test_decay_curve_value_lost_and_at_risk_by_hand(history: Any) -> None:
    rep = history.report("decay", start="2025-06-01", end="2025-06-30", as_of=AS_OF)
    data = rep.as_dict()
    (row,) = data["rows"]
    # 14 SQLs in the 365-day window, 4 customers (A1, A2, B1, D1); value per SQL 1400 × 4/14
    assert (row["history_sqls"], row["history_customers"]) == (14, 4)
    assert row["sql_to_customer_rate"] == pytest.approx(4 / 14)
    assert row["customer_value_source"] == "config"
    assert row["value_per_sql"] == pytest.approx(400)
    # June: E2 within its 10-day limit (1), E3 in the reference bucket (1), E4 past its
    # consumer limit (0), E5 past 10 days (0)
    assert (row["sqls"], row["neglected"]) == (4, 2)
    assert row["value_lost"] == pytest.approx(800)
    assert row["expected_customers"] == pytest.approx(2 * 4 / 14)
    assert row["expected_revenue"] == pytest.approx(800)
    assert (row["open_sqls"], row["value_at_risk"]) == (4, pytest.approx(800))

    curve = {r["bucket"]: r for r in data["curve"]}
    assert [r["bucket"] for r in data["curve"]] == ["0-1", "1-2", "2-5", "5+", "no_follow_up"]
    want = {  # bucket: (sqls, customers, remaining_share, source)
        "0-1": (4, 2, 1.0, "reference"),
        "1-2": (2, 1, 1.0, "history"),
        "2-5": (2, 0, 0.0, "history"),
        "5+": (1, 1, 0.0, "limit"),  # D1 was called 14 days after: past the 10-day limit
        "no_follow_up": (5, 0, 0.0, "history"),
    }
    for bucket, (n, won, share, source) in want.items():
        r = curve[bucket]
        assert (r["sqls"], r["customers"], r["source"]) == (n, won, source), bucket
        assert r["remaining_share"] == pytest.approx(share), bucket
        low, high = proportion_confint(won, n, alpha=0.05, method="wilson")
        assert (r["ci_low"], r["ci_high"]) == pytest.approx((low, high)), bucket

    at_risk = {r["lead_id"]: r for r in data["at_risk"]}
    assert set(at_risk) == {"E2", "E3", "E4", "E5"}  # A4 and C1 are open but followed up
    assert [r["lead_id"] for r in data["at_risk"]][:2] == ["E5", "E4"]  # largest, then oldest
    assert at_risk["E5"]["value_at_risk"] == pytest.approx(400)
    assert at_risk["E5"]["untouched_business_days"] == pytest.approx(20.875, abs=1e-6)
    assert (at_risk["E5"]["owner"], at_risk["E5"]["channel"]) == ("ana", "email")
    assert at_risk["E4"]["limit_days"] == 1 and at_risk["E4"]["share_source"] == "limit"
    assert at_risk["E2"]["value_at_risk"] == pytest.approx(0)
    assert at_risk["E2"]["untouched_business_days"] == pytest.approx(5.875, abs=1e-6)
    assert at_risk["E3"]["share_source"] == "history"


def test_value_lost_in_may(history: Any) -> None:
    rep = history.report("decay", start="2025-05-01", end="2025-05-31", as_of=AS_OF)
    (row,) = rep.as_dict()["rows"]
    # C1, C2 (remaining 0) and D1 (past its limit) lost their value; E1 left after 2 hours
    assert (row["sqls"], row["neglected"]) == (10, 3)
    assert row["value_lost"] == pytest.approx(1200)
    assert row["expected_customers"] == pytest.approx(7 * 4 / 14)


THIN = (
    "decay:\n"
    "  limit_days: 30\n"
    "  limits: [{where: {segment: [consumer]}, days: 1}]\n"
    "  buckets: [1, 2, 5, 10, 20]\n"
)
THIN_STORY: dict[str, dict[str, Any]] = {
    "W1": {"created": "2025-03-01", "stages": sql("2025-03-03 10:00", ("customer", "2025-03-20"))},
    "W2": {"created": "2025-03-01",
           "stages": sql("2025-03-03 10:00", ("disqualified", "2025-03-10", "no_need"))},
    "X1": {"created": "2025-06-01", "stages": sql("2025-06-26 10:00")},
    "X2": {"created": "2025-06-01", "segment": "consumer", "stages": sql("2025-06-26 10:00")},
    "X3": {"created": "2025-06-01", "segment": "consumer", "stages": sql("2025-06-30 10:00")},
}  # fmt: skip


def test_thin_history_falls_back_to_the_limits(engine: str, make_project: Any) -> None:
    ws = make_project(engine, project_text(engine, THIN))
    load_journeys(ws, THIN_STORY)
    touches_csv(ws, [("W1", "2025-03-03 11:00", "call")])
    deals = write_csv(
        ws.project_dir / "deals.csv",
        [
            {"deal_id": "D1", "lead_id": "W1", "created_at": "2025-03-05",
             "closed_at": "2025-03-20", "status": "won", "amount": 800},
            {"deal_id": "D2", "lead_id": "W1", "created_at": "2025-03-05",
             "closed_at": "2025-04-01", "status": "won", "amount": 1200},
            {"deal_id": "D3", "lead_id": "W2", "created_at": "2025-03-05",
             "closed_at": "2025-04-01", "status": "lost", "amount": 5000},
        ],
    )  # fmt: skip
    assert ws.import_files("deals", [deals]).rejected == 0
    rep = ws.report("decay", as_of=AS_OF)  # the period defaults to the month of the last data
    data = rep.as_dict()
    (row,) = data["rows"]
    assert data["params"]["from"] == "2025-06-01"
    assert row["customer_value"] == pytest.approx(1000)  # mean of the won deals
    assert row["customer_value_source"] == "won deals"
    assert row["value_per_sql"] == pytest.approx(1000 * 1 / 5)
    assert {r["source"] for r in data["curve"]} == {"limit"}
    assert any("no bucket has enough history" in n for n in data["notes"])
    risk = {r["lead_id"]: r["value_at_risk"] for r in data["at_risk"]}
    # X1 (B2B, 4.6 days < 30) keeps its value; X2 (consumer, 4.6 days > 1) lost it; X3 is
    # 0.6 days old
    assert risk == {"X2": pytest.approx(200), "X1": 0, "X3": 0}
    assert (row["sqls"], row["neglected"], row["value_lost"]) == (3, 1, pytest.approx(200))
    # a customer value given on the command line wins
    rep = ws.report("decay", as_of=AS_OF, customer_value=500)
    assert rep.as_dict()["rows"][0]["value_per_sql"] == pytest.approx(100)


def test_not_enough_history(engine: str, make_project: Any) -> None:
    ws = make_project(engine, project_text(engine, THIN))
    load_journeys(ws, {"X1": THIN_STORY["X1"]})
    with pytest.raises(NotEnoughHistory, match="reached customer"):
        ws.report("decay", as_of=AS_OF)
    load_journeys(ws, {"W1": THIN_STORY["W1"]})
    with pytest.raises(NotEnoughHistory, match="won deal"):  # no value configured, no deals
        ws.report("decay", as_of=AS_OF)
    with pytest.raises(NotEnoughHistory, match="no lead entered sql"):
        ws.report("decay", as_of="2024-01-01")


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
@pytest.mark.parametrize("engine", ["duckdb:///leadledger.duckdb"])  # the CLI once
def test_cli_decay_from_history(history: Any, capsys: Any) -> None:
    project = str(history.project_dir)
    history.close()
    code = main(
        ["decay", "--project", project, "--format", "json", "--as-of", AS_OF,
         "--from", "2025-06-01", "--to", "2025-06-30"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["report", "params", "rows", "curve", "at_risk", "notes"]
    assert data["rows"][0]["value_lost"] == pytest.approx(800)
    code = main(["decay", "--project", project, "--as-of", AS_OF, "--from", "2025-06-01"])
    out = capsys.readouterr().out
    assert code == 0 and "Decay curve" in out and "at risk" in out
    code = main(["decay", "--project", project, "--history", "soon"])
    assert code == 1 and "invalid_argument" in capsys.readouterr().err


def test_given_counts_need_no_project_history_does() -> None:
    from leadledger.reports.protection import DecayParams

    assert DecayParams(sqls=40, customers=10).project_use() == "none"
    assert DecayParams(neglected=1).project_use() == "none"
    assert DecayParams().project_use() == "required"
