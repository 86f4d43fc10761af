"""The stage events: each lead's walk through the funnel (lead → mql → sal → sql → opportunity
→ customer, with skips, rejections, recycling and going cold), in business hours, with delays
that differ by stage, channel and segment; and the stages file."""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadledger.demo.calendar import DAY, I64, Calendar, Timeline
from leadledger.demo.campaigns import Campaigns
from leadledger.demo.columns import pick, strings, timestamps
from leadledger.demo.draws import choice, outcomes
from leadledger.demo.leads import Leads
from leadledger.demo.vocabulary import (
    AES,
    CH,
    CHANNELS,
    CUSTOMER,
    DISQUALIFIED,
    LEAD,
    LOST,
    MQL,
    OPP,
    PAGE_MQL,
    PAGE_SKIP,
    PERSONA_MULT,
    REASONS,
    RECYCLED,
    SAL,
    SDRS,
    SEGMENT_MULT,
    SQL,
    STAGES,
    R,
)


class Events:
    """Stage events collected per step: lead index, stage, local time, reason, owner kind."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, int, np.ndarray, np.ndarray, int]] = []

    def add(
        self,
        idx: np.ndarray,
        stage: int,
        t: np.ndarray,
        reason: np.ndarray | None = None,
        owner: int = 0,
    ) -> None:
        if idx.size:
            r = np.full(idx.size, -1, dtype=np.int8) if reason is None else reason
            self.parts.append((idx, stage, t, r, owner))


@dataclasses.dataclass(frozen=True)
class Funnel:
    """What the walk made: the stage events, the leads marketing rejected before MQL (and why),
    and one deal part per pass (lead, opened, closed, won) for the opportunities."""

    events: Events
    early_reject: np.ndarray
    early_reason: np.ndarray
    deal_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


@dataclasses.dataclass(frozen=True)
class Stages:
    """The stage events kept (before the cutoff), in time order: lead index, stage code and
    local time (the sales touches happen just before them)."""

    idx: np.ndarray
    code: np.ndarray
    local: np.ndarray


def walk_funnel(leads: Leads, camps: Campaigns, cal: Calendar, rng: np.random.Generator) -> Funnel:
    """Every lead's stage events, drawn from ``rng`` (one funnel step for all leads at a time)."""
    return _Walk(leads, camps, cal, rng).run()


