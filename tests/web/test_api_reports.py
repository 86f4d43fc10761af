"""The report API: every endpoint answers the façade's JSON (the CLI's contract) for the same
parameters, CSV of the main and companion tables, typed 4xx for bad input, and tokens."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from leadledger.cli.main import main
from leadledger.service import Workspace
from leadledger.web.api.reports import listed
from leadledger.web.app import create_app

AS_OF = "2026-10-15"
FROM, TO = "2026-01-01", "2026-06-30"


def same(report_dict: dict[str, Any]) -> Any:
    """The façade's dict as it travels through JSON (tuples become lists, …), floats compared
    to 1e-12 relative: DuckDB's parallel float sums may differ in the last bit between two runs
    of the very same query (a mean of days in ``velocity``), everything else exactly."""
    return _approx(json.loads(json.dumps(report_dict, allow_nan=False)))


def _approx(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _approx(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_approx(v) for v in value]
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-12, abs=1e-12)
    return value


#: (url, query, façade call with the same parameters as the CLI passes them)
CASES: list[tuple[str, dict[str, Any], Callable[[Workspace], Any]]] = [
    ("reports/stages", {}, lambda ws: ws.report("stages")),
    (
        "reports/stages",
        {"from": FROM, "to": TO, "period": "quarter", "by": "channel"},
        lambda ws: ws.report("stages", start=FROM, end=TO, period="quarter", by="channel"),
    ),
    (
        "reports/conversion",
        {"from_stage": "mql", "to_stage": "sql", "window": "90d", "by": "channel", "as_of": AS_OF},
        lambda ws: ws.report(
            "conversion", from_stage="mql", to_stage="sql", window="90d", by="channel", as_of=AS_OF
        ),
    ),
    (
        "reports/conversion",
        {"ordered": "true", "period": "quarter", "as_of": AS_OF},
        lambda ws: ws.report("conversion", ordered=True, period="quarter", as_of=AS_OF),
    ),
    (
        "reports/velocity",
        {"by": "persona", "as_of": AS_OF},
        lambda ws: ws.report("velocity", by="persona", as_of=AS_OF),
    ),
    (
        "reports/acceptance",
        {"period": "quarter", "by": "reason"},
        lambda ws: ws.report("acceptance", period="quarter", by="reason"),
    ),
    ("reports/sourced", {}, lambda ws: ws.report("sourced", period="quarter")),
    (
        "reports/costs",
        {"by": "campaign", "from": FROM, "untagged": "even"},
        lambda ws: ws.report("costs", by="campaign", start=FROM, untagged="even"),
    ),
    ("reports/roi", {}, lambda ws: ws.report("roi", by="channel")),
    (
        "reports/roi",
        {"model": "w_shaped", "by": "campaign", "lookback": "60d", "from": FROM, "to": TO},
        lambda ws: ws.report(
            "roi", model="w_shaped", by="campaign", lookback="60d", start=FROM, end=TO
        ),
    ),
    ("attribution", {}, lambda ws: ws.report("attribution")),
    (
        "attribution",
        {"compare": "true", "by": "campaign", "value": "count"},
        lambda ws: ws.report("attribution", compare=True, by="campaign", value="count"),
    ),
    (
        "attribution",
        {"model": "markov", "order": "2", "conversion": "sql", "from": FROM, "to": TO},
        lambda ws: ws.report(
            "attribution", model="markov", order=2, conversion="sql", start=FROM, end=TO
        ),
    ),
    (
        "attribution",
        {"model": "time_decay", "half_life": "14", "lookback": "12w"},
        lambda ws: ws.report("attribution", model="time_decay", half_life=14.0, lookback="12w"),
    ),
    (
        "plan",
        {"revenue": "2000000", "close_rate": "0.25", "from": "2027-01-01", "to": "2027-12-31"},
        lambda ws: ws.report(
            "plan", revenue=2_000_000.0, close_rate=0.25, start="2027-01-01", end="2027-12-31"
        ),
    ),
    (
        "plan",
        {"revenue": "500000", "channel": "paid_search", "history": "6m"},
        lambda ws: ws.report("plan", revenue=500_000.0, channel="paid_search", history="6m"),
    ),
    ("whatif", {}, lambda ws: ws.report("whatif", overrides=[], history="12m")),
    (
        "whatif",
        {"set": ["close_rate=0.3", "cost.paid_search=+20%"], "history": "6m"},
        lambda ws: ws.report(
            "whatif", overrides=["close_rate=0.3", "cost.paid_search=+20%"], history="6m"
        ),
    ),
    ("sla", {"as_of": AS_OF}, lambda ws: ws.report("sla", as_of=AS_OF)),
    (
        "sla",
        {"view": "rates", "by": "owner", "period": "quarter", "as_of": AS_OF},
        lambda ws: ws.report("sla", view="rates", by="owner", period="quarter", as_of=AS_OF),
    ),
    (
        "sla",
        {"view": "clocks", "sla": "sql_follow_up", "from": FROM, "to": TO, "as_of": AS_OF},
        lambda ws: ws.report(
            "sla", view="clocks", sla="sql_follow_up", start=FROM, end=TO, as_of=AS_OF
        ),
    ),
    (
        "decay",
        {"as_of": AS_OF},
        lambda ws: ws.report("decay", as_of=AS_OF, history="365d", limit=50),
    ),
    (
        "decay",
        {"customer_value": "100000", "sqls": "40", "customers": "10", "neglected": "5"},
        lambda ws: ws.report("decay", customer_value=100000.0, sqls=40, customers=10, neglected=5),
    ),
    ("alerts", {"as_of": AS_OF}, lambda ws: ws.report("alerts", as_of=AS_OF)),
    ("check", {"limit": "5"}, lambda ws: ws.report("check", limit=5)),
    ("check", {}, lambda ws: ws.report("check", limit=20)),
    ("score/explain/L0000001", {}, lambda ws: ws.report("score_explain", lead_id="L0000001")),
    ("score/backtest", {}, lambda ws: ws.report("score_backtest")),
    (
        "score/backtest",
        {"outcome": "opportunity", "window": "120d", "step": "10"},
        lambda ws: ws.report("score_backtest", outcome="opportunity", window="120d", step=10.0),
    ),
    ("score/tune", {"capacity": "100"}, lambda ws: ws.report("score_tune", capacity=100.0)),
    (
        "score/tune",
        {"target_acceptance": "0.6", "window": "12w"},
        lambda ws: ws.report("score_tune", target_acceptance=0.6, window="12w"),
    ),
    ("imports", {}, lambda ws: ws.report("imports")),
    ("imports", {"limit": "2"}, lambda ws: ws.report("imports", limit=2)),
]


@pytest.mark.parametrize(
    ("path", "query", "call"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_json_equals_the_facade(
    client: TestClient,
    demo_ws: Workspace,
    path: str,
    query: dict[str, Any],
    call: Callable[[Workspace], Any],
) -> None:
    r = client.get(f"/api/v1/{path}", params=query)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body == same(call(demo_ws).as_dict())
    assert body["rows"], f"{path} answered no rows on the demo"


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_model_evaluate_equals_the_facade(client: TestClient, demo_ws: Workspace) -> None:
    r = client.get("/api/v1/model/evaluate", params={"trees": "50", "split": "kfold", "folds": 3})
    assert r.status_code == 200, r.text
    want = demo_ws.report("model_evaluate", trees=50, split="kfold", folds=3)
    assert r.json() == same(want.as_dict())


def test_every_registry_report_has_its_own_route(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    reports = listed()
    assert len(reports) == 7  # stages, conversion, velocity, acceptance, sourced, costs, roi
    for name in reports:
        op = schema["paths"][f"/api/v1/reports/{name}"]["get"]
        names = {p["name"] for p in op["parameters"]}
        assert {"from", "to", "format", "table"} <= names
    assert client.get("/api/v1/reports").json() == {"reports": reports}


def test_unknown_report_is_a_typed_404(client: TestClient) -> None:
    r = client.get("/api/v1/reports/stagse")
    assert r.status_code == 404
    err = r.json()["error"]
    assert err["code"] == "unknown_report"
    assert "stages" in err["hint"]


def parse_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def cells(text: str, *, approx: bool = False) -> list[list[Any]]:
    """A CSV's cells, numbers as floats (approximate ones with ``approx``: see ``same``)."""

    def cell(v: str) -> Any:
        try:
            f = float(v)
        except ValueError:
            return v
        return pytest.approx(f, rel=1e-12, abs=1e-12) if approx else f

    return [[cell(v) for v in row] for row in csv.reader(io.StringIO(text))]


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_csv_of_the_main_table_and_of_companion_tables(
    client: TestClient, demo_ws: Workspace
) -> None:
    want = demo_ws.report("costs", by="channel")
    r = client.get("/api/v1/reports/costs", params={"format": "csv"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert cells(r.text) == cells(want.to_csv(), approx=True)
    rows = parse_csv(r.text)
    assert len(rows) == len(want.frame)
    assert list(rows[0]) == list(want.frame.columns)
    totals = client.get("/api/v1/reports/costs", params={"format": "csv", "table": "totals"})
    assert totals.status_code == 200
    assert cells(totals.text) == cells(want.to_csv("totals"), approx=True)
    assert 'filename="costs-totals.csv"' in totals.headers["content-disposition"]
    # the spend of the companion table, to the cent, as the façade computed it
    spend = sum(float(x["spend"]) for x in parse_csv(totals.text))
    assert spend == pytest.approx(float(want.extra["totals"][1]["spend"].sum()))
    for path, query, key in [
        ("whatif", {}, "sensitivity"),
        ("decay", {"as_of": AS_OF}, "curve"),
        ("score/tune", {"capacity": "100"}, "tradeoff"),
        ("attribution", {"compare": "true"}, "totals"),
        ("imports", {}, "quarantine"),
    ]:
        r = client.get(f"/api/v1/{path}", params=query | {"format": "csv", "table": key})
        assert r.status_code == 200, (path, r.text)
        assert len(parse_csv(r.text)) == len(
            client.get(f"/api/v1/{path}", params=query).json()[key]
        )


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("/api/v1/reports/stages?from=2026-13-01", 400, "invalid_argument"),
        ("/api/v1/reports/stages?from=0001-01-01", 400, "invalid_argument"),
        ("/api/v1/sla?as_of=NaT", 400, "invalid_argument"),
        ("/api/v1/alerts?as_of=nat", 400, "invalid_argument"),
        ("/api/v1/whatif?history=99999y", 400, "invalid_argument"),
        ("/api/v1/check?limit=9223372036854775808", 422, "invalid_argument"),
        ("/api/v1/reports/stages?period=fortnight", 400, "invalid_argument"),
        ("/api/v1/reports/stages?by=shoe_size", 400, "unknown_field"),
        ("/api/v1/reports/stages?format=xml", 422, "invalid_argument"),
        ("/api/v1/reports/stages?format=csv&table=nope", 400, "invalid_argument"),
        ("/api/v1/reports/conversion?from_stage=nope", 400, "unknown_stage"),
        ("/api/v1/reports/conversion?window=soon", 400, "invalid_argument"),
        ("/api/v1/reports/conversion?ordered=perhaps", 422, "invalid_argument"),
        ("/api/v1/reports/velocity?as_of=yesterday", 400, "invalid_argument"),
        ("/api/v1/reports/costs?by=weather", 400, "unknown_field"),
        ("/api/v1/reports/costs?untagged=somehow", 400, "invalid_argument"),
        ("/api/v1/reports/roi?model=markv", 400, "unknown_model"),
        ("/api/v1/reports/roi?lookback=ages", 400, "invalid_argument"),
        ("/api/v1/attribution?model=markv", 400, "unknown_model"),
        ("/api/v1/attribution?conversion=nope", 400, "unknown_stage"),
        ("/api/v1/plan", 422, "invalid_argument"),
        ("/api/v1/plan?revenue=lots", 422, "invalid_argument"),
        ("/api/v1/plan?revenue=inf", 422, "invalid_argument"),
        ("/api/v1/whatif?set=close_rate", 400, "invalid_argument"),
        ("/api/v1/pace?goal=nope", 404, "goal_not_found"),
        ("/api/v1/sla?view=everything", 400, "invalid_argument"),
        ("/api/v1/decay?history=forever", 400, "invalid_argument"),
        ("/api/v1/score/explain/NOPE", 404, "lead_not_found"),
        ("/api/v1/score/backtest?outcome=nope", 400, "unknown_stage"),
        ("/api/v1/experiments/nope", 404, "experiment_not_found"),
        ("/api/v1/model/predict?name=nope", 409, "model_not_trained"),
        ("/api/v1/imports?limit=0", 422, "invalid_argument"),
    ],
)
def test_bad_input_is_a_typed_4xx(client: TestClient, url: str, status: int, code: str) -> None:
    r = client.get(url)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code
    assert err["message"]


