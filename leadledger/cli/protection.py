"""CLI commands of protection, made from the report registry: ``sla`` (open breaches, breach
rates), ``decay`` (lead decay in money) and ``alerts`` (SLA breaches and pacing shortfalls;
``--webhook`` POSTs them, a CLI-only option)."""

from __future__ import annotations

from leadledger.cli.common import register_report
from leadledger.reports.registry import get

for _name in ("sla", "decay", "alerts"):
    register_report(get(_name))
