"""Planning and protection: reverse funnel, pacing, what-if, SLAs and lead decay.

Modules here are pure: Ibis expressions over ledger tables and plain arithmetic. They never hold
a connection; ``leadledger.planning_reports`` and ``leadledger.protection_reports`` bind them to a
workspace.
"""
