"""Ingestion benchmark: ``POST /api/v1/events`` on a real ``leadledger serve`` vs ``leadledger
import`` of the same rows as CSV files.

A project is generated (``generate_company(--leads)`` imported, DuckDB) and copied for every
run. The events are new: per new lead one ``lead`` event, two ``stage`` events (lead, mql) and
two ``touch`` events (a visit, a form), ``--events`` in all, in order lead by lead.

- **API**: ``leadledger serve`` (uvicorn, its own process, loopback, a write token required as
  in production, its report cache and background warmer on as shipped; a ``:nocache``
  configuration starts it with ``--cache-ttl 0``) on a copy; one httpx client (keep-alive;
  ``--configs``: events per batch x connections posting at once) POSTs the events; timed from
  the first request to the last answer. Then the server is stopped and
  the ledger counted: every event must be stored once (count in = count stored), and every
  response must say ``accepted`` = batch size.
- **Reference**: on another copy, the same rows as three CSV files imported by the CLI
  (``leadledger import leads|stages|touches FILE``, three processes; timed end to end, and the
  import's own time is read from the imports table).

API and reference runs alternate in every round (``--repeats``); medians. Goal: ≥ 20,000
events/s.

    python benchmarks/web_ingest.py --events 20000 --leads 2000 --repeats 1   # development
    python benchmarks/web_ingest.py --events 300000 --leads 20000             # the recorded run
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import record  # noqa: E402
from benchmarks.run import machine  # noqa: E402
from leadledger.demo import (  # noqa: E402
    build_project,
    generate_company,
    write_company,
)
from leadledger.service import Workspace  # noqa: E402

BIN = Path(sys.executable).parent / "leadledger"
PER_LEAD = 5  # lead, 2 stages, 2 touches


def make_events(n: int, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    leads = -(-n // PER_LEAD)
    start = pd.Timestamp("2025-01-06T08:00:00Z")
    created = start + pd.to_timedelta(rng.integers(0, 86400 * 300, leads), unit="s")
    channels = np.array(["paid_search", "organic_search", "email", "paid_social", "referral"])
    ch = channels[rng.integers(0, len(channels), leads)]
    events: list[dict[str, Any]] = []
    for i in range(leads):
        lead = f"B{seed}-{i}"
        at = created[i]
        iso = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        later = (at + pd.Timedelta(hours=int(1 + i % 47))).strftime("%Y-%m-%dT%H:%M:%SZ")
        visit = (at - pd.Timedelta(minutes=int(5 + i % 50))).strftime("%Y-%m-%dT%H:%M:%SZ")
        events += [
            {
                "event_id": f"{lead}:l",
                "type": "lead",
                "lead_id": lead,
                "created_at": iso,
                "email": f"{lead.lower()}@example.com",
                "channel": ch[i],
                "company": f"Co {i % 997}",
            },
            {
                "event_id": f"{lead}:s1",
                "type": "stage",
                "lead_id": lead,
                "stage": "lead",
                "entered_at": iso,
            },
            {
                "event_id": f"{lead}:s2",
                "type": "stage",
                "lead_id": lead,
                "stage": "mql",
                "entered_at": later,
            },
            {
                "event_id": f"{lead}:t1",
                "type": "touch",
                "touch_id": f"{lead}:t1",
                "lead_id": lead,
                "at": visit,
                "channel": ch[i],
                "kind": "visit",
                "page": "/pricing",
            },
            {
                "event_id": f"{lead}:t2",
                "type": "touch",
                "touch_id": f"{lead}:t2",
                "lead_id": lead,
                "at": iso,
                "channel": ch[i],
                "kind": "form",
                "page": "/demo",
            },
        ]
    return events[:n]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def counts(folder: Path) -> dict[str, int]:
    with Workspace(folder) as ws:
        t = ws.store.table
        return {
            name: int(ws.store.execute(t(name).count()))
            for name in ("leads", "stage_events", "touches", "ingested_events")
        }


def run_api(
    base: Path,
    work: Path,
    events: list[dict[str, Any]],
    batch: int,
    connections: int,
    serve_args: list[str] | None = None,
) -> dict[str, Any]:
    folder = work / "api"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(base, folder)
    before = counts(folder)
    with Workspace(folder) as ws:
        _, secret = ws.token_create("write", "benchmark")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (work / "serve.log").open("w")
    proc = subprocess.Popen(
        [
            str(BIN),
            "serve",
            "--project",
            str(folder),
            "--port",
            str(port),
            *(serve_args or []),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        headers = {"Authorization": f"Bearer {secret}"}
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        with httpx.Client(base_url=url, headers=headers, timeout=300, limits=limits) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/openapi.json").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the server did not start: see " + str(work / "serve.log"))
                time.sleep(0.2)
            # bodies encoded beforehand: the server's throughput is measured, not the client's
            # JSON encoder (it shares the 2 cores)
            chunks = [events[i : i + batch] for i in range(0, len(events), batch)]
            bodies = [json.dumps({"events": c}).encode() for c in chunks]
            sizes = [len(c) for c in chunks]

            def post(k: int) -> tuple[float, int]:
                t1 = time.perf_counter()
                resp = client.post(
                    "/api/v1/events",
                    content=bodies[k],
                    headers={"Content-Type": "application/json"},
                )
                took = time.perf_counter() - t1
                resp.raise_for_status()
                r = resp.json()
                if r["accepted"] != sizes[k]:
                    raise AssertionError(f"batch not fully accepted: {r}")
                return took, int(r["accepted"])

            t0 = time.perf_counter()
            with ThreadPoolExecutor(connections) as pool:
                done = list(pool.map(post, range(len(bodies))))
            elapsed = time.perf_counter() - t0
            latencies = [d[0] for d in done]
            accepted = sum(d[1] for d in done)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    after = counts(folder)
    stored = {k: after[k] - before[k] for k in after}
    n_lead = sum(e["type"] == "lead" for e in events)
    n_stage = sum(e["type"] == "stage" for e in events)
    n_touch = sum(e["type"] == "touch" for e in events)
    expected = {
        "leads": n_lead,
        "stage_events": n_stage,
        "touches": n_touch,
        "ingested_events": len(events),
    }
    if stored != expected or accepted != len(events):
        raise AssertionError(f"count in != count stored: sent {expected}, stored {stored}")
    lat = np.array(latencies) * 1000
    return {
        "seconds": elapsed,
        "rate": len(events) / elapsed,
        "p50_ms": float(np.percentile(lat, 50)),
        "p95_ms": float(np.percentile(lat, 95)),
        "stored": sum(stored[k] for k in ("leads", "stage_events", "touches")),
    }


def write_csvs(events: list[dict[str, Any]], folder: Path) -> dict[str, Path]:
    frame = pd.DataFrame.from_records(events)
    out = {}
    for typ, kind in (("lead", "leads"), ("stage", "stages"), ("touch", "touches")):
        sub = (
            frame[frame["type"] == typ].drop(columns=["event_id", "type"]).dropna(axis=1, how="all")
        )
        path = folder / f"{kind}.csv"
        sub.to_csv(path, index=False)
        out[kind] = path
    return out


def run_csv(base: Path, work: Path, files: dict[str, Path], n: int) -> dict[str, Any]:
    folder = work / "csv"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(base, folder)
    before = counts(folder)
    t0 = time.perf_counter()
    for kind, path in files.items():
        subprocess.run(
            [str(BIN), "import", kind, str(path), "--project", str(folder)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    elapsed = time.perf_counter() - t0
    after = counts(folder)
    stored = sum(after[k] - before[k] for k in ("leads", "stage_events", "touches"))
    if stored != n:
        raise AssertionError(f"CSV import stored {stored} rows of {n}")
    with Workspace(folder) as ws:
        imp = ws.store.execute(ws.store.table("imports"))
    imp = imp[imp["file"].isin([str(p) for p in files.values()])]
    inside = float((imp["finished_at"] - imp["started_at"]).dt.total_seconds().sum())
    return {"seconds": elapsed, "rate": n / elapsed, "import_seconds": inside}


#: A configuration's suffix that starts the server with its report cache (and so its
#: background warmer) turned off: ``leadledger serve --cache-ttl 0``.
NOCACHE = ":nocache"


def parse_config(text: str) -> tuple[int, int, bool]:
    """``BATCHxCONNECTIONS[:nocache]`` → (events per POST, connections, cache on)."""
    spec, _, flag = text.strip().partition(":")
    if flag not in ("", NOCACHE[1:]):
        raise SystemExit(f"unknown configuration flag '{flag}' in '{text}' (known: nocache)")
    batch, conns = (int(x) for x in spec.split("x"))
    return batch, conns, not flag


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument(
        "--configs",
        default="1000x1,10000x1,10000x2,10000x2:nocache",
        help="API runs as BATCHxCONNECTIONS (events per POST x keep-alive connections at "
        "once); ':nocache': the server started with --cache-ttl 0 (no report cache, no "
        "background warmer)",
    )
    ap.add_argument("--leads", type=int, default=2_000, help="leads of the generated project")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--no-record", action="store_true", help="do not write BENCHMARKS.md")
    args = ap.parse_args(argv)
    configs = [parse_config(c) for c in args.configs.split(",")]

    def label(c: tuple[int, int, bool]) -> str:
        cache = "" if c[2] else " (`--cache-ttl 0`: no report cache, no warmer)"
        return f"API, batches of {c[0]:,}, {c[1]} connection(s){cache}"

    loads = [load()]
    work = Path(tempfile.mkdtemp(prefix="leadledger-ingest-bench-"))
    try:
        base = work / "base"
        company = generate_company(leads=args.leads, seed=args.seed)
        files = write_company(company, base, "csv")
        build_project(base, company=company, files=files).close()
        events = make_events(args.events, args.seed)
        csvs = write_csvs(events, work)
        api_runs: dict[tuple[int, int, bool], list[dict[str, Any]]] = {c: [] for c in configs}
        csv_runs = []
        for i in range(args.repeats):
            for c in configs:
                extra = [] if c[2] else ["--cache-ttl", "0"]
                api_runs[c].append(run_api(base, work, events, c[0], c[1], extra))
                r = api_runs[c][-1]
                loads.append(load())
                print(
                    f"round {i + 1}: {label(c)}: {r['rate']:,.0f} events/s "
                    f"(p95 {r['p95_ms']:.0f} ms/batch; load {loads[-1]})",
                    flush=True,
                )
            csv_runs.append(run_csv(base, work, csvs, len(events)))
            loads.append(load())
            print(f"round {i + 1}: CSV import {csv_runs[-1]['rate']:,.0f} rows/s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ref = statistics.median(r["rate"] for r in csv_runs)
    ref_inside = statistics.median(len(events) / r["import_seconds"] for r in csv_runs)
    goal = 20_000
    lines = []
    best = 0.0
    best_default = 0.0
    for c, runs in api_runs.items():
        rate = statistics.median(r["rate"] for r in runs)
        best = max(best, rate)
        if c[2]:
            best_default = max(best_default, rate)
        secs = statistics.median(r["seconds"] for r in runs)
        p50 = statistics.median(r["p50_ms"] for r in runs)
        p95 = statistics.median(r["p95_ms"] for r in runs)
        lines.append(
            f"| {label(c)} | **{rate:,.0f} events/s** | "
            f"{secs:.2f} s | {rate / ref:.2f}x | {p50:.0f} / {p95:.0f} ms |"
        )
    m = machine()
    rows = "\n".join(lines)
    csv_secs = statistics.median(r["seconds"] for r in csv_runs)
    verdict = "met" if best_default >= goal else "not met"
    text = f"""## Ingestion: `POST /api/v1/events` on loopback

