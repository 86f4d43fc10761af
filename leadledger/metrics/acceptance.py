"""MQL acceptance by sales and SQL quality.

- **MQL acceptance rate** = MQLs that sales accepted (reached ``sal`` or any later stage)
  ÷ MQLs whose decision is made (accepted + rejected). An MQL is *rejected* when it entered a
  rejection state (``disqualified`` or ``recycled`` by default) at or after entering ``mql`` and
  was never accepted; otherwise it is *pending*.
- **SQL quality** = share of SQLs not rejected by sales: SQLs that did not enter a rejection state
  at or after entering ``sql`` without reaching the next stage (``opportunity``).
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from leadledger.config.models import ProjectConfig
from leadledger.ledger.derived import (
    Tables,
    at_col,
    in_local_days,
    journeys,
    period_of,
    reached_col,
)
from leadledger.metrics.grid import merge_on_keys

REJECTION_STATES = ("disqualified", "recycled")


def _first_of(j: ir.Table, stages: Sequence[str]) -> ir.TimestampValue:
    cols = [j[at_col(s)] for s in stages]
    return ibis.least(*cols) if len(cols) > 1 else cols[0]


def _rejection(
    j: ir.Table, cfg: ProjectConfig, since: ir.TimestampValue
) -> tuple[ir.BooleanValue, ir.StringValue]:
    """Whether the lead entered a rejection state at/after ``since``, and the reason."""
    states = [s for s in REJECTION_STATES if s in cfg.side_state_keys]
    rejected = ibis.literal(False)
    reason = ibis.null().cast("string")
    for state in states:
        last = j[f"{state}_last_at"]
        hit = last.notnull() & (last >= since)
        rejected |= hit
        if f"{state}_reason" in j.columns:  # journeys(reasons=True)
            reason = ibis.cases(
                (hit & reason.isnull(), j[f"{state}_reason"].fill_null(f"{state}:unspecified")),
                else_=reason,
            )
    return rejected, reason


def classify_mqls(
    tables: Tables,
    cfg: ProjectConfig,
    *,
    mql: str = "mql",
    accepted_from: str = "sal",
    fields: Sequence[str] = (),
) -> ir.Table:
    """One row per MQL: lead_id, fields…, mql_at, decision ('accepted'/'rejected'/'pending'),
    reason."""
    keys = cfg.stage_keys
    j = journeys(tables, cfg, fields=fields, reasons=True)
    mql_at = j[reached_col(mql)]
    accepted_at = _first_of(j, keys[keys.index(accepted_from) :])
    rejected, reason = _rejection(j, cfg, mql_at)
    decision = ibis.cases(
        (accepted_at.notnull(), "accepted"),
        (rejected, "rejected"),
        else_="pending",
    )
    return j.filter(mql_at.notnull()).select(
        "lead_id",
        *fields,
        mql_at=mql_at,
        decision=decision,
        reason=ibis.cases((decision == "rejected", reason), else_=None),
    )


def acceptance_by_period(
    tables: Tables,
    cfg: ProjectConfig,
    *,
    period: str,
    start: object,
    end: object,
    fields: Sequence[str] = (),
    mql: str = "mql",
    accepted_from: str = "sal",
    sql: str = "sql",
) -> ir.Table:
    """Columns: period, fields…, mqls, accepted, rejected, pending, acceptance_rate, sqls,
    sqls_rejected, sql_quality."""
    keys = cfg.stage_keys
    j = journeys(tables, cfg, fields=fields)
    mql_at = j[reached_col(mql)]
    accepted_at = _first_of(j, keys[keys.index(accepted_from) :])
    rejected, _ = _rejection(j, cfg, mql_at)
    acc = accepted_at.notnull()
    rej = ~acc & rejected

    m = j.filter(in_local_days(mql_at, start, end)).mutate(
        period=period_of(mql_at, period), _acc=acc, _rej=rej
    )
    grouped = ["period", *fields]
    mq = m.group_by(grouped).agg(
        mqls=m.count(),
        accepted=m._acc.sum().cast("int64"),
        rejected=m._rej.sum().cast("int64"),
    )
    sql_at = j[reached_col(sql)]
    nxt = keys[keys.index(sql) + 1 :] if keys.index(sql) + 1 < len(keys) else []
    advanced = _first_of(j, nxt).notnull() if nxt else ibis.literal(False)
    sql_rejected, _ = _rejection(j, cfg, sql_at)
    s = j.filter(in_local_days(sql_at, start, end)).mutate(
        period=period_of(sql_at, period), _bad=sql_rejected & ~advanced
    )
    sq = s.group_by(grouped).agg(sqls=s.count(), sqls_rejected=s._bad.sum().cast("int64"))
    out = merge_on_keys([mq, sq], grouped)
    zero = ibis.literal(0, type="int64")
    out = out.mutate(
        mqls=out.mqls.fill_null(zero),
        accepted=out.accepted.fill_null(zero),
        rejected=out.rejected.fill_null(zero),
        sqls=out.sqls.fill_null(zero),
        sqls_rejected=out.sqls_rejected.fill_null(zero),
    )
    decided = out.accepted + out.rejected
    out = out.mutate(
        pending=out.mqls - decided,
        acceptance_rate=ibis.cases(
            (decided > 0, out.accepted / decided.cast("float64")), else_=None
        ),
        sql_quality=ibis.cases(
            (out.sqls > 0, 1.0 - out.sqls_rejected / out.sqls.cast("float64")), else_=None
        ),
    )
    return out.select(
        *grouped,
        "mqls",
        "accepted",
        "rejected",
        "pending",
        "acceptance_rate",
        "sqls",
        "sqls_rejected",
        "sql_quality",
    ).order_by(grouped)


def rejections_by_reason(
    tables: Tables,
    cfg: ProjectConfig,
    *,
    period: str,
    start: object,
    end: object,
    fields: Sequence[str] = (),
) -> ir.Table:
    """Columns: period, fields…, reason, rejected, share (of the period's rejections)."""
    c = classify_mqls(tables, cfg, fields=fields)
    c = c.filter((c.decision == "rejected") & in_local_days(c.mql_at, start, end))
    c = c.mutate(period=period_of(c.mql_at, period))
    keys = ["period", *fields]
    by = c.group_by([*keys, "reason"]).agg(rejected=c.count())
    w = ibis.window(group_by=[by[k] for k in keys])
    return by.mutate(share=by.rejected / by.rejected.sum().over(w).cast("float64")).order_by(
        [*keys, ibis.desc("rejected"), "reason"]
    )
