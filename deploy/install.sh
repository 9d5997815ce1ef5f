#!/usr/bin/env bash
# The project's virtualenv and its Python dependencies, for `make run` and `make test`.
#
# Usage: deploy/install.sh
#
# Prints one line per step with its time. pip's output goes to .data/logs/install.log; when
# a step fails, its last lines are shown with what to do. Dependencies are installed again
# only when pyproject.toml is newer than the last install.
#
# Environment: PYTHON (default python3), VENV (default .venv).

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
LOG=.data/logs/install.log
STAMP="$VENV/.installed"
mkdir -p "$(dirname "$LOG")"

# step NAME HINT COMMAND...: run COMMAND with its output in the log; print NAME and the time,
# or on failure the end of the log and HINT, and exit.
step() {
    local name="$1" hint="$2" began=$SECONDS
    shift 2
    echo "---- $(date -u +%FT%TZ) $name: $*" >>"$LOG"
    if ! "$@" >>"$LOG" 2>&1; then
        printf '%-13s FAILED after %ss\n' "$name" $((SECONDS - began)) >&2
        tail -n 15 "$LOG" | sed 's/^/    /' >&2
        printf '%-13s %s (full output: %s)\n' "" "$hint" "$LOG" >&2
        exit 1
    fi
    printf '%-13s %s (%ss)\n' "$name" "$DONE" $((SECONDS - began))
}

if [[ -x "$VENV/bin/python" ]]; then
    printf '%-13s %s (%s)\n' virtualenv "$VENV" "$("$VENV/bin/python" --version)"
else
    command -v "$PYTHON" >/dev/null 2>&1 || {
        echo "virtualenv    FAILED: $PYTHON not found; install Python 3.11 or later, or set PYTHON=" >&2
        exit 1
    }
    DONE="created $VENV"
    step virtualenv "Debian and Ubuntu need the venv module: apt-get install python3-venv" \
        "$PYTHON" -m venv "$VENV"
fi

if [[ -f "$STAMP" && "$STAMP" -nt pyproject.toml ]]; then
    printf '%-13s %s\n' dependencies "up to date (pyproject.toml unchanged since the last install)"
else
    install_dependencies() {
        "$VENV/bin/pip" install --upgrade pip &&
            "$VENV/bin/pip" install --progress-bar off -e '.[dev]'
    }
    DONE="installed"
    step dependencies "pip needs PyPI (or PIP_INDEX_URL); run make again once it is reachable" \
        install_dependencies
    touch "$STAMP"
fi
