"""What the contract test pins: CLI commands, API calls and dashboard pages on the session demo.

Each CLI case is an argument list (``{demo}`` is the read-only demo project, ``{copy}`` a private
copy for the commands that write, ``{tmp}`` a scratch folder); each is run with ``--format json``
and, where ``formats`` says so, ``csv`` and ``table`` too. API cases are ``(path, query)`` pairs
answered by the app on the demo; pages are dashboard paths whose ``data-value`` numbers are kept.

The list is meant to touch every report, every option of it at least once, and every façade
call, with the clock fixed (``FROZEN``) so that "now" is the same on every run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

#: The instant every contract call runs at (the demo's data ends on 2026-10-31).
FROZEN = dt.datetime(2026, 12, 2, 10, 0, 0, tzinfo=dt.UTC)
#: The first lead of the demo (seed 7), explained by ``score explain``.
LEAD = "L0000001"

ALL = ("json", "csv", "table")
JSON = ("json",)


@dataclass(frozen=True)
class Cli:
    id: str
    argv: tuple[str, ...]
    formats: tuple[str, ...] = JSON
    project: str = "demo"  # demo (read-only), copy (writes), none (no project)


def cli(id: str, *argv: str, formats: tuple[str, ...] = JSON, project: str = "demo") -> Cli:
    return Cli(id, tuple(argv), formats, project)


# fmt: off
CLI: list[Cli] = [
    # -- funnel reports ----------------------------------------------------------------------
    cli("stages", "report", "stages", formats=ALL),
    cli("stages-quarter-channel", "report", "stages", "--period", "quarter", "--by", "channel"),
    cli(
        "stages-week-persona",
        "report", "stages", "--period", "week", "--from", "2026-09-01", "--to", "2026-10-31",
        "--by", "persona",
    ),
    cli("stages-day", "report", "stages", "--period", "day", "--from", "2026-10-01",
        "--to", "2026-10-15", formats=ALL),
    cli("stages-year", "report", "stages", "--period", "year"),
    cli("stages-mid-period", "report", "stages", "--from", "2026-03-16", "--to", "2026-05-20"),
    cli("conversion", "report", "conversion", formats=ALL),
    cli(
        "conversion-mql-sql",
        "report", "conversion", "--from-stage", "mql", "--to-stage", "sql", "--window", "90d",
        "--by", "channel",
    ),
    cli(
        "conversion-ordered",
        "report", "conversion", "--from-stage", "lead", "--to-stage", "customer", "--period",
        "quarter", "--ordered", "--as-of", "2026-06-30",
    ),
    cli("conversion-visitor", "report", "conversion", "--from-stage", "visitor", "--by",
        "channel"),
    cli("conversion-window-weeks", "report", "conversion", "--window", "12w", "--by",
        "segment,persona", "--from-stage", "sal"),
    cli("conversion-hours", "report", "conversion", "--window", "36h", "--from-stage", "mql",
        "--to-stage", "sal", "--period", "quarter"),
    cli("velocity", "report", "velocity", formats=ALL),
    cli("velocity-month-channel", "report", "velocity", "--period", "month", "--by", "channel"),
    cli("velocity-as-of", "report", "velocity", "--as-of", "2026-09-30T12:00", "--from",
        "2026-01-01"),
    cli("acceptance", "report", "acceptance", formats=ALL),
    cli("acceptance-reason", "report", "acceptance", "--period", "quarter", "--by", "reason"),
    cli("acceptance-channel", "report", "acceptance", "--by", "channel,reason"),
    cli("acceptance-persona", "report", "acceptance", "--by", "persona", "--period", "week",
        "--from", "2026-09-01"),
    cli("sourced", "report", "sourced", formats=ALL),
    cli("sourced-month-persona", "report", "sourced", "--period", "month", "--by", "persona"),
    # -- money -------------------------------------------------------------------------------
    cli("costs", "report", "costs", formats=ALL),
    cli("costs-campaign", "report", "costs", "--by", "campaign"),
    cli("costs-category", "report", "costs", "--by", "category", "--period", "quarter"),
    cli("costs-persona-even", "report", "costs", "--by", "persona", "--untagged", "even"),
    cli("costs-unallocated", "report", "costs", "--untagged", "unallocated", "--from",
        "2026-01-01", "--to", "2026-06-30"),
    cli("roi", "report", "roi", formats=ALL),
    cli("roi-w-campaign", "report", "roi", "--model", "w_shaped", "--by", "campaign"),
    cli("roi-markov", "report", "roi", "--model", "markov", "--lookback", "30d"),
    cli("roi-by-leads", "report", "roi", "--untagged", "by_leads", "--from", "2026-01-01",
        "--to", "2026-06-30"),
    # -- attribution -------------------------------------------------------------------------
    cli("attribution", "attribution", formats=ALL),
    *[
        cli(f"attribution-{m}", "attribution", "--model", m)
        for m in (
            "first_touch", "last_touch", "last_non_direct", "u_shaped", "w_shaped",
            "full_path", "j_shaped", "inverse_j", "shapley",
        )
    ],
    cli("attribution-time-decay", "attribution", "--model", "time_decay", "--half-life", "3"),
    cli("attribution-markov-2", "attribution", "-m", "markov", "--order", "2"),
    cli("attribution-compare", "attribution", "--compare", formats=ALL),
    cli("attribution-campaign-opportunity", "attribution", "--by", "campaign", "--conversion",
        "opportunity", "--value", "count", "--lookback", "12w"),
    cli("attribution-range", "attribution", "--model", "linear", "--from", "2026-04-01",
        "--to", "2026-09-30"),
    cli("attribution-paths", "attribution", "--paths", "{tmp}/paths.csv", "--model", "markov",
        project="none"),
    cli("attribution-paths-sep", "attribution", "--paths", "{tmp}/paths_comma.csv", "--sep",
        ",", "--compare", project="none"),
    # -- planning ----------------------------------------------------------------------------
    cli("plan", "plan", "--revenue", "1000000", formats=ALL),
    cli(
        "plan-given",
        "plan", "--revenue", "5000000", "--deal-size", "20000", "--close-rate", "0.25",
        "--mql-to-sql", "0.2", "--lead-to-mql", "0.3", "--visit-to-lead", "0.02", "--from",
        "2027-01-01", "--to", "2027-06-30",
    ),
    cli("plan-channel", "plan", "--revenue", "2000000", "--channel", "paid_search",
        "--history", "6m"),
    cli("plan-history-days", "plan", "--revenue", "800000", "--history", "90d", "--close-rate",
        "0.3"),
    cli("plan-history-year", "plan", "--revenue", "800000", "--history", "1y", "--from",
        "2027-03-01"),
    cli(
        "plan-no-project",
        "plan", "--revenue", "10000000", "--deal-size", "50000", "--close-rate", "0.25",
        "--mql-to-sql", "0.20", "--lead-to-mql", "0.1", "--from", "2027-01-01",
        formats=ALL, project="none",
    ),
    cli("pace", "pace", "--as-of", "2026-10-15", formats=ALL),
    cli("pace-quarter", "pace", "--as-of", "2026-10-15", "--period", "quarter"),
    cli("pace-year", "pace", "--goal", "plan_2026", "--period", "year", "--as-of", "2026-06-30"),
    cli("pace-week", "pace", "--period", "week", "--as-of", "2026-10-28"),
    cli("whatif", "whatif", formats=ALL),
    cli("whatif-set", "whatif", "--set", "close_rate=0.3", "--set", "cost.paid_search=+20%"),
    cli("whatif-leads", "whatif", "--set", "leads=+10%", "--set", "mql_to_sql=+2pt",
        "--history", "6m"),
    cli("whatif-scenario", "whatif", "--scenario", "{tmp}/scenario.yaml"),
    # -- protection --------------------------------------------------------------------------
    cli("sla", "sla", formats=ALL),
    cli("sla-rates-owner", "sla", "--view", "rates", "--by", "owner"),
    cli("sla-rates-channel", "sla", "--view", "rates", "--by", "channel", "--period", "quarter"),
    cli("sla-clocks", "sla", "--view", "clocks", "--sla", "mql_response", "--from",
        "2026-10-01"),
    cli("sla-as-of", "sla", "--as-of", "2026-10-15T10:00", "--sla", "sql_follow_up"),
    cli("decay", "decay", formats=ALL),
    cli("decay-history", "decay", "--history", "180d", "--limit", "10", "--customer-value",
        "100000"),
    cli("decay-range", "decay", "--from", "2026-04-01", "--to", "2026-06-30", "--as-of",
        "2026-10-01"),
    cli("decay-standalone", "decay", "--customer-value", "100000", "--sqls", "40",
        "--customers", "10", "--neglected", "5", formats=ALL, project="none"),
    cli("alerts", "alerts", formats=ALL),
    cli("alerts-goal", "alerts", "--goal", "plan_2026", "--as-of", "2026-10-20"),
    cli("check", "check", formats=ALL),
    cli("check-limit", "check", "--limit", "3"),
    # -- scoring, model, experiments ---------------------------------------------------------
    cli("score-explain", "score", "explain", LEAD, formats=ALL),
    cli("score-explain-as-of", "score", "explain", LEAD, "--as-of", "2026-09-30"),
    cli("score-backtest", "score", "backtest", formats=ALL),
    cli("score-backtest-opportunity", "score", "backtest", "--outcome", "opportunity",
        "--window", "12w", "--step", "5"),
    cli("score-backtest-cohort", "score", "backtest", "--cohort", "180d", "--as-of",
        "2026-06-30"),
    cli("score-tune-capacity", "score", "tune", "--capacity", "100", formats=ALL),
    cli("score-tune-acceptance", "score", "tune", "--target-acceptance", "0.6"),
    cli("experiment-report", "experiment", "report", "nurture_holdout", formats=ALL),
    cli("experiment-report-sql", "experiment", "report", "nurture_holdout", "--stage", "sql",
        "--alpha", "0.1", "--as-of", "2026-10-31"),
    cli("experiment-size", "experiment", "size", "--baseline", "0.1", "--mde", "0.02",
        formats=ALL, project="none"),
    cli("experiment-size-relative", "experiment", "size", "--baseline", "0.2", "--mde", "0.1",
        "--relative", "--power", "0.9", "--alpha", "0.01", "--control-share", "0.2",
        project="none"),
    cli("experiment-assign", "experiment", "assign", "nurture_holdout", "--as-of",
        "2026-10-31"),
    cli("experiment-assign-group", "experiment", "assign", "nurture_holdout", "--group",
        "control", formats=ALL),
    cli("token-list", "token", "list", formats=ALL),
    # -- mistakes: one typed error line and a hint -------------------------------------------
    cli("bad-period", "report", "stages", "--period", "fortnight", formats=("table",)),
    cli("bad-field", "report", "conversion", "--by", "chanel", formats=("table",)),
    cli("bad-stage", "report", "conversion", "--from-stage", "mqll", formats=("table",)),
    cli("bad-window", "report", "conversion", "--window", "90x", formats=("table",)),
    cli("bad-date", "report", "velocity", "--from", "2026-13-01", formats=("table",)),
    cli("bad-as-of", "sla", "--as-of", "soon", formats=("table",)),
    cli("bad-history", "whatif", "--history", "12q", formats=("table",)),
    cli("bad-model", "attribution", "--model", "markow", formats=("table",)),
    cli("bad-untagged", "report", "costs", "--untagged", "spread", formats=("table",)),
    cli("bad-limit", "check", "--limit", "-1", formats=("table",)),
    cli("bad-goal", "pace", "--goal", "nope", formats=("table",)),
    cli("bad-experiment", "experiment", "report", "nope", formats=("table",)),
    cli("bad-lead", "score", "explain", "NOPE", formats=("table",)),
    cli("bad-format", "report", "stages", "--format", "xml", formats=("table",)),
    cli("bad-range", "report", "stages", "--from", "2026-10-01", "--to", "2026-09-01",
        formats=("table",)),
    cli("bad-rate", "plan", "--revenue", "100000", "--close-rate", "1.5", formats=("table",)),
    cli("bad-set", "whatif", "--set", "close_rate=lots", formats=("table",)),
    cli("bad-view", "sla", "--view", "everything", formats=("table",)),
    cli("bad-value", "attribution", "--value", "money", formats=("table",)),
    cli("bad-order", "attribution", "--model", "markov", "--order", "7", formats=("table",)),
    cli("validate", "validate", formats=("json", "table")),
    # -- writes, on a private copy, in this order --------------------------------------------
    cli("score-again", "score", "--as-of", "2026-10-31", project="copy"),
    cli("score-new", "score", "--as-of", "2026-08-31", formats=ALL, project="copy"),
    cli("score-explain-after", "score", "explain", LEAD, "--as-of", "2026-08-31",
        project="copy"),
    cli("import-leads", "import", "leads", "{tmp}/more_leads.csv", "--allow-rejects",
        formats=ALL, project="copy"),
    cli("import-stages-again", "import", "stages", "{copy}/stages.csv", project="copy"),
    cli("experiment-import-hash", "experiment", "import", "nurture_holdout",
        "{tmp}/membership.csv", project="copy"),
    cli("experiment-import", "experiment", "import", "webinar_split", "{tmp}/membership.csv",
        "--map", "holdout=control", "--map", "mailed=test", formats=ALL,
        project="copy"),
    cli("experiment-import-again", "experiment", "import", "webinar_split",
        "{tmp}/membership.csv", "--map", "holdout=control", "--map", "mailed=test",
        project="copy"),
    cli("experiment-report-imported", "experiment", "report", "webinar_split",
        project="copy"),
    cli("model-train", "model", "train", "--trees", "60", "--seed", "3", formats=ALL,
        project="copy"),
    cli("model-evaluate-kfold", "model", "evaluate", "--split", "kfold", "--folds", "3",
        "--trees", "40", project="copy"),
    cli(
        "model-evaluate-options",
        "model", "evaluate", "--target", "sql", "--decision-days", "3", "--window-days", "120",
        "--test-share", "0.3", "--calibration", "sigmoid", "--trees", "30", "--seed", "1",
        project="copy",
    ),
    cli("model-predict", "model", "predict", "--limit", "25", formats=ALL, project="copy"),
    cli("model-predict-lead", "model", "predict", "--lead", LEAD, "--lead", "L0000002",
        "--as-of", "2026-10-31", project="copy"),
    cli("plan-save", "plan", "--revenue", "3000000", "--from", "2027-01-01", "--save",
        "plan_2027", project="copy"),
    cli("pace-saved", "pace", "--goal", "plan_2027", "--as-of", "2027-02-10", project="copy"),
    cli("costs-after-goal", "report", "costs", "--from", "2026-07-01", project="copy"),
    cli("export-report", "export", "report", "--format", "json", project="copy"),
    cli("export-report-range", "export", "report", "--format", "json", "--from", "2026-01-01",
        "--to", "2026-09-30", "--period", "quarter", project="copy"),
]
# fmt: on


@dataclass(frozen=True)
class Api:
    id: str
    path: str
    query: dict[str, object] = field(default_factory=dict)
    csv_tables: tuple[str, ...] = ()  # also fetched as CSV: "rows" and companion tables


def api(id: str, path: str, *tables: str, **query: object) -> Api:
    q = {("from" if k == "from_" else k): v for k, v in query.items()}
    return Api(id, path, q, tables)


# fmt: off
API: list[Api] = [
    api("reports", "/api/v1/reports"),
    api("stages", "/api/v1/reports/stages", "rows"),
    api("stages-by", "/api/v1/reports/stages", period="quarter", by="channel"),
    api("conversion", "/api/v1/reports/conversion", "rows", from_stage="mql", to_stage="sql",
        window="90d", ordered="true", as_of="2026-10-31"),
    api("velocity", "/api/v1/reports/velocity", period="month", by="persona"),
    api("acceptance", "/api/v1/reports/acceptance", by="reason", period="quarter"),
    api("sourced", "/api/v1/reports/sourced", "rows", from_="2025-01-01", to="2026-10-31"),
    api("costs", "/api/v1/reports/costs", "rows", "totals", by="campaign", untagged="even"),
    api("roi", "/api/v1/reports/roi", "rows", "reconciliation", model="u_shaped",
        lookback="60d"),
    api("attribution", "/api/v1/attribution", "rows", model="markov", order=2, by="campaign"),
    api("attribution-compare", "/api/v1/attribution", compare="true", value="count",
        conversion="opportunity", half_life=3.5),
    api("plan", "/api/v1/plan", "rows", "months", revenue=2500000, close_rate=0.2,
        history="6m"),
    api("plan-campaign", "/api/v1/plan", revenue=900000, deal_size=15000, mql_to_sql=0.3,
        lead_to_mql=0.2, visit_to_lead=0.05, from_="2027-01-01", to="2027-12-31"),
    api("pace", "/api/v1/pace", "rows", as_of="2026-10-15", period="quarter"),
    api("whatif", "/api/v1/whatif", "rows", "sensitivity", "channels",
        set=["close_rate=+10%", "deal_size.email=+5%"], history="1y"),
    api("sla", "/api/v1/sla", "rows", view="rates", by="owner", period="quarter"),
    api("sla-breaches", "/api/v1/sla", sla="mql_response", as_of="2026-10-30T09:00"),
    api("decay", "/api/v1/decay", "rows", "curve", "at_risk", limit=5, history="200d"),
    api("decay-standalone", "/api/v1/decay", customer_value=50000, sqls=40, customers=10,
        neglected=5),
    api("alerts", "/api/v1/alerts", "rows", as_of="2026-10-20", goal="plan_2026"),
    api("check", "/api/v1/check", "rows", limit=4),
    api("score-explain", f"/api/v1/score/explain/{LEAD}", "rows"),
    api("score-backtest", "/api/v1/score/backtest", "rows", "deciles", outcome="opportunity",
        window="120d", step=10),
    api("score-tune", "/api/v1/score/tune", "rows", "tradeoff", capacity=80),
    api("score-distribution", "/api/v1/score/distribution"),
    api("experiment", "/api/v1/experiments/nurture_holdout", "rows", alpha=0.1),
    api("imports", "/api/v1/imports", "rows", "quarantine"),
    api("imports-limit", "/api/v1/imports", limit=2),
    api("executive", "/api/v1/executive"),
    api("executive-quarter", "/api/v1/executive", period="quarter", from_="2026-01-01",
        to="2026-09-30"),
    api("tokens", "/api/v1/tokens"),
    # mistakes: typed 4xx answers
    api("bad-period", "/api/v1/reports/stages", period="fortnight"),
    api("bad-report", "/api/v1/reports/funnel"),
    api("bad-lead", "/api/v1/score/explain/NOPE"),
    api("bad-missing-revenue", "/api/v1/plan"),
    api("bad-order", "/api/v1/attribution", model="markov", order=7),
    api("bad-window", "/api/v1/reports/conversion", window="90x"),
    api("bad-format", "/api/v1/check", format="xml"),
    api("bad-table", "/api/v1/reports/stages", format="csv", table="nope"),
    api("bad-experiment", "/api/v1/experiments/nope"),
    api("bad-rate", "/api/v1/score/tune", target_acceptance=1.5),
]
# fmt: on

#: Dashboard pages, with their filters: the numbers they show (``data-value``) are pinned.
PAGES: list[str] = [
    "/overview",
    "/overview?period=quarter",
    "/funnel",
    "/funnel?by=channel&period=quarter&from=2026-01-01",
    "/money",
    "/money?model=w_shaped&from=2026-01-01",
    "/plan",
    "/plan?revenue=2000000&close_rate=0.2&set=close_rate%3D0.3",
    "/health",
    "/health?page=2&period=quarter",
    "/scoring",
    "/scoring?lead=L0000001&outcome=opportunity&window=120d",
    "/experiments",
    "/data",
    "/executive",
]
