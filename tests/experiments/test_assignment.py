"""Hash assignment: deterministic, the configured share, independent of the other leads, the
order, the run and the engine (the documented rule reproduced in DuckDB and PostgreSQL SQL)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pytest

from leadledger.experiments.assignment import assign, hash_value, hash_values
from tests.conftest import load_journeys


def reference(experiment: str, lead_id: str) -> float:
    """The rule exactly as docs/experiments.md states it."""
    digest = hashlib.sha256(f"{experiment}:{lead_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def test_pinned_values() -> None:
    # a lead's group must never change: these are regression pins of the rule
    assert hash_value("nurture", "P1") == pytest.approx(0.1442, abs=1e-4)
    assert hash_value("nurture", "P3") == pytest.approx(0.4457, abs=1e-4)
    assert reference("nurture", "L12") == 0.3337789017469485


def test_vectorised_equals_the_rule() -> None:
    ids = [f"lead-{i}" for i in range(5000)] + ["ñandú@example.com", "", "0042"]
    got = hash_values("exp", ids)
    assert got.tolist() == [reference("exp", i) for i in ids]
    assert got.min() >= 0 and got.max() < 1


@pytest.mark.parametrize("share", [0.1, 0.5, 0.9])
def test_share_is_close_to_control_share(share: float) -> None:
    n = 100_000
    a = assign("spring_test", (str(i) for i in range(n)), share)
    observed = (a["group"] == "control").mean()
    sigma = (share * (1 - share) / n) ** 0.5
    assert abs(observed - share) < 4 * sigma
    assert set(a["group"]) == {"control", "test"}


def test_deterministic_and_independent_of_order_and_other_leads() -> None:
    ids = [f"L{i}" for i in range(2000)]
    first = assign("exp", ids, 0.3)
    again = assign("exp", list(reversed(ids)), 0.3).set_index("lead_id").loc[ids].reset_index()
    assert first["group"].tolist() == again["group"].tolist()
    subset = assign("exp", ids[::7], 0.3)
    assert subset["group"].tolist() == first["group"].iloc[::7].tolist()


def test_the_name_salts_the_split() -> None:
    ids = [str(i) for i in range(20_000)]
    a, b = hash_values("exp_a", ids), hash_values("exp_b", ids)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.03
    both = ((a < 0.5) & (b < 0.5)).mean()
    assert both == pytest.approx(0.25, abs=0.015)  # independent holdouts


def test_bad_share_is_refused() -> None:
    with pytest.raises(ValueError):
        assign("exp", ["a"], 1.0)


SQL = {
    # first 16 hex digits of sha256 as an unsigned 64-bit integer, ÷ 2^64 in double precision
    "duckdb": "SELECT lead_id, ('0x' || substr(sha256('nurture:' || lead_id), 1, 16))"
    "::UBIGINT::DOUBLE / 18446744073709551616.0 AS value FROM leads",
    "postgres": "SELECT lead_id, (CASE WHEN b < 0 THEN b::numeric + 18446744073709551616 "
    "ELSE b::numeric END)::double precision / 18446744073709551616.0 AS value FROM ("
    "SELECT lead_id, ('x' || substr(encode(sha256(convert_to('nurture:' || lead_id, 'UTF8')),"
    " 'hex'), 1, 16))::bit(64)::bigint AS b FROM leads) AS t",
}


def test_the_rule_reproduced_in_each_engines_sql(engine: str, make_project: Any) -> None:
    ws = make_project(engine)
    ids = [f"P{i}" for i in range(1, 41)] + ["ü-lead", "00017"]
    load_journeys(ws, {i: {"created": "2025-01-06 10:00"} for i in ids})
    frame = ws.store.con.sql(SQL[ws.store.dialect]).execute()
    by_sql = dict(zip(frame["lead_id"], frame["value"], strict=True))
    assert by_sql == {i: hash_value("nurture", i) for i in ids}
