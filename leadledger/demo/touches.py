"""The touches: a lead's anonymous visits and ad clicks before it converts (stitched by visitor
id), the conversion itself, nurture e-mail clicks and return visits after it, and the sales calls
and meetings around the sales stages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadledger.demo.calendar import DAY, HOUR, I64, Timeline
from leadledger.demo.campaigns import Campaigns
from leadledger.demo.columns import numbered, pick, strings, timestamps
from leadledger.demo.draws import choice
from leadledger.demo.funnel import Stages
from leadledger.demo.leads import Leads
from leadledger.demo.vocabulary import (
    CH,
    CHANNELS,
    CUSTOMER,
    KIND,
    MQL,
    OPP,
    OTHER_TOUCH_CHANNELS,
    PAGES,
    SAL,
    SEGMENT_PRE_TOUCHES,
    SEGMENT_SPEED,
    SQL,
    TOUCH_KINDS,
)


def touches_frame(
    leads: Leads, camps: Campaigns, stages: Stages, tl: Timeline, rng: np.random.Generator
) -> pd.DataFrame:
    """The touches file, in time order: before the lead (anonymous, stitched by visitor id),
    its conversion, after it (nurture clicks, return visits), and the sales conversations just
    before the sales stages."""
    n, cal = leads.n, tl.cal
    created = leads.created
    own_ch = leads.ch.astype(np.int32)
    # leads with a cookie: web channels, and trade-show leads that visited the site before
    web = np.array([c.visit_rate > 0 or c.key == "events" for c in CHANNELS])[leads.ch]
    web_form = np.array([c.visit_rate > 0 for c in CHANNELS])[leads.ch]
    # anonymous visitor ids (a bijection of the lead index, so unique)
    anon_num = (np.arange(n, dtype=I64) * 7_919_423 + 1_234_567) % 9_999_999_967
    parts: list[dict[str, np.ndarray]] = []

    def add(
        idx: np.ndarray,
        t: np.ndarray,
        ch: np.ndarray,
        camp: np.ndarray,
        kind: int | np.ndarray,
        page: np.ndarray,
        anon: bool,
    ) -> None:
        parts.append(
            {
                "idx": idx,
                "t": t,
                "ch": ch.astype(np.int32),
                "camp": camp.astype(np.int32),
                "kind": np.broadcast_to(np.asarray(kind, dtype=np.int8), idx.shape),
                "page": page.astype(np.int8),
                "anon": np.full(idx.size, anon),
            }
        )

    # before the lead: anonymous sessions (stitched to the lead when it converts)
    lam = np.array([c.pre_touches for c in CHANNELS])[leads.ch] * SEGMENT_PRE_TOUCHES[leads.segment]
    k = rng.poisson(lam)
    pre = np.repeat(np.arange(n), k)
    window = (
        np.minimum(rng.lognormal(np.log(9.0), 1.0, n) * SEGMENT_SPEED[leads.segment], 90.0) * DAY
    )
    u = rng.uniform(0.01, 1.0, pre.size)
    t_pre = created[pre] - np.maximum(window[pre] * u, 600).astype(I64)
    same = rng.random(pre.size) < 0.45
    other_keys = [CH[c] for c, _ in OTHER_TOUCH_CHANNELS]
    other = np.array(other_keys)[choice(rng, [w for _, w in OTHER_TOUCH_CHANNELS], pre.size)]
    pre_ch = np.where(same, own_ch[pre], other)
    pre_ch = np.where(own_ch[pre] == CH["events"], np.where(same, CH["direct"], other), pre_ch)
    pre_camp, pre_page = _touch_campaign_page(pre_ch, same, pre, leads, camps, rng)
    add(pre, t_pre, pre_ch, pre_camp, _kind_of(pre_ch), pre_page, anon=True)

    # the conversion: a form (web), a badge scan (events) or a reply to the SDR (outbound)
    all_idx = np.arange(n)
    conv_kind = np.where(
        leads.ch == CH["events"],
        KIND["event"],
        np.where(leads.ch == CH["sdr_outbound"], KIND["call"], KIND["form"]),
    )
    parts.append(
        {
            "idx": all_idx,
            "t": created,
            "ch": own_ch,
            "camp": leads.camp.copy(),
            "kind": conv_kind.astype(np.int8),
            "page": leads.page.copy(),
            "anon": web_form,
        }
    )

    # after: nurture e-mail clicks and return visits
    reached_mql = np.zeros(n, dtype=bool)
    reached_mql[stages.idx[stages.code == MQL]] = True
    k = rng.poisson(0.5 + 0.9 * reached_mql)
    post = np.repeat(all_idx, k)
    t_post = created[post] + (rng.exponential(25.0, post.size) * DAY).astype(I64) + 60
    email_first = camps.first[CH["email"]]
    e_camp = email_first + choice(rng, [0.3, 0.5, 0.1, 0.1], post.size)
    e_page = np.array(
        [PAGES.index(p) for p in ("/blog", "/webinar", "/pricing", "/ebook/roi-marketing")]
    )[choice(rng, [0.3, 0.3, 0.25, 0.15], post.size)]
    add(
        post,
        t_post,
        np.full(post.size, CH["email"]),
        e_camp,
        KIND["email_click"],
        e_page,
        anon=False,
    )
    k = rng.poisson(0.35, n)
    back = np.repeat(all_idx, k)
    t_back = created[back] + (rng.exponential(15.0, back.size) * DAY).astype(I64) + 60
    b_ch = np.where(rng.random(back.size) < 0.6, CH["direct"], CH["organic_search"])
    b_camp = np.array(camps.first)[b_ch]
    b_page = np.where(rng.random(back.size) < 0.6, PAGES.index("/pricing"), PAGES.index("/"))
    add(back, t_back, b_ch, b_camp, KIND["visit"], b_page, anon=True)

    # sales conversations just before the sales stages
    for stage, kind in (
        (SAL, "call"),
        (SQL, "meeting"),
        (OPP, "meeting"),
        (CUSTOMER, "meeting"),
    ):
        m = stages.code == stage
        idx = stages.idx[m]
        before = (rng.uniform(0.25, 3.0, idx.size) * HOUR).astype(I64)
        t = np.maximum(stages.local[m] - before, created[idx] + 1)
        add(idx, t, own_ch[idx], leads.camp[idx], KIND[kind], np.full(idx.size, -1), anon=False)

    idx = np.concatenate([p["idx"] for p in parts])
    t = np.concatenate([p["t"] for p in parts])
    keep = t < tl.cutoff
    cols = {
        key: np.concatenate([p[key] for p in parts])[keep]
        for key in ("idx", "ch", "camp", "kind", "page", "anon")
    }
    t_utc = cal.to_utc(t[keep])
    idx = idx[keep]
    parts.clear()
    del t
    order = np.argsort(t_utc, kind="stable")
    idx, t_utc = idx[order], t_utc[order]
    cols = {key: v[order] for key, v in cols.items()}
    del order
    m = idx.size
    has_anon = cols.pop("anon") & web[idx]
    # visitor ids: numbered for the rows that have one, null elsewhere
    visitors = pa.array(numbered("V", anon_num[idx[has_anon]], 10))
    pos = np.cumsum(has_anon) - 1
    anon_col = strings(pc.take(visitors, pa.array(pos, mask=~has_anon)))
    lead_ids = pa.array(leads.ids)
    return pd.DataFrame(
        {
            "touch_id": numbered("T", np.arange(1, m + 1), max(8, len(str(m)))),
            "lead_id": strings(pc.take(lead_ids, pa.array(idx))),
            "anonymous_id": anon_col,
            "at": timestamps(t_utc),
            "channel": pick([c.key for c in CHANNELS], cols["ch"]),
            "campaign": pick(camps.names, cols["camp"]),
            "kind": pick(TOUCH_KINDS, cols["kind"]),
            "page": pick(PAGES, cols["page"]),
        }
    )


def _touch_campaign_page(
    ch: np.ndarray,
    same: np.ndarray,
    idx: np.ndarray,
    leads: Leads,
    camps: Campaigns,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Campaign and landing page of touches on channel ``ch`` (the lead's own when
    ``same`` and the channel is the lead's)."""
    camp = np.zeros(ch.size, dtype=np.int32)
    page = np.full(ch.size, -1, dtype=np.int8)
    for c, spec in enumerate(CHANNELS):
        m = np.flatnonzero(ch == c)
        if not m.size:
            continue
        if spec.campaigns and spec.key not in ("events", "sdr_outbound"):
            camp[m] = camps.first[c] + choice(rng, [x.weight for x in spec.campaigns], m.size)
        else:
            camp[m] = camps.first[c]
        if spec.pages:
            page[m] = np.array([PAGES.index(p) for p, _ in spec.pages])[
                choice(rng, [w for _, w in spec.pages], m.size)
            ]
    mine = same & (ch == leads.ch[idx])
    camp[mine] = leads.camp[idx[mine]]
    page[mine] = np.where(leads.page[idx[mine]] >= 0, leads.page[idx[mine]], page[mine])
    return camp, page


def _kind_of(ch: np.ndarray) -> np.ndarray:
    paid = (ch == CH["paid_search"]) | (ch == CH["paid_social"])
    return np.where(
        paid, KIND["ad_click"], np.where(ch == CH["email"], KIND["email_click"], KIND["visit"])
    )
