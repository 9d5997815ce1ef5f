#!/usr/bin/env bash
# Run a local Redis server for development and tests, with its data under the repository.
#
# Usage: deploy/redis/redis.sh start|stop|status|wait
#
#   start   Install Debian's redis-server if it is missing, start it on 127.0.0.1 and wait
#           until it answers PING. Reuses whatever already listens on the port.
#   stop    Stop the server that this script started (and only that one).
#   status  Tell whether Redis answers on the port. Exit 0 if it does.
#   wait    Wait until Redis answers PING.
#
# Environment:
#   REDIS_PORT            port                               (default 6379)
#   REDIS_DATA_DIR        data, log and pid file             (default <repo>/.data/redis,
#                         or <repo>/.data/redis-<port> when REDIS_PORT is not 6379)
#   REDIS_URL             when set to anything but redis://127.0.0.1:<port> or
#                         redis://localhost:<port> (optionally with /db), Redis is external:
#                         start and wait only wait for it
#   REDIS_START_TIMEOUT   seconds to wait for PONG            (default 30)
#   REDIS_STOP_TIMEOUT    seconds to wait before SIGKILL      (default 30)

set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

LOG_NAME=redis
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$SCRIPT_DIR/../lib.sh"

PORT="${REDIS_PORT:-6379}"
if [[ "$PORT" == 6379 ]]; then
    DATA_DIR="${REDIS_DATA_DIR:-$REPO_ROOT/.data/redis}"
else
    DATA_DIR="${REDIS_DATA_DIR:-$REPO_ROOT/.data/redis-$PORT}"
fi
START_TIMEOUT="${REDIS_START_TIMEOUT:-30}"
STOP_TIMEOUT="${REDIS_STOP_TIMEOUT:-30}"

HOST=127.0.0.1
PID_FILE="$DATA_DIR/redis.pid"
LOG_FILE="$DATA_DIR/redis.log"

# --- helpers -------------------------------------------------------------------------

# redis_ping ARGS...: true if `redis-cli ARGS ping` answers PONG.
redis_ping() {
    [[ "$(timeout 5 redis-cli "$@" ping 2>/dev/null || true)" == PONG ]]
}

# our_pid: print the pid of the server this script started on PORT, if it still runs.
our_pid() {
    local pid
    pid="$(live_pid_in "$PID_FILE")" || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -Eq "redis-server.*:${PORT}( |$)" || return 1
    echo "$pid"
}

