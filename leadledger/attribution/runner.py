"""Run the attribution models over journeys: the ledger's, or the aggregated paths of a file.

On the ledger, one call builds the journeys of the conversions in a range, stores them once
(in a ``scratch``: temporary tables for the call) and lets every model read them; on a paths
file the journeys come from the checked paths. Either way each model's credits, the totals
they reconcile with and what could not be credited come back as :class:`Credits`.

What this needs is passed in: the ledger's tables and the config, ``fetch`` (a function that
runs an expression and returns its rows or value: ``Ctx.execute``, a connection's
``execute``) and, on the ledger, a scratch (``Ctx.scratch()``). It never opens a connection
and never reads the surfaces' parameters: the values are typed and checked by the caller
(``leadledger.reports.attribution``); defaults not given are the config's.

``credits()`` is what other reports build on (``report roi`` credits pipeline and revenue).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from leadledger.attribution import Model, WeightModel, check_model, get_model
from leadledger.attribution.markov import Markov
from leadledger.attribution.paths import (
    JourneySet,
    PathsFrame,
    conversions,
    ledger_journey_set,
    ledger_touches,
    paths_journeys,
    read_paths,
)
from leadledger.attribution.shapley import Shapley
from leadledger.config.models import Attribution, ProjectConfig
from leadledger.errors import InvalidArgument
from leadledger.ledger.derived import Tables

if TYPE_CHECKING:
    from leadledger.ledger.store import Scratch

__all__ = [
    "BY",
    "VALUES",
    "Credits",
    "Fetch",
    "ModelSettings",
    "credit",
    "credits",
    "credits_all",
    "frame_credits",
    "frame_credits_all",
    "model_settings",
    "path_credits",
    "run_models",
    "weight_credits",
]

#: What credit goes to: the touch's channel or its campaign.
BY = ("channel", "campaign")
#: What a conversion is worth: its deals' amounts, or 1.
VALUES = ("amount", "count")
#: Runs an expression on an engine and returns its result (a frame, a column or a scalar).
Fetch = Callable[[ir.Expr], Any]


@dataclasses.dataclass
class Credits:
    """What a model credits, and what it could not: the totals always reconcile,
    ``converted_value = frame.value.sum() + unattributed_value`` (and the same for counts)."""

    #: One row per channel/campaign: ``[by, "conversions", "value"]`` (credited, fractional).
    frame: pd.DataFrame
    converted: float
    converted_value: float
    unattributed_conversions: float
    unattributed_value: float
    notes: list[str] = dataclasses.field(default_factory=list)
    model: str = ""
    by: str = "channel"
    #: Model-specific columns per key (Markov ``removal_effect``, Shapley ``std_error``).
    details: pd.DataFrame | None = None


# -- the models' parameters ----------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ModelSettings:
    """The parameters the models take (each model reads its own; see ``get_model``)."""

    half_life_days: float = 7.0
    order: int = 1
    collapse: bool = True
    direct_channels: tuple[str, ...] = ("direct",)


def model_settings(
    cfg: Attribution | None,
    *,
    half_life_days: float | None = None,
    order: int | None = None,
    collapse: bool = True,
) -> ModelSettings:
    """The models' parameters: those given, else the project's (``attribution:``), else the
    defaults (no project). A half-life must be longer than 0, an order 1, 2 or 3."""
    hl = float(
        half_life_days
        if half_life_days is not None
        else (cfg.half_life_days if cfg is not None else 7.0)
    )
    k = int(order if order is not None else (cfg.markov_order if cfg is not None else 1))
    if hl <= 0:
        raise InvalidArgument(f"--half-life {hl:g} must be longer than 0")
    if not 1 <= k <= 3:
        raise InvalidArgument(f"--order {k} must be 1, 2 or 3")
    direct = tuple(cfg.direct_channels) if cfg is not None else ("direct",)
    return ModelSettings(half_life_days=hl, order=k, collapse=collapse, direct_channels=direct)


def _models(names: Sequence[str], settings: ModelSettings) -> list[Model]:
    for name in names:
        check_model(name)
    return [
        get_model(
            name,
            half_life_days=settings.half_life_days,
            order=settings.order,
            collapse=settings.collapse,
            direct_channels=list(settings.direct_channels),
        )
        for name in names
    ]


# -- crediting -----------------------------------------------------------------------------------
def _applicable(model: Model, js: JourneySet) -> str | None:
    """Why ``model`` cannot run on these journeys, or None."""
    if model.needs_milestones and not js.has_milestones:
        return (
            f"model {model.name} needs the CRM's milestones (lead and opportunity creation), "
            "which a paths file does not have"
        )
    if model.needs_times and not js.has_times:
        return f"model {model.name} needs the touches' times, which a paths file does not have"
    return None


def credit(
    fetch: Fetch,
    js: JourneySet,
    model: Model,
    converted: float,
    value: float,
    frame: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame | None, list[str]]:
    """Run ``model`` on the journeys: (frame key/conversions/value, details, notes).
    ``converted``/``value``: the totals over journeys with at least one touch; ``frame``: the
    rule-based model's credits when already computed (see :func:`weight_credits`)."""
    why = _applicable(model, js)
    if why:
        raise InvalidArgument(why, hint="use the ledger, or another model")
    notes: list[str] = []
    details: pd.DataFrame | None = None
    if isinstance(model, WeightModel):
        frame = fetch(model.credits(js)) if frame is None else frame
    elif isinstance(model, Markov):
        counts = fetch(model.transitions(js))
        frame = model.credit_frame(counts, converted, value)
        details = frame[["key", "removal_effect"]]
        frame = frame[["key", "conversions", "value"]]
        if not counts["dst"].eq("(null)").any():
            notes.append(
                "markov: no journey ended without a conversion, so every removal effect is 1 "
                "and the credits are the channels' shares of presence"
            )
    elif isinstance(model, Shapley):
        res = model.solve(fetch(model.coalitions(js)))
        frame = res.frame[["key", "conversions", "value"]]
        details = res.frame[["key", "std_error"]]
        if res.sampled_journeys:
            notes.append(
                f"shapley: {res.sampled_journeys:g} conversions had journeys with more than "
                f"{model.exact_limit} channels; their credit is estimated from {res.samples} "
                "sampled orders (std_error: the standard error of each row's conversions)"
            )
    else:  # pragma: no cover - every registered model is one of the above
        raise InvalidArgument(f"model {model.name} cannot credit")
    assert frame is not None
    frame = frame.astype({"conversions": "float64", "value": "float64"})
    frame = frame.sort_values(["value", "conversions", "key"], ascending=[False, False, True])
    return frame.reset_index(drop=True), details, notes


