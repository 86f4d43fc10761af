"""Experiments (test vs control): deterministic holdouts, lift and its significance.

Modules here are pure; ``leadledger.experiment_reports`` binds them to a workspace.
"""
