#!/usr/bin/env bash
# The project's virtualenv and its Python dependencies, for `make run` and `make test`.
#
# Usage: deploy/install.sh
#
# Prints one line per step with its time. pip's output goes to .data/logs/install.log; when
# a step fails, its last lines are shown with what to do. Dependencies are installed again
# only when pyproject.toml is newer than the last install.
#
# Environment: PYTHON (default python3), VENV (default .venv), INSTALL_LOG (default
# .data/logs/install.log), INSTALL_NEEDS_GB (default 7: the free space, in GB, below which
# installing the dependencies is refused before it starts; they take about 7 GB installed,
# since torch from PyPI brings its CUDA libraries).

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
LOG="${INSTALL_LOG:-.data/logs/install.log}"
STAMP="$VENV/.installed"
NEEDS_GB="${INSTALL_NEEDS_GB:-7}"
mkdir -p "$(dirname "$LOG")"

# free_gb PATH: the free space, in whole GB, on the filesystem that holds PATH or would.
free_gb() {
    local dir="$1"
    until [[ -d "$dir" ]]; do dir="$(dirname "$dir")"; done
    df -Pk "$dir" | awk 'NR == 2 { print int($4 / 1048576) }'
}

# step NAME HINT COMMAND...: run COMMAND with its output in the log; print NAME and the time,
# or on failure the end of the log and HINT, and exit.
step() {
    local name="$1" hint="$2" began=$SECONDS
    shift 2
    echo "---- $(date -u +%FT%TZ) $name: $*" >>"$LOG"
    if ! "$@" >>"$LOG" 2>&1; then
        local last
        last="$(tail -n 15 "$LOG")"
        printf '%-13s FAILED after %ss\n' "$name" $((SECONDS - began)) >&2
        sed 's/^/    /' <<<"$last" >&2
        if grep -q 'No space left on device' <<<"$last"; then
            hint="the disk is full ($(free_gb "$VENV") GB free where $VENV is): free space and run make again"
        fi
        printf '%-13s %s (full output: %s)\n' "" "$hint" "$LOG" >&2
        exit 1
    fi
    printf '%-13s %s (%ss)\n' "$name" "$DONE" $((SECONDS - began))
}

NEEDS_INSTALL=1
[[ -f "$STAMP" && "$STAMP" -nt pyproject.toml ]] && NEEDS_INSTALL=0

FREE_GB="$(free_gb "$VENV")"
if ((NEEDS_INSTALL && FREE_GB < NEEDS_GB)); then
    printf '%-13s FAILED: %s GB free where %s goes; the dependencies take about %s GB\n' \
        dependencies "$FREE_GB" "$VENV" "$NEEDS_GB" >&2
    printf '%-13s %s\n' "" "free space, or set VENV= to a larger disk, and run make again" >&2
    exit 1
fi

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

if ((!NEEDS_INSTALL)); then
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
