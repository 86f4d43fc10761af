"""The attribution report: ``leadledger attribution``, one model's credits (or every model's
with ``--compare``) on the ledger or on a paths file. The models run in
``leadledger.attribution.runner``; this module checks the parameters against the project and
shapes the report."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import pandas as pd
from pydantic import BeforeValidator, Field

from leadledger.attribution import MODELS, check_model
from leadledger.attribution.paths import read_paths
from leadledger.attribution.runner import (
    BY,
    VALUES,
    Credits,
    credits_all,
    frame_credits_all,
    model_settings,
)
from leadledger.errors import InvalidArgument
from leadledger.ledger.store import in_memory
from leadledger.reports.common import check_stage
from leadledger.reports.context import Ctx
from leadledger.reports.params import Duration, From, Params, Surface, To, duration, resolved
from leadledger.reports.registry import Resolved, report
from leadledger.reports.result import Report

__all__ = ["AttributionParams", "Lookback", "days_of"]

#: ``--lookback`` of ``report roi`` and ``attribution``: days, weeks or hours.
Lookback = Annotated[
    Duration | None,
    BeforeValidator(duration(units="hdw")),
    Surface(raw=str | None),
    Field(
        description="Touches this long before the conversion get credit, e.g. 90d, 12w "
        "(default: attribution.lookback_days)."
    ),
]


def days_of(value: float) -> Duration:
    """A number of days (a config default) as the duration it stands for."""
    return Duration(float(value), "d", f"{value:g}d")


class AttributionParams(Params):
    """``leadledger attribution``."""

    model: Annotated[
        str | None,
        Surface(short="-m"),
        Field(
            description="first_touch, last_touch, last_non_direct, linear, u_shaped, w_shaped, "
            "full_path, j_shaped, inverse_j, time_decay, markov or shapley "
            "(default: attribution.model)."
        ),
    ] = None
    by: Annotated[str, Field(description="Credit channels or campaigns: channel or campaign.")] = (
        "channel"
    )
    conversion: Annotated[
        str | None,
        Field(description="The stage whose entry is the conversion (default: "
                          "attribution.conversion)."),
    ] = None  # fmt: skip
    lookback: Lookback = None
    paths: Annotated[
        Path | None,
        Surface(api=False),
        Field(
            description="Aggregated journeys in ChannelAttribution's layout (path, "
            "total_conversions, total_conversion_value, total_null) instead of the ledger; "
            "needs no project."
        ),
    ] = None
    sep: Annotated[
        str, Surface(api=False), Field(description="Column separator of the --paths file.")
    ] = ";"
    compare: Annotated[
        bool, Field(description="Every model side by side (credited conversions).")
    ] = False
    value: Annotated[
        str, Field(description="amount (won deals for customer, deals for opportunity) or count.")
    ] = "amount"
    order: Annotated[
        int | None,
        Surface(query=(("ge", 1), ("le", 3))),
        Field(description="Order of the markov model, 1–3 (default: attribution.markov_order)."),
    ] = None
    half_life: Annotated[
        float | None,
        Surface(query=(("allow_inf_nan", False),)),
        Field(description="Half-life of time_decay in days (default: attribution.half_life_days)."),
    ] = None
    start: From = None
    end: To = None

    def project_use(self) -> str:
        """A paths file needs no project (one given is used for the defaults)."""
        return "none" if self.paths is not None else "required"

    def resolve(self, ctx: Ctx) -> Resolved[AttributionParams]:
        att = ctx.cfg.attribution if ctx.has_project else None
        name = self.model or (att.model if att is not None else "linear")
        if not self.compare:
            check_model(name)
        shown = model_settings(att, half_life_days=self.half_life, order=self.order)
        if self.paths is not None:
            # the paths run with the models' own defaults (what was given is kept: the report
            # shows the project's defaults beside it)
            model_settings(None, half_life_days=self.half_life, order=self.order)
            return Resolved(resolved(self, model=name, by="channel"))
        assert att is not None
        if self.by not in BY:
            raise InvalidArgument(f"--by '{self.by}' is not one of {', '.join(BY)}")
        if self.lookback is not None and self.lookback.days <= 0:
            raise InvalidArgument(f"--lookback '{self.lookback}' must be longer than 0")
        lookback = self.lookback or days_of(att.lookback_days)
        if self.value not in VALUES:
            raise InvalidArgument(f"--value '{self.value}' is not one of {', '.join(VALUES)}")
        stage = check_stage(ctx, self.conversion or att.conversion, "--conversion")
        if self.start and self.end and self.start > self.end:
            raise InvalidArgument(f"--from {self.start} is after --to {self.end}")
        return Resolved(
            resolved(
                self,
                model=name,
                conversion=stage,
                lookback=lookback,
                order=shown.order,
                half_life=shown.half_life_days,
            )
        )


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


@report(
    "attribution",
    params=AttributionParams,
    columns=("conversions", "value", "share"),
    tables=("value", "totals"),
    cli="attribution",
    api="/attribution",
)
def report_attribution(ctx: Ctx, p: AttributionParams) -> Report:
    """Multi-touch attribution: credit each conversion (entry into --conversion with its date in
    --from/--to) to the channels or campaigns of the lead's touches in the lookback window before
    it. Credits of every model sum to the converted value; conversions without a touch in the
    window are reported apart.

    Example: leadledger attribution --model markov --by channel --lookback 90d --format json
    """
    assert p.model is not None
    ctx.progress("attributing")
    att = ctx.cfg.attribution if ctx.has_project else None
    name, key = p.model, p.by
    shown = model_settings(att, half_life_days=p.half_life, order=p.order)
    params: dict[str, object] = {
        "model": "compare" if p.compare else name,
        "by": key,
        "paths": str(p.paths) if p.paths is not None else None,
        "order": shown.order,
        "half_life_days": shown.half_life_days,
    }
    if p.paths is None:
        assert p.lookback is not None and p.conversion is not None
        params.update(
            {
                "conversion": p.conversion,
                "lookback_days": p.lookback.days,
                "from": p.start,
                "to": p.end,
                "value": p.value,
            }
        )
    else:
        params["sep"] = p.sep

    def run(names: list[str], notes: list[str] | None = None) -> dict[str, Credits]:
        ctx.progress(
            f"crediting with {', '.join(names)}" if len(names) < 3 else "crediting every model"
        )
        if p.paths is not None:
            with in_memory() as fetch:
                return frame_credits_all(
                    fetch,
                    read_paths(Path(p.paths), sep=p.sep),
                    models=names,
                    skip_inapplicable=p.compare,
                    notes=notes,
                    settings=model_settings(None, half_life_days=p.half_life, order=p.order),
                )
        assert p.lookback is not None
        with ctx.scratch() as scratch:
            return credits_all(
                ctx.tables(),
                ctx.cfg,
                ctx.execute,
                scratch,
                models=names,
                by=key,
                conversion=p.conversion,
                lookback_days=p.lookback.days,
                start=p.start,
                end=p.end,
                value=p.value,
                settings=shown,
            )

    if not p.compare:
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
