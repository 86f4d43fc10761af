"""A deterministic synthetic company: leads, stage events, touches, deals, costs and traffic.

``generate_company(leads, seed)`` makes two years (by default) of a B2B company's funnel ending at
a fixed date, so the same seed always gives the same frames. Everything is vectorised with
NumPy/pandas/pyarrow (loops run per channel, stage or month, never per lead or event), so two
million leads (~10M stage events + touches) take seconds, not minutes.

What the data looks like:

- **Leads** arrive on nine channels (``sdr_outbound`` is sales-sourced) that differ in volume,
  quality and cost, with weekly and yearly seasonality (fewer at weekends, in August, at
  Christmas), almost none on the public holidays of Madrid, and a growth trend. Each lead has a
  persona, a segment, a campaign and (for web channels) a landing page that shift conversion.
- **Stage events** follow lead → mql → sal → sql → opportunity → customer with delays that
  differ by stage, channel and segment; sales actions happen in business hours on working days.
  Some leads skip stages (lead → sql: SDR outbound and hand-raisers), MQLs are accepted or
  rejected (``disqualified`` with a reason code, or ``recycled``; some recycled leads come back as
  MQLs months later), some SQLs go cold (a long gap, then ``lost``), opportunities are won or
  lost. The lead's creation is its entry into the first stage, so ``lead`` is never an event.
  Nothing happens after ``end``: recent leads are simply still open.
- **Touches**: anonymous visits and ad clicks before the lead is created (with the visitor's
  ``anonymous_id``, stitched to the lead), the conversion touch at creation, nurture e-mail
  clicks and return visits after it, and sales calls and meetings around the sales stages.
- **Deals**: one per opportunity, created at opportunity entry, won at ``customer``, lost at
  ``lost`` (else open), amounts lognormal by segment, in EUR.
- **Costs**: monthly media per paid campaign, event costs per event, agency fees, staff and
  technology; some untagged (no channel). **Traffic**: daily visits and unique visitors per
  channel, campaign and landing page, consistent with the leads (visit → lead of a few percent).

One random stream (``numpy.random.default_rng(seed)``) is drawn from in a fixed order: the
trade shows (``campaigns``), the leads (``leads``), the funnel walk (``funnel``), the leads'
identities, the deals (``money``), the touches (``touches``), the costs and the traffic
(``money``). Changing that order changes every company.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd

from leadledger.demo.calendar import Timeline
from leadledger.demo.campaigns import plan_campaigns
from leadledger.demo.funnel import stages_frame, walk_funnel
from leadledger.demo.leads import create_leads, leads_frame
from leadledger.demo.money import costs_frame, deals_frame, traffic_frame
from leadledger.demo.touches import touches_frame
from leadledger.demo.vocabulary import COMPANY_NAME, DEFAULT_END, KINDS
from leadledger.demo.write import company_config_text
from leadledger.errors import InvalidArgument

__all__ = ["Company", "generate_company"]


@dataclasses.dataclass
class Company:
    """A synthetic company: one frame per import kind (columns = ledger field names) and the
    ``leadledger.yaml`` that describes it."""

    leads: pd.DataFrame
    stages: pd.DataFrame
    touches: pd.DataFrame
    deals: pd.DataFrame
    costs: pd.DataFrame
    traffic: pd.DataFrame
    config_text: str
    name: str = COMPANY_NAME
    seed: int = 0
    start: dt.date = DEFAULT_END
    end: dt.date = DEFAULT_END

    def frames(self) -> dict[str, pd.DataFrame]:
        """Import kind → frame, in import order."""
        return {kind: getattr(self, kind) for kind in KINDS}


def generate_company(
    leads: int, seed: int, *, end: dt.date | None = None, years: int = 2
) -> Company:
    """A deterministic synthetic company with ``leads`` leads created over ``years`` years up to
    ``end`` (default 2026-10-31). The same arguments always give the same frames."""
    if isinstance(leads, bool) or not isinstance(leads, int | np.integer) or leads < 1:
        raise InvalidArgument(f"leads must be a whole number ≥ 1, not {leads!r}")
    if isinstance(years, bool) or not isinstance(years, int | np.integer) or years < 1:
        raise InvalidArgument(f"years must be a whole number ≥ 1, not {years!r}")
    end = end or DEFAULT_END
    if isinstance(end, dt.datetime):
        end = end.date()
    return _generate(int(leads), int(seed), end, int(years))


def _generate(n: int, seed: int, end: dt.date, years: int) -> Company:
    rng = np.random.default_rng(seed)
    tl = Timeline.build(end, years)
    camps = plan_campaigns(tl, rng)
    people = create_leads(n, tl, camps, rng)
    funnel = walk_funnel(people, camps, tl.cal, rng)
    leads = leads_frame(people, camps, tl.cal, funnel.early_reject, funnel.early_reason, rng)
    stages, events = stages_frame(funnel, people, tl)
    deals = deals_frame(funnel, people, tl, rng)
    touches = touches_frame(people, camps, events, tl, rng)
    costs = costs_frame(people, camps, tl, rng)
    traffic = traffic_frame(people, camps, tl, rng)
    name = f"{COMPANY_NAME} (synthetic, seed {seed})"
    return Company(
        leads,
        stages,
        touches,
        deals,
        costs,
        traffic,
        config_text=company_config_text(name, tl.start, tl.end),
        name=name,
        seed=seed,
        start=tl.start,
        end=tl.end,
    )
