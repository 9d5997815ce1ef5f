# shellcheck shell=bash
# Helpers shared by deploy/redis/cluster.sh and deploy/redis/sentinel.sh. Sourced after
# deploy/lib.sh, not run. The sourcing script sets HOST, DATA_DIR, REPO_ROOT and
# START_TIMEOUT.

# rcli PORT ARGS...: run one redis-cli command against HOST:PORT (raw output).
rcli() {
    local port="$1"
    shift
    timeout 5 redis-cli -h "$HOST" -p "$port" "$@" 2>/dev/null
}

redis_ping() { [[ "$(rcli "$1" ping || true)" == PONG ]]; }

# role_of PORT: master or replica, as the node itself reports it.
role_of() {
    case "$(rcli "$1" role | head -n 1)" in
        master) echo master ;;
        slave) echo replica ;;
        *) echo unknown ;;
    esac
}

ensure_installed() {
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
        die "redis-server and redis-cli are needed (Debian: apt-get install redis-server)"
    fi
}

# lock NAME: one start / stop at a time per data directory (DATA_DIR/NAME, on fd 9, which
# launch_detached closes for the servers).
lock() {
    mkdir -p "$DATA_DIR"
    exec 9>"$DATA_DIR/$1"
    flock 9
}

# quote VALUE: VALUE as a double-quoted redis.conf string.
quote() {
    local v="${1//\\/\\\\}"
    echo "\"${v//\"/\\\"}\""
}

# server_pid PID_FILE PORT CONF: the pid in PID_FILE if that process still runs and is the
# redis-server for PORT. Redis rewrites its command line to "redis-server HOST:PORT [mode]";
# just after the start it is still "redis-server CONF".
server_pid() {
    local pid cmdline
    pid="$(live_pid_in "$1")" || return 1
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    if grep -Eq "redis-server.*:$2( |\$)" <<<"$cmdline" || grep -qF "redis-server $3" <<<"$cmdline"; then
        echo "$pid"
        return 0
    fi
    return 1
}

# await_answer NAME PID PORT LOG PID_FILE: wait until the server answers PING; die (with
# its log) if it exits or START_TIMEOUT passes.
await_answer() {
    local name="$1" pid="$2" port="$3" log="$4" pid_file="$5"
    if ! poll_until "$START_TIMEOUT" 0.1 "$pid" redis_ping "$port"; then
        print_tail "$log" 30
        if is_alive "$pid"; then
            die "$name (pid $pid) did not answer PING within ${START_TIMEOUT}s ('$0 stop' stops everything)"
        fi
        rm -f "$pid_file"
        die "$name exited during start-up ('$0 status' shows the others)"
    fi
}

# delete_data_dir PATTERN...: delete DATA_DIR (after a stop) if every entry in it matches
# one of the glob PATTERNs: only what looks like this script's data.
delete_data_dir() {
    [[ -d "$DATA_DIR" ]] || return 0
    local entry name pattern
    for entry in "$DATA_DIR"/* "$DATA_DIR"/.[!.]*; do
        [[ -e "$entry" ]] || continue
        name="${entry##*/}"
        for pattern in "$@"; do
            # shellcheck disable=SC2053  # the pattern is a glob on purpose
            [[ "$name" == $pattern ]] && continue 2
        done
        die "$DATA_DIR holds $name, which this script did not write; not deleting it"
    done
    rm -rf "$DATA_DIR"
    info "deleted ${DATA_DIR#"$REPO_ROOT"/}"
}
