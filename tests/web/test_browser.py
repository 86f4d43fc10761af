"""Browser tests: a REAL ``leadledger serve`` (a subprocess, on a copy of the demo project) driven
by Playwright with Debian's Chromium (``/usr/bin/chromium``, installed by ``scripts/test.sh``;
Playwright's own browser download does not work here, so it is never used).

What a person would see: every page of the navigation loads without a console error or a page
error, every chart is drawn (``data-rendered="true"`` with an ``svg`` inside), changing a filter
changes the numbers shown, the plan form computes, and a server that requires tokens refuses a
call or a page without one (401 / redirect to ``/login``) and serves them with one. Every request
a page makes is recorded: each must go to the server's own origin (the dashboard works offline,
nothing is fetched from the internet); anything else is aborted and fails the test.

Without Chromium or Playwright the module is skipped with the reason (the rest of the suite runs).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from leadledger.service import Workspace
from leadledger.web.pages import PAGES

CHROMIUM = Path(os.environ.get("LEADLEDGER_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: how long a server may take to start, a page to load, its charts to draw (ms for Playwright)
START_S = 90.0
PAGE_MS = 30_000
CHARTS_MS = 30_000


def _missing() -> str | None:
    if not CHROMIUM.is_file():
        return (
            f"BROWSER TESTS SKIPPED: {CHROMIUM} is missing — install Debian's 'chromium' "
            "(scripts/test.sh does it when run as root)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:  # pragma: no cover - the test extra installs it
        return f"BROWSER TESTS SKIPPED: playwright is not importable ({exc})"
    return None


if (_reason := _missing()) is not None:
    pytest.skip(_reason, allow_module_level=True)

from playwright.sync_api import (  # noqa: E402
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Route,
    sync_playwright,
)

pytestmark = pytest.mark.slow


# -- a real server ---------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def copy_project(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("leadledger-server.json"))
    return dest


@contextlib.contextmanager
def served(project: Path, *, auth: bool, log: Path) -> Iterator[str]:
    """``leadledger serve --project P --port N [--no-auth]`` in a subprocess; yields its URL
    once ``/healthz`` answers, stops it (SIGTERM) afterwards."""
    port = free_port()
    argv = ["serve", "--project", str(project), "--host", "127.0.0.1", "--port", str(port)]
    if not auth:
        argv.append("--no-auth")
    code = f"import sys; from leadledger.cli.main import main; sys.exit(main({argv!r}))"
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", code], stdout=out, stderr=subprocess.STDOUT, cwd=project
        )
        try:
            deadline = time.monotonic() + START_S
            while True:
                if proc.poll() is not None:
                    pytest.fail(
                        f"leadledger serve exited with {proc.returncode}:\n{log.read_text()}"
                    )
                try:
                    with urllib.request.urlopen(f"{url}/healthz", timeout=2) as r:
                        if r.status == 200:
                            break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"leadledger serve did not answer in {START_S:.0f} s")
                time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:  # pragma: no cover - a hung server
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def server(demo_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard of a copy of the demo, without tokens (``--no-auth`` on loopback)."""
    tmp = tmp_path_factory.mktemp("browser")
    project = copy_project(demo_source, tmp / "demo")
    with served(project, auth=False, log=tmp / "serve.log") as url:
        yield url


@dataclasses.dataclass
class Secured:
    url: str
    token: str


@pytest.fixture(scope="module")
def secured(demo_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    """A second server on another copy, tokens required, with one read token."""
    tmp = tmp_path_factory.mktemp("browser-auth")
    project = copy_project(demo_source, tmp / "demo")
    with Workspace(project) as ws:
        _, secret = ws.token_create("read", "browser-test")
    with served(project, auth=True, log=tmp / "serve.log") as url:
        yield Secured(url, secret)


# -- a browser that records what a page does -------------------------------------------------
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclasses.dataclass
class Watched:
    """A page and everything it reported: console errors, page errors, requests."""

    page: Page
    base: str
    console: list[str] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    requests: list[str] = dataclasses.field(default_factory=list)
    external: list[str] = dataclasses.field(default_factory=list)

    def problems(self) -> list[str]:
        return (
            [f"console error: {m}" for m in self.console]
            + [f"page error: {m}" for m in self.errors]
            + [f"external request (aborted): {u}" for u in self.external]
        )

    def assert_clean(self, where: str) -> None:
        found = self.problems()
        assert not found, f"{where}:\n" + "\n".join(found)


def watch(context: BrowserContext, base: str) -> Watched:
    page = context.new_page()
    page.set_default_timeout(PAGE_MS)
    w = Watched(page, origin(base))

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            loc = msg.location
            where = f" ({loc.get('url')}:{loc.get('lineNumber')})" if loc.get("url") else ""
            w.console.append(f"{msg.text}{where}")

    def on_route(route: Route) -> None:
        url = route.request.url
        w.requests.append(url)
        if url.startswith(("data:", "blob:")) or origin(url) == w.base:
            route.continue_()
        else:  # never let a page reach the internet: record it and refuse it
            w.external.append(url)
            route.abort()

    page.on("console", on_console)
    page.on("pageerror", lambda exc: w.errors.append(str(exc)))
    context.route("**/*", on_route)
    return w


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[[str], Watched]]:
    """``open_page(base_url)`` → a watched page in a fresh context (no cookies)."""
    contexts: list[BrowserContext] = []

    def make(base: str) -> Watched:
        ctx = browser.new_context(viewport={"width": 1400, "height": 900})
        contexts.append(ctx)
        return watch(ctx, base)

    yield make
    for ctx in contexts:
        ctx.close()


