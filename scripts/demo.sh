#!/usr/bin/env bash
# One command: set everything up and run the demo on the embedded DuckDB store.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
.venv/bin/leadledger demo demo "$@"
