"""What-if (seed 004): change a rate, a cost or a volume and follow it downstream, in money.

The model is the funnel per channel over a history window: leads × lead→MQL × MQL→SQL × close
rate = customers; customers × deal size = revenue; ROI = (revenue − cost) ÷ cost. With the
measured flow ratios the baseline gives back the window's own customers exactly. A change of a
channel's spend changes its leads at its measured cost per lead (constant cost per lead: the
simplest model that a reader can check, and named in the output); costs not tagged to a channel
(salaries, tools) stay fixed.

Overrides are ``KEY[.CHANNEL]=VALUE``: KEY one of ``leads``, ``lead_to_mql``, ``mql_to_sql``,
``close_rate``, ``deal_size``, ``cost``; VALUE an absolute number (``0.3``, ``60000``), a relative
change (``+20%``, ``-10%``) or, for rates, a change in points (``+2pt``). Without ``.CHANNEL`` a
change applies to every channel.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

RATE_KEYS = ("lead_to_mql", "mql_to_sql", "close_rate")
KEYS = ("leads", *RATE_KEYS, "deal_size", "cost")
_VALUE = re.compile(
    r"^\s*(?P<sign>[+-])?\s*(?P<num>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>%|pt|pp)?\s*$", re.IGNORECASE
)


class OverrideError(ValueError):
    """An override that cannot be parsed or applied; the message says what was expected."""


@dataclasses.dataclass(frozen=True)
class Override:
    key: str
    channel: str | None
    #: ``set`` (absolute), ``relative`` (a factor − 1) or ``points`` (rates, in 0–1 units).
    mode: str
    amount: float
    text: str

    def apply(self, value: float) -> float:
        if self.mode == "set":
            return self.amount
        if self.mode == "relative":
            return value * (1 + self.amount)
        return value + self.amount


def parse_override(text: str, channels: Sequence[str]) -> Override:
    """``close_rate=0.3``, ``cost.paid_search=+20%``, ``lead_to_mql=+2pt``."""
    if "=" not in text:
        raise OverrideError(f"'{text}' is not KEY=VALUE (e.g. close_rate=0.3)")
    target, raw = (part.strip() for part in text.split("=", 1))
    key, _, channel = target.partition(".")
    if key not in KEYS:
        raise OverrideError(f"'{key}' is not something a what-if can change; use {', '.join(KEYS)}")
    if channel and channel not in channels:
        raise OverrideError(
            f"'{channel}' is not a channel of the baseline; channels: {', '.join(channels)}"
        )
    m = _VALUE.match(raw)
    if not m:
        raise OverrideError(f"'{raw}' is not a value: use 0.3, 60000, +20%, -10% or +2pt")
    num = float(m.group("num"))
    sign = -1.0 if m.group("sign") == "-" else 1.0
    unit = (m.group("unit") or "").lower()
    if unit in ("%", "pt", "pp") and not m.group("sign"):
        raise OverrideError(
            f"'{raw}' without a sign is ambiguous: write +{num:g}{unit} for a change, or an "
            "absolute value (0.3 for 30 %)"
        )
    if unit == "%":
        mode, amount = "relative", sign * num / 100
    elif unit in ("pt", "pp"):
        if key not in RATE_KEYS:
            raise OverrideError(f"points (+{num:g}pt) apply to rates only, not to {key}")
        mode, amount = "points", sign * num / 100
    elif m.group("sign"):
        raise OverrideError(
            f"'{raw}': a signed number is ambiguous; write +20% (relative), +2pt (points) or an "
            "absolute value without a sign"
        )
    else:
        mode, amount = "set", num
    if mode == "set" and key in RATE_KEYS and not 0 <= amount <= 1:
        raise OverrideError(f"{key} must be between 0 and 1, not {amount:g}")
    return Override(key, channel or None, mode, amount, text)


#: Columns of a baseline frame, one row per channel.
BASELINE_COLUMNS = ("channel", "leads", *RATE_KEYS, "deal_size", "cost")


def apply(
    baseline: pd.DataFrame, overrides: Iterable[Override], *, cap_rates: bool = False
) -> pd.DataFrame:
    """A scenario: the baseline with the overrides applied in order. A spend change moves the
    channel's leads at its cost per lead; a channel without spend keeps its leads.

    A rate pushed above 1 is an error, unless ``cap_rates`` (the sensitivity table: a channel
    whose rate is already 100 % cannot gain from "+1 point" and stays at 100 %)."""
    records: list[dict[str, Any]] = [
        {str(k): v for k, v in rec.items()} for rec in baseline.to_dict(orient="records")
    ]
    for o in overrides:
        for rec in records:
            if o.channel and rec["channel"] != o.channel:
                continue
            old = float(rec[o.key])
            new = o.apply(old)
            if cap_rates and o.key in RATE_KEYS and new > 1:
                new = 1.0
            if o.key in RATE_KEYS and not 0 <= new <= 1:
                raise OverrideError(
                    f"{o.text} gives {o.key} = {new:g} for {rec['channel']}: a rate must "
                    "stay between 0 and 1"
                )
            if new < 0:
                raise OverrideError(f"{o.text} gives a negative {o.key} for {rec['channel']}")
            if o.key == "cost" and old > 0:
                rec["leads"] = float(rec["leads"]) * new / old
            rec[o.key] = new
    return pd.DataFrame(records, columns=baseline.columns)


def outcomes(frame: pd.DataFrame) -> pd.DataFrame:
    """Per channel: leads, mqls, sqls, customers, revenue, cost (expected values, unrounded)."""
    out = frame[["channel"]].copy()
    out["leads"] = frame["leads"].astype(float)
    out["mqls"] = out["leads"] * frame["lead_to_mql"]
    out["sqls"] = out["mqls"] * frame["mql_to_sql"]
    out["customers"] = out["sqls"] * frame["close_rate"]
    out["revenue"] = out["customers"] * frame["deal_size"]
    out["cost"] = frame["cost"].astype(float)
    return out


def totals(frame: pd.DataFrame, overhead: float) -> dict[str, float | None]:
    """Whole-funnel figures of a scenario; ``overhead`` is the spend not tagged to a channel."""
    o = outcomes(frame)
    t: dict[str, float | None] = {
        k: float(o[k].sum()) for k in ("leads", "mqls", "sqls", "customers", "revenue")
    }
    cost = float(o["cost"].sum()) + overhead
    t["cost"] = cost
    revenue = t["revenue"] or 0.0
    customers = t["customers"] or 0.0
    t["roi"] = (revenue - cost) / cost if cost > 0 else None
    t["roas"] = revenue / cost if cost > 0 else None
    t["cac"] = cost / customers if customers > 0 else None
    return t


def sensitivity(frame: pd.DataFrame, overhead: float) -> pd.DataFrame:
    """Revenue change for +1 point and +10 % of each lever, by re-running the model."""
    base = totals(frame, overhead)["revenue"] or 0.0
    levers: list[tuple[str, str | None, str]] = [
        *[(k, None, k) for k in RATE_KEYS],
        ("deal_size", None, "deal_size"),
        ("leads", None, "leads"),
        *[
            ("cost", str(ch), f"cost.{ch}")
            for ch, cost in zip(frame["channel"], frame["cost"], strict=True)
            if cost > 0
        ],
    ]
    rows = []
    pts: list[float | None] = []
    for key, channel, name in levers:
        sel = frame if channel is None else frame[frame["channel"] == channel]
        weights = sel["leads"] if key in RATE_KEYS else None
        value = (
            float((sel[key] * weights).sum() / weights.sum())
            if weights is not None and weights.sum() > 0
            else float(sel[key].sum() if key in ("leads", "cost") else sel[key].mean())
        )
        pt = None
        if key in RATE_KEYS:
            bumped = apply(
                frame, [Override(key, channel, "points", 0.01, f"{name}=+1pt")], cap_rates=True
            )
            pt = (totals(bumped, overhead)["revenue"] or 0.0) - base
        pts.append(pt)
        ten = apply(
            frame, [Override(key, channel, "relative", 0.10, f"{name}=+10%")], cap_rates=True
        )
        rows.append(
            {
                "lever": name,
                "value": value,
                "revenue_change_plus_1pt": pt,
                "revenue_change_plus_10pct": (totals(ten, overhead)["revenue"] or 0.0) - base,
            }
        )
    out = pd.DataFrame(rows)
    candidates = [(p, i) for i, p in enumerate(pts) if p is not None]
    # the largest change; the first lever listed on a tie
    best = max(candidates, key=lambda pi: (pi[0], -pi[1]))[1] if candidates else None
    out["moves_revenue_most"] = [i == best for i in range(len(rows))]
    return out