{len(events):,} new events (per lead: 1 lead, 2 stage, 2 touch events) into a generated project
(`generate_company({args.leads:,})`, DuckDB), POSTed by one httpx client (keep-alive; 1 or 2
connections posting at once; bodies JSON-encoded beforehand) to `leadledger serve` (uvicorn, its
own process, a write token required; as shipped, i.e. with its report cache and the background
warmer that recomputes the dashboard pages whenever the data changes, unless the row says
`--cache-ttl 0`). Medians of {args.repeats} rounds; in each round every API configuration and
the reference run one after the other on fresh copies. Count in = count stored, checked after
stopping the server (every event once in its table and once in `ingested_events`; every answer
`accepted` = batch size).

| | rate | time | ÷ CSV import | latency p50 / p95 per batch |
|---|---:|---:|---:|---:|
{rows}
| reference: `leadledger import` of the same rows as 3 CSV files (3 processes, end to end) | {ref:,.0f} rows/s | {csv_secs:.2f} s | 1.00x | |
| reference, the imports' own time (without process start-up) | {ref_inside:,.0f} rows/s | | | |

Goal ≥ {goal:,} events/s with `leadledger serve` as shipped: **{verdict}** (best such
configuration {best_default:,.0f} events/s; best of all {best:,.0f} events/s). The machine was
shared with other jobs during the run (2 cores; load average 1 / 5 / 15 min at the start and
after each run: {"; ".join(loads)}): the ratios to the reference, measured in the same rounds,
are the comparable numbers.

Machine: {m["cpu"]}, {m["cores"]} cores, {m["memory"]}; {m["os"]}; Python {m["python"]}, DuckDB
{m["duckdb"]}, Ibis {m["ibis"]}, pandas {m["pandas"]}.

    python benchmarks/web_ingest.py --events {args.events} --leads {args.leads} --configs {args.configs} --repeats {args.repeats}
"""  # noqa: E501
    print(text)
    if not args.no_record:
        record.write_section("web_ingest", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
