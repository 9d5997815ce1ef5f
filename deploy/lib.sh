# shellcheck shell=bash
# Helpers shared by deploy/kafka/kafka.sh and deploy/redis/redis.sh. Sourced, not run.
#
# The sourcing script sets LOG_NAME first: it prefixes every message ("kafka: ...").

: "${LOG_NAME:?set LOG_NAME before sourcing deploy/lib.sh}"

info() { echo "$LOG_NAME: $*"; }
warn() { echo "$LOG_NAME: $*" >&2; }
die() { echo "$LOG_NAME: error: $*" >&2; exit 1; }

# as_root COMMAND...: run COMMAND as root (directly, or through sudo). Installs need it.
as_root() {
    if [[ "$(id -u)" == 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "'$*' needs root and sudo is not available"
    fi
}

# port_open HOST PORT: true if something accepts TCP connections there.
port_open() {
    # shellcheck disable=SC2016  # expanded by the inner shell
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# is_alive PID: true if the process exists and is not a zombie.
is_alive() {
    local pid="$1" state
    kill -0 "$pid" 2>/dev/null || return 1
    state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)"
    [[ "$state" != Z ]]
}

# live_pid_in FILE: print the pid stored in FILE if that process still runs. The caller
# must still check its command line: the pid may have been recycled by another program.
live_pid_in() {
    [[ -f "$1" ]] || return 1
    local pid
    pid="$(cat "$1" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    is_alive "$pid" || return 1
    echo "$pid"
}

# poll_until TIMEOUT INTERVAL PID COMMAND...: run COMMAND every INTERVAL seconds until it
# succeeds. Fails after TIMEOUT seconds, or at once when PID (if not empty) has exited, so
# that a server dying during start-up is not waited for in vain.
poll_until() {
    local timeout="$1" interval="$2" pid="$3"
    shift 3
    local deadline=$((SECONDS + timeout))
    until "$@"; do
        if [[ -n "$pid" ]] && ! is_alive "$pid"; then
            return 1
        fi
        if ((SECONDS >= deadline)); then
            return 1
        fi
        sleep "$interval"
    done
}

# await_exit PID TIMEOUT [INTERVAL]: wait for PID to exit, checking every INTERVAL seconds
# (default 0.2). After TIMEOUT seconds send SIGKILL, so that a server stuck in its shutdown
# cannot block the next start.
await_exit() {
    local pid="$1" timeout="$2" interval="${3:-0.2}"
    local deadline=$((SECONDS + timeout))
    while is_alive "$pid"; do
        if ((SECONDS >= deadline)); then
            warn "still running after ${timeout}s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5   # give the kernel a moment to tear the process down
            break
        fi
        sleep "$interval"
    done
}

# stop_pid PID TIMEOUT [INTERVAL]: ask PID to exit with SIGTERM, then await_exit.
stop_pid() {
    kill -TERM "$1" 2>/dev/null || true
    await_exit "$@"
}

# report_not_ours HOST PORT: for stop, when this script started no server: say whether
# another process serves the port (and is left alone on purpose) or nothing runs.
report_not_ours() {
    if port_open "$1" "$2"; then
        info "$1:$2 is served by a process this script did not start; leaving it alone"
    else
        info "not running"
    fi
}
