"""Benchmarks: leadledger's funnel queries vs hand-written DuckDB SQL, peak memory, import speed.

One command (``.venv/bin/python benchmarks/run.py``) generates a synthetic company with the
project's own deterministic generator (default 2M leads, ~10M lifecycle events), loads it into
the embedded DuckDB store, and measures in the same run:

- the three core funnel queries (monthly stage counts, MQL→customer cohort conversion by channel,
  median time in stage) through leadledger (Ibis → DuckDB) and as hand-written DuckDB SQL on the
  same connection; the answers are checked equal before any time is reported; ratio of medians;
- peak memory (max RSS) of a fresh process that runs the three leadledger queries;
- import throughput (rows/s) of the importer for CSV and Parquet files.

Results go to BENCHMARKS.md with the machine and the versions. Absolute seconds on a shared
2-core machine are noise; the same-run ratio is what counts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import record  # noqa: E402
from benchmarks import reference_sql as ref  # noqa: E402
from leadledger.config import CONFIG_NAME  # noqa: E402
from leadledger.service import Workspace, init_project  # noqa: E402

DATA = ROOT / "benchmarks" / ".data"
GOAL_RATIO = 1.15
GOAL_MEMORY_MIB = 1536
#: What is known about a query over the goal (measured; update when the cause changes).
KNOWN_GAPS = {
    "median time in stage": (
        "About half of the gap is the engine-neutral field-wise lead merge (each field the "
        "latest non-empty value, for CRM partial updates): 0.30 s on its own against 0.18 s for "
        "DuckDB's `arg_max`, which PostgreSQL does not have (measured 2026-11-22). The query is "
        "the shortest of the three, so the fixed cost weighs most there."
    ),
}


def machine() -> dict[str, str]:
    import duckdb
    import ibis
    import pyarrow
    import sqlglot

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        memory = f"{int(mem) / 1024 / 1024:.0f} GiB"
    except OSError:
        memory = "unknown"
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "ibis": ibis.__version__,
        "sqlglot": sqlglot.__version__,
        "pandas": pd.__version__,
        "pyarrow": pyarrow.__version__,
        "numpy": np.__version__,
    }


def load_company(folder: Path, company: Any) -> Workspace:
    """Write the generated frames straight into a fresh store (bulk, through Store.append)."""
    if folder.exists():
        shutil.rmtree(folder)
    init_project(folder, config_text=company.config_text)
    ws = Workspace(folder)
    from leadledger.ledger.imports.validate import stable_ids

    store = ws.store
    now = pd.Timestamp.now(tz="UTC")
    for batch, (kind, table) in enumerate(
        [
            ("leads", "leads"),
            ("stages", "stage_events"),
            ("touches", "touches"),
            ("deals", "deals"),
            ("costs", "costs"),
            ("traffic", "traffic"),
        ],
        start=1,
    ):
        frame = getattr(company, kind).copy()
        for col in frame.columns:
            if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
                frame[col] = frame[col].dt.tz_convert("UTC").astype("datetime64[us, UTC]")
        frame["row_id"] = stable_ids(frame, list(frame.columns), f"{kind[:2]}_")
        frame["batch_no"] = batch
        frame["row_no"] = np.arange(len(frame), dtype=np.int64)
        frame["imported_at"] = now
        with store.transaction():
            store.append(table, frame)
    return ws


def timed(fn: Callable[[], pd.DataFrame]) -> tuple[float, pd.DataFrame]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def same(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> None:
    """The two answers are equal (rows in any order; floats to 1e-9 relative)."""
    a = a.copy()
    b = b.copy()
    for df in (a, b):
        if "period" in df.columns:
            df["period"] = pd.to_datetime(df["period"]).dt.date.astype(str)
    cols = sorted(a.columns)
    assert sorted(b.columns) == cols, (sorted(a.columns), sorted(b.columns))
    a = a[cols].sort_values(keys, na_position="first").reset_index(drop=True)
    b = b[cols].sort_values(keys, na_position="first").reset_index(drop=True)
    assert len(a) == len(b), (len(a), len(b))
    for c in cols:
        x, y = a[c], b[c]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            np.testing.assert_allclose(
                x.astype(float).to_numpy(),
                y.astype(float).to_numpy(),
                rtol=1e-9,
                atol=1e-9,
                equal_nan=True,
                err_msg=c,
            )
        else:
            assert (
                x.astype(object).where(x.notna(), None).tolist()
                == y.astype(object).where(y.notna(), None).tolist()
            ), c


def queries(ws: Workspace, start: dt.date, end: dt.date, as_of: pd.Timestamp) -> list[dict]:
    from leadledger.metrics import cohort_conversion, entries_by_period, median_time_in_stage

    tables = ws.store.tables()
    cfg = ws.cfg
    s, e = start.isoformat(), end.isoformat()
    return [
        {
            "name": "monthly stage counts",
            "ll": entries_by_period(tables, cfg, period="month", start=start, end=end),
            "sql": ref.monthly_stage_counts(s, e),
            "keys": ["period", "stage"],
        },
        {
            "name": "MQL→customer cohort conversion by channel",
            "ll": cohort_conversion(
                tables,
                cfg,
                from_stage="mql",
                to_stage="customer",
                period="month",
                start=start,
                end=end,
                as_of=as_of,
                fields=["channel"],
            ),
            "sql": ref.cohort_conversion_by_channel(s, e, as_of.isoformat()),
            "keys": ["period", "channel"],
        },
        {
            "name": "median time in stage",
            "ll": median_time_in_stage(tables, cfg, as_of=as_of),
            "sql": ref.median_time_in_stage(as_of.isoformat()),
            "keys": ["stage"],
        },
    ]


def bench_queries(ws: Workspace, repeat: int) -> list[dict[str, Any]]:
    raw = ws.store.con.con  # the DuckDB connection, for the hand-written reference only
    leads = ws.store.table("leads")
    lo, hi = ws.store.execute(
        leads.aggregate(lo=leads.created_at.min(), hi=leads.created_at.max())
    ).iloc[0]
    start, end = pd.Timestamp(lo).date(), pd.Timestamp(hi).date()
    as_of = pd.Timestamp(hi).tz_convert("UTC").ceil("D")
    results = []
    for q in queries(ws, start, end, as_of):
        run_ll = lambda q=q: ws.store.execute(q["ll"])  # noqa: E731
        run_sql = lambda q=q: raw.sql(q["sql"]).df()  # noqa: E731
        # warm-up, and the check that both answer the same
        _, a = timed(run_ll)
        _, b = timed(run_sql)
        same(a, b, q["keys"])
        t_ll, t_sql = [], []
        for _ in range(repeat):  # alternate, so drift on a shared machine hits both
            t_ll.append(timed(run_ll)[0])
            t_sql.append(timed(run_sql)[0])
        med_ll, med_sql = statistics.median(t_ll), statistics.median(t_sql)
        results.append(
            {
                "query": q["name"],
                "rows": len(a),
                "leadledger_s": med_ll,
                "duckdb_sql_s": med_sql,
                "ratio": med_ll / med_sql,
            }
        )
        print(
            f"  {q['name']}: leadledger {med_ll:.3f}s, SQL {med_sql:.3f}s, "
            f"ratio {med_ll / med_sql:.2f}",
            flush=True,
        )
    total_ll = sum(r["leadledger_s"] for r in results)
    total_sql = sum(r["duckdb_sql_s"] for r in results)
    results.append(
        {
            "query": "total",
            "rows": None,
            "leadledger_s": total_ll,
            "duckdb_sql_s": total_sql,
            "ratio": total_ll / total_sql,
        }
    )
    return results


# Peak memory is the child's VmHWM: ru_maxrss is inherited across fork and exec on Linux, so a
# child of this (large) process would report the parent's high-water mark, not its own.
PEAK_SCRIPT = """
import sys, json, pandas as pd
def hwm_mib():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            return int(line.split()[1]) / 1024
sys.path.insert(0, {root!r})
from benchmarks.run import queries
from leadledger.service import Workspace
ws = Workspace({project!r})
leads = ws.store.table('leads')
lo, hi = ws.store.execute(leads.aggregate(lo=leads.created_at.min(),
                                          hi=leads.created_at.max())).iloc[0]
