"""Dashboard pages on the 2M-lead generated project: server time per page (p50, p95).

The project is the one ``benchmarks/run.py`` loads (``generate_company(2,000,000, seed=1)``,
``benchmarks/.data/project``; built here when missing). The app runs in this process
(``create_app``, no tokens) and every page of the navigation is requested ``--repeats`` times
through Starlette's in-process client, after one warm-up request each: the time is the server's
(routing, the façade's reports on DuckDB, templates), without a network hop. Alternating: each
round requests every page once.

Reference in the same run: the ``stages`` report by month through the façade (``ws.report``),
the query most pages start from; each page's p50 is also given as a multiple of it.

    python benchmarks/web_pages.py --repeats 5        # the recorded run (2M leads)
    python benchmarks/web_pages.py --leads 100000     # development
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

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
    from leadledger.synthetic import generate_company

    ws = load_company(folder, generate_company(leads, seed=seed))
    ws.close()
    return folder


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def main(argv: list[str] | None = None) -> int:
    from fastapi.testclient import TestClient

    from leadledger.web.app import create_app
    from leadledger.web.common import NAV

    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--leads", type=int, default=2_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)

    folder = project(args.leads, args.seed)
    ws = Workspace(folder)
    leads = int(ws.store.execute(ws.store.table("leads").count()))
    times: dict[str, list[float]] = {p: [] for p, _ in NAV}
    ref: list[float] = []
    status: dict[str, int] = {}
    with TestClient(create_app(folder, auth=False, ws=ws)) as client:
        for path, _ in NAV:  # warm-up (and the status each page answers)
            status[path] = client.get(path).status_code
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            ws.report("stages", period="month")
            ref.append(time.perf_counter() - t0)
            for path, _ in NAV:
                t0 = time.perf_counter()
                r = client.get(path)
                times[path].append(time.perf_counter() - t0)
                status[path] = r.status_code
    ws.close()
    ref_ms = statistics.median(ref) * 1000
    rows = []
    for path, title in NAV:
        t = [x * 1000 for x in times[path]]
        p50, p95 = statistics.median(t), pct(t, 0.95)
        ok = "yes" if p95 <= GOAL_MS and status[path] == 200 else "**no**"
        rows.append(
            f"| {title} (`{path}`) | {status[path]} | {p50:,.0f} | {p95:,.0f} | "
            f"{p50 / ref_ms:.1f}× | {ok} |"
        )
        print(f"{path:14s} {status[path]} p50 {p50:8.0f} ms  p95 {p95:8.0f} ms", flush=True)
    m = machine()
    text = f"""## Dashboard pages (`benchmarks/web_pages.py`)

Server time per page of the dashboard on the generated project of {leads:,} leads
(`generate_company({args.leads:,}, seed={args.seed})`, DuckDB), in-process (Starlette's test
client, no network hop), after one warm-up request per page; {args.repeats} alternating rounds.
Reference in the same run: the `stages` report by month through the façade, median
{ref_ms:,.0f} ms. Goal (issue 6): ≤ {GOAL_MS:.0f} ms p95 per page.

| page | status | p50 ms | p95 ms | p50 ÷ reference | goal met |
| --- | ---: | ---: | ---: | ---: | :---: |
{chr(10).join(rows)}

Machine: {m.get("cpu")}, {m.get("cores")} cores, {m.get("memory")}; Python {m.get("python")},
DuckDB {m.get("duckdb")}, Ibis {m.get("ibis")}, pandas {m.get("pandas")}.
Command: `python benchmarks/web_pages.py --leads {args.leads} --repeats {args.repeats}`.
"""
    print(text)
    if not args.no_write:
        record.write_section("web_pages", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