def weight_credits(
    fetch: Fetch, js: JourneySet, models: Sequence[WeightModel]
) -> dict[str, pd.DataFrame]:
    """The credits of several rule-based models in one query (a union): name → frame."""
    exprs = [
        m.credits(js).select(
            key=ibis._.key,
            conversions=ibis._.conversions.cast("float64"),
            value=ibis._.value.cast("float64"),
            model=ibis.literal(m.name),
        )
        for m in models
    ]
    if not exprs:
        return {}
    both = fetch(ibis.union(*exprs, distinct=False))
    return {
        m.name: both[both["model"] == m.name].drop(columns="model").reset_index(drop=True)
        for m in models
    }


def _totals(fetch: Fetch, js: JourneySet) -> dict[str, float]:
    j = js.converting()
    with_touch = j.n > 0
    aggs: dict[str, ir.Value] = {
        "converted": j.conversions.sum(),
        "converted_value": j.value.sum(),
        "attributed": j.conversions.sum(where=with_touch),
        "attributed_value": j.value.sum(where=with_touch),
    }
    if "deals_without_amount" in j.columns:
        aggs["deals_without_amount"] = j.deals_without_amount.sum()
    row = fetch(j.agg(**aggs)).iloc[0]
    return {str(k): 0.0 if pd.isna(v) else float(v) for k, v in row.items()}


def run_models(
    fetch: Fetch,
    js: JourneySet,
    models: Sequence[Model],
    *,
    by: str,
    skip_inapplicable: bool = False,
) -> tuple[dict[str, Credits], dict[str, float], list[str]]:
    """Every model on the same journeys (one totals query): name → Credits, the totals, and
    the notes of the models skipped (``skip_inapplicable``)."""
    out: dict[str, Credits] = {}
    skipped: list[str] = []
    run: list[Model] = []
    for m in models:
        why = _applicable(m, js)
        if why and skip_inapplicable:
            skipped.append(f"{m.name} skipped: {why}")
        elif why:
            raise InvalidArgument(why, hint="use the ledger, or another model")
        else:
            run.append(m)
    tot = _totals(fetch, js)
    rules = [m for m in run if isinstance(m, WeightModel)]
    done = weight_credits(fetch, js, rules) if len(rules) > 1 else {}
    for m in run:
        frame, details, notes = credit(
            fetch, js, m, tot["attributed"], tot["attributed_value"], done.get(m.name)
        )
        frame = frame.rename(columns={"key": by})
        if details is not None:
            details = details.rename(columns={"key": by})
        out[m.name] = Credits(
            frame=frame[[by, "conversions", "value"]],
            converted=tot["converted"],
            converted_value=tot["converted_value"],
            unattributed_conversions=tot["converted"] - tot["attributed"],
            unattributed_value=tot["converted_value"] - tot["attributed_value"],
            notes=notes,
            model=m.name,
            by=by,
            details=details,
        )
    return out, tot, skipped


