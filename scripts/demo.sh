#!/usr/bin/env bash
# The demo on the embedded profile: installs into .venv, migrates, seeds demo data, and runs
# web (http://127.0.0.1:8000), a Celery worker and beat. Ctrl-C stops everything.
# Pass --bind HOST:PORT to listen elsewhere.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" requirements.txt
debian_ensure "${PDF_FONTS[@]}"  # the STR's PDF
exec python manage.py demo "$@"