#: a chart is Vega-Lite (a ``script[data-spec-for=id]`` that static/app.js draws, then sets
#: ``data-rendered``) or static: an inline SVG written by the server (the executive report's
#: panels, which must also work in a PDF without script)
CHARTS = """() => Array.from(document.querySelectorAll('[data-chart]')).map(e => ({
    id: e.dataset.chart,
    vega: !!document.querySelector('script[data-spec-for="' + e.dataset.chart + '"]'),
    rendered: e.dataset.rendered || null,
    error: e.dataset.error || null,
    svg: e.querySelectorAll('svg').length,
    marks: e.querySelectorAll('svg path, svg rect, svg circle, svg line, svg text').length}))"""
ALL_CHARTS_SETTLED = f"""() => ({CHARTS})().every(
    c => !c.vega || c.rendered === 'true' || c.error !== null)"""


def charts_drawn(w: Watched, where: str) -> int:
    """Wait for every chart of the page; each must be drawn (an svg with marks), no error."""
    page = w.page
    try:
        page.wait_for_function(ALL_CHARTS_SETTLED, timeout=CHARTS_MS)
    except Exception as exc:  # a Playwright TimeoutError: say which charts and why
        pending = [c for c in page.evaluate(CHARTS) if c["vega"] and not c["rendered"]]
        pytest.fail(f"{where}: charts not drawn in time {pending}: {exc}\n{w.problems()}")
    charts = page.evaluate(CHARTS)
    bad = [
        c
        for c in charts
        if (c["vega"] and c["rendered"] != "true") or c["error"] or not c["svg"] or not c["marks"]
    ]
    assert not bad, f"{where}: charts not drawn: {bad}\n{w.problems()}"
    return len(charts)


def goto(w: Watched, url: str) -> int:
    resp = w.page.goto(url, wait_until="load")
    assert resp is not None, f"{url}: no response"
    return resp.status


def shown(page: Page) -> list[str]:
    """The data a person reads: every table cell and KPI card value, in order."""
    cells: list[str] = page.eval_on_selector_all(
        "table[data-table] td, [data-kpi] .value", "els => els.map(e => e.textContent.trim())"
    )
    return cells


# -- every page -----------------------------------------------------------------------------
#: filter changes tried on a page once it passed (the form submits at once on a select change,
#: static/app.js): each must change the data shown and stay in the URL
CHANGES = {
    "/overview": [("period", "quarter")],
    "/funnel": [("period", "quarter"), ("by", "channel")],
    "/money": [("period", "quarter")],
}
VENDOR_LOADED = (
    "() => [typeof vega, typeof vegaLite, typeof vegaEmbed].every(t => t !== 'undefined')"
)
NO_VENDOR = "() => [typeof vega, typeof vegaLite, typeof vegaEmbed].every(t => t === 'undefined')"


def change_filter(w: Watched, path: str, select: str, value: str) -> None:
    """Pick ``value`` in the filter select ``select``: the page reloads with other numbers."""
    before = shown(w.page)
    assert before, f"{path}: no table cell or KPI value to compare"
    with w.page.expect_navigation(wait_until="load"):
        w.page.select_option(f"#filters select[name={select}]", value)
    where = f"{path} ({select}={value})"
    assert parse_qs(urlsplit(w.page.url).query).get(select) == [value], w.page.url
    assert w.page.locator(f"#filters select[name={select}]").input_value() == value, where
    charts_drawn(w, where)
    after = shown(w.page)
    assert after and after != before, f"{where}: the data shown did not change"


