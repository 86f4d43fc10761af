"""CLI command: ``attribution``, the registered report (``leadledger.reports.attribution``) on
the main app; ``--paths`` and ``--sep`` are its CLI-only fields, and with ``--paths`` it needs
no project."""

from __future__ import annotations

from leadledger.cli.common import register_report
from leadledger.reports.registry import get

register_report(get("attribution"))
