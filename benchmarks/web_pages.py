"""Dashboard pages on the 2M-lead generated project: server time per page (p50, p95).

The project is the one ``benchmarks/run.py`` loads (``generate_company(2,000,000, seed=1)``,
``benchmarks/.data/project``; built here when missing), copied first (the run writes one form
fill). The app runs in this process (``create_app``, no tokens); pages are requested through
Starlette's in-process client: the time is the server's (routing, the façade's reports on
DuckDB, templates), without a network hop.

1. cold: every page once with the report cache off (what computing it costs);
2. served: as ``leadledger serve`` runs (cache + warmer): the warmer's first round, then
   ``--repeats`` alternating rounds of every page;
3. after a write: the time until the warmer has computed every page again.

Reference in the same run: the ``stages`` report by month through the façade (``ws.report``),
the query most pages start from; each page's p50 is also given as a multiple of it.

    python benchmarks/web_pages.py                    # the recorded run (2M leads)
    python benchmarks/web_pages.py --leads 100000     # development
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import record  # noqa: E402
from benchmarks.run import DATA, load_company, machine  # noqa: E402
from leadledger.service import Workspace  # noqa: E402

GOAL_MS = 500.0


def project(leads: int, seed: int) -> Path:
    folder = DATA / "project" if leads == 2_000_000 and seed == 1 else DATA / f"web-{leads}"
    if (folder / "leadledger.duckdb").exists():
        return folder
    from leadledger.demo import generate_company

    ws = load_company(folder, generate_company(leads, seed=seed))
    ws.close()
    return folder


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def wait_warm(client: Any, rounds: int, timeout: float = 3600) -> float:
    """Wait until the warmer has finished ``rounds`` rounds; the seconds waited."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        h = client.get("/healthz").json()["cache"]
        if h["warm_rounds"] >= rounds and not h["warming"]:
            if h["warm_errors"]:
                raise RuntimeError(f"the warmer failed: {h['warm_errors']}")
            return time.perf_counter() - t0
        time.sleep(0.05)
    raise RuntimeError(f"the warmer did not finish round {rounds} in {timeout} s")


def main(argv: list[str] | None = None) -> int:
    from fastapi.testclient import TestClient

    from leadledger.web.app import create_app
    from leadledger.web.common import NAV

    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--leads", type=int, default=2_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)

    source = project(args.leads, args.seed)
    folder = DATA / "web-pages-run"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(source, folder)
    ws = Workspace(folder)
    leads = int(ws.store.execute(ws.store.table("leads").count()))
    paths = [p for p, _ in NAV]
    cold: dict[str, float] = {}
    status: dict[str, int] = {}
    ref: list[float] = []

    # 1. no cache: what computing each page costs (one request each)
    with TestClient(create_app(folder, auth=False, ws=ws, cache_ttl=0)) as client:
        for path in paths:
            t0 = time.perf_counter()
            status[path] = client.get(path).status_code
            cold[path] = time.perf_counter() - t0
            print(f"cold {path:14s} {cold[path] * 1000:8.0f} ms", flush=True)

    # 2. as `leadledger serve` runs: the cache, and the warmer computing the pages at start
    warm: dict[str, list[float]] = {p: [] for p in paths}
    app = create_app(folder, auth=False, ws=ws, warm=True)
    with TestClient(app) as client:
        st = app.state.leadledger
        st.warmer.poll = 0.05
        first_round = wait_warm(client, 1)
        misses = st.cache.stats.misses
        for _ in range(args.repeats):
            with st.lock:  # the warmer shares the connection
                t0 = time.perf_counter()
                ws.report("stages", period="month")
                ref.append(time.perf_counter() - t0)
            for path in paths:
                t0 = time.perf_counter()
                r = client.get(path)
                warm[path].append(time.perf_counter() - t0)
                status[path] = r.status_code if status[path] == 200 else status[path]
        served_cold = st.cache.stats.misses - misses
        # 3. a write (one form fill through the API): the time until every page is computed
        # again on the new data
        t0 = time.perf_counter()
        r = client.post(
            "/api/v1/hooks/form",
            json={"email": "bench@example.com", "utm_source": "google", "submission_id": "b1"},
        )
        assert r.status_code == 200, r.text
        wait_warm(client, 2)
        refresh = time.perf_counter() - t0
    ws.close()
    shutil.rmtree(folder, ignore_errors=True)

    ref_ms = statistics.median(ref) * 1000
    rows = []
    all_p95 = []
    for path, title in NAV:
        t = [x * 1000 for x in warm[path]]
        p50, p95 = statistics.median(t), pct(t, 0.95)
        all_p95.append(p95)
        ok = "yes" if p95 <= GOAL_MS and status[path] == 200 else "**no**"
        rows.append(
            f"| {title} (`{path}`) | {status[path]} | {cold[path] * 1000:,.0f} | {p50:,.0f} | "
            f"{p95:,.0f} | {p50 / ref_ms:.3f}× | {ok} |"
        )
        print(
            f"{path:14s} {status[path]} cold {cold[path] * 1000:8.0f} ms  "
            f"p50 {p50:6.1f} ms  p95 {p95:6.1f} ms",
            flush=True,
        )
    m = machine()
    text = f"""## Dashboard pages (`benchmarks/web_pages.py`)

Server time per page of the dashboard on the generated project of {leads:,} leads
(`generate_company({args.leads:,}, seed={args.seed})`, DuckDB), in-process (Starlette's test
client, no network hop). Goal (issue 6): ≤ {GOAL_MS:.0f} ms p95 per page.

- **cold**: one request per page with the report cache off (`--cache-ttl 0`): computing the
  page's reports on {leads:,} leads.
- **served**: as `leadledger serve` runs — the report cache keyed on the data version, with the
  warmer computing every page at start ({first_round:,.0f} s for all {len(paths)} pages here);
  then {args.repeats} alternating rounds of every page. Requests that had to compute: {served_cold}.
- After a write (one form fill through `POST /api/v1/hooks/form`) every page was computed again
  on the new data in **{refresh:,.0f} s**; until then a page asked for computes itself (cold).
- Reference in the same run: the `stages` report by month through the façade, median
  {ref_ms:,.0f} ms (the served p50 is given as a multiple of it).

| page | status | cold ms | served p50 ms | served p95 ms | p50 ÷ reference | goal met (served) |
| --- | ---: | ---: | ---: | ---: | ---: | :---: |
{chr(10).join(rows)}

Machine: {m.get("cpu")}, {m.get("cores")} cores, {m.get("memory")}; Python {m.get("python")},
DuckDB {m.get("duckdb")}, Ibis {m.get("ibis")}, pandas {m.get("pandas")}.
Command: `python benchmarks/web_pages.py --leads {args.leads} --repeats {args.repeats}`.
"""
    print(text)
    if not args.no_write:
        record.write_section("web_pages", text)
    return 0 if max(all_p95) <= GOAL_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
