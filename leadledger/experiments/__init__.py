"""Experiments (test vs control): deterministic holdouts, lift and its significance.

Modules here are pure; ``leadledger.reports.experiments`` runs them on a project's ledger.
"""
