#!/usr/bin/env bash
# Create .venv with Python 3.11+ and install the pinned requirements into it.
# Usage: source scripts/bootstrap.sh [requirements file]; reinstalls only when the file changes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQUIREMENTS="${1:-requirements.txt}"
PYTHON="${PYTHON:-python3}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
# debian_ensure PACKAGE:COMMAND-OR-/PATH-GLOB ...: apt-installs the packages whose command or
# file is missing (as root or with sudo); says so, and goes on, when it cannot.
debian_ensure() {
  local missing=() spec
  for spec in "$@"; do
    local what="${spec#*:}"
    if [[ "$what" == /* ]]; then compgen -G "$what" >/dev/null || missing+=("${spec%%:*}")
    else command -v "$what" >/dev/null || missing+=("${spec%%:*}"); fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing Debian's ${missing[*]}..."
  as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq "${missing[@]}" >/dev/null \
    || echo "Could not install ${missing[*]}: what needs them is skipped or degraded." >&2
}
#: The PDFs' fonts (Latin and the rupee sign; Devanagari names).
PDF_FONTS=("fonts-dejavu-core:/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
           "fonts-lohit-deva:/usr/share/fonts/truetype/lohit-devanagari/*.ttf")

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "TradingSite needs Python 3.11 or newer as '$PYTHON' (set PYTHON=/path/to/python3.11)." >&2
  exit 1
fi
if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
  echo "Installing Debian's python3-venv (needed to create the virtual environment)..."
  as_root apt-get update -qq && as_root apt-get install -y -qq python3-venv || {
    echo "Please install python3-venv (apt-get install python3-venv) and run again." >&2; exit 1; }
fi
if [ ! -x "$ROOT/.venv/bin/python" ]; then
  "$PYTHON" -m venv "$ROOT/.venv"
  "$ROOT/.venv/bin/python" -m pip install --quiet --upgrade pip
fi
stamp="$ROOT/.venv/.installed-$(basename "$REQUIREMENTS")"
if [ ! -f "$stamp" ] || ! cmp -s <(cat "$ROOT"/requirements*.txt) "$stamp"; then
  echo "Installing $REQUIREMENTS into .venv ..."
  "$ROOT/.venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ROOT/$REQUIREMENTS"
  cat "$ROOT"/requirements*.txt > "$stamp"
fi
export PATH="$ROOT/.venv/bin:$PATH"
cd "$ROOT"
