"""The money and the traffic: deals (one per opportunity), costs (media, agencies, staff,
technology, trade shows) and the daily web traffic consistent with the leads."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadledger.demo.calendar import DAY, I64, Timeline, epoch_day
from leadledger.demo.campaigns import Campaigns
from leadledger.demo.columns import STR, numbered, pick, strings, timestamps
from leadledger.demo.funnel import Funnel
from leadledger.demo.leads import Leads
from leadledger.demo.vocabulary import (
    AES,
    CH,
    CHANNELS,
    CURRENCY,
    DEAL_MEDIAN,
    DEAL_SIGMA,
    PAGE_CVR,
    PAGES,
    Campaign,
)


def deals_frame(
    funnel: Funnel, leads: Leads, tl: Timeline, rng: np.random.Generator
) -> pd.DataFrame:
    """The deals file: one deal per opportunity, opened at opportunity entry, won or lost when
    the walk closed it (open when that is after ``end``), amounts lognormal by segment."""
    idx = np.concatenate([p[0] for p in funnel.deal_parts])
    t_open = np.concatenate([p[1] for p in funnel.deal_parts])
    t_close = np.concatenate([p[2] for p in funnel.deal_parts])
    won = np.concatenate([p[3] for p in funnel.deal_parts])
    keep = t_open < tl.cutoff
    idx, t_open, t_close, won = idx[keep], t_open[keep], t_close[keep], won[keep]
    order = np.lexsort((idx, t_open))
    idx, t_open, t_close, won = idx[order], t_open[order], t_close[order], won[order]
    closed = t_close < tl.cutoff
    status = np.where(~closed, 0, np.where(won, 1, 2))
    seg = leads.segment[idx]
    ch_factor = np.where(
        leads.ch[idx] == CH["referral"],
        1.1,
        np.where(leads.ch[idx] == CH["sdr_outbound"], 1.2, 1.0),
    )
    amount = DEAL_MEDIAN[seg] * ch_factor * rng.lognormal(0.0, 1.0, idx.size) ** DEAL_SIGMA[seg]
    amount = np.round(amount / 50.0) * 50.0
    n = idx.size
    return pd.DataFrame(
        {
            "deal_id": numbered("D", np.arange(1, n + 1), max(6, len(str(n)))),
            "lead_id": strings(pc.take(pa.array(leads.ids), pa.array(idx))),
            "created_at": timestamps(tl.cal.to_utc(t_open)),
            "closed_at": timestamps(
                tl.cal.to_utc(np.where(closed, t_close, t_open)), missing=~closed
            ),
            "status": pick(("open", "won", "lost"), status),
            "amount": amount.astype(float),
            "currency": pick([CURRENCY], np.zeros(n, dtype=I64)),
            "owner": pick(AES, leads.ae[idx]),
        }
    )


def _months(tl: Timeline) -> list[tuple[dt.date, dt.date]]:
    out = []
    for p in pd.period_range(tl.start, tl.end, freq="M"):
        lo = max(p.start_time.date(), tl.start)
        hi = min(p.end_time.date(), tl.end)
        out.append((lo, hi))
    return out


def costs_frame(
    leads: Leads, camps: Campaigns, tl: Timeline, rng: np.random.Generator
) -> pd.DataFrame:
    """The costs file: monthly media per paid campaign (cost per lead × leads), agency fees,
    staff and technology growing with the trend, some untagged; one cost per trade show."""
    months = _months(tl)
    nm = len(months)
    local_day = leads.created // DAY
    month_of_lead = (
        np.searchsorted(np.array([epoch_day(lo) for lo, _ in months]), local_day, side="right") - 1
    )
    n_ch = len(CHANNELS)
    by_ch = np.bincount(month_of_lead * n_ch + leads.ch, minlength=nm * n_ch).reshape(nm, n_ch)
    n_camp = len(camps.names)
    by_camp = np.bincount(month_of_lead * n_camp + leads.camp, minlength=nm * n_camp).reshape(
        nm, n_camp
    )
    # smooth volume for salaries and licences: the average month, growing with the trend
    mean = by_ch.mean(axis=0)
    growth = np.exp(np.log(1.25) * (np.arange(nm) - (nm - 1) / 2) / 12.0)
    rows: list[tuple[dt.date, dt.date, str | None, str | None, str, float, str]] = []

    def noise() -> float:
        return float(rng.lognormal(0.0, 0.08))

    for m, (lo, hi) in enumerate(months):
        for c, spec in enumerate(CHANNELS):  # media per paid campaign
            if spec.key == "events":
                continue
            for j in range(len(spec.campaigns)):
                code = camps.first[c] + j
                cpl = camps.cpl[code]
                if cpl and by_camp[m, code]:
                    desc = {
                        "paid_search": "Google Ads",
                        "paid_social": "Social ads",
                        "referral": "Partner and review-site fees",
                    }[spec.key]
                    rows.append(
                        (
                            lo,
                            hi,
                            spec.key,
                            camps.names[code],
                            "media",
                            by_camp[m, code] * cpl * noise(),
                            desc,
                        )
                    )
        media_ps = sum(r[5] for r in rows if r[0] == lo and r[2] == "paid_search")
        media_so = sum(r[5] for r in rows if r[0] == lo and r[2] == "paid_social")
        g = growth[m]
        fixed = [
            ("paid_search", "agency", media_ps * 0.12, "Paid search agency fee"),
            ("paid_social", "agency", media_so * 0.15, "Paid social agency fee"),
            (
                "organic_search",
                "agency",
                mean[CH["organic_search"]] * g * 30,
                "SEO and content agency",
            ),
            ("sdr_outbound", "staff", mean[CH["sdr_outbound"]] * g * 450, "SDR team salaries"),
            (
                "organic_social",
                "staff",
                mean[CH["organic_social"]] * g * 50,
                "Community manager",
            ),
            (None, "staff", mean.sum() * g * 45, "Marketing team salaries"),
            (
                "email",
                "technology",
                mean[CH["email"]] * g * 12 + mean.sum() * g * 3,
                "Marketing automation licence",
            ),
            (
                "sdr_outbound",
                "technology",
                mean[CH["sdr_outbound"]] * g * 30,
                "Sales engagement licence",
            ),
            (None, "technology", mean.sum() * g * 12, "CRM and analytics licences"),
        ]
        share = ((hi - lo).days + 1) / (
            (lo.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - lo.replace(day=1)
        ).days
        for ch_key, cat, amount, desc in fixed:
            if amount > 0:
                rows.append((lo, hi, ch_key, None, cat, amount * share * noise(), desc))
    for code, ((i0, i1), name) in enumerate(zip(camps.event_days, camps.event_names, strict=True)):
        n_ev = int(
            ((leads.ch == CH["events"]) & (leads.camp == camps.first[CH["events"]] + code)).sum()
        )
        d0 = tl.start + dt.timedelta(days=i0)
        d1 = tl.start + dt.timedelta(days=i1)
        amount = max(n_ev, 1) * 350 * noise()
        rows.append((d0, d1, "events", name, "media", amount, "Booth, travel and sponsorship"))
    frame = pd.DataFrame(
        rows,
        columns=[
            "period_start",
            "period_end",
            "channel",
            "campaign",
            "category",
            "amount",
            "description",
        ],
    )
    frame["amount"] = frame["amount"].astype(float).round(2)
    frame = frame.sort_values(
        ["period_start", "category", "channel", "campaign"], na_position="first", kind="stable"
    ).reset_index(drop=True)
    frame.insert(6, "currency", CURRENCY)
    for col in ("channel", "campaign", "category", "currency", "description"):
        frame[col] = frame[col].astype(STR)  # type: ignore[call-overload]
    return frame


def traffic_frame(
    leads: Leads, camps: Campaigns, tl: Timeline, rng: np.random.Generator
) -> pd.DataFrame:
    """Daily visits per (channel, campaign, landing page), consistent with the leads."""
    cal = tl.cal
    sl = slice(tl.first_idx, tl.first_idx + tl.ndays)
    weekend = cal.weekday[sl] >= 5
    shares = np.array([c.share for c in CHANNELS])
    shares = shares / shares.sum()
    days = cal.dates[sl].astype(object)
    out_day, out_combo, out_visits = [], [], []
    combos: list[tuple[int, int, int]] = []
    for c, spec in enumerate(CHANNELS):
        if spec.visit_rate <= 0:
            continue
        w = leads.day_weights[c]
        per_day = leads.n * shares[c] * w / w.sum()  # expected leads per day
        own = spec.campaigns or (Campaign(None, 1.0),)
        cw = np.array([x.weight for x in own])
        cw = cw / cw.sum()
        pw = np.array([p for _, p in spec.pages])
        pw = pw / pw.sum()
        for j in range(len(own)):
            for p, (page, _) in enumerate(spec.pages):
                page_code = PAGES.index(page)
                cvr = spec.visit_rate * PAGE_CVR[page_code]
                lam = per_day * cw[j] * pw[p] / cvr * np.where(weekend, 1.5, 1.0)
                lam = lam * rng.lognormal(0.0, 0.15, tl.ndays)
                visits = rng.poisson(lam)
                nz = np.flatnonzero(visits > 0)
                out_day.append(nz)
                out_combo.append(np.full(nz.size, len(combos)))
                out_visits.append(visits[nz])
                combos.append((c, camps.first[c] + j, page_code))
    day_i = np.concatenate(out_day)
    combo = np.concatenate(out_combo)
    visits = np.concatenate(out_visits).astype(I64)
    order = np.lexsort((combo, day_i))
    day_i, combo, visits = day_i[order], combo[order], visits[order]
    unique = rng.binomial(visits, 0.82)
    unique = np.maximum(unique, np.minimum(visits, 1))
    cmb = np.array(combos)
    return pd.DataFrame(
        {
            "day": days[day_i],
            "channel": pick([c.key for c in CHANNELS], cmb[combo, 0]),
            "landing_page": pick(PAGES, cmb[combo, 2]),
            "campaign": pick(camps.names, cmb[combo, 1]),
            "visits": visits,
            "unique_visitors": unique.astype(I64),
        }
    )
