"""CLI commands: planning (registered on the main app by leadledger.cli.main)."""

from __future__ import annotations
