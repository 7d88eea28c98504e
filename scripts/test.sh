#!/usr/bin/env bash
# The whole test suite. Installs into .venv (and the Debian packages below that the tests
# use, when it can). Runs on SQLite by default; on PostgreSQL and Redis when DATABASE_URL and
# REDIS_URL are set. Extra arguments go to pytest, e.g. scripts/test.sh -k ready
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" requirements-dev.txt
# Debian packages the tests use: chromium (browser tests), poppler-utils (PDF text and pages)
# and the PDFs' fonts.
debian_ensure chromium:chromium poppler-utils:pdftotext "${PDF_FONTS[@]}"
echo "Profile under test: database=${DATABASE_URL:-sqlite (embedded)} cache/broker=${REDIS_URL:-local (embedded)}"
exec python -m pytest "$@"