as_of = pd.Timestamp(hi).tz_convert('UTC').ceil('D')
base = hwm_mib()
for q in queries(ws, pd.Timestamp(lo).date(), pd.Timestamp(hi).date(), as_of):
    ws.store.execute(q['ll'])
peak = hwm_mib()
print(json.dumps({{'peak_mib': peak, 'baseline_mib': base}}))
"""


def bench_memory(project: Path) -> dict[str, float]:
    code = PEAK_SCRIPT.format(root=str(ROOT), project=str(project))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_import(company: Any, rows: int) -> list[dict[str, Any]]:
    from leadledger.demo import write_company

    results = []
    for fmt in ("csv", "parquet"):
        folder = DATA / f"import-{fmt}"
        if folder.exists():
            shutil.rmtree(folder)
        files = write_company(company, folder / "files", fmt)
        init_project(folder / "project", config_text=company.config_text)
        with Workspace(folder / "project") as ws:
            for kind in ("leads", "stages"):
                t0 = time.perf_counter()
                res = ws.import_files(kind, [files[kind]])
                secs = time.perf_counter() - t0
                assert res.rejected == 0, res.sample_rejections
                results.append(
                    {
                        "format": fmt,
                        "kind": kind,
                        "rows": res.read,
                        "seconds": secs,
                        "rows_per_s": res.read / secs,
                    }
                )
                print(
                    f"  import {kind} {fmt}: {res.read:,} rows in {secs:.1f}s "
                    f"({res.read / secs:,.0f} rows/s)",
                    flush=True,
                )
    return results


def write_markdown(path: Path, info: dict[str, Any]) -> None:
    m = info["machine"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `benchmarks/run.py` (run it with `.venv/bin/python benchmarks/run.py`).",
        "Same-run ratios are what count: absolute seconds on a shared 2-core machine are noise.",
        "",
        f"Run {info['when']} on {m['cpu']}, {m['cores']} cores, {m['memory']}; {m['os']}.",
        f"Python {m['python']}, DuckDB {m['duckdb']}, Ibis {m['ibis']}, sqlglot {m['sqlglot']}, "
        f"pandas {m['pandas']}, PyArrow {m['pyarrow']}, NumPy {m['numpy']}.",
        "",
        f"Data: the project's generator, {info['leads']:,} leads, seed {info['seed']}: "
        f"{info['stage_events']:,} stage events + {info['touches']:,} touches = "
        f"{info['events']:,} lifecycle events (generated in {info['generate_s']:.1f} s).",
        "",
        "## Funnel queries: leadledger (Ibis → DuckDB) vs hand-written DuckDB SQL",
        "",
        f"Median of {info['repeat']} alternating runs each, after a warm-up run whose answers "
        "were checked equal. Goal: ratio ≤ " + f"{GOAL_RATIO:.2f}×.",
        "",
        "| query | rows | leadledger s | DuckDB SQL s | ratio |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in info["queries"]:
        rows = "" if r["rows"] is None else f"{r['rows']:,}"
        lines.append(
            f"| {r['query']} | {rows} | {r['leadledger_s']:.3f} | "
            f"{r['duckdb_sql_s']:.3f} | {r['ratio']:.2f}× |"
        )
    over = [r for r in info["queries"] if r["query"] != "total" and r["ratio"] > GOAL_RATIO]
    for r in over:
        why = KNOWN_GAPS.get(r["query"], "Not explained yet.")
        lines += ["", f"**{r['query']}** is above the goal ({r['ratio']:.2f}×). {why}"]
    mem = info["memory"]
    lines += [
        "",
        "## Peak memory",
        "",
        f"Peak resident memory (VmHWM) of a fresh process running the three leadledger queries: "
        f"**{mem['peak_mib']:,.0f} MiB** (after imports and opening the store: "
        f"{mem['baseline_mib']:,.0f} MiB). Goal: ≤ {GOAL_MEMORY_MIB:,} MiB.",
        "",
        "## Import throughput",
        "",
        f"The importer (read, type, validate, deduplicate against the ledger, write in one "
        f"transaction) on the generator's files for {info['import_leads']:,} leads.",
        "",
        "| format | kind | rows | seconds | rows/s |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for r in info["imports"]:
        lines.append(
            f"| {r['format']} | {r['kind']} | {r['rows']:,} | {r['seconds']:.1f} | "
            f"{r['rows_per_s']:,.0f} |"
        )
    lines.append("")
    # keep the sections the other benchmark scripts own (benchmarks/record.py)
    kept = record.sections(path.read_text(encoding="utf-8")) if path.exists() else {}
    lines += [block + "\n" for block in kept.values()]
    path.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=2_000_000)
    parser.add_argument("--import-leads", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument(
        "--rewrite",
        action="store_true",
        help="re-render --out from the last run's results without measuring",
    )
    args = parser.parse_args(argv)
    if args.rewrite:
        write_markdown(args.out, json.loads((DATA / "last-run.json").read_text()))
        return 0

    from leadledger.demo import generate_company

    DATA.mkdir(parents=True, exist_ok=True)
    print(f"generating {args.leads:,} leads", flush=True)
    t0 = time.perf_counter()
    company = generate_company(leads=args.leads, seed=args.seed)
    gen_s = time.perf_counter() - t0
    n_stages, n_touches = len(company.stages), len(company.touches)
    print(f"  {n_stages + n_touches:,} events in {gen_s:.1f}s", flush=True)
    project = DATA / "project"
    print("loading the store", flush=True)
    ws = load_company(project, company)
    del company
    print("timing the funnel queries", flush=True)
    q = bench_queries(ws, args.repeat)
    ws.close()
    print("peak memory", flush=True)
    mem = bench_memory(project)
    print(f"  {mem['peak_mib']:,.0f} MiB", flush=True)
    print("import throughput", flush=True)
    small = generate_company(leads=args.import_leads, seed=args.seed)
    imports = bench_import(small, args.import_leads)
    info = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "leads": args.leads,
        "seed": args.seed,
        "repeat": args.repeat,
        "stage_events": n_stages,
        "touches": n_touches,
        "events": n_stages + n_touches,
        "generate_s": gen_s,
        "queries": q,
        "memory": mem,
        "imports": imports,
        "import_leads": args.import_leads,
    }
    write_markdown(args.out, info)
    (DATA / "last-run.json").write_text(json.dumps(info, indent=2, default=str))
    print(f"wrote {args.out}", flush=True)
    assert (project / CONFIG_NAME).exists()
    return 0


if __name__ == "__main__":
    sys.exit(main())
