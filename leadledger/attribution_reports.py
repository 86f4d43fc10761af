"""Bind attribution to a workspace (or to a paths file): parse parameters, build the journeys'
expressions, run them, let the model credit, wrap a Report.

``credits()`` is the contract other reports (ROI) build on; ``attribution_report()`` is the
``leadledger attribution`` command.
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from leadledger.attribution import MODELS, Model, WeightModel, check_model, get_model
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
from leadledger.errors import InvalidArgument
from leadledger.report import Report
from leadledger.reports.legacy import check_stage, parse_date, parse_window

if TYPE_CHECKING:
    from leadledger.service import Workspace

BY = ("channel", "campaign")
VALUES = ("amount", "count")
Execute = Callable[[ibis.Expr], Any]


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


# -- parameters ----------------------------------------------------------------------------------
def _check_by(by: str) -> str:
    if by not in BY:
        raise InvalidArgument(f"--by '{by}' is not one of {', '.join(BY)}")
    return by


def _check_value(value: str) -> str:
    if value not in VALUES:
        raise InvalidArgument(f"--value '{value}' is not one of {', '.join(VALUES)}")
    return value


def parse_lookback(value: str | float | None, default: float) -> float:
    if value is None or value == "":
        return float(default)
    days = parse_window(value, "lookback")
    if days is None or days <= 0:
        raise InvalidArgument(f"--lookback '{value}' must be longer than 0")
    return days


def _model_params(ws: Workspace | None, params: dict[str, Any]) -> dict[str, Any]:
    cfg = ws.cfg.attribution if ws is not None else None
    half_life = params.get("half_life_days")
    order = params.get("order")
    hl = float(half_life if half_life is not None else (cfg.half_life_days if cfg else 7.0))
    k = int(order if order is not None else (cfg.markov_order if cfg else 1))
    if hl <= 0:
        raise InvalidArgument(f"--half-life {hl:g} must be longer than 0")
    if not 1 <= k <= 3:
        raise InvalidArgument(f"--order {k} must be 1, 2 or 3")
    return {
        "half_life_days": hl,
        "order": k,
        "collapse": bool(params.get("collapse", True)),
        "direct_channels": list(
            params.get("direct_channels") or (cfg.direct_channels if cfg else ["direct"])
        ),
    }


# -- crediting -----------------------------------------------------------------------------------
class Scratch:
    """Temporary tables on one connection, for one call: the journeys are stored once and every
    model (and the totals) reads them. Dropped on close."""

    def __init__(self, con: Any) -> None:
        self.con = con
        self.names: list[str] = []

    def keep(self, expr: ir.Table) -> ir.Table:
        name = f"_leadledger_attribution_{uuid.uuid4().hex[:16]}"
        table = self.con.create_table(name, expr, temp=True)
        self.names.append(name)
        return table

    def close(self) -> None:
        while self.names:
            self.con.drop_table(self.names.pop(), force=True)

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
    execute: Execute,
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
        frame = execute(model.credits(js)) if frame is None else frame
    elif isinstance(model, Markov):
        counts = execute(model.transitions(js))
        frame = model.credit_frame(counts, converted, value)
        details = frame[["key", "removal_effect"]]
        frame = frame[["key", "conversions", "value"]]
        if not counts["dst"].eq("(null)").any():
            notes.append(
                "markov: no journey ended without a conversion, so every removal effect is 1 "
                "and the credits are the channels' shares of presence"
            )
    elif isinstance(model, Shapley):
        res = model.solve(execute(model.coalitions(js)))
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
    frame = frame.astype({"conversions": "float64", "value": "float64"})
    frame = frame.sort_values(["value", "conversions", "key"], ascending=[False, False, True])
    return frame.reset_index(drop=True), details, notes


def weight_credits(
    execute: Execute, js: JourneySet, models: Sequence[WeightModel]
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
    both = execute(ibis.union(*exprs, distinct=False))
    return {
        m.name: both[both["model"] == m.name].drop(columns="model").reset_index(drop=True)
        for m in models
    }


def _totals(execute: Execute, js: JourneySet) -> dict[str, float]:
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
    row = execute(j.agg(**aggs)).iloc[0]
    return {k: 0.0 if pd.isna(v) else float(v) for k, v in row.items()}


def run_models(
    execute: Execute,
    js: JourneySet,
    models: list[Model],
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
    tot = _totals(execute, js)
    rules = [m for m in run if isinstance(m, WeightModel)]
    done = weight_credits(execute, js, rules) if len(rules) > 1 else {}
    for m in run:
        frame, details, notes = credit(
            execute, js, m, tot["attributed"], tot["attributed_value"], done.get(m.name)
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


def credits(
    ws: Workspace,
    *,
    model: str | None = None,
    by: str = "channel",
    conversion: str | None = None,
    lookback_days: float | None = None,
    start: Any = None,
    end: Any = None,
    value: str = "amount",
    **model_params: Any,
) -> Credits:
    """Credit the conversions in [start, end] (local days of the conversion-stage entry) to the
    channels or campaigns of the touches in the lookback window before each.

    ``value="amount"``: for ``customer`` the lead's won deals' amounts, for ``opportunity`` all
    its deals' amounts (pipeline; a deal without an amount counts 0, noted); for any other stage
    a count (noted). ``value="count"``: 1 per conversion. Conversions without a touch in the
    window are not credited to anyone: they are ``unattributed_*``, so the totals reconcile.
    """
    name = model or ws.cfg.attribution.model
    check_model(name)
    return credits_all(
        ws,
        models=[name],
        by=by,
        conversion=conversion,
        lookback_days=lookback_days,
        start=start,
        end=end,
        value=value,
        **model_params,
    )[name]


def credits_all(
    ws: Workspace,
    *,
    models: Sequence[str],
    by: str = "channel",
    conversion: str | None = None,
    lookback_days: float | None = None,
    start: Any = None,
    end: Any = None,
    value: str = "amount",
    **model_params: Any,
) -> dict[str, Credits]:
    """:func:`credits` of several models on the same journeys: the journeys are built and stored
    once (temporary tables), then each model reads them. Name → Credits."""
    cfg = ws.cfg
    for name in models:
        check_model(name)
    by = _check_by(by)
    value = _check_value(value)
    stage = check_stage(ws, conversion or cfg.attribution.conversion, "conversion")
    lookback = parse_lookback(lookback_days, cfg.attribution.lookback_days)
    s, e = parse_date(start, "from"), parse_date(end, "to")
    if s and e and s > e:
        raise InvalidArgument(f"--from {s} is after --to {e}")
    params = _model_params(ws, model_params)
    ms = [get_model(name, **params) for name in models]
    notes: list[str] = []
    if value == "amount" and stage not in ("customer", "opportunity"):
        notes.append(
            f"a conversion into {stage} has no amount: each conversion is worth 1 (--value count)"
        )
    tables = ws.store.tables()
    conv = conversions(tables, cfg, stage=stage, start=s, end=e, value=value)
    lt = ledger_touches(
        tables,
        cfg,
        conv,
        stage=stage,
        by=by,
        lookback_days=lookback,
        nulls=any(m.needs_nulls for m in ms),
        start=s,
        end=e,
        milestones=frozenset().union(*(m.crm_moments for m in ms)),
    )
    with Scratch(ws.store.con) as scratch:
        if by == "channel":  # the key is the channel: store it once
            touches = scratch.keep(lt.touches.drop("channel"))
            touches = touches.mutate(channel=touches.key)
        else:
            touches = scratch.keep(lt.touches)
        js = ledger_journey_set(dataclasses.replace(lt, touches=touches))
        js = dataclasses.replace(js, journeys=scratch.keep(js.journeys))
        out, tot, _ = run_models(ws.store.execute, js, ms, by=by)
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


def path_credits(file: Path, *, model: str, sep: str = ";", **model_params: Any) -> Credits:
    """Credits on the aggregated journeys of a paths file (ChannelAttribution's layout)."""
    return frame_credits(read_paths(Path(file), sep=sep), model=model, **model_params)


def frame_credits(
    frame: PathsFrame, *, model: str, con: Any = None, **model_params: Any
) -> Credits:
    """Credits on checked paths (see ``paths.read_paths`` / ``paths_frame``), run on ``con``
    (default: a new in-memory DuckDB)."""
    check_model(model)
    return frame_credits_all(frame, models=[model], con=con, **model_params)[model]


def frame_credits_all(
    frame: PathsFrame,
    *,
    models: Sequence[str],
    con: Any = None,
    skip_inapplicable: bool = False,
    notes: list[str] | None = None,
    **model_params: Any,
) -> dict[str, Credits]:
    """Several models on the same checked paths: split into arrays and unnested in the engine
    (``con``, default a new in-memory DuckDB; the paths go in as an Arrow table). Models that
    cannot run on paths raise, or with ``skip_inapplicable`` are left out with a line in
    ``notes``."""
    for name in models:
        check_model(name)
    params = _model_params(None, model_params)
    ms = [get_model(name, **params) for name in models]
    own = con is None
    con = ibis.duckdb.connect() if own else con
    try:
        js = paths_journeys(frame)
        out, _, skipped = run_models(
            con.execute, js, ms, by="channel", skip_inapplicable=skip_inapplicable
        )
    finally:
        if own:
            con.disconnect()
    if notes is not None:
        notes += skipped
    return out


# -- the report ----------------------------------------------------------------------------------
def _with_share(c: Credits) -> pd.DataFrame:
    f = c.frame.copy()
    total = f["conversions"].sum()
    f["share"] = f["conversions"] / total if total else math.nan
    if c.details is not None:
        f = f.merge(c.details, on=c.by, how="left")
    return f


def _totals_frame(c: Credits) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "converted": c.converted,
                "converted_value": c.converted_value,
                "attributed_conversions": float(c.frame["conversions"].sum()),
                "attributed_value": float(c.frame["value"].sum()),
                "unattributed_conversions": c.unattributed_conversions,
                "unattributed_value": c.unattributed_value,
            }
        ]
    )