# external_target: when REDIS_URL names a server other than the local one, set EXT_HOST /
# EXT_PORT and succeed.
external_target() {
    local url="${REDIS_URL:-}" rest hostport
    [[ -n "${url// /}" ]] || return 1
    case "$url" in
        redis://*) rest="${url#redis://}" ;;
        rediss://*) rest="${url#rediss://}" ;;
        *) die "cannot parse REDIS_URL='$url' (expected redis://host:port/db)" ;;
    esac
    rest="${rest%%/*}"       # drop /db and anything after
    rest="${rest%%\?*}"
    hostport="${rest##*@}"   # drop user:password@
    if [[ "$hostport" == \[* ]]; then            # [::1]:6379
        EXT_HOST="${hostport%%]*}"
        EXT_HOST="${EXT_HOST#[}"
        EXT_PORT="${hostport##*]}"
        EXT_PORT="${EXT_PORT#:}"
    elif [[ "$hostport" == *:* ]]; then
        EXT_HOST="${hostport%:*}"
        EXT_PORT="${hostport##*:}"
    else
        EXT_HOST="$hostport"
        EXT_PORT=""
    fi
    EXT_PORT="${EXT_PORT:-6379}"
    EXT_HOST="${EXT_HOST:-localhost}"
    if [[ "$url" == redis://* && "$EXT_PORT" == "$PORT" ]]; then
        case "$EXT_HOST" in
            127.0.0.1 | localhost) return 1 ;;
        esac
    fi
    return 0
}

# external_ready: true if the external server answers PING (or, without redis-cli, at
# least accepts connections).
external_ready() {
    if command -v redis-cli >/dev/null 2>&1; then
        redis_ping -u "$REDIS_URL"
    else
        port_open "$EXT_HOST" "$EXT_PORT"
    fi
}

ensure_installed() {
    command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 && return 0
    command -v apt-get >/dev/null 2>&1 || die "redis-server not found and apt-get is not available to install it"
    info "installing redis-server with apt-get ..."
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server >/dev/null
    command -v redis-server >/dev/null 2>&1 || die "redis-server is still missing after apt-get install"
}

print_log() {
    if [[ -s "$LOG_FILE" ]]; then
        warn "---- last 40 lines of $LOG_FILE ----"
        tail -n 40 "$LOG_FILE" >&2
    fi
}

# wait_local [PID]: poll until the local server answers PONG. Gives up early if PID exits.
wait_local() {
    poll_until "$START_TIMEOUT" 0.2 "${1:-}" redis_ping -h "$HOST" -p "$PORT"
}

# --- commands --------------------------------------------------------------------------

cmd_wait() {
    if external_target; then
        poll_until "$START_TIMEOUT" 0.2 "" external_ready ||
            die "Redis at $EXT_HOST:$EXT_PORT did not answer within ${START_TIMEOUT}s"
        info "Redis at $EXT_HOST:$EXT_PORT answers"
        return 0
    fi
    command -v redis-cli >/dev/null 2>&1 || die "redis-cli not found (run '$0 start' to install Redis)"
    wait_local || die "Redis on $HOST:$PORT did not answer PING within ${START_TIMEOUT}s"
    info "Redis on $HOST:$PORT answers"
}

cmd_start() {
    if external_target; then
        info "REDIS_URL points to $EXT_HOST:$EXT_PORT: using that server, not starting one"
        cmd_wait
        return
    fi

    ensure_installed
    mkdir -p "$DATA_DIR"
    exec 9>"$DATA_DIR/start.lock"
    flock 9

    local pid
    if redis_ping -h "$HOST" -p "$PORT"; then
        if pid="$(our_pid)"; then
            info "already running on $HOST:$PORT (pid $pid)"
        else
            info "a Redis server already answers on $HOST:$PORT; reusing it"
        fi
        return 0
    fi
    if port_open "$HOST" "$PORT"; then
        die "$HOST:$PORT accepts connections but does not answer Redis PING (set REDIS_PORT)"
    fi

    rm -f "$PID_FILE"
    info "starting Redis on $HOST:$PORT (data ${DATA_DIR#"$REPO_ROOT"/})"
    # With --daemonize the command returns once the server has forked; the server writes
    # its own pid file.
    if ! redis-server \
        --bind "$HOST" \
        --port "$PORT" \
        --dir "$DATA_DIR" \
        --appendonly yes \
        --daemonize yes \
        --pidfile "$PID_FILE" \
        --logfile "$LOG_FILE" \
        </dev/null 9>&-; then
        print_log
        die "redis-server failed to start"
    fi

    local deadline=$((SECONDS + 5))
    until [[ -s "$PID_FILE" ]] || ((SECONDS >= deadline)); do
        sleep 0.1
    done
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"

    if ! wait_local "$pid"; then
        print_log
        die "Redis did not answer PING on $HOST:$PORT within ${START_TIMEOUT}s"
    fi
    info "Redis is up on $HOST:$PORT (pid ${pid:-?})"
}

cmd_stop() {
    if external_target; then
        info "REDIS_URL points to $EXT_HOST:$EXT_PORT; nothing to stop"
        return 0
    fi
    local pid
    if ! pid="$(our_pid)"; then
        rm -f "$PID_FILE"
        report_not_ours "$HOST" "$PORT"
        return 0
    fi

    info "stopping Redis (pid $pid)"
    # SHUTDOWN flushes the append-only file; fall back to SIGTERM (which does the same).
    timeout 10 redis-cli -h "$HOST" -p "$PORT" shutdown >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
    await_exit "$pid" "$STOP_TIMEOUT" 0.1
    rm -f "$PID_FILE"
    info "stopped"
}

cmd_status() {
    if external_target; then
        if external_ready; then
            info "external Redis at $EXT_HOST:$EXT_PORT answers"
            return 0
        fi
        info "external Redis at $EXT_HOST:$EXT_PORT does not answer"
        return 3
    fi
    local pid=""
    pid="$(our_pid)" || pid=""
    if command -v redis-cli >/dev/null 2>&1 && redis_ping -h "$HOST" -p "$PORT"; then
        if [[ -n "$pid" ]]; then
            info "running on $HOST:$PORT (pid $pid, data ${DATA_DIR#"$REPO_ROOT"/})"
        else
            info "a Redis server this script did not start answers on $HOST:$PORT"
        fi
        return 0
    fi
    if port_open "$HOST" "$PORT"; then
        info "$HOST:$PORT accepts connections but does not answer PING"
    else
        info "not running"
    fi
    return 3
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    wait) cmd_wait ;;
    *)
        echo "usage: $0 start|stop|status|wait" >&2
        exit 2
        ;;
esac
