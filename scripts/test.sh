#!/usr/bin/env bash
# The whole test suite. Installs into .venv (and the Debian packages below that the tests
# use, when it can). Runs on SQLite by default; on PostgreSQL and Redis when DATABASE_URL and
# REDIS_URL are set. Extra arguments go to pytest, e.g. scripts/test.sh -k ready
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" requirements-dev.txt
# Debian packages the tests use: chromium (browser tests), poppler-utils (PDF text and
# pages), DejaVu and Lohit Devanagari fonts (the PDFs' faces). Missing ones are installed.
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v pdftotext >/dev/null || missing+=(poppler-utils)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
ls /usr/share/fonts/truetype/lohit-devanagari/*.ttf >/dev/null 2>&1 || missing+=(fonts-lohit-deva)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing Debian's ${missing[*]} for the tests..."
  as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    || echo "Could not install ${missing[*]}: the tests that need them will be skipped." >&2
fi
echo "Profile under test: database=${DATABASE_URL:-sqlite (embedded)} cache/broker=${REDIS_URL:-local (embedded)}"
exec python -m pytest "$@"
