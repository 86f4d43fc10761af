"""Funnel metrics as Ibis expressions: functions from ledger tables (+ settings) to expressions."""

from leadledger.metrics.acceptance import acceptance_by_period, classify_mqls, rejections_by_reason
from leadledger.metrics.conversion import cohort_conversion, visitor_to_lead
from leadledger.metrics.funnel import entries_by_period, stages_per_working_day
from leadledger.metrics.sourced import sourced_share
from leadledger.metrics.velocity import median_time_in_stage, time_in_stage

__all__ = [
    "acceptance_by_period",
    "classify_mqls",
    "cohort_conversion",
    "entries_by_period",
    "median_time_in_stage",
    "rejections_by_reason",
    "sourced_share",
    "stages_per_working_day",
    "time_in_stage",
    "visitor_to_lead",
]
