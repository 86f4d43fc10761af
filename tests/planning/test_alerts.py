"""Alerts against a real HTTP receiver on a loopback port: delivery, retries, timeouts, failures,
and nothing sent twice."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from leadledger.cli.main import main
from leadledger.errors import InvalidArgument, WebhookFailed
from leadledger.planning.alerts import PER_MESSAGE, redact, slack_message, target_id
from tests.conftest import load_journeys
from tests.planning.test_sla import AS_OF, STORY, TOUCHES, sla_config, touches_csv

#: The open breaches of test_sla's story as of its AS_OF.
OPEN_BREACHES = {
    "sla_breach:mql_response:S5:2025-03-03T19:00:00+00:00",
    "sla_breach:mql_response:S9:2025-03-03T09:00:00+00:00",
    "sla_breach:sql_follow_up:S4:2025-03-05T11:00:00+00:00",
    "sla_breach:enterprise_sql:S4:2025-03-05T11:00:00+00:00",
    "sla_breach:mql_48h:S9:2025-03-03T09:00:00+00:00",
}
DUCKDB = "duckdb:///leadledger.duckdb"


class Receiver:
    """A webhook receiver: answers each POST with the next scripted reply (status, or (status,
    delay seconds)); 200 once the script is used up. Records every request body."""

    def __init__(self, script: list[Any] | None = None) -> None:
        self.script = list(script or [])
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append(
                        {
                            "body": json.loads(body),
                            "content_type": self.headers["Content-Type"],
                            "at": time.monotonic(),
                        }
                    )
                    step = receiver.script.pop(0) if receiver.script else 200
                status, delay, headers = (step, 0.0, {}) if isinstance(step, int) else step
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the client gave up (timeout)
                    pass

            def log_message(self, *args: Any) -> None:  # keep the test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T000/SECRET"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def alerts_received(self) -> int:
        return sum(len(r["body"]["blocks"]) - 1 for r in self.requests)


@pytest.fixture
def receiver() -> Iterator[Any]:
    def make(script: list[Any] | None = None) -> Receiver:
        made.append(Receiver(script).__enter__())
        return made[-1]

    made: list[Receiver] = []
    yield make
    for r in made:
        r.__exit__()


@pytest.fixture
def story(engine: str, make_project: Any) -> Any:
    ws = make_project(engine, sla_config(engine))
    load_journeys(ws, STORY)
    touches_csv(ws, TOUCHES)
    return ws


def recorded(ws: Any) -> list[str]:
    t = ws.store.table("alerts_sent")
    return sorted(ws.store.execute(t.alert_key))


FAST = {"backoff": 0.01, "timeout": 2.0}


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_alerts_sent_once_then_only_the_new(story: Any, receiver: Any) -> None:
    hook = receiver()
    # without a webhook: listed, nothing sent or recorded
    listed = story.report("alerts", as_of=AS_OF)
    assert {r["alert_key"] for r in listed.rows()} == OPEN_BREACHES
    assert {r["status"] for r in listed.rows()} == {"new"}
    assert recorded(story) == [] and hook.requests == []

    rep = story.report("alerts", webhook=hook.url, as_of=AS_OF, **FAST)
    assert rep.params["sent"] == 5 and {r["status"] for r in rep.rows()} == {"sent"}
    assert "SECRET" not in json.dumps(rep.as_dict())  # the URL is a secret: never printed
    (request,) = hook.requests
    assert request["content_type"].startswith("application/json")
    body = request["body"]
    assert set(body) == {"text", "blocks"} and body["text"].startswith("leadledger: 5 new")
    assert body["blocks"][0]["type"] == "header"
    assert all(b["type"] == "section" for b in body["blocks"][1:])
    assert any("S5" in b["text"]["text"] for b in body["blocks"][1:])
    assert recorded(story) == sorted(OPEN_BREACHES)

    # a second run sends nothing
    again = story.report("alerts", webhook=hook.url, as_of=AS_OF, **FAST)
    assert len(hook.requests) == 1 and again.params["sent"] == 0
    assert {r["status"] for r in again.rows()} == {"already_sent"}

    # a new breach: only it is sent
    load_journeys(
        story, {"S12": {"created": "2025-03-01", "stages": [("mql", "2025-03-05 10:00")]}}
    )
    third = story.report("alerts", webhook=hook.url, as_of=AS_OF, **FAST)
    assert third.params["sent"] == 1 and len(hook.requests) == 2
    assert hook.requests[1]["body"]["text"].startswith("leadledger: 1 new alert(s): 1 SLA breach")
    assert len(recorded(story)) == 6
    # another webhook is another target: it gets everything once
    other = receiver()
    assert story.report("alerts", webhook=other.url, as_of=AS_OF, **FAST).params["sent"] == 6


@pytest.mark.parametrize("engine", [DUCKDB])
def test_retry_after_a_server_error(story: Any, receiver: Any) -> None:
    hook = receiver([500, 503])
    rep = story.report("alerts", webhook=hook.url, as_of=AS_OF, **FAST)
    assert len(hook.requests) == 3 and rep.params["sent"] == 5
    assert hook.requests[0]["body"] == hook.requests[2]["body"]
    assert len(recorded(story)) == 5


@pytest.mark.parametrize("engine", [DUCKDB])
def test_retry_after_429_honours_retry_after(story: Any, receiver: Any) -> None:
    hook = receiver([(429, 0.0, {"Retry-After": "0"})])
    assert story.report("alerts", webhook=hook.url, as_of=AS_OF, backoff=30).params["sent"] == 5
    assert len(hook.requests) == 2  # and no 30-second wait: Retry-After said 0


@pytest.mark.parametrize("engine", [DUCKDB])
def test_retry_after_a_timeout(story: Any, receiver: Any) -> None:
    hook = receiver([(200, 3.0, {})])  # the first answer comes too late
    rep = story.report("alerts", webhook=hook.url, as_of=AS_OF, timeout=0.3, backoff=0.01)
    assert rep.params["sent"] == 5 and len(hook.requests) == 2
    # the client gave up on the slow answer and retried long before it came (timed between the
    # two requests, so a busy machine's slower queries do not count)
    assert hook.requests[1]["at"] - hook.requests[0]["at"] < 2.0
    assert len(recorded(story)) == 5


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
@pytest.mark.parametrize("engine", [DUCKDB])
def test_persistent_failure_records_nothing(story: Any, receiver: Any) -> None:
    hook = receiver([500] * 10)
    with pytest.raises(WebhookFailed, match="after 3 attempt"):
        story.report("alerts", webhook=hook.url, as_of=AS_OF, retries=2, **FAST)
    assert len(hook.requests) == 3
    assert recorded(story) == []
    # a refusal (4xx) is final: no retry
    refusing = receiver([404])
    with pytest.raises(WebhookFailed, match="HTTP 404"):
        story.report("alerts", webhook=refusing.url, as_of=AS_OF, retries=5, **FAST)
    assert len(refusing.requests) == 1 and recorded(story) == []
    # nobody listening: connection refused, retried, then failed
    dead = receiver()
    dead.__exit__()
    with pytest.raises(WebhookFailed, match="after 2 attempt"):
        story.report("alerts", webhook=dead.url, as_of=AS_OF, retries=1, **FAST)
    assert recorded(story) == []
    # later the receiver is back: everything is still there to send
    back = receiver()
    assert story.report("alerts", webhook=back.url, as_of=AS_OF, **FAST).params["sent"] == 5


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
@pytest.mark.parametrize("engine", [DUCKDB])
def test_cli_alerts_exit_codes(story: Any, receiver: Any, capsys: Any) -> None:
    project = str(story.project_dir)
    story.close()
    failing = receiver([500])
    code = main(
        ["alerts", "--project", project, "--webhook", failing.url, "--retries", "0",
         "--as-of", AS_OF, "--format", "json"]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1 and "webhook_failed" in captured.err and "Traceback" not in captured.err
    assert captured.out == ""
    hook = receiver()
    code = main(
        ["alerts", "--project", project, "--webhook", hook.url, "--as-of", AS_OF,
         "--format", "json"]
    )  # fmt: skip
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and set(data) == {"report", "params", "rows", "notes"}
    assert data["report"] == "alerts" and data["params"]["sent"] == 5
    assert data["params"]["webhook"] == "http://" + hook.url.split("/")[2] + "/…"
    row = data["rows"][0]
    assert set(row) >= {"alert_key", "kind", "subject", "lead_id", "owner", "message", "status"}
    code = main(["alerts", "--project", project, "--as-of", AS_OF])
    out = capsys.readouterr().out
    assert code == 0 and "already_sent" in out
    code = main(["alerts", "--project", project, "--webhook", "ftp://x", "--as-of", AS_OF])
    assert code == 1 and "invalid_argument" in capsys.readouterr().err


GOAL = "goals:\n  - {name: march, start: 2025-03-01, end: 2025-03-31, counts: {mql: 100, sql: 1}}\n"


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
@pytest.mark.parametrize("engine", [DUCKDB])
def test_pacing_shortfalls_are_alerts(engine: str, make_project: Any, receiver: Any) -> None:
    text = sla_config(engine).replace("goals: []\n", GOAL)
    ws = make_project(engine, text)
    load_journeys(ws, STORY)
    touches_csv(ws, TOUCHES)
    rep = ws.report("alerts", as_of=AS_OF)
    pacing = [r for r in rep.rows() if r["kind"] == "pacing"]
    assert [r["alert_key"] for r in pacing] == ["pacing:march:mql:2025-03-01"]
    assert "behind pace" in pacing[0]["message"]
    hook = receiver()
    assert ws.report("alerts", webhook=hook.url, as_of=AS_OF, **FAST).params["sent"] == 6
    assert "1 pacing shortfall" in hook.requests[0]["body"]["text"]
    assert ws.report("alerts", webhook=hook.url, as_of=AS_OF, **FAST).params["sent"] == 0
    with pytest.raises(Exception, match="no goal 'april'"):
        ws.report("alerts", as_of=AS_OF, goal="april")


def test_messages_are_split_for_slack() -> None:
    many = [
        {"alert_key": f"k{i}", "kind": "sla_breach", "message": f"lead {i} is late"}
        for i in range(PER_MESSAGE)
    ]
    msg = slack_message(many)
    assert len(msg["blocks"]) == PER_MESSAGE + 1 <= 50
    assert msg["text"] == f"leadledger: {PER_MESSAGE} new alert(s): {PER_MESSAGE} SLA breaches"


def test_webhook_is_recorded_and_shown_without_its_secret() -> None:
    url = "https://hooks.slack.com/services/T000/B000/XXXX"
    assert redact(url) == "https://hooks.slack.com/…"
    assert target_id(url).startswith("webhook:") and "XXXX" not in target_id(url)
    assert target_id(url) == target_id(url) != target_id(url + "Y")


@pytest.mark.parametrize("engine", [DUCKDB])
def test_bad_arguments(story: Any) -> None:
    with pytest.raises(InvalidArgument):
        story.report("alerts", webhook="not a url")
    with pytest.raises(InvalidArgument):
        story.report("alerts", webhook="http://127.0.0.1:9/", timeout=0)


# -- docs ------------------------------------------------------------------------------------------
@pytest.mark.slow  # seconds or more (measured): not in the fast lane
@pytest.mark.parametrize("engine", [DUCKDB])
def test_every_column_is_documented(engine: str, make_project: Any) -> None:
    from tests.planning.test_decay import CALLS as DECAY_CALLS
    from tests.planning.test_decay import HISTORY, MEASURED, decay_without_project, project_text
    from tests.test_docs import read, sections, table_keys

    text = read("sla-and-decay.md")
    ws = make_project(engine, sla_config(engine).replace("goals: []\n", GOAL))
    load_journeys(ws, STORY)
    touches_csv(ws, TOUCHES)
    span = {"start": "2025-03-01", "end": "2025-03-31", "as_of": AS_OF}
    runs: list[tuple[Any, list[str]]] = [
        (ws.report("sla", **span), ["### `leadledger sla` (open breaches)"]),
        (
            ws.report("sla", view="clocks", **span),
            ["### `leadledger sla` (open breaches)", "### `leadledger sla --view clocks`"],
        ),
        (ws.report("sla", view="rates", **span), ["### `leadledger sla --view rates`"]),
        (ws.report("alerts", as_of=AS_OF), ["### `leadledger alerts`"]),
        (
            decay_without_project(customer_value=1, sqls=4, customers=1, neglected=1),
            ["### `leadledger decay`"],
        ),
    ]
    dws = make_project(engine, project_text(engine, MEASURED), name="decay")
    load_journeys(dws, HISTORY)
    touches_csv(dws, DECAY_CALLS)
    history = dws.report("decay", as_of="2025-06-30")
    runs.append((history, ["### `leadledger decay`"]))
    missing = []
    for report, headings in runs:
        documented: set[str] = set()
        for heading in headings:
            found = sections(text, heading, exact=True)
            assert found, f"docs/sla-and-decay.md has no section {heading}"
            documented |= table_keys(found[0])
        assert len(report.frame), f"{report.name}: no rows to check"
        missing += [f"{report.name}: {c}" for c in report.columns if c not in documented]
    for key, heading in [("curve", "#### `curve`"), ("at_risk", "#### `at_risk`")]:
        (body,) = sections(text, heading, exact=True)
        frame = history.extra[key][1]
        assert len(frame)
        missing += [f"decay {key}: {c}" for c in frame.columns if c not in table_keys(body)]
    assert not missing, "columns not in docs/sla-and-decay.md: " + ", ".join(missing)


def test_only_the_cli_sends_and_a_send_is_never_cached() -> None:
    from leadledger.reports.params import surface_of
    from leadledger.reports.protection import AlertsParams

    assert AlertsParams(webhook="https://hooks.example.com/T/B/X").side_effects()
    assert not AlertsParams().side_effects()
    fields = AlertsParams.model_fields
    api = {name for name, f in fields.items() if surface_of(f).api}
    cli = {name for name, f in fields.items() if surface_of(f).cli}
    assert api == {"goal", "as_of"}
    assert cli == {"webhook", "goal", "timeout", "retries", "as_of"}