def attribution_report(
    ws: Workspace | None,
    *,
    model: str | None = None,
    by: str = "channel",
    conversion: str | None = None,
    lookback: str | float | None = None,
    paths: Path | str | None = None,
    sep: str = ";",
    compare: bool = False,
    start: Any = None,
    end: Any = None,
    value: str = "amount",
    order: int | None = None,
    half_life: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """``leadledger attribution``: one model's credits (or every model's with ``compare``) on
    the ledger of ``ws`` or on a paths file."""
    step = progress or (lambda _msg: None)
    if paths is None and ws is None:  # pragma: no cover - the CLI always opens a project
        raise InvalidArgument("attribution needs a project or --paths FILE")
    default_model = ws.cfg.attribution.model if ws is not None else "linear"
    name = model or default_model
    if not compare:
        check_model(name)
    params_m = {"order": order, "half_life_days": half_life}
    resolved = _model_params(ws, params_m)
    params: dict[str, Any] = {
        "model": "compare" if compare else name,
        "by": "channel" if paths is not None else _check_by(by),
        "paths": str(paths) if paths is not None else None,
        "order": resolved["order"],
        "half_life_days": resolved["half_life_days"],
    }
    if paths is None:
        assert ws is not None
        params.update(
            {
                "conversion": conversion or ws.cfg.attribution.conversion,
                "lookback_days": parse_lookback(lookback, ws.cfg.attribution.lookback_days),
                "from": parse_date(start, "from"),
                "to": parse_date(end, "to"),
                "value": _check_value(value),
            }
        )
    else:
        params["sep"] = sep

    def run(names: list[str], notes: list[str] | None = None) -> dict[str, Credits]:
        step(f"crediting with {', '.join(names)}" if len(names) < 3 else "crediting every model")
        if paths is not None:
            return frame_credits_all(
                read_paths(Path(paths), sep=sep),
                models=names,
                skip_inapplicable=compare,
                notes=notes,
                **params_m,
            )
        assert ws is not None
        return credits_all(
            ws,
            models=names,
            by=params["by"],
            conversion=params["conversion"],
            lookback_days=params["lookback_days"],
            start=params["from"],
            end=params["to"],
            value=params["value"],
            **params_m,
        )

    key = params["by"]
    if not compare:
        c = run([name])[name]
        return Report(
            name="attribution",
            params=params,
            frame=_with_share(c),
            notes=c.notes,
            title=f"Attribution: {name} by {key}",
            extra={"totals": ("Totals", _totals_frame(c))},
        )
    conv_cols: dict[str, pd.Series] = {}
    val_cols: dict[str, pd.Series] = {}
    notes: list[str] = []
    last: Credits | None = None
    for model_name, c in run(list(MODELS), notes).items():
        last = c
        notes += [n for n in c.notes if n not in notes]
        conv_cols[model_name] = c.frame.set_index(key)["conversions"]
        val_cols[model_name] = c.frame.set_index(key)["value"]
    conv = pd.DataFrame(conv_cols).fillna(0.0)
    vals = pd.DataFrame(val_cols).fillna(0.0)
    first = next(iter(conv_cols))
    order_ = vals.sort_values(first, ascending=False).index
    conv = conv.loc[order_].rename_axis(key).reset_index()
    vals = vals.loc[order_].rename_axis(key).reset_index()
    extra = {"value": ("Credited value by model", vals)}
    if last is not None:
        extra["totals"] = ("Totals", _totals_frame(last))
    return Report(
        name="attribution",
        params=params,
        frame=conv,
        notes=notes,
        title=f"Attribution: credited conversions by {key}, every model",
        extra=extra,
    )