#: (url, façade call with the same values): ranges the core's parsers refuse (dates outside
#: 1900–2100, windows over a century); the API has no guard of its own for them any more.
RANGES: list[tuple[str, Callable[[Workspace], Any]]] = [
    ("/api/v1/reports/stages?from=0001-01-01", lambda ws: ws.report("stages", start="0001-01-01")),
    ("/api/v1/reports/stages?to=9999-12-31", lambda ws: ws.report("stages", end="9999-12-31")),
    (
        "/api/v1/reports/conversion?window=36526d",
        lambda ws: ws.report("conversion", window="36526d"),
    ),
    ("/api/v1/reports/roi?from=1899-12-31", lambda ws: ws.report("roi", start="1899-12-31")),
    ("/api/v1/sla?as_of=2999-01-01", lambda ws: ws.report("sla", as_of="2999-01-01")),
    ("/api/v1/pace?as_of=0001-01-01", lambda ws: ws.report("pace", as_of="0001-01-01")),
    ("/api/v1/whatif?history=101y", lambda ws: ws.report("whatif", overrides=[], history="101y")),
    (
        "/api/v1/plan?revenue=1000&history=99999y",
        lambda ws: ws.report("plan", revenue=1000, history="99999y"),
    ),
    ("/api/v1/decay?history=99999999d", lambda ws: ws.report("decay", history="99999999d")),
    (
        "/api/v1/score/backtest?window=99999999d",
        lambda ws: ws.report("score_backtest", window="99999999d"),
    ),
    ("/api/v1/attribution?to=2101-01-01", lambda ws: ws.report("attribution", end="2101-01-01")),
    ("/api/v1/executive?from=0001-01-01", lambda ws: ws.report("executive", start="0001-01-01")),
]


