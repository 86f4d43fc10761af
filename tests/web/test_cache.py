"""The server's report cache: a result is served again only for the same data version (any
process's write makes it stale), copies are handed out, errors are kept, entries expire, and
the warmer keeps the pages computed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from leadledger.errors import LeadNotFound
from leadledger.service import Workspace
from leadledger.web.app import create_app
from leadledger.web.cache import ReportCache
from tests.web.test_ingest import mixed_batch


class FakeClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def stages_total(body: dict[str, Any], stage: str) -> int:
    return sum(int(r["entered"]) for r in body["rows"] if r["stage"] == stage)


JAN = {"from": "2025-01-01", "to": "2025-01-31", "period": "month"}


def test_same_data_same_call_is_served_once(demo_copy: Path):
    ws = Workspace(demo_copy)
    with TestClient(create_app(demo_copy, auth=False, ws=ws)) as c:
        cache = c.app.state.leadledger.cache  # type: ignore[attr-defined]
        first = c.get("/overview")
        misses = cache.stats.misses
        assert first.status_code == 200 and misses > 0
        second = c.get("/overview")
        assert second.status_code == 200
        assert cache.stats.misses == misses  # nothing computed again
        assert cache.stats.hits >= misses
        strip = lambda t: t.split("<footer")[0]  # noqa: E731
        assert strip(second.text) == strip(first.text)
        # the API's calls are cached too, and give the façade's numbers
        api = c.get("/api/v1/reports/stages", params={"period": "month"})
        misses = cache.stats.misses
        again = c.get("/api/v1/reports/stages", params={"period": "month"})
        assert again.status_code == 200 and cache.stats.misses == misses
        assert again.json() == api.json() == ws.report("stages", period="month").as_dict()
    ws.close()


def test_a_write_makes_every_result_stale(demo_copy: Path):
    ws = Workspace(demo_copy)
    with TestClient(create_app(demo_copy, auth=False, ws=ws)) as c:
        before = c.get("/api/v1/reports/stages", params=JAN).json()
        version = ws.store.data_version()
        r = c.post("/api/v1/events", json={"events": mixed_batch()})
        assert r.status_code == 200 and r.json()["accepted"] == 3
        assert ws.store.data_version() == version + 1
        after = c.get("/api/v1/reports/stages", params=JAN).json()
        # the new lead and its MQL are counted, exactly as the façade counts them now
        assert stages_total(after, "mql") == stages_total(before, "mql") + 1
        fresh = ws.report("stages", start=JAN["from"], end=JAN["to"], period="month")
        assert after == fresh.as_dict()
        cache = c.app.state.leadledger.cache  # type: ignore[attr-defined]
        assert all(e.version == version + 1 for e in cache.entries.values())  # old ones freed
    ws.close()


@pytest.mark.postgres
def test_another_process_writing_postgres_is_seen(postgres_server, make_project):
    from tests.conftest import config_text

    url = postgres_server.create_database("cache_other_process")
    ws = make_project(url, text=config_text(url))
    other = Workspace(ws.project_dir)  # a CLI or a second server on the same database
    try:
        with TestClient(create_app(ws.project_dir, auth=False, ws=ws)) as c:
            empty = c.get("/api/v1/reports/stages", params=JAN).json()
            assert stages_total(empty, "mql") == 0
            assert c.get("/api/v1/reports/stages", params=JAN).json() == empty
            other.ingest_events(mixed_batch())
            seen = c.get("/api/v1/reports/stages", params=JAN).json()
            assert stages_total(seen, "mql") == 1
    finally:
        other.close()


def test_copies_are_handed_out_errors_kept_entries_expire(demo_ws: Workspace):
    cache = ReportCache(ttl=60)
    view = cache.bind(demo_ws)
    a = view.report("stages", period="month")
    a.frame["mine"] = 1  # a caller adds a column and changes a value
    a.frame.iloc[0, a.frame.columns.get_loc("entered")] = -5
    a.notes.append("mine")
    b = view.report("stages", period="month")
    assert "mine" not in b.frame.columns and "mine" not in b.notes
    assert b.as_dict() == demo_ws.report("stages", period="month").as_dict()
    assert (cache.stats.hits, cache.stats.misses) == (1, 1)

    # an error of the parameters (an unknown lead, found while resolving them) computes
    # nothing and is raised every time; an error of the computation is kept like a result
    for _ in range(2):
        with pytest.raises(LeadNotFound):
            view.report("score_explain", lead_id="no-such-lead")
    assert cache.stats.misses == 1
    for _ in range(2):
        with pytest.raises(LeadNotFound, match="did not exist yet"):
            view.report("score_explain", lead_id="L0000001", as_of="2001-01-01")
    assert cache.stats.misses == 2  # the error was computed once

    clock = FakeClock()
    short = ReportCache(ttl=60, clock=clock)
    v2 = short.bind(demo_ws)
    v2.report("stages", period="month")
    clock.now += 59.9
    v2.report("stages", period="month")
    assert short.stats.misses == 1  # younger than the TTL: served
    clock.now += 0.2
    v2.report("stages", period="month")
    assert short.stats.misses == 2  # expired


def test_writes_and_unlisted_methods_pass_through(demo_ws: Workspace):
    cache = ReportCache()
    view = cache.bind(demo_ws)
    assert view.cfg is demo_ws.cfg and view.store is demo_ws.store
    view.token_list()
    view.token_list()
    assert cache.stats.misses == 0 and cache.stats.hits == 0  # tokens change without a version


def test_no_cache_when_turned_off(demo_ws: Workspace):
    with TestClient(create_app(demo_ws.project_dir, auth=False, ws=demo_ws, cache_ttl=0)) as c:
        assert c.app.state.leadledger.cache is None  # type: ignore[attr-defined]
        assert c.get("/overview").status_code == 200
        assert "cache" not in c.get("/healthz").json()


def wait_idle(c: TestClient, rounds: int, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        h = c.get("/healthz").json()["cache"]
        if h["warm_rounds"] >= rounds and not h["warming"]:
            return h  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"the warmer did not finish round {rounds}: {h}")


#: The pages the warmer tests warm (every page of the navigation would take a minute a round).
WARM = ["/overview", "/funnel"]


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_the_warmer_computes_pages_before_anyone_asks(demo_copy: Path):
    ws = Workspace(demo_copy)
    app = create_app(demo_copy, auth=True, ws=ws, warm=WARM)
    with TestClient(app) as c:
        st = app.state.leadledger
        st.warmer.poll, st.warmer.quiet = 0.05, 0.0
        wait_idle(c, 1)
        misses = st.cache.stats.misses
        assert misses > 0 and len(st.cache.entries) > 0
        _, secret = ws.token_create("write")
        c.headers["authorization"] = f"Bearer {secret}"
        for path in WARM:
            assert c.get(path).status_code == 200
        assert st.cache.stats.misses == misses  # every page was ready
        # a page with its own filters is remembered, and warmed again after a write
        q = "/funnel?period=week&by=channel"
        assert c.get(q).status_code == 200
        assert q in st.warmer.recent
        assert c.post("/api/v1/events", json={"events": mixed_batch()}).status_code == 200
        wait_idle(c, 2)
        misses = st.cache.stats.misses
        assert c.get(q).status_code == 200 and c.get("/overview").status_code == 200
        assert st.cache.stats.misses == misses
        # the warmer's pass is in-process only: a header of the same name opens nothing
        del c.headers["authorization"]
        assert c.get("/api/v1/reports/stages", headers={"leadledger.warm": "1"}).status_code == 401
    ws.close()


def test_leadledger_serve_warms_every_page_of_the_navigation(demo_ws: Workspace):
    from leadledger.web.common import NAV

    app = create_app(demo_ws.project_dir, auth=False, ws=demo_ws, warm=True)
    with TestClient(app):
        warmer = app.state.leadledger.warmer
        warmer.close()  # its list is what counts here, not its rounds
        assert warmer.defaults == [p for p, _ in NAV]


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_max_stale_serves_older_data_for_a_while_and_says_so(demo_copy: Path):
    ws = Workspace(demo_copy)
    with TestClient(create_app(demo_copy, auth=False, ws=ws, max_stale=300)) as c:
        cache = c.app.state.leadledger.cache  # type: ignore[attr-defined]
        before = c.get("/api/v1/reports/stages", params=JAN).json()
        v = ws.store.data_version()
        page = c.get("/funnel")
        assert f'id="data-version">{v}<' in page.text and "served-from" not in page.text
        assert c.post("/api/v1/events", json={"events": mixed_batch()}).status_code == 200
        # within max_stale the result of version v is served, and the page says so
        stale = c.get("/api/v1/reports/stages", params=JAN).json()
        assert stale == before and cache.stats.stale == 1
        page = c.get("/funnel")
        assert f'id="data-version">{v + 1}<' in page.text
        assert 'id="served-from"' in page.text and f">parts from version {v}<" in page.text
        # the warmer's pass (in-process, REFRESH_OLDER_THAN set) computes on the new data
        import asyncio
        from urllib.parse import urlencode

        from leadledger.web.cache import REFRESH_OLDER_THAN, _asgi_get

        token = REFRESH_OLDER_THAN.set(300.0)
        try:
            target = "/api/v1/reports/stages?" + urlencode(JAN)
            assert asyncio.run(_asgi_get(c.app, target)) == 200
        finally:
            REFRESH_OLDER_THAN.reset(token)
        now = c.get("/api/v1/reports/stages", params=JAN).json()
        assert stages_total(now, "mql") == stages_total(before, "mql") + 1
        assert (
            now == ws.report("stages", start=JAN["from"], end=JAN["to"], period="month").as_dict()
        )
    with TestClient(create_app(demo_copy, auth=False, ws=ws)) as c:  # the default: never
        c.get("/api/v1/reports/stages", params=JAN)
        ws.ingest_events(
            [{"event_id": "late", "type": "lead", "lead_id": "L", "created_at": "2025-01-09"}]
        )
        after = c.get("/api/v1/reports/stages", params=JAN).json()
        assert c.app.state.leadledger.cache.stats.stale == 0  # type: ignore[attr-defined]
        assert (
            after == ws.report("stages", start=JAN["from"], end=JAN["to"], period="month").as_dict()
        )
    ws.close()


@pytest.mark.slow  # seconds or more (measured): not in the fast lane
def test_the_warmer_steps_aside_for_a_waiting_request(demo_copy: Path):
    from leadledger.web.cache import Warmer

    ws = Workspace(demo_copy)
    app = create_app(demo_copy, auth=False, ws=ws)
    with TestClient(app) as c:
        st = app.state.leadledger
        warmer = Warmer(app, st.cache, st.data_version, ["/overview", "/funnel"])
        assert warmer.warm_once() and warmer.rounds == 1
        misses = st.cache.stats.misses
        assert c.post("/api/v1/events", json={"events": mixed_batch()}).status_code == 200
        st.cache.others_waiting = lambda: True  # a request waits for the project
        assert warmer.warm_once() is False
        assert warmer.steps_aside == 1 and warmer.rounds == 1 and not warmer.errors
        assert st.cache.stats.misses == misses  # it computed nothing
        st.cache.others_waiting = lambda: False
        assert warmer.warm_once() and warmer.rounds == 2
        assert st.cache.stats.misses > misses
    ws.close()


def test_a_stream_of_writes_starts_no_round_until_it_is_quiet():
    """A round is due once the data version has stayed the same for ``quiet`` seconds after a
    change (a batch every 0.25 s never starts one), or when the entries near the TTL."""
    from leadledger.web.cache import Warmer

    clock = FakeClock()
    version = [7]
    cache = ReportCache(ttl=600, clock=clock)
    warmer = Warmer(None, cache, lambda: version[0], [], quiet=3.0, clock=clock)
    warmer.warmed_version, warmer.warmed_at = 7, clock.now  # a round just finished
    assert not warmer._due()
    for _ in range(12):  # a batch every 0.25 s: never 3 s of quiet
        version[0] += 1
        clock.now += 0.25
        assert not warmer._due()
    clock.now += 2.9
    assert not warmer._due()
    clock.now += 0.2  # 3 s without a write since the last one
    assert warmer._due()
    warmer.warmed_version, warmer.warmed_at = version[0], clock.now
    assert not warmer._due()
    clock.now += 600 * 0.8 + 1  # the round's entries near the TTL
    assert warmer._due()
