"""Rule-based models: each touch of a journey gets a weight; the weights of a journey sum to 1.

The weights are Ibis expressions on the touches (joined with their journey), so the credits of
these models are computed in the engine, one grouped query each, without window functions (the
touches come numbered; what a model needs per journey is a group-by). On aggregated paths
(``JourneySet.arrays``) first/last touch read the first/last array element and linear unnests
the array with weight 1/length, without numbering the touches.

Position models name *milestone* touches and their weights; the rest of the credit (``rest``) is
spread evenly over the journey's other touches. Milestones that fall on the same touch add
their weights on it. When a journey has no other touch (every touch is a milestone), the rest is
shared by the milestone touches in proportion to their weights (the weights are divided by
``1 − rest``), so a journey's weights always sum to 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import ibis
import ibis.expr.types as ir

from leadledger.attribution.paths import JourneySet


class Model:
    """An attribution model: a name, what it needs, and how it credits."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    #: Needs CRM milestones (lead creation, opportunity creation): not on a paths file.
    needs_milestones: ClassVar[bool] = False
    #: Needs touch times: not on a paths file.
    needs_times: ClassVar[bool] = False
    #: Learns from non-converting journeys too.
    needs_nulls: ClassVar[bool] = False
    #: Credits may be negative (Shapley).
    may_be_negative: ClassVar[bool] = False
    #: The CRM moments whose touches the model uses (``lead``, ``opportunity``): located on the
    #: ledger only when a model asks for them (each costs a join).
    crm_moments: ClassVar[frozenset[str]] = frozenset()


class WeightModel(Model):
    """A model whose credit is a weight per touch computed in the engine."""

    def weight(self, t: ir.Table) -> ir.FloatingValue:
        """The touch's share of its journey (``t``: touches joined with their journey)."""
        raise NotImplementedError

    def credits(self, js: JourneySet) -> ir.Table:
        """Credited conversions and value per key. Columns: key, conversions, value."""
        t = converting_touches(js)
        return credited(t, self.weight(t))


def converting_touches(js: JourneySet) -> ir.Table:
    """The touches of converting journeys, with their journey's columns."""
    j = js.converting().select("journey_id", "conversions", "value", "n", "lead_pos", "opp_pos")
    return js.touches.join(j, "journey_id")


def credited(t: ir.Table, weight: ir.FloatingValue) -> ir.Table:
    """Σ weight × conversions (value) per key."""
    t = t.mutate(_w=weight.cast("float64"))
    return t.group_by(t.key).agg(
        conversions=(t._w * t.conversions).sum(), value=(t._w * t.value).sum()
    )


def whole(t: ir.Table) -> ir.Table:
    """Every conversion (value) of the touches ``t`` to their key: one touch per journey."""
    return t.group_by(t.key).agg(conversions=t.conversions.sum(), value=t.value.sum())


class FirstTouch(WeightModel):
    name = "first_touch"
    summary = "all credit to the first touch in the window"

    def weight(self, t: ir.Table) -> ir.FloatingValue:
        return (t.pos == 1).ifelse(1.0, 0.0)

    def credits(self, js: JourneySet) -> ir.Table:
        if js.arrays is not None:
            a = js.arrays.filter(js.arrays.conversions > 0)
            return whole(a.select(key=a["keys"][0], conversions=a.conversions, value=a.value))
        j = js.converting().select("journey_id", "conversions", "value")
        first = js.touches.filter(js.touches.pos == 1)
        return whole(first.join(j, "journey_id"))


class LastTouch(WeightModel):
    name = "last_touch"
    summary = "all credit to the last touch before the conversion"

    def weight(self, t: ir.Table) -> ir.FloatingValue:
        return (t.pos == t.n).ifelse(1.0, 0.0)

    def credits(self, js: JourneySet) -> ir.Table:
        if js.arrays is not None:
            a = js.arrays.filter(js.arrays.conversions > 0)
            return whole(a.select(key=a["keys"][-1], conversions=a.conversions, value=a.value))
        j = js.converting().select("journey_id", "conversions", "value", "n")
        t = js.touches
        last = t.join(j, (t.journey_id == j.journey_id) & (t.pos == j.n))
        return whole(last.select(t.key, j.conversions, j.value))


class LastNonDirect(WeightModel):
    name = "last_non_direct"
    summary = "all credit to the last touch not on a direct channel (else the last touch)"

    def __init__(self, direct_channels: Sequence[str] = ("direct",)) -> None:
        self.direct = list(direct_channels)

    def credits(self, js: JourneySet) -> ir.Table:
        j = js.converting().select("journey_id", "conversions", "value", "n")
        t = js.touches
        if self.direct:
            # the position of each journey's last non-direct touch: a group-by, not a window
            nd = t.filter(~t.channel.isin(self.direct))
            last_nd = nd.group_by("journey_id").agg(_p=nd.pos.max())
            j = j.left_join(last_nd, j.journey_id == last_nd.journey_id).select(
                j.journey_id, j.conversions, j.value, _p=last_nd._p.coalesce(j.n)
            )
        else:
            j = j.select("journey_id", "conversions", "value", _p=j.n)
        chosen = t.join(j, (t.journey_id == j.journey_id) & (t.pos == j._p))
        return whole(chosen.select(t.key, j.conversions, j.value))


class Linear(WeightModel):
    name = "linear"
    summary = "equal credit to every touch"

    def weight(self, t: ir.Table) -> ir.FloatingValue:
        return 1.0 / t.n.cast("float64")

    def credits(self, js: JourneySet) -> ir.Table:
        if js.arrays is None:
            return super().credits(js)
        # every element of the path, weight 1/length: no positions needed
        a = js.arrays.filter(js.arrays.conversions > 0)
        share = 1.0 / a.n.cast("float64")
        u = a.select(key=a["keys"].unnest(), _w=share, conversions=a.conversions, value=a.value)
        return credited(u, u._w)


