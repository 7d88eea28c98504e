#!/usr/bin/env bash
# The whole test suite. Installs into .venv (and Debian's chromium for the browser tests
# when it can). Runs on SQLite by default; on PostgreSQL and Redis when DATABASE_URL and
# REDIS_URL are set. Extra arguments go to pytest, e.g. scripts/test.sh -k ready
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" requirements-dev.txt
if ! command -v chromium >/dev/null; then
  echo "Installing Debian's chromium for the browser tests..."
  as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
    || echo "Could not install chromium: the browser tests will be skipped." >&2
fi
echo "Profile under test: database=${DATABASE_URL:-sqlite (embedded)} cache/broker=${REDIS_URL:-local (embedded)}"
exec python -m pytest "$@"