@pytest.mark.parametrize(("url", "call"), RANGES, ids=[u for u, _ in RANGES])
def test_out_of_range_values_get_the_cores_typed_error(
    client: TestClient, demo_ws: Workspace, url: str, call: Callable[[Workspace], Any]
) -> None:
    """The API answers 400 with the very error the façade (hence the CLI) raises."""
    from leadledger.errors import InvalidArgument

    with pytest.raises(InvalidArgument) as want:
        call(demo_ws)
    r = client.get(url)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == {
        "code": "invalid_argument",
        "message": want.value.message,
        "hint": want.value.hint,
    }


def test_a_blank_as_of_means_now(client: TestClient, demo_ws: Workspace) -> None:
    """An empty query parameter (a form's blank field) is not given: HTTP-only, kept here."""
    r = client.get("/api/v1/alerts?as_of=")
    assert r.status_code == 200, r.text
    assert len(r.json()["rows"]) == len(demo_ws.report("alerts").frame)


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_json_equals_the_cli(demo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What `leadledger … --format json` prints is what the API answers, byte for byte once
    parsed (the CLI runs first: on DuckDB one process holds the file)."""
    p = str(demo_copy)
    commands: list[tuple[list[str], str, dict[str, Any]]] = [
        (
            ["report", "stages", "--from", FROM, "--to", TO, "--by", "channel"],
            "reports/stages",
            {"from": FROM, "to": TO, "by": "channel"},
        ),
        (
            ["report", "conversion", "--from-stage", "mql", "--window", "90d", "--as-of", AS_OF],
            "reports/conversion",
            {"from_stage": "mql", "window": "90d", "as_of": AS_OF},
        ),
        (["report", "roi", "--model", "linear"], "reports/roi", {"model": "linear"}),
        (["attribution", "--compare"], "attribution", {"compare": "true"}),
        (
            ["plan", "--revenue", "1000000", "--close-rate", "0.2", "--from", "2027-01-01"],
            "plan",
            {"revenue": "1000000", "close_rate": "0.2", "from": "2027-01-01"},
        ),
        (["sla", "--view", "rates", "--as-of", AS_OF], "sla", {"view": "rates", "as_of": AS_OF}),
        (["score", "tune", "--capacity", "80"], "score/tune", {"capacity": "80"}),
        (["check", "--limit", "3"], "check", {"limit": "3"}),
    ]
    printed = []
    for argv, _, _ in commands:
        assert main([*argv, "--project", p, "--format", "json"]) == 0
        printed.append(json.loads(capsys.readouterr().out))
    ws = Workspace(demo_copy)
    try:
        with TestClient(create_app(demo_copy, auth=False, ws=ws)) as c:
            for (argv, path, query), want in zip(commands, printed, strict=True):
                r = c.get(f"/api/v1/{path}", params=query)
                assert r.status_code == 200, (argv, r.text)
                assert r.json() == _approx(want), argv
    finally:
        ws.close()


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_goals_experiments_and_models(demo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """pace, experiments/{name} and model predict on a project with a goal, an experiment and a
    trained model (the shared demo has none)."""
    p = str(demo_copy)
    cfg = demo_copy / "leadledger.yaml"
    data = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    data["experiments"] = [
        *(data.get("experiments") or []),
        {"name": "nurture", "stage": "mql", "control_share": 0.2}
        | {"start": "2025-11-01", "end": "2026-04-30"},
    ]
    data["goals"] = []  # only the goal saved below covers the as-of day
    cfg.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    argv = ["plan", "--revenue", "900000", "--from", "2026-01-01", "--to", "2026-12-31"]
    assert main([*argv, "--save", "g2026", "--project", p, "--format", "json"]) == 0
    assert main(["model", "train", "--trees", "40", "--project", p, "--format", "json"]) == 0
    capsys.readouterr()
    ws = Workspace(demo_copy)
    try:
        with TestClient(create_app(demo_copy, auth=False, ws=ws)) as c:
            checks: list[tuple[str, dict[str, Any], Any]] = [
                ("pace", {"goal": "g2026", "as_of": "2026-05-15"},
                 ws.report("pace", goal="g2026", as_of="2026-05-15")),
                ("pace", {"as_of": "2026-05-15", "period": "quarter"},
                 ws.report("pace", as_of="2026-05-15", period="quarter")),
                ("alerts", {"as_of": "2026-05-15", "goal": "g2026"},
                 ws.report("alerts", as_of="2026-05-15", goal="g2026")),
                ("experiments/nurture", {"as_of": AS_OF},
                 ws.report("experiment_report", name="nurture", as_of=AS_OF)),
                ("experiments/nurture", {"stage": "sql", "alpha": "0.1", "as_of": AS_OF},
                 ws.report(
                     "experiment_report", name="nurture", stage="sql", alpha=0.1, as_of=AS_OF
                 )),
                ("model/predict", {"limit": "10", "as_of": AS_OF},
                 ws.report("model_predict", limit=10, as_of=AS_OF)),
                ("model/predict", {"lead": ["L0000001", "L0000002"], "as_of": AS_OF},
                 ws.report("model_predict", lead_ids=["L0000001", "L0000002"], as_of=AS_OF)),
            ]  # fmt: skip
            for path, query, want in checks:
                r = c.get(f"/api/v1/{path}", params=query)
                assert r.status_code == 200, (path, r.text)
                assert r.json() == same(want.as_dict()), path
                assert r.json()["rows"], path
            assert len(c.get("/api/v1/model/predict", params={"limit": 10}).json()["rows"]) == 10
    finally:
        ws.close()


# -- tokens and auth -----------------------------------------------------------------------------
def bearer(secret: str) -> dict[str, str]:
    return {"authorization": f"Bearer {secret}"}


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_auth_scopes_and_revocation(auth_client: tuple[TestClient, Workspace]) -> None:
    c, ws = auth_client
    _, admin = ws.token_create("admin", "root")
    _, read = ws.token_create("read", "reader")
    _, write = ws.token_create("write", "writer")

    r = c.get("/api/v1/reports/stages")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"
    assert r.json()["error"]["hint"]
    r = c.get("/api/v1/reports/stages", headers=bearer("ll_bogus_secret"))
    assert (r.status_code, r.json()["error"]["code"]) == (401, "unauthorized")
    # an unknown report still needs a token first
    assert c.get("/api/v1/reports/nope").status_code == 401

    for secret in (read, write, admin):  # scopes are ordered: read < write < admin
        r = c.get("/api/v1/reports/stages", headers=bearer(secret))
        assert r.status_code == 200
        assert r.json() == same(ws.report("stages").as_dict())

    for secret in (read, write):
        for method, url in [("GET", "/api/v1/tokens"), ("DELETE", "/api/v1/tokens/reader")]:
            r = c.request(method, url, headers=bearer(secret))
            assert r.status_code == 403, (method, url)
            assert r.json()["error"]["code"] == "forbidden"
        r = c.post("/api/v1/tokens", json={"scope": "admin"}, headers=bearer(secret))
        assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")
    assert c.post("/api/v1/tokens", json={"scope": "read"}).status_code == 401

    # admin: create (the secret once), list (never a secret), revoke
    r = c.post("/api/v1/tokens", json={"scope": "read", "name": "dash"}, headers=bearer(admin))
    assert r.status_code == 201
    made = r.json()
    assert made["report"] == "token"
    row = made["rows"][0]
    assert (row["name"], row["scope"], row["active"]) == ("dash", "read", True)
    secret = row["token"]
    assert secret.startswith(f"ll_{row['token_id']}_")
    assert c.get("/api/v1/check", headers=bearer(secret)).status_code == 200

    listing = c.get("/api/v1/tokens", headers=bearer(admin))
    assert listing.status_code == 200
    assert listing.json() == same(ws.token_list().as_dict())
    assert {t["name"] for t in listing.json()["rows"]} == {"root", "reader", "writer", "dash"}
    assert secret not in listing.text and "hash" not in listing.text
    csv_rows = parse_csv(c.get("/api/v1/tokens?format=csv", headers=bearer(admin)).text)
    assert len(csv_rows) == 4

    r = c.delete("/api/v1/tokens/dash", headers=bearer(admin))
    assert r.status_code == 200
    assert r.json()["rows"][0]["active"] is False
    assert r.json()["rows"][0]["revoked_at"]
    r = c.get("/api/v1/check", headers=bearer(secret))
    assert (r.status_code, r.json()["error"]["code"]) == (401, "unauthorized")
    assert "revoked" in r.json()["error"]["message"]
    # revoking twice is harmless; an unknown token is a typed 404; a bad scope a typed 400
    assert c.delete(f"/api/v1/tokens/{row['token_id']}", headers=bearer(admin)).status_code == 200
    r = c.delete("/api/v1/tokens/nobody", headers=bearer(admin))
    assert (r.status_code, r.json()["error"]["code"]) == (404, "token_not_found")
    r = c.post("/api/v1/tokens", json={"scope": "root"}, headers=bearer(admin))
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_argument")
    r = c.post("/api/v1/tokens", json={"scope": 3}, headers=bearer(admin))
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_argument")
    # the token list is what the CLI would print
    active = {t["name"] for t in ws.token_list().as_dict()["rows"] if t["active"]}
    assert active == {"root", "reader", "writer"}
