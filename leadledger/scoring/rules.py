"""Rule-based lead scoring as Ibis expressions (pure: no connection, no SQL text).

A lead's score as of an instant is the sum of its groups' points; a group's points are the sum of
its rules' points, limited to the group's ``floor``/``cap``; a rule's points are limited to its
own ``cap``. Caps apply **after decay** ("engagement can never exceed 50 today").

- Attribute rules (``lead:`` only) test the current lead (``derived.current_leads``):
  ``points`` when the condition holds.
- Touch rules (``touch:``) look at the lead's touches with ``at <= as_of`` that match the filter
  and are inside the rule's window (``expire_after_days``, ``count.within_days``). The rule fires
  when at least ``count.at_least`` (default 1) touches are eligible. Each touch weighs
  ``0.5 ** (age_days / half_life)`` (1 without decay); ``per: occurrence`` gives
  ``points × Σ weight``, ``per: match`` gives ``points × weight of the latest touch``. A ``lead:``
  condition on a touch rule limits it to the leads meeting it.

Every touch rule is one conditional aggregate of a single pass over the touches, grouped by lead;
attribute rules are columns of one projection of the leads (measured: see BENCHMARKS.md,
section ``scoring``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from leadledger.config.models import (
    LeadCondition,
    Pattern,
    Scoring,
    ScoringGroup,
    ScoringRule,
    TouchFilter,
)
from leadledger.ledger.clock import DAY, epoch_seconds
from leadledger.ledger.derived import Tables, current_leads

#: The rule name of the ledger line that brings a group's sum back within its cap or floor.
GROUP_CAP = "(group cap)"
#: A number as ``range`` reads it from a text attribute (the same on DuckDB and PostgreSQL).
NUMBER_RE = r"^\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$"
FIT_GRADES = ("A", "B", "C", "D")
ENGAGEMENT_GRADES = ("1", "2", "3", "4")
LEDGER_COLUMNS = [
    "lead_id",
    "group",
    "rule",
    "matches",
    "raw_points",
    "decayed_points",
    "points",
    "at",
]


@dataclasses.dataclass(frozen=True)
class RuleSpec:
    """A rule with everything the expression needs resolved (index, group, half-life)."""

    index: int
    group: ScoringGroup
    rule: ScoringRule
    half_life: float | None
    window: float | None

    @property
    def is_touch(self) -> bool:
        return self.rule.touch is not None

    @property
    def at_least(self) -> int:
        return self.rule.count.at_least if self.rule.count else 1


def specs(scoring: Scoring) -> list[RuleSpec]:
    out = []
    for i, (group, rule) in enumerate(scoring.rules):
        half = None
        if rule.touch is not None and rule.decay:
            half = rule.half_life_days or group.half_life_days or scoring.half_life_days
        windows = [
            w
            for w in (rule.expire_after_days, rule.count.within_days if rule.count else None)
            if w is not None
        ]
        out.append(RuleSpec(i, group, rule, half, min(windows) if windows else None))
    return out


def as_of_literal(as_of: Any) -> ir.TimestampScalar:
    ts = pd.Timestamp(as_of)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ibis.literal(ts.to_pydatetime(), type="timestamp('UTC')")


def _epoch(as_of: Any) -> float:
    ts = pd.Timestamp(as_of)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.value / 1e9


# -- conditions ------------------------------------------------------------------------------------
def _texts(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [_text(v) for v in items if v is not None]


def _text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def lead_condition(t: ir.Table, cond: LeadCondition) -> ir.BooleanValue:
    """Whether the lead meets ``cond`` (never NULL: a missing value fails every test but
    ``missing`` and the negated ones)."""
    col = t[cond.field].cast("string")
    op = cond.op
    present = col.notnull() & (col.strip() != "")
    if op == "missing":
        return ~present
    if op == "present":
        return present
    if op in ("equals", "in"):
        return col.isin(_texts(cond.value)).fill_null(False)
    if op in ("not_equals", "not_in"):
        return ~col.isin(_texts(cond.value)).fill_null(False)
    if op == "regex":
        return col.re_search(str(cond.value)).fill_null(False)
    if op == "not_regex":
        return ~col.re_search(str(cond.value)).fill_null(False)
    if op == "range":
        number = ibis.cases((col.re_search(NUMBER_RE), col.strip().cast("float64")), else_=None)
        ok = number.notnull()
        if cond.min is not None:
            ok &= number >= cond.min
        if cond.max is not None:
            ok &= number < cond.max
        return ok.fill_null(False)
    raise ValueError(f"unknown operator {op!r}")  # the config loader refuses it first


def _match(col: ir.StringValue, spec: list[str] | Pattern) -> ir.BooleanValue | None:
    if isinstance(spec, Pattern):
        return col.re_search(spec.regex).fill_null(False)
    if not spec:
        return None
    return col.isin(list(spec)).fill_null(False)


def touch_condition(t: ir.Table, flt: TouchFilter) -> ir.BooleanValue:
    cond: ir.BooleanValue = ibis.literal(True)
    for name in ("kind", "channel", "campaign", "page"):
        m = _match(t[name], getattr(flt, name))
        if m is not None:
            cond &= m
    return cond


# -- the scoring expression ---------------------------------------------------------------------
def _lead_fields(scoring: Scoring) -> list[str]:
    return sorted({r.lead.field for _, r in scoring.rules if r.lead is not None})


def scored_leads(tables: Tables, scoring: Scoring, as_of: Any) -> ir.Table:
    """The leads that exist at ``as_of`` (created at or before it), with the fields the rules
    test."""
    leads = current_leads(tables)
    leads = leads.filter(leads.created_at <= as_of_literal(as_of))
    return leads.select("lead_id", "created_at", *_lead_fields(scoring))


def eligible_touches(tables: Tables, spec: RuleSpec, as_of: Any) -> ir.Table:
    """The touches a touch rule looks at, with ``age_days`` and ``weight`` columns."""
    assert spec.rule.touch is not None
    t = tables["touches"]
    t = t.filter(t.lead_id.notnull() & (t.at <= as_of_literal(as_of)))
    t = t.mutate(age_days=(ibis.literal(_epoch(as_of)) - epoch_seconds(t.at)) / DAY)
    cond = touch_condition(t, spec.rule.touch)
    if spec.window is not None:
        cond &= t.age_days <= spec.window
    t = t.filter(cond)
    return t.mutate(weight=_weight(t.age_days, spec.half_life))


def _weight(age_days: ir.FloatingValue, half_life: float | None) -> ir.FloatingValue:
    if half_life is None:
        return ibis.literal(1.0)
    return ibis.literal(0.5) ** (age_days / half_life)


def _touch_aggregates(tables: Tables, touch_specs: Sequence[RuleSpec], as_of: Any) -> ir.Table:
    """One row per lead with touches: ``_n{i}`` eligible touches, ``_w{i}`` their summed
    (occurrence) or largest (match) weight, ``_at{i}`` the latest, for every touch rule ``i``.
    One scan of the touches, one conditional aggregate per rule."""
    t = tables["touches"]
    t = t.filter(t.lead_id.notnull() & (t.at <= as_of_literal(as_of)))
    needs_age = any(s.window is not None or s.half_life is not None for s in touch_specs)
    if needs_age:
        t = t.mutate(_age=(ibis.literal(_epoch(as_of)) - epoch_seconds(t.at)) / DAY)
    conds = []
    for s in touch_specs:
        assert s.rule.touch is not None
        cond = touch_condition(t, s.rule.touch)
        if s.window is not None:
            cond &= t._age <= s.window
        conds.append(cond)
    any_rule = conds[0]
    for c in conds[1:]:
        any_rule |= c
    t = t.filter(any_rule)
    aggs: dict[str, ir.Value] = {}
    for s in touch_specs:
        assert s.rule.touch is not None
        # the conditions again, on the filtered table
        cond = touch_condition(t, s.rule.touch)
        if s.window is not None:
            cond &= t._age <= s.window
        i = s.index
        aggs[f"_n{i}"] = t.count(where=cond)
        if s.half_life is not None:
            w = _weight(t._age, s.half_life)
            aggs[f"_w{i}"] = w.sum(where=cond) if s.rule.per == "occurrence" else w.max(where=cond)
        aggs[f"_at{i}"] = t.at.max(where=cond)
    return t.group_by("lead_id").agg(**aggs)


def _clip(x: ir.NumericValue, low: float | None, high: float | None) -> ir.NumericValue:
    if high is not None:
        x = ibis.least(x, high)
    if low is not None:
        x = ibis.greatest(x, low)
    return x


def rule_table(tables: Tables, scoring: Scoring, as_of: Any) -> ir.Table:
    """One row per scored lead, with for every rule ``i``: ``n{i}`` (matches: 1 for a met
    attribute rule, eligible touches of a fired touch rule, else 0), ``raw{i}`` (points before
    decay and caps), ``dec{i}`` (after decay), ``pts{i}`` (after the rule's cap), ``at{i}``; and
    for every group ``sum_<group>`` (Σ pts) and ``g_<group>`` (after the group's cap/floor)."""
    all_specs = specs(scoring)
    leads = scored_leads(tables, scoring, as_of)
    touch_specs = [s for s in all_specs if s.is_touch]
    if touch_specs:
        agg = _touch_aggregates(tables, touch_specs, as_of)
        joined = leads.left_join(agg, leads.lead_id == agg.lead_id)
        base = joined.select(
            *[leads[c] for c in leads.columns], *[agg[c] for c in agg.columns if c != "lead_id"]
        )
    else:
        base = leads
    as_of_ts = as_of_literal(as_of)
    zero = ibis.literal(0.0)
    cols: dict[str, ir.Value] = {}
    for s in all_specs:
        r, i = s.rule, s.index
        lead_ok = lead_condition(base, r.lead) if r.lead is not None else None
        if not s.is_touch:
            assert lead_ok is not None
            hit = lead_ok
            cols[f"n{i}"] = ibis.cases((hit, 1), else_=0).cast("int64")
            cols[f"raw{i}"] = ibis.cases((hit, r.points), else_=zero)
            cols[f"dec{i}"] = cols[f"raw{i}"]
            cols[f"at{i}"] = ibis.cases((hit, as_of_ts), else_=ibis.null("timestamp('UTC')"))
        else:
            n = base[f"_n{i}"].fill_null(0)
            fired = n >= s.at_least
            if lead_ok is not None:
                fired &= lead_ok
            count = n.cast("float64")
            raw = r.points * (count if r.per == "occurrence" else ibis.literal(1.0))
            dec = raw if s.half_life is None else r.points * base[f"_w{i}"].fill_null(0.0)
            cols[f"n{i}"] = ibis.cases((fired, n), else_=0).cast("int64")
            cols[f"raw{i}"] = ibis.cases((fired, raw), else_=zero)
            cols[f"dec{i}"] = ibis.cases((fired, dec), else_=zero)
            cols[f"at{i}"] = ibis.cases((fired, base[f"_at{i}"]), else_=None)
        cap = r.cap
        cols[f"pts{i}"] = _clip(cols[f"dec{i}"], -cap, cap) if cap is not None else cols[f"dec{i}"]
    out = base.select("lead_id", "created_at", **cols)
    groups: dict[str, ir.Value] = {}
    for g in scoring.groups:
        parts = [out[f"pts{s.index}"] for s in all_specs if s.group is g]
        total: ir.NumericValue = zero
        for p in parts:
            total = total + p
        groups[f"sum_{g.name}"] = total
    out = out.mutate(**groups)
    capped = {f"g_{g.name}": _clip(out[f"sum_{g.name}"], g.floor, g.cap) for g in scoring.groups}
    return out.mutate(**capped)


def _grade(points: ir.NumericValue, bands: Sequence[float], names: Sequence[str]) -> ir.Value:
    cases = [(points >= b, names[k]) for k, b in enumerate(bands)]
    return ibis.cases(*cases, else_=names[len(bands)])


def lead_scores(tables: Tables, scoring: Scoring, as_of: Any) -> ir.Table:
    """One row per lead that exists at ``as_of``: lead_id, score, ``<group>`` points (after the
    group's cap), fit_grade (A–D), engagement_grade (1–4) and grade (e.g. ``A1``); grades are
    NULL when not configured."""
    w = rule_table(tables, scoring, as_of)
    total: ir.NumericValue = ibis.literal(0.0)
    for g in scoring.groups:
        total = total + w[f"g_{g.name}"]
    fit = scoring.grades.fit
    eng = scoring.grades.engagement
    null = ibis.null("string")
    fit_grade = _grade(w[f"g_{fit.group}"], fit.bands, FIT_GRADES) if fit else null
    eng_grade = _grade(w[f"g_{eng.group}"], eng.bands, ENGAGEMENT_GRADES) if eng else null
    out = w.select(
        "lead_id",
        "created_at",
        score=total,
        fit_grade=fit_grade,
        engagement_grade=eng_grade,
        **{f"group_{g.name}": w[f"g_{g.name}"] for g in scoring.groups},
    )
    return out.mutate(grade=out.fit_grade.concat(out.engagement_grade))


def ledger(tables: Tables, scoring: Scoring, as_of: Any) -> ir.Table:
    """The points ledger: one row per (lead, rule that gave points), plus one ``(group cap)`` row
    per lead and group whose sum the group's cap or floor changed. Σ ``points`` of a lead = its
    score. Columns: lead_id, group, rule, matches, raw_points (before decay and caps),
    decayed_points, points (after the rule's cap; the cap row holds the group adjustment), at
    (the latest touch counted, or the as-of for attribute and cap rows)."""
    w = rule_table(tables, scoring, as_of)
    return ledger_from(w, scoring, as_of)


def ledger_from(w: ir.Table, scoring: Scoring, as_of: Any) -> ir.Table:
    as_of_ts = as_of_literal(as_of)
    parts = []
    for s in specs(scoring):
        i = s.index
        parts.append(
            w.filter(w[f"n{i}"] > 0).select(
                lead_id=w.lead_id,
                group=ibis.literal(s.group.name),
                rule=ibis.literal(s.rule.name),
                matches=w[f"n{i}"],
                raw_points=w[f"raw{i}"],
                decayed_points=w[f"dec{i}"],
                points=w[f"pts{i}"],
                at=w[f"at{i}"].cast("timestamp('UTC')"),
            )
        )
    for g in scoring.groups:
        if g.cap is None and g.floor is None:
            continue
        diff = w[f"g_{g.name}"] - w[f"sum_{g.name}"]
        parts.append(
            w.filter(diff != 0).select(
                lead_id=w.lead_id,
                group=ibis.literal(g.name),
                rule=ibis.literal(GROUP_CAP),
                matches=ibis.literal(0, type="int64"),
                raw_points=ibis.literal(0.0),
                decayed_points=ibis.literal(0.0),
                points=diff,
                at=as_of_ts,
            )
        )
    if not parts:
        return w.filter(ibis.literal(False)).select(
            lead_id=w.lead_id,
            group=ibis.literal("", type="string"),
            rule=ibis.literal("", type="string"),
            matches=ibis.literal(0, type="int64"),
            raw_points=ibis.literal(0.0),
            decayed_points=ibis.literal(0.0),
            points=ibis.literal(0.0),
            at=as_of_ts,
        )
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p, distinct=False)
    return out


def touch_detail(tables: Tables, scoring: Scoring, as_of: Any, lead_id: str) -> ir.Table | None:
    """Every touch of one lead that a touch rule looks at: rule, touch_id, at, kind, channel,
    campaign, page, age_days, weight (for ``score explain``). None without touch rules."""
    parts = []
    for s in specs(scoring):
        if not s.is_touch:
            continue
        t = eligible_touches(tables, s, as_of)
        t = t.filter(t.lead_id == lead_id)
        parts.append(
            t.select(
                rule=ibis.literal(s.rule.name),
                touch_id=t.touch_id,
                at=t.at,
                kind=t.kind,
                channel=t.channel,
                campaign=t.campaign,
                page=t.page,
                age_days=t.age_days,
                weight=t.weight.cast("float64"),
            )
        )
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p, distinct=False)
    return out


def rule_matches(tables: Tables, scoring: Scoring, as_of: Any) -> ir.Table:
    """Leads each rule gives points to at ``as_of`` (``validate``'s "matches no lead" warning):
    one row, a ``n{i}`` count per rule."""
    w = rule_table(tables, scoring, as_of)
    return w.agg(**{f"n{s.index}": w.count(where=w[f"n{s.index}"] > 0) for s in specs(scoring)})
