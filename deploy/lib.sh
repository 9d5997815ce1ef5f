# shellcheck shell=bash
# Helpers shared by the scripts under deploy/kafka and deploy/redis. Sourced, not run.
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

# print_tail FILE LINES: show the last LINES lines of FILE (a server's log) on stderr, if
# it has any.
print_tail() {
    if [[ -s "$1" ]]; then
        warn "---- last $2 lines of $1 ----"
        tail -n "$2" "$1" >&2
    fi
}

# launch_detached PID_FILE LOG_FILE COMMAND...: start COMMAND in the background, detached
# from this shell, its output appended to LOG_FILE, and print its pid once it has written
# PID_FILE (fails if that takes over 5 s). Descriptors 8 and 9 (the scripts' locks) are
# closed for it, so that a lock ends with the script.
launch_detached() {
    local pid_file="$1" log_file="$2"
    shift 2
    rm -f "$pid_file"
    # setsid + nohup: the server outlives this shell and its terminal. The inner shell
    # writes its own pid (which exec hands over to COMMAND) before starting it.
    # shellcheck disable=SC2016  # $$ and $1 are the inner shell's
    setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' "$LOG_NAME-start" "$pid_file" \
        "$@" >>"$log_file" 2>&1 </dev/null 9>&- 8>&- &
    local deadline=$((SECONDS + 5))
    until [[ -s "$pid_file" ]] || ((SECONDS >= deadline)); do
        sleep 0.05
    done
    local pid
    pid="$(cat "$pid_file" 2>/dev/null || true)"
    [[ -n "$pid" ]] || return 1
    echo "$pid"
}

# kill_server NAME PID PID_FILE: SIGKILL PID (a crash, on purpose), wait until it is gone
# and remove PID_FILE. An empty PID means that NAME does not run (PID_FILE is removed too).
kill_server() {
    local name="$1" pid="$2" pid_file="$3"
    if [[ -z "$pid" ]]; then
        rm -f "$pid_file"
        info "$name is not running"
        return 0
    fi
    kill -KILL "$pid" 2>/dev/null || true
    await_exit "$pid" 10 0.05
    rm -f "$pid_file"
    info "killed $name (pid $pid)"
}

# stop_servers TIMEOUT LONE_GRACE WHAT ENTRY...: stop several servers at once. Each ENTRY
# is NAME:PID:PID_FILE, with an empty PID for a server that does not run (its PID_FILE is
# just removed). SIGTERM to all, then wait; those still running after TIMEOUT seconds get
# SIGKILL. LONE_GRACE (empty: none) is for servers that cannot finish their shutdown alone
# (a Kafka node without its controller quorum): the last one left running gets SIGKILL
# after that many seconds alone. Removes the pid files. WHAT (may be empty) goes before the
# list of names in the messages: "stopping nodes 1 2 3".
stop_servers() {
    local timeout="$1" lone_grace="$2" what="${3:+$3 }" entry name pid stopping=()
    local -A pid_file
    shift 3
    for entry in "$@"; do
        name="${entry%%:*}"
        entry="${entry#*:}"
        pid="${entry%%:*}"
        if [[ -z "$pid" ]]; then
            rm -f "${entry#*:}"
            continue
        fi
        kill -TERM "$pid" 2>/dev/null || true
        stopping+=("$name:$pid")
        pid_file[$pid]="${entry#*:}"
    done
    if ((${#stopping[@]} == 0)); then
        info "not running"
        return 0
    fi
    info "stopping $what${stopping[*]%%:*}"
    local deadline=$((SECONDS + timeout)) alone_since="" alive
    while :; do
        alive=()
        for entry in "${stopping[@]}"; do
            is_alive "${entry#*:}" && alive+=("$entry")
        done
        ((${#alive[@]} > 0)) || break
        if [[ -n "$lone_grace" ]] && ((${#alive[@]} == 1)); then
            alone_since="${alone_since:-$SECONDS}"
            if ((SECONDS - alone_since >= lone_grace)); then
                warn "$what${alive[0]%%:*} is the last one running and cannot finish its shutdown alone; sending SIGKILL"
                kill -KILL "${alive[0]#*:}" 2>/dev/null || true
                break
            fi
        fi
        if ((SECONDS >= deadline)); then
            warn "$what${alive[*]%%:*} still running after ${timeout}s; sending SIGKILL"
            for entry in "${alive[@]}"; do kill -KILL "${entry#*:}" 2>/dev/null || true; done
            break
        fi
        sleep 0.1
    done
    for entry in "${stopping[@]}"; do
        await_exit "${entry#*:}" 10 0.1
        rm -f "${pid_file[${entry#*:}]}"
    done
    info "stopped"
}
