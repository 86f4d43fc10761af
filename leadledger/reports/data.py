"""The reports about the data itself: ``check`` (anomalies that are data, not errors) and
``imports`` (every import run with its report folder and quarantine file)."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from pydantic import BeforeValidator, Field

from leadledger.ledger.checks import CHECK_COLUMNS, CHECKS
from leadledger.reports.context import Ctx
from leadledger.reports.params import Limit, Params, Surface, limit_validator
from leadledger.reports.registry import report
from leadledger.reports.result import Report

__all__ = ["CheckParams", "ImportsParams"]


class CheckParams(Params):
    """``leadledger check``."""

    limit: Annotated[Limit, Field(description="Rows listed per check.")] = 20


@report("check", params=CheckParams, columns=CHECK_COLUMNS, cli="check", api="/check")
def report_check(ctx: Ctx, p: CheckParams) -> Report:
    """List data anomalies: stages before the lead existed, stages moving backwards, deals won
    before first contact, duplicate identities, unknown channels and more.

    Example: leadledger check --format json
    """
    tables = ctx.tables()
    now = ctx.now()
    frames = []
    notes = []
    for check in CHECKS:
        expr = check.find(tables, ctx.cfg, now)
        total = int(ctx.execute(expr.count()))
        if not total:
            continue
        note = f"{check.code}: {total:,} — {check.title}"
        if "amount" in expr.columns:
            amount = ctx.execute(expr.amount.sum())
            note += f" (amount {float(amount or 0.0):,.2f} {ctx.cfg.currency})"
        notes.append(note)
        rows = ctx.execute(expr.order_by(["at", "id"]).limit(p.limit))
        if check.explain is not None and not rows.empty:
            rows = check.explain(rows, ctx.cfg)
        rows = rows.drop(columns=["amount"], errors="ignore")
        rows.insert(0, "check", check.code)
        rows.insert(1, "severity", check.severity)
        rows["total"] = total
        frames.append(rows)
    if frames:
        df = pd.concat(frames, ignore_index=True)
    else:
        df = pd.DataFrame(columns=list(CHECK_COLUMNS))
        notes.append("no anomalies found")
    df["at"] = pd.to_datetime(df["at"], utc=True).dt.tz_convert(ctx.cfg.timezone)
    return Report("check", {"limit": p.limit}, df, notes, title="Data anomalies")


class ImportsParams(Params):
    """``GET /api/v1/imports`` (and the Data page)."""

    limit: Annotated[
        int | None,
        BeforeValidator(limit_validator(1)),
        Surface(cli=False, query=(("ge", 1), ("le", 1_000_000))),
        Field(description="Only the N latest import runs."),
    ] = None


IMPORT_COLUMNS = (
    "batch_no",
    "kind",
    "file",
    "read",
    "accepted",
    "rejected",
    "skipped",
    "report",
    "quarantine",
)


@report(
    "imports",
    params=ImportsParams,
    columns=IMPORT_COLUMNS,
    tables=("quarantine",),
    api="/imports",
    # a batch that accepts nothing raises no data version, yet it is listed at once
    cached=False,
)
def report_imports(ctx: Ctx, p: ImportsParams) -> Report:
    """Every import run (one row per file: read, accepted, rejected, skipped, its report
    folder and quarantine file); companion table `quarantine`: the totals per kind."""
    t = ctx.table("imports")
    frame = ctx.execute(t.order_by([t.batch_no.desc(), t.file]))
    if p.limit is not None:
        keep = sorted(set(frame.batch_no), reverse=True)[: p.limit]
        frame = frame[frame.batch_no.isin(keep)]
    folders: dict[int, str | None] = {}
    quarantine: dict[int, str | None] = {}
    root = ctx.project_dir / "imports"
    for batch in sorted(set(frame.batch_no)):
        hits = sorted(root.glob(f"{int(batch):05d}-*")) if root.is_dir() else []
        folder = hits[0] if hits else None
        folders[batch] = folder.relative_to(ctx.project_dir).as_posix() if folder else None
        q = folder / "quarantine.csv" if folder else None
        rel = q.relative_to(ctx.project_dir).as_posix() if q is not None else None
        quarantine[batch] = rel if q is not None and q.is_file() else None
    frame = frame.drop(columns=["batch_id", "sha256"]).assign(
        report=[folders.get(b) for b in frame.batch_no],
        quarantine=[quarantine.get(b) for b in frame.batch_no],
    )
    frame = frame.reset_index(drop=True)
    totals = (
        frame.groupby("kind", as_index=False)[["read", "accepted", "rejected", "skipped"]]
        .sum()
        .sort_values("kind")
        .reset_index(drop=True)
        if not frame.empty
        else pd.DataFrame(columns=["kind", "read", "accepted", "rejected", "skipped"])
    )
    notes = [
        "one row per imported file; rejected rows are quarantined in the batch's "
        "quarantine.csv (fix them and import again)"
    ]
    return Report(
        "imports",
        {"limit": p.limit},
        frame,
        notes=notes,
        title="Imports",
        extra={"quarantine": ("Rows read, accepted and quarantined per kind", totals)},
    )
