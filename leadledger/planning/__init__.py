"""Planning and protection: reverse funnel, pacing, what-if, SLAs, lead decay and alerts.

Modules here are domain code: Ibis expressions over ledger tables and plain arithmetic, and
functions that count with them through a ``run`` callable the caller hands in (an expression
in, its rows out). They never hold a connection; ``leadledger.reports.planning`` and
``leadledger.reports.protection`` bind them to a project.
"""