# -- on the ledger -------------------------------------------------------------------------------
def credits(
    tables: Tables,
    cfg: ProjectConfig,
    fetch: Fetch,
    scratch: Scratch,
    *,
    model: str | None = None,
    by: str = "channel",
    conversion: str | None = None,
    lookback_days: float | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    value: str = "amount",
    settings: ModelSettings | None = None,
) -> Credits:
    """Credit the conversions in [start, end] (local days of the conversion-stage entry) to the
    channels or campaigns of the touches in the lookback window before each.

    ``value="amount"``: for ``customer`` the lead's won deals' amounts, for ``opportunity`` all
    its deals' amounts (pipeline; a deal without an amount counts 0, noted); for any other stage
    a count (noted). ``value="count"``: 1 per conversion. Conversions without a touch in the
    window are not credited to anyone: they are ``unattributed_*``, so the totals reconcile.
    ``model``, ``conversion``, ``lookback_days`` and ``settings`` not given: the project's.
    """
    name = model or cfg.attribution.model
    return credits_all(
        tables,
        cfg,
        fetch,
        scratch,
        models=[name],
        by=by,
        conversion=conversion,
        lookback_days=lookback_days,
        start=start,
        end=end,
        value=value,
        settings=settings,
    )[name]


def credits_all(
    tables: Tables,
    cfg: ProjectConfig,
    fetch: Fetch,
    scratch: Scratch,
    *,
    models: Sequence[str],
    by: str = "channel",
    conversion: str | None = None,
    lookback_days: float | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    value: str = "amount",
    settings: ModelSettings | None = None,
) -> dict[str, Credits]:
    """:func:`credits` of several models on the same journeys: the journeys are built and stored
    once (in ``scratch``), then each model reads them. Name → Credits."""
    if by not in BY:
        raise ValueError(f"cannot credit by '{by}' (one of {', '.join(BY)})")
    if value not in VALUES:
        raise ValueError(f"cannot value conversions by '{value}' (one of {', '.join(VALUES)})")
    stage = conversion or cfg.attribution.conversion
    lookback = float(lookback_days if lookback_days is not None else cfg.attribution.lookback_days)
    ms = _models(models, settings or model_settings(cfg.attribution))
    notes: list[str] = []
    if value == "amount" and stage not in ("customer", "opportunity"):
        notes.append(
            f"a conversion into {stage} has no amount: each conversion is worth 1 (--value count)"
        )
    conv = conversions(tables, cfg, stage=stage, start=start, end=end, value=value)
    lt = ledger_touches(
        tables,
        cfg,
        conv,
        stage=stage,
        by=by,
        lookback_days=lookback,
        nulls=any(m.needs_nulls for m in ms),
        start=start,
        end=end,
        milestones=frozenset().union(*(m.crm_moments for m in ms)),
    )
    if by == "channel":  # the key is the channel: store it once
        touches = scratch.keep(lt.touches.drop("channel"))
        touches = touches.mutate(channel=touches.key)
    else:
        touches = scratch.keep(lt.touches)
    js = ledger_journey_set(dataclasses.replace(lt, touches=touches))
    js = dataclasses.replace(js, journeys=scratch.keep(js.journeys))
    out, tot, _ = run_models(fetch, js, ms, by=by)
    missing = int(tot.get("deals_without_amount", 0.0))
    if value == "amount" and stage == "opportunity" and missing > 0:
        notes.append(f"{missing} deal(s) of these opportunities have no amount yet and count 0")
    after: list[str] = []
    un_c = tot["converted"] - tot["attributed"]
    if un_c > 0:
        un_v = tot["converted_value"] - tot["attributed_value"]
        after.append(
            f"{un_c:g} conversion(s) worth {un_v:,.2f} had no touch in the {lookback:g}-day "
            "lookback window: not credited to any " + by
        )
    for c in out.values():
        c.notes = [*notes, *c.notes, *after]
    return out


# -- on aggregated paths -------------------------------------------------------------------------
def path_credits(
    fetch: Fetch,
    file: Path,
    *,
    model: str,
    sep: str = ";",
    settings: ModelSettings | None = None,
) -> Credits:
    """Credits on the aggregated journeys of a paths file (ChannelAttribution's layout)."""
    return frame_credits(fetch, read_paths(Path(file), sep=sep), model=model, settings=settings)


def frame_credits(
    fetch: Fetch, frame: PathsFrame, *, model: str, settings: ModelSettings | None = None
) -> Credits:
    """Credits on checked paths (see ``paths.read_paths`` / ``paths_frame``), run by ``fetch``
    (the paths go in as an Arrow table)."""
    return frame_credits_all(fetch, frame, models=[model], settings=settings)[model]


def frame_credits_all(
    fetch: Fetch,
    frame: PathsFrame,
    *,
    models: Sequence[str],
    skip_inapplicable: bool = False,
    notes: list[str] | None = None,
    settings: ModelSettings | None = None,
) -> dict[str, Credits]:
    """Several models on the same checked paths: split into arrays and unnested in the engine
    ``fetch`` runs on. Models that cannot run on paths raise, or with ``skip_inapplicable`` are
    left out with a line in ``notes``. ``settings`` not given: the defaults (a paths file has
    no project)."""
    ms = _models(models, settings or model_settings(None))
    js = paths_journeys(frame)
    out, _, skipped = run_models(fetch, js, ms, by="channel", skip_inapplicable=skip_inapplicable)
    if notes is not None:
        notes += skipped
    return out
