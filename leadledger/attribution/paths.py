"""Journeys: what every attribution model reads, from the ledger or from aggregated paths.

A journey is one conversion (or one non-converting lead, or one row of a paths file) and the
touches before it. Two Ibis tables describe a set of journeys, whatever their source:

``journeys``  one row per journey: ``journey_id``, ``conversions`` (how many conversions
              followed this journey: 1 on the ledger, ``total_conversions`` in a paths file),
              ``value`` (their total value), ``nulls`` (how many journeys ended without a
              conversion), ``n`` (touches), and the milestone positions ``lead_pos`` (the touch at
              lead creation) and ``opp_pos`` (at opportunity creation), null where not computed.
``touches``   one row per touch: ``journey_id``, ``pos`` (1 … n, in time order), ``key`` (the
              channel or campaign credited), ``channel`` (for ``last_non_direct``) and
              ``hours_before`` (hours from the touch to the conversion; null in a paths file).

On the ledger the touches are numbered by **one** window (``row_number`` per journey) and every
per-journey fact (length, milestone positions) comes from group-bys on the numbered touches; the
binding stores both tables once per call (temporary tables) and every model reads them, so no
model runs a window over all touches. Aggregated paths (ChannelAttribution's layout) are split
into arrays in the engine and unnested with their index: the same two tables, one row per path.

Everything here is pure: Ibis expressions on unbound tables, or plain pandas to read and check a
paths file (turned into an in-memory table by the binding). Nothing holds a connection.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Collection, Sequence
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadledger.config.models import ProjectConfig
from leadledger.errors import ImportFileError
from leadledger.ledger.clock import DAY, seconds_between
from leadledger.ledger.derived import (
    Tables,
    current_leads,
    deal_credits,
    deal_stage_entries,
    deal_targets,
    in_local_days,
    stage_entries,
)
from leadledger.ledger.derived import (
    journeys as lead_journeys,
)

#: The key of a touch without a campaign when crediting campaigns.
NO_CAMPAIGN = "(no campaign)"
#: The columns of a paths file (ChannelAttribution's layout).
PATH_COLUMNS = ("path", "total_conversions", "total_conversion_value", "total_null")
#: The CRM milestones a journey can carry (besides its first and last touch).
MILESTONES = ("lead", "opportunity")
#: How the steps of a path are written when we write paths (ChannelAttribution's convention).
PATH_SEP = " > "

TOUCH_COLUMNS = ("journey_id", "pos", "key", "channel", "hours_before")


@dataclasses.dataclass
class JourneySet:
    """The two tables of a set of journeys, plus what the binding should tell the user."""

    journeys: ir.Table
    touches: ir.Table
    #: Whether ``lead_pos``/``opp_pos`` are the CRM's milestones (not on a paths file).
    has_milestones: bool
    #: Whether ``hours_before`` is known (not on a paths file).
    has_times: bool
    #: The milestones whose positions were computed (on the ledger: only those asked for).
    milestones: frozenset[str] = frozenset(MILESTONES)
    #: Aggregated paths only: one row per journey with its ``keys`` as an array (journey_id,
    #: keys, conversions, value, nulls, n). Models that read the first/last element or every
    #: element without its position use it instead of unnesting with positions.
    arrays: ir.Table | None = None

    def converting(self) -> ir.Table:
        """The journeys with at least one conversion."""
        return self.journeys.filter(self.journeys.conversions > 0)


# -- the ledger ------------------------------------------------------------------------------
def _entries(tables: Tables, cfg: ProjectConfig, stage: str) -> ir.Table:
    """Entries into ``stage`` (lead_id, entered_at). Only the first stage needs the leads'
    creation (the field-wise lead merge) and only the stages deals enter need the deals; any
    other stage is read from the stage events."""
    if stage == cfg.stage_keys[0]:
        e = stage_entries(tables, cfg)
    else:
        e = tables["stage_events"].select("lead_id", "stage", "entered_at", "reason")
        from_deals = deal_stage_entries(tables, cfg)
        if from_deals is not None and stage in deal_targets(cfg).values():
            e = e.union(from_deals, distinct=False)
    e = e.filter(e.stage == stage)
    return e.select("lead_id", "entered_at")


def conversions(
    tables: Tables,
    cfg: ProjectConfig,
    *,
    stage: str,
    start: dt.date | None,
    end: dt.date | None,
    value: str,
) -> ir.Table:
    """Leads whose first entry into ``stage`` falls on a local day in [start, end].

    Columns: ``lead_id``, ``converted_at``, ``value`` (1.0 with ``value="count"``; with
    ``"amount"``: the lead's won deals' amounts for ``customer``, all its deals' amounts for
    ``opportunity`` — a deal without an amount counts 0), ``deals_without_amount``."""
    e = _entries(tables, cfg, stage)
    first = e.group_by("lead_id").agg(converted_at=e.entered_at.min())
    first = first.filter(in_local_days(first.converted_at, start, end))
    if value == "count" or stage not in ("customer", "opportunity"):
        return first.mutate(
            value=ibis.literal(1.0), deals_without_amount=ibis.literal(0).cast("int64")
        )
    # each contact's credited share of its deals (deal_contacts.credit): a deal's shares sum to
    # its amount
    d = deal_credits(tables, cfg)
    d = d.filter(d.lead_id.notnull())
    if stage == "customer":
        d = d.filter(d.status == "won")
    money = d.group_by("lead_id").agg(
        amount=d.amount.sum(),
        deals_without_amount=d.amount.isnull().sum().cast("int64"),
    )
    joined = first.left_join(money, first.lead_id == money.lead_id)
    return joined.select(
        lead_id=first.lead_id,
        converted_at=first.converted_at,
        value=money.amount.coalesce(0.0).cast("float64"),
        deals_without_amount=money.deals_without_amount.coalesce(0).cast("int64"),
    )


def _key_column(t: ir.Table, by: str) -> ir.StringValue:
    if by == "campaign":
        return t.campaign.coalesce(NO_CAMPAIGN)
    return t.channel


@dataclasses.dataclass
class LedgerTouches:
    """The ledger's journeys before their per-journey facts: ``anchors`` (one row per journey:
    journey_id, conversions, value, nulls, deals_without_amount) and ``touches`` numbered in
    time order (journey_id, pos, key, channel, hours_before, and the booleans ``by_lead`` /
    ``by_opp``: the touch is at or before lead / opportunity creation; null when not asked)."""

    anchors: ir.Table
    touches: ir.Table
    milestones: frozenset[str]


def ledger_touches(
    tables: Tables,
    cfg: ProjectConfig,
    conv: ir.Table,
    *,
    stage: str,
    by: str,
    lookback_days: float,
    nulls: bool = False,
    start: dt.date | None = None,
    end: dt.date | None = None,
    milestones: Collection[str] = MILESTONES,
) -> LedgerTouches:
    """Touches of the conversions ``conv`` (see :func:`conversions`): each lead's touches in
    [converted_at − lookback, converted_at]. Touches without a lead (anonymous, not stitched)
    and touches after the conversion are not part of any journey.

    ``nulls=True`` adds the non-converting journeys the data-driven models need: leads that had
    not entered the conversion stage by the end of the range, anchored at their last touch
    (on or before ``end``, on a day in [start, end]), with their touches in the lookback before it.

    ``milestones``: which CRM moments (``lead``, ``opportunity``) to locate; each costs a join
    (the lead merge, the stage pivot), so only the models that use them ask for them.
    """
    wanted = frozenset(milestones) & frozenset(MILESTONES)
    if "opportunity" not in cfg.stage_keys:
        wanted -= {"opportunity"}
    t = tables["touches"]
    t = t.filter(t.lead_id.notnull())
    t = t.select("lead_id", "at", "channel", "campaign", "touch_id", "row_id")
    lookback = lookback_days * DAY
    anchors = conv.select(
        journey_id=conv.lead_id,
        anchor=conv.converted_at,
        conversions=ibis.literal(1.0),
        value=conv.value.cast("float64"),
        nulls=ibis.literal(0.0),
        deals_without_amount=conv.deals_without_amount.cast("int64"),
    )
    if nulls:
        later = _entries(tables, cfg, stage)
        # leads converted on or before the end of the range are not "null" journeys
        done = later.filter(in_local_days(later.entered_at, None, end)).select("lead_id")
        # (a left join keeping the unmatched: Ibis 12 writes ANTI JOIN, which PostgreSQL lacks)
        done = done.group_by("lead_id").agg(_done=done.count())
        tb = t.filter(in_local_days(t.at, None, end))
        tl = tb.left_join(done, tb.lead_id == done.lead_id)
        tn = tl.filter(tl._done.isnull()).select(tb.lead_id, tb.at)
        last = tn.group_by("lead_id").agg(anchor=tn.at.max())
        last = last.filter(in_local_days(last.anchor, start, end))
        anchors = anchors.union(
            last.select(
                journey_id=last.lead_id,
                anchor=last.anchor,
                conversions=ibis.literal(0.0),
                value=ibis.literal(0.0),
                nulls=ibis.literal(1.0),
                deals_without_amount=ibis.literal(0).cast("int64"),
            ),
            distinct=False,
        )
    # the CRM's moments, only those asked for
    moments = anchors.select("journey_id", "anchor")
    no_time = ibis.null().cast(moments.anchor.type())
    if "lead" in wanted:
        leads = current_leads(tables).select("lead_id", "created_at")
        moments = moments.left_join(leads, moments.journey_id == leads.lead_id).select(
            moments.journey_id, moments.anchor, lead_at=leads.created_at
        )
    else:
        moments = moments.mutate(lead_at=no_time)
    if "opportunity" in wanted:
        lj = lead_journeys(tables, cfg, side_states=False)
        opp = lj.select(lead_id=lj.lead_id, opp_at=lj["opportunity_reached_at"])
        moments = moments.left_join(opp, moments.journey_id == opp.lead_id).select(
            moments.journey_id, moments.anchor, moments.lead_at, opp.opp_at
        )
    else:
        moments = moments.mutate(opp_at=no_time)
    joined = t.join(moments, t.lead_id == moments.journey_id)
    gap = seconds_between(joined.at, joined.anchor)
    inwin = joined.filter((gap >= 0) & (gap <= lookback))
    no_flag = ibis.null().cast("boolean")
    touches = inwin.select(
        journey_id=inwin.journey_id,
        at=inwin.at,
        touch_id=inwin.touch_id,
        row_id=inwin.row_id,
        key=_key_column(inwin, by),
        channel=inwin.channel,
        hours_before=gap / 3600.0,
        by_lead=(inwin.at <= inwin.lead_at) if "lead" in wanted else no_flag,
        # a lead that never reached opportunity before converting: the conversion touch
        by_opp=(inwin.at <= inwin.opp_at.coalesce(inwin.anchor))
        if "opportunity" in wanted
        else no_flag,
    )
    # the one window: positions in time order (then touch_id, then the row)
    w = ibis.window(
        group_by=touches.journey_id, order_by=[touches.at, touches.touch_id, touches.row_id]
    )
    touches = touches.select(
        "journey_id",
        (ibis.row_number().over(w) + 1).cast("int64").name("pos"),
        "key",
        "channel",
        "hours_before",
        "by_lead",
        "by_opp",
    )
    return LedgerTouches(anchors=anchors.drop("anchor"), touches=touches, milestones=wanted)


def ledger_journey_set(lt: LedgerTouches) -> JourneySet:
    """The journeys of numbered ledger touches (materialised or not): per-journey facts by
    group-by — length, and the milestone positions as filtered maxima (the last touch at or
    before the moment; none: the first touch)."""
    t = lt.touches
    per = t.group_by("journey_id").agg(
        n=t.count(),
        lead_pos=t.pos.max(where=t.by_lead).coalesce(1),
        opp_pos=t.pos.max(where=t.by_opp).coalesce(1),
    )
    a = lt.anchors
    none = ibis.null().cast("int64")
    jj = a.left_join(per, a.journey_id == per.journey_id).select(
        a.journey_id,
        a.conversions,
        a.value,
        a.nulls,
        n=per.n.coalesce(0).cast("int64"),
        lead_pos=per.lead_pos.cast("int64") if "lead" in lt.milestones else none,
        opp_pos=per.opp_pos.cast("int64") if "opportunity" in lt.milestones else none,
        deals_without_amount=a.deals_without_amount,
    )
    return JourneySet(
        journeys=jj,
        touches=t.select(*TOUCH_COLUMNS),
        has_milestones=True,
        has_times=True,
        milestones=lt.milestones,
    )


def ledger_journeys(
    tables: Tables,
    cfg: ProjectConfig,
    conv: ir.Table,
    *,
    stage: str,
    by: str,
    lookback_days: float,
    nulls: bool = False,
    start: dt.date | None = None,
    end: dt.date | None = None,
    milestones: Collection[str] = MILESTONES,
) -> JourneySet:
    """:func:`ledger_touches` and :func:`ledger_journey_set` in one expression (nothing stored:
    every query on it recomputes the window; the binding stores the touches first)."""
    lt = ledger_touches(
        tables,
        cfg,
        conv,
        stage=stage,
        by=by,
        lookback_days=lookback_days,
        nulls=nulls,
        start=start,
        end=end,
        milestones=milestones,
    )
    return ledger_journey_set(lt)


# -- aggregated paths --------------------------------------------------------------------------
@dataclasses.dataclass
class PathsFrame:
    """Aggregated journeys, checked: one row per journey row of the file. Columns:
    ``journey_id`` (1 = the first data row), ``path`` (normalised: the steps joined by the bare
    separator, ``a>b>c``), ``conversions``, ``value``, ``nulls``."""

    paths: pd.DataFrame
    #: What separates the steps of ``path``.
    path_sep: str = ">"


def _check_paths(raw: pd.DataFrame, where: str, path_sep: str) -> PathsFrame:
    """Check ChannelAttribution's layout; errors name ``where``, the row (1 = the first data
    row) and the column."""
    raw = raw.copy()
    raw.columns = [str(c).strip() for c in raw.columns]
    for col in ("path", "total_conversions"):
        if col not in raw.columns:
            raise ImportFileError(
                f"{where}: missing column '{col}' (columns: {', '.join(raw.columns)})",
                hint="a paths file has path;total_conversions[;total_conversion_value]"
                "[;total_null] (ChannelAttribution's layout); is --sep right?",
            )

    def numbers(col: str, default: float | None) -> pd.Series:
        if col not in raw.columns:
            return pd.Series(default, index=raw.index, dtype="float64")
        if pd.api.types.is_numeric_dtype(raw[col]) and not pd.api.types.is_bool_dtype(raw[col]):
            vals = raw[col].astype("float64")
        else:
            vals = pd.to_numeric(raw[col].astype(str).str.strip(), errors="coerce")
        bad = vals.isna() | (vals < 0)
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise ImportFileError(
                f"{where}: row {i + 1}, column '{col}': '{raw[col].iloc[i]}' is not a number >= 0",
                hint="counts and values are plain numbers (a dot for decimals)",
            )
        return vals.astype("float64")

    conv = numbers("total_conversions", None)
    value = (
        numbers("total_conversion_value", None)
        if "total_conversion_value" in raw.columns
        else conv.copy()
    )
    nulls = numbers("total_null", 0.0)
    text = pa.array(raw["path"].astype(str), type=pa.string())
    path, suspect = _normalised(text, path_sep)
    if suspect:
        sep = re.escape(path_sep)
        empty = pc.match_substring_regex(path, rf"^$|^{sep}|{sep}{sep}|{sep}$")
        if pc.any(empty).as_py():
            i = int(empty.to_numpy(zero_copy_only=False).nonzero()[0][0])
            raise ImportFileError(
                f"{where}: row {i + 1}, column 'path': '{text[i].as_py()}' has an empty step",
                hint=f"a path is channels separated by '{path_sep}', e.g. 'a > b > c'",
            )
    frame = pd.DataFrame(
        {
            "journey_id": pd.RangeIndex(1, len(raw) + 1, dtype="int64"),
            "path": pd.Series(path.to_pandas(), dtype="str"),
            "conversions": conv.to_numpy(),
            "value": value.to_numpy(),
            "nulls": nulls.to_numpy(),
        }
    )
    return PathsFrame(paths=frame, path_sep=path_sep)


def _normalised(text: pa.Array, path_sep: str) -> tuple[pa.Array, bool]:
    """Paths with their steps joined by the bare separator, the spaces around each step
    trimmed (``a > b`` → ``a>b``), so the engine splits them without a regular expression;
    and whether an empty step is possible. The usual layout (one space each side of every
    separator, no empty step) takes one replacement and one check; anything else a regular
    expression."""
    sep = re.escape(path_sep)
    plain = pc.replace_substring(text, f" {path_sep} ", path_sep)
    odd = pc.match_substring_regex(plain, rf"^\s|\s$|\s{sep}|{sep}\s|^{sep}|{sep}{sep}|{sep}$|^$")
    if not pc.any(odd).as_py():
        return plain, False
    fixed = pc.replace_substring_regex(text, rf"\s*{sep}\s*", path_sep)
    return pc.utf8_trim_whitespace(fixed), True


def read_paths(file: Path, *, sep: str = ";", path_sep: str = ">") -> PathsFrame:
    """Read ChannelAttribution's layout: ``path`` (``a > b > c``), ``total_conversions``,
    ``total_conversion_value`` (optional: the value is then the conversions) and ``total_null``
    (optional: 0). Errors name the file, the row (1 = the first data row) and the column."""
    file = Path(file)
    if not file.is_file():
        raise ImportFileError(f"{file}: no such file", hint="pass --paths with a CSV file")
    try:
        raw = pd.read_csv(file, sep=sep, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ImportFileError(f"{file}: cannot read as CSV with --sep '{sep}': {exc}") from exc
    return _check_paths(raw, str(file), path_sep)


def paths_frame(data: pd.DataFrame, *, path_sep: str = ">") -> PathsFrame:
    """Aggregated journeys already in memory (ChannelAttribution's layout), checked like a
    file (the errors name the row and the column)."""
    return _check_paths(data, "paths", path_sep)


def split_paths(paths: ir.Table, *, path_sep: str = ">", clean: bool = False) -> ir.Table:
    """Paths as arrays, in the engine: ``path`` (``a > b > c``; spaces around a step are
    trimmed) → ``keys`` (``[a, b, c]``). Keeps the other columns. ``clean``: the paths are
    already normalised (``a>b>c``, see :func:`read_paths`), a plain split does."""
    if clean:
        text = paths.path
    else:
        sep = re.escape(path_sep)
        text = paths.path.re_replace(rf"\s*{sep}\s*", path_sep).strip()
    return paths.mutate(keys=text.split(path_sep)).drop("path")


def array_journeys(paths: ir.Table) -> JourneySet:
    """Journeys of aggregated paths with ``keys`` arrays (columns ``journey_id``, ``keys``,
    ``conversions``, ``value``, ``nulls``): a touch per array element (unnested with its
    index). No times, no CRM moments: the last touch stands in for lead creation (the classic
    position-based U-shape)."""
    n = paths["keys"].length().cast("int64")
    arrays = paths.select(
        "journey_id",
        "keys",
        conversions=paths.conversions.cast("float64"),
        value=paths.value.cast("float64"),
        nulls=paths.nulls.cast("float64"),
        n=n,
    )
    journeys = paths.select(
        "journey_id",
        conversions=paths.conversions.cast("float64"),
        value=paths.value.cast("float64"),
        nulls=paths.nulls.cast("float64"),
        n=n,
        lead_pos=n,
        opp_pos=ibis.null().cast("int64"),
    )
    u = paths.select("journey_id", "keys").unnest("keys", offset="_i")
    touches = u.select(
        "journey_id",
        pos=(u._i + 1).cast("int64"),
        key=u["keys"],
        channel=u["keys"],
        hours_before=ibis.null().cast("float64"),
    )
    return JourneySet(
        journeys=journeys,
        touches=touches,
        has_milestones=False,
        has_times=False,
        milestones=frozenset(),
        arrays=arrays,
    )


def path_journeys(paths: ir.Table, *, path_sep: str = ">", clean: bool = False) -> JourneySet:
    """Journeys of a paths table (``journey_id``, ``path``, ``conversions``, ``value``,
    ``nulls``): split in the engine, see :func:`split_paths` and :func:`array_journeys`."""
    return array_journeys(split_paths(paths, path_sep=path_sep, clean=clean))


def paths_journeys(frame: PathsFrame) -> JourneySet:
    """The journeys of a checked paths frame, as an in-memory (Arrow) table, no connection."""
    table = pa.Table.from_pandas(frame.paths, preserve_index=False)
    return path_journeys(ibis.memtable(table), path_sep=frame.path_sep, clean=True)


# -- our own path aggregation ------------------------------------------------------------------
def path_arrays(
    js: JourneySet, *, order_by: str | Sequence[str] = "pos", sort_in_list: bool = False
) -> ir.Table:
    """Journeys aggregated by path: ``journey_id`` (the path as text, ``a > b``), ``keys`` (the
    path as an array), ``conversions``, ``value``, ``nulls`` (sums over the journeys with the
    same sequence of keys): what :func:`array_journeys` reads, ChannelAttribution's layout.
    Every touch of ``js.touches`` is aggregated, then only the journeys of ``js.journeys``
    count (to aggregate fewer, filter the touches too).

    The touches (``journey_id``, ``key`` and the columns ``order_by``, e.g. time then a
    tie-breaker) are put in order either by an ordered aggregate (portable) or, with
    ``sort_in_list``, by collecting (order…, key) rows and sorting the list: on DuckDB 1.5 that
    is 2–3× faster than its ordered aggregate, but PostgreSQL cannot read a field back from an
    anonymous row, so ask for it on DuckDB only."""
    j = js.journeys.select("journey_id", "conversions", "value", "nulls")
    t = js.touches
    order = [order_by] if isinstance(order_by, str) else list(order_by)
    if sort_in_list:
        fields = {f"o{i}": t[c] for i, c in enumerate(order)}
        pairs = ibis.struct({**fields, "k": t.key}).collect().sort()
        keys = pairs.map(lambda s: s["k"])
    else:
        keys = t.key.collect(order_by=[t[c] for c in order])
    per = t.group_by(t.journey_id).agg(keys=keys)
    joined = j.join(per, j.journey_id == per.journey_id)
    g = joined.group_by(joined["keys"]).agg(
        conversions=joined.conversions.sum(),
        value=joined.value.sum(),
        nulls=joined.nulls.sum(),
    )
    return g.select(
        journey_id=g["keys"].join(PATH_SEP),
        keys=g["keys"],
        conversions=g.conversions,
        value=g.value,
        nulls=g.nulls,
    )


def path_table(js: JourneySet, *, order_by: str = "pos", sort_in_list: bool = False) -> ir.Table:
    """Journeys aggregated by path in ChannelAttribution's layout: ``path`` (``a > b > c``),
    ``total_conversions``, ``total_conversion_value``, ``total_null``."""
    p = path_arrays(js, order_by=order_by, sort_in_list=sort_in_list)
    return p.select(
        path=p.journey_id,
        total_conversions=p.conversions,
        total_conversion_value=p.value,
        total_null=p.nulls,
    )
