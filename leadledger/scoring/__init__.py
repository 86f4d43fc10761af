"""Lead scoring: rule-based points with decay, caps and grades (``rules``), and the backtest and
threshold tuning of a score against later outcomes (``backtest``). Predictive scoring lives in
``leadledger.scoring.predictive`` and its neighbours (import them by full path)."""

from leadledger.scoring.backtest import (
    auc,
    deciles,
    population,
    recommend,
    threshold_grid,
    thresholds_table,
)
from leadledger.scoring.rules import (
    GROUP_CAP,
    RuleSpec,
    eligible_touches,
    lead_condition,
    lead_scores,
    ledger,
    rule_matches,
    rule_table,
    specs,
    touch_condition,
    touch_detail,
)

__all__ = [
    "GROUP_CAP",
    "RuleSpec",
    "auc",
    "deciles",
    "eligible_touches",
    "lead_condition",
    "lead_scores",
    "ledger",
    "population",
    "recommend",
    "rule_matches",
    "rule_table",
    "specs",
    "threshold_grid",
    "thresholds_table",
    "touch_condition",
    "touch_detail",
]