def row_credits(
    touches: ir.Table, journeys: ir.Table, *, order_by: Sequence[str], first_aggregate: bool = False
) -> ir.Table:
    """First touch, last touch and linear from unnumbered touch rows, in one query: no paths.

    These three models need, per converting journey, only its first and last touch and its
    touches per key, so they are computed from the touch rows (``journey_id``, ``key`` and the
    columns ``order_by``, e.g. time then a tie-breaker; ``key`` never null, as the ledger's
    and a paths file's keys are) by group-bys, without numbering the
    touches or aggregating paths. ``journeys``: ``journey_id``, ``conversions``, ``value``.
    Columns: ``model`` (``first_touch``, ``last_touch``, ``linear``), ``key``, ``conversions``,
    ``value``. The same credits as :class:`FirstTouch`, :class:`LastTouch` and :class:`Linear`
    on the numbered touches (a property test checks it).

    A journey's first and last key come from an ordered list (portable) or, with
    ``first_aggregate``, from an ordered ``FIRST`` aggregate: on DuckDB 1.5 that is 2–3× faster,
    but PostgreSQL has no ``first`` aggregate, so ask for it on DuckDB only."""
    j = journeys.filter(journeys.conversions > 0).select("journey_id", "conversions", "value")
    t = touches.select("journey_id", "key", *order_by)
    t = t.join(j, "journey_id")
    order = [t[c] for c in order_by]
    desc = [o.desc() for o in order]
    if first_aggregate:
        first, last = t.key.first(order_by=order), t.key.first(order_by=desc)
    else:
        first, last = t.key.collect(order_by=order)[0], t.key.collect(order_by=desc)[0]
    per = t.group_by("journey_id").agg(
        first=first,
        last=last,
        n=t.count(),
        conversions=t.conversions.max(),
        value=t.value.max(),
    )
    pk = t.group_by("journey_id", "key").agg(k=t.count())
    lin = pk.join(per, "journey_id")
    share = lin.k.cast("float64") / lin.n.cast("float64")
    parts = [
        per.select(
            model=ibis.literal("first_touch"),
            key=per["first"],
            w=ibis.literal(1.0),
            conversions=per.conversions,
            value=per.value,
        ),
        per.select(
            model=ibis.literal("last_touch"),
            key=per["last"],
            w=ibis.literal(1.0),
            conversions=per.conversions,
            value=per.value,
        ),
        lin.select(
            model=ibis.literal("linear"),
            key=lin.key,
            w=share,
            conversions=lin.conversions,
            value=lin.value,
        ),
    ]
    u = ibis.union(*parts)
    return u.group_by("model", "key").agg(
        conversions=(u.w * u.conversions).sum(), value=(u.w * u.value).sum()
    )


class PositionModel(WeightModel):
    """Milestone touches with fixed weights, the rest spread over the other touches."""

    #: (milestone, weight); milestones: "first", "lead", "opportunity", "last".
    milestones: ClassVar[tuple[tuple[str, float], ...]] = ()
    rest: ClassVar[float] = 0.0

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        cls.crm_moments = frozenset(m for m, _ in cls.milestones if m in ("lead", "opportunity"))

    def _position(self, t: ir.Table, milestone: str) -> ir.IntegerValue:
        return {
            "first": ibis.literal(1).cast("int64"),
            "last": t.n,
            "lead": t.lead_pos,
            "opportunity": t.opp_pos,
        }[milestone]

    def weight(self, t: ir.Table) -> ir.FloatingValue:
        pos = [(self._position(t, m), w) for m, w in self.milestones]
        on_milestones: ir.FloatingValue = ibis.literal(0.0)
        is_milestone: ir.BooleanValue = ibis.literal(False)
        distinct: ir.IntegerValue = ibis.literal(0).cast("int64")
        for i, (p, w) in enumerate(pos):
            on_milestones = on_milestones + (t.pos == p).ifelse(w, 0.0)
            is_milestone = is_milestone | (t.pos == p)
            new: ir.BooleanValue = ibis.literal(True)
            for q, _ in pos[:i]:
                new = new & (p != q)
            distinct = distinct + new.ifelse(1, 0)
        others = t.n - distinct
        spread = is_milestone.ifelse(on_milestones, self.rest / others.cast("float64"))
        alone = on_milestones / (1.0 - self.rest)
        return (others > 0).ifelse(spread, alone)


class UShaped(PositionModel):
    name = "u_shaped"
    summary = "40 % first touch, 40 % lead-creation touch, 20 % over the others"
    milestones = (("first", 0.4), ("lead", 0.4))
    rest = 0.2


class WShaped(PositionModel):
    name = "w_shaped"
    summary = "30 % each first, lead-creation and opportunity-creation touch, 10 % over the others"
    needs_milestones = True
    milestones = (("first", 0.3), ("lead", 0.3), ("opportunity", 0.3))
    rest = 0.1


class FullPath(PositionModel):
    name = "full_path"
    summary = (
        "22.5 % each first, lead-creation, opportunity-creation and conversion touch, "
        "10 % over the others"
    )
    needs_milestones = True
    milestones = (("first", 0.225), ("lead", 0.225), ("opportunity", 0.225), ("last", 0.225))
    rest = 0.1


class JShaped(PositionModel):
    name = "j_shaped"
    summary = "20 % first touch, 60 % last touch, 20 % over the others"
    milestones = (("first", 0.2), ("last", 0.6))
    rest = 0.2


class InverseJ(PositionModel):
    name = "inverse_j"
    summary = "60 % first touch, 20 % last touch, 20 % over the others"
    milestones = (("first", 0.6), ("last", 0.2))
    rest = 0.2
