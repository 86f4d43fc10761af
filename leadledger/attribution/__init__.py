"""Multi-touch attribution: a registry of models by name.

``MODELS`` maps a name to its class; :func:`get_model` builds one with its parameters and raises
``UnknownModel`` (listing the valid names, with a "did you mean") for any other name. Rule-based
models (``heuristic``, ``time_decay``) compute their credits in the engine; the data-driven ones
(``markov``, ``shapley``) get their inputs (transition counts, journeys by key set) from the
engine and solve in NumPy. Every model reads a ``paths.JourneySet``: the ledger's numbered
touches (stored once per call by the binding) or aggregated paths as arrays. See
docs/attribution.md.
"""

from __future__ import annotations

from typing import Any

from leadledger.attribution.heuristic import (
    FirstTouch,
    FullPath,
    InverseJ,
    JShaped,
    LastNonDirect,
    LastTouch,
    Linear,
    Model,
    UShaped,
    WeightModel,
    WShaped,
)
from leadledger.attribution.markov import Markov
from leadledger.attribution.shapley import Shapley
from leadledger.attribution.time_decay import TimeDecay
from leadledger.errors import UnknownModel
from leadledger.suggest import did_you_mean

__all__ = ["MODELS", "Model", "WeightModel", "get_model", "model_names"]

MODELS: dict[str, type[Model]] = {
    m.name: m
    for m in (
        FirstTouch,
        LastTouch,
        LastNonDirect,
        Linear,
        UShaped,
        WShaped,
        FullPath,
        JShaped,
        InverseJ,
        TimeDecay,
        Markov,
        Shapley,
    )
}


def model_names() -> list[str]:
    return list(MODELS)


def check_model(name: str) -> type[Model]:
    if name not in MODELS:
        hint = did_you_mean(name, MODELS)
        valid = ", ".join(MODELS)
        raise UnknownModel(
            f"unknown attribution model '{name}' (models: {valid})",
            hint=hint or "leadledger attribution --help describes each model",
        )
    return MODELS[name]


def get_model(
    name: str,
    *,
    half_life_days: float = 7.0,
    order: int = 1,
    collapse: bool = True,
    direct_channels: tuple[str, ...] | list[str] = ("direct",),
    **_ignored: Any,
) -> Model:
    """The model ``name`` with the parameters it takes (the others are ignored)."""
    cls = check_model(name)
    if cls is TimeDecay:
        return TimeDecay(half_life_days)
    if cls is Markov:
        return Markov(order=order, collapse=collapse)
    if cls is LastNonDirect:
        return LastNonDirect(direct_channels)
    return cls()