@pytest.mark.parametrize("path", [p.path for p in PAGES])
def test_every_page_loads_and_draws_its_charts(server, open_page, path):
    w = open_page(server)
    status = goto(w, server + path)
    assert status == 200, f"{path}: HTTP {status}: {w.page.content()[:500]}"
    vega = next(p.charts for p in PAGES if p.path == path)
    if vega:
        assert w.page.evaluate(VENDOR_LOADED), f"{path}: the shipped vega scripts did not load"
    else:  # a page without Vega-Lite charts loads none of the scripts
        assert w.page.evaluate(NO_VENDOR), f"{path}: the vega scripts loaded anyway"
    charts_drawn(w, path)
    blocks = w.page.locator("table[data-table], [data-chart], [data-kpi]").count()
    assert blocks > 0, f"{path}: no table, chart or KPI card on the page"
    assert w.page.locator("#filters").count() == 1, f"{path}: no filter bar"
    for select, value in CHANGES.get(path, []):
        change_filter(w, path, select, value)
    w.page.wait_for_load_state("networkidle")
    w.assert_clean(path)
    # nothing but the server itself: the dashboard works offline
    assert any("/static/vendor/vega-embed" in u for u in w.requests) == vega, w.requests
    assert all(origin(u) == origin(server) for u in w.requests if not u.startswith("data:"))


# -- the plan form ---------------------------------------------------------------------------
def _plan_counts(w: Watched, revenue: str) -> list[float]:
    """Fill the revenue target, submit its form: the ``count`` cells of the tables shown."""
    page = w.page
    field = page.locator("form input[name*=revenue]").first
    assert field.count() == 1, "/plan: no revenue input in a form"
    field.fill(revenue)
    form = field.locator("xpath=ancestor::form[1]")
    with page.expect_navigation(wait_until="load"):
        submit = form.locator("button[type=submit], input[type=submit], button:not([type])")
        if submit.count():
            submit.first.click()
        else:
            field.press("Enter")
    assert page.locator("form input[name*=revenue]").first.input_value() == revenue
    charts_drawn(w, f"/plan (revenue {revenue})")
    counts: list[float] = page.eval_on_selector_all(
        'table[data-table] td[data-key="count"]', "tds => tds.map(td => Number(td.dataset.value))"
    )
    return counts


def test_the_plan_form_computes(server, open_page):
    w = open_page(server)
    assert goto(w, f"{server}/plan") == 200
    small = _plan_counts(w, "500000")
    assert small and all(v > 0 for v in small), f"/plan: no counts per stage: {small}"
    big = _plan_counts(w, "5000000")
    assert len(big) == len(small), (small, big)
    # ten times the revenue needs about ten times each stage (counts are rounded up)
    assert all(b > s for b, s in zip(big, small, strict=True)), (small, big)
    assert 9 * sum(small) < sum(big) < 11 * sum(small), (small, big)
    w.assert_clean("/plan")


# -- tokens ---------------------------------------------------------------------------------
def _api(url: str, token: str | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def test_a_server_with_tokens_refuses_calls_and_pages_without_one(secured, open_page):
    api = f"{secured.url}/api/v1/reports/stages?period=quarter"
    status, body = _api(api)
    assert status == 401, body
    assert body["error"]["code"] == "unauthorized"
    status, body = _api(api, secured.token + "x")
    assert status == 401, body
    status, body = _api(api, secured.token)
    assert status == 200, body
    assert body["report"] == "stages" and body["rows"]

    w = open_page(secured.url)
    # a page without a token: sent to the sign-in form, which says where it came from
    assert goto(w, f"{secured.url}/overview") == 200
    assert urlsplit(w.page.url).path == "/login", w.page.url
    assert parse_qs(urlsplit(w.page.url).query).get("next") == ["/overview"]
    # the browser's own API call has no token either
    assert w.page.request.get(api).status == 401
    # a wrong token is refused on the form
    w.page.fill("form.login input[name=token]", "ll_nope_nope")
    with w.page.expect_navigation(wait_until="load"):
        w.page.click("form.login button[type=submit]")
    assert urlsplit(w.page.url).path == "/login"
    assert w.page.locator("form.login .error").count() == 1
    # the right one signs in and comes back to the page, charts drawn
    w.page.fill("form.login input[name=token]", secured.token)
    with w.page.expect_navigation(wait_until="load"):
        w.page.click("form.login button[type=submit]")
    assert urlsplit(w.page.url).path == "/overview", w.page.url
    assert w.page.locator("h1").first.inner_text().strip()
    charts_drawn(w, "/overview (signed in)")
    # the cookie now carries the token for the browser's API calls too
    assert w.page.request.get(api).status == 200
    w.page.wait_for_load_state("networkidle")
    w.assert_clean("signed-in /overview")