class _Walk:
    """One walk for all leads: their step probabilities, the events so far, the deal parts."""

    def __init__(
        self, leads: Leads, camps: Campaigns, cal: Calendar, rng: np.random.Generator
    ) -> None:
        self.leads = leads
        self.camps = camps
        self.cal = cal
        self.rng = rng
        self.events = Events()

    def _p(self, step: int, base: str) -> np.ndarray:
        """Per-lead probability of a funnel step (0 mql, 1 accept, 2 qualify, 3 opp, 4 win)."""
        b = np.array([getattr(c, base) for c in CHANNELS])[self.leads.ch]
        p: npt.NDArray[np.float64] = (
            b * PERSONA_MULT[self.leads.persona, step] * SEGMENT_MULT[self.leads.segment, step]
        )
        if step == 0:
            p = p * PAGE_MQL[self.leads.page] * np.array(self.camps.quality)[self.leads.camp]
        return np.clip(p, 0.0, 0.95)

    def _delay(self, idx: np.ndarray, median_days: float | np.ndarray, sigma: float) -> np.ndarray:
        d: npt.NDArray[np.float64] = (
            self.rng.lognormal(0.0, sigma, idx.size) * median_days * self.leads.speed[idx] * DAY
        )
        return np.maximum(d, 60).astype(I64)

    def _reasons(self, weights: dict[str, float], size: int) -> np.ndarray:
        codes = np.array([R[k] for k in weights], dtype=np.int8)
        return codes[choice(self.rng, list(weights.values()), size)]

    def run(self) -> Funnel:
        rng, cal = self.rng, self.cal
        ev = self.events
        self.p_mql = self._p(0, "mql")
        self.p_acc = self._p(1, "accept")
        self.p_qual = self._p(2, "qualify")
        self.p_opp = self._p(3, "opportunity")
        self.p_win = self._p(4, "win")
        base_skip = np.array([c.skip for c in CHANNELS])[self.leads.ch]
        self.p_skip = np.clip(
            base_skip * PAGE_SKIP[self.leads.page] * PERSONA_MULT[self.leads.persona, 2], 0.0, 0.9
        )
        idx = np.arange(self.leads.n)
        t0 = self.leads.created
        sdr = self.leads.ch == CH["sdr_outbound"]

        # lead → mql (automated scoring) / → sql (hand-raisers, SDR outbound) / rejected early
        inbound = idx[~sdr]
        out = outcomes(rng, [self.p_mql[inbound], self.p_skip[inbound], 0.09], inbound.size)
        to_mql = inbound[out == 0]
        t_mql = t0[to_mql] + self._delay(to_mql, 1.5, 1.4)
        ev.add(to_mql, MQL, t_mql)
        to_sql = inbound[out == 1]
        t_sql = cal.business(t0[to_sql] + self._delay(to_sql, 4.0, 1.0), rng)
        ev.add(to_sql, SQL, t_sql, owner=1)
        # marketing weeds out junk: bad data, students, duplicates of earlier leads
        bad = inbound[out == 2]
        why = {"bad_data": 0.35, "student": 0.25, "duplicate": 0.25, "other": 0.15}
        self.early_reject, self.early_reason = bad, self._reasons(why, bad.size)
        t_bad = cal.business(t0[bad] + self._delay(bad, 2.0, 1.0), rng)
        ev.add(bad, DISQUALIFIED, t_bad, self.early_reason)

        outbound = idx[sdr]
        out = outcomes(rng, [self.p_skip[outbound], 0.35, 0.15], outbound.size)
        o_sql = outbound[out == 0]
        o_t = cal.business(t0[o_sql] + self._delay(o_sql, 2.0, 0.9), rng)
        ev.add(o_sql, SQL, o_t, owner=1)
        o_dq = outbound[out == 1]
        ev.add(
            o_dq,
            DISQUALIFIED,
            cal.business(t0[o_dq] + self._delay(o_dq, 10.0, 0.8), rng),
            self._reasons(
                {
                    "no_need": 0.30,
                    "bad_timing": 0.20,
                    "unresponsive": 0.25,
                    "no_authority": 0.15,
                    "competitor": 0.10,
                },
                o_dq.size,
            ),
            owner=1,
        )
        o_rc = outbound[out == 2]
        ev.add(o_rc, RECYCLED, cal.business(t0[o_rc] + self._delay(o_rc, 10.0, 0.8), rng), owner=1)

        self.deal_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        recycled = self._pass(
            to_mql,
            t_mql,
            np.concatenate([to_sql, o_sql]),
            np.concatenate([t_sql, o_t]),
            recycle=True,
        )
        # nurture brings some recycled leads back as MQLs months later (once)
        back_idx, back_t = recycled
        back = rng.random(back_idx.size) < 0.22
        again = back_idx[back]
        t_again = back_t[back] + (rng.lognormal(0.0, 0.5, again.size) * 100 * DAY).astype(I64)
        ev.add(again, MQL, t_again)
        self._pass(again, t_again, np.zeros(0, I64), np.zeros(0, I64), recycle=False)
        return Funnel(ev, self.early_reject, self.early_reason, self.deal_parts)

    def _pass(
        self,
        mql_idx: np.ndarray,
        mql_t: np.ndarray,
        sql_idx: np.ndarray,
        sql_t: np.ndarray,
        *,
        recycle: bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        """mql → sal → sql → opportunity → customer/lost for the leads given; returns the leads
        recycled at the mql or sal stage, and when (those may come back as MQLs; a lead recycled
        as an SQL may have skipped mql, so it does not)."""
        rng, cal, ev = self.rng, self.cal, self.events
        rec_idx: list[np.ndarray] = []
        rec_t: list[np.ndarray] = []
        rc = 1.0 if recycle else 0.0

        def reject(
            idx: np.ndarray,
            t: np.ndarray,
            weights: dict[str, float],
            p_dq: float,
            p_rc: float,
            owner: int,
        ) -> None:
            out = outcomes(rng, [p_dq + p_rc * (1 - rc), p_rc * rc], idx.size)
            dq = out == 0
            ev.add(idx[dq], DISQUALIFIED, t[dq], self._reasons(weights, int(dq.sum())), owner)
            rcm = out == 1
            ev.add(idx[rcm], RECYCLED, t[rcm], owner=owner)
            rec_idx.append(idx[rcm])
            rec_t.append(t[rcm])

        # mql → sal: the sales response, in business hours
        resp = np.array([c.response_hours for c in CHANNELS])[self.leads.ch[mql_idx]] / 24.0
        acc = rng.random(mql_idx.size) < self.p_acc[mql_idx]
        wait = (rng.lognormal(0.0, 1.1, mql_idx.size) * resp * DAY).astype(I64)
        t_dec = cal.business(mql_t + np.maximum(wait, 300), rng)
        sal_idx, sal_t = mql_idx[acc], t_dec[acc]
        ev.add(sal_idx, SAL, sal_t, owner=1)
        no = ~acc
        slow = t_dec[no] + self._delay(mql_idx[no], 1.0, 1.0)
        reject(
            mql_idx[no],
            cal.business(slow, rng),
            {
                "no_need": 0.18,
                "no_budget": 0.15,
                "no_authority": 0.14,
                "bad_timing": 0.12,
                "unresponsive": 0.14,
                "student": 0.06,
                "bad_data": 0.08,
                "duplicate": 0.04,
                "competitor": 0.05,
                "other": 0.04,
            },
            0.55,
            0.30,
            owner=1,
        )

        # sal → sql
        ok = rng.random(sal_idx.size) < self.p_qual[sal_idx]
        t_next = cal.business(sal_t + self._delay(sal_idx, 6.0, 0.8), rng)
        q_idx = np.concatenate([sal_idx[ok], sql_idx])
        q_t = np.concatenate([t_next[ok], sql_t])
        ev.add(sal_idx[ok], SQL, t_next[ok], owner=1)
        no = ~ok
        t_no = cal.business(sal_t[no] + self._delay(sal_idx[no], 12.0, 0.8), rng)
        reject(
            sal_idx[no],
            t_no,
            {
                "unresponsive": 0.30,
                "no_budget": 0.20,
                "no_authority": 0.15,
                "no_need": 0.15,
                "bad_timing": 0.12,
                "competitor": 0.05,
                "other": 0.03,
            },
            0.45,
            0.40,
            owner=1,
        )

        # sql → opportunity; rejected, recycled, or left to go cold (then lost)
        out = outcomes(rng, [self.p_opp[q_idx]], q_idx.size)
        o_idx = q_idx[out == 0]
        o_t = cal.business(q_t[out == 0] + self._delay(o_idx, 10.0, 0.7), rng)
        ev.add(o_idx, OPP, o_t, owner=2)
        rest_idx, rest_t = q_idx[out == 1], q_t[out == 1]
        fate = outcomes(rng, [0.30, 0.50, 0.12 * rc], rest_idx.size)
        dq = fate == 0
        t_dq = cal.business(rest_t[dq] + self._delay(rest_idx[dq], 8.0, 0.8), rng)
        ev.add(
            rest_idx[dq],
            DISQUALIFIED,
            t_dq,
            self._reasons(
                {
                    "no_budget": 0.30,
                    "no_authority": 0.25,
                    "no_need": 0.20,
                    "competitor": 0.15,
                    "other": 0.10,
                },
                int(dq.sum()),
            ),
            owner=1,
        )
        cold = fate == 1
        gap = (60 + rng.lognormal(0.0, 0.5, int(cold.sum())) * 70) * DAY
        t_cold = cal.business(rest_t[cold] + gap.astype(I64), rng)
        ev.add(
            rest_idx[cold],
            LOST,
            t_cold,
            self._reasons({"unresponsive": 0.70, "bad_timing": 0.30}, int(cold.sum())),
            owner=1,
        )
        rcm = fate == 2
        t_rc = cal.business(rest_t[rcm] + self._delay(rest_idx[rcm], 30.0, 0.6), rng)
        ev.add(rest_idx[rcm], RECYCLED, t_rc, owner=1)
        # fate 3: nobody works the SQL (it stays open: an SLA breach)

        # opportunity → customer / lost
        won = rng.random(o_idx.size) < self.p_win[o_idx]
        t_close = np.where(won, self._delay(o_idx, 40.0, 0.55), self._delay(o_idx, 50.0, 0.6))
        t_close = cal.business(o_t + t_close, rng)
        ev.add(o_idx[won], CUSTOMER, t_close[won], owner=2)
        lost = ~won
        ev.add(
            o_idx[lost],
            LOST,
            t_close[lost],
            self._reasons(
                {
                    "competitor": 0.35,
                    "no_budget": 0.25,
                    "bad_timing": 0.20,
                    "no_need": 0.10,
                    "unresponsive": 0.07,
                    "other": 0.03,
                },
                int(lost.sum()),
            ),
            owner=2,
        )
        self.deal_parts.append((o_idx, o_t, t_close, won))
        return np.concatenate(rec_idx), np.concatenate(rec_t)


def stages_frame(funnel: Funnel, leads: Leads, tl: Timeline) -> tuple[pd.DataFrame, Stages]:
    """The stages file, and the events it holds (for the touches)."""
    # a sentinel part keeps the concatenations valid for a company without any event
    nothing = np.zeros(0, dtype=I64)
    parts = [*funnel.events.parts, (nothing, LEAD, nothing, np.zeros(0, np.int8), 0)]
    idx = np.concatenate([p[0] for p in parts])
    stage = np.concatenate([np.full(p[0].size, p[1], dtype=np.int8) for p in parts])
    t = np.concatenate([p[2] for p in parts])
    reason = np.concatenate([p[3] for p in parts])
    owner_kind = np.concatenate([np.full(p[0].size, p[4], dtype=np.int8) for p in parts])
    keep = t < tl.cutoff
    idx, stage, t, reason, owner_kind = (a[keep] for a in (idx, stage, t, reason, owner_kind))
    t_utc = tl.cal.to_utc(t)
    order = np.argsort(t_utc, kind="stable")
    idx, stage, t_utc, reason, owner_kind = (
        a[order] for a in (idx, stage, t_utc, reason, owner_kind)
    )
    t = t[order]
    owner = np.where(
        owner_kind == 1, leads.sdr[idx], np.where(owner_kind == 2, len(SDRS) + leads.ae[idx], -1)
    )
    frame = pd.DataFrame(
        {
            "lead_id": strings(pc.take(pa.array(leads.ids), pa.array(idx))),
            "stage": pick(STAGES, stage),
            "entered_at": timestamps(t_utc),
            "reason": pick(REASONS, reason),
            "owner": pick([*SDRS, *AES], owner),
        }
    )
    return frame, Stages(idx, stage, t)
