#!/usr/bin/env bash
# One command: set everything up (Python deps, PostgreSQL server binaries) and run the whole
# suite: lint, format check, type check, tests on DuckDB and on a real PostgreSQL.
#
#   bash scripts/test.sh            the whole suite (what CI runs)
#   bash scripts/test.sh --fast     the fast lane: lint, types and every test but the slow ones,
#                                   the real datasets, the contract and PostgreSQL
# Further arguments go to pytest. The tests run on two processes (pytest-xdist; PYTEST_WORKERS
# to change, 0 for one process).
set -euo pipefail
cd "$(dirname "$0")/.."
FAST=0
if [ "${1:-}" = "--fast" ]; then
  FAST=1
  shift
fi
bash scripts/setup.sh test

# PostgreSQL server binaries for the engine tests (the suite starts a throwaway cluster itself)
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL server binaries (initdb) are missing: install Debian's 'postgresql'" >&2
    exit 1
  fi
fi

# Debian's Chromium for the browser tests (tests/web/test_browser.py drives it with Playwright;
# Playwright's own browser download does not work here). If it cannot be installed, the browser
# tests skip with a loud reason and the rest of the suite still runs.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
      echo "WARNING: could not install Debian's 'chromium': the browser tests will be SKIPPED" >&2
    fi
  else
    echo "WARNING: /usr/bin/chromium is missing (install Debian's 'chromium' as root):" \
      "the browser tests will be SKIPPED" >&2
  fi
fi

.venv/bin/ruff check leadledger tests benchmarks examples scripts
.venv/bin/ruff format --check leadledger tests benchmarks examples scripts
.venv/bin/mypy
ARGS=()
if [ "${PYTEST_WORKERS:-2}" != 0 ]; then
  ARGS+=(-n "${PYTEST_WORKERS:-2}" --dist worksteal)
fi
if [ "$FAST" = 1 ]; then
  ARGS+=(-m "not slow and not real and not contract and not postgres")
fi
set +e
.venv/bin/pytest "${ARGS[@]}" "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$rc"
