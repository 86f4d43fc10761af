"""The reports: one registry of typed reports, each a ``Params`` model and one function.

``leadledger.open(folder).run(ConversionParams(by=["channel"]))`` runs a report; every report's
``Params`` class can be imported from here (loaded on first use, so that importing the package
stays cheap for the CLI).
"""

from __future__ import annotations

from typing import Any

#: Public names, loaded on first use: name -> module.
_LAZY = {
    "StagesParams": "leadledger.reports.funnel",
    "ConversionParams": "leadledger.reports.funnel",
    "VelocityParams": "leadledger.reports.funnel",
    "AcceptanceParams": "leadledger.reports.funnel",
    "SourcedParams": "leadledger.reports.funnel",
    "CostsParams": "leadledger.reports.money",
    "RoiParams": "leadledger.reports.money",
    "AttributionParams": "leadledger.reports.attribution",
    "ScoreParams": "leadledger.reports.scoring",
    "ExplainParams": "leadledger.reports.scoring",
    "BacktestParams": "leadledger.reports.scoring",
    "TuneParams": "leadledger.reports.scoring",
    "DistributionParams": "leadledger.reports.scoring",
    "ModelTrainParams": "leadledger.reports.model",
    "ModelEvaluateParams": "leadledger.reports.model",
    "ModelPredictParams": "leadledger.reports.model",
    "ExperimentReportParams": "leadledger.reports.experiments",
    "ExperimentSizeParams": "leadledger.reports.experiments",
    "ExperimentAssignParams": "leadledger.reports.experiments",
    "ExperimentImportParams": "leadledger.reports.experiments",
    "PlanParams": "leadledger.reports.planning",
    "PaceParams": "leadledger.reports.planning",
    "WhatifParams": "leadledger.reports.planning",
    "SlaParams": "leadledger.reports.protection",
    "DecayParams": "leadledger.reports.protection",
    "AlertsParams": "leadledger.reports.protection",
    "ExecutiveParams": "leadledger.reports.executive",
    "Report": "leadledger.reports.result",
    "Ctx": "leadledger.reports.context",
    "Params": "leadledger.reports.params",
    "report": "leadledger.reports.registry",
    "get": "leadledger.reports.registry",
    "specs": "leadledger.reports.registry",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'leadledger.reports' has no attribute '{name}'")
    import importlib

    return getattr(importlib.import_module(module), name)
