#!/usr/bin/env bash
# Run a local Redis with Sentinel for fault-injection tests: one master, two replicas and
# three Sentinels on 127.0.0.1, from Debian's redis-server (a Sentinel is
# `redis-server CONF --sentinel`). Every Redis node keeps an append-only file.
#
# Usage: deploy/redis/sentinel.sh COMMAND
#
#   start         Start the Redis nodes and Sentinels that are not running, then wait as
#                 wait-master does. The first start (per data dir) makes node 1 the master
#                 and nodes 2 and 3 its replicas; later starts keep whatever the Sentinels
#                 have made of it since. Nothing to do when everything is up.
#   stop          Stop the Sentinels and the Redis nodes (SIGTERM to all at once, SIGKILL
#                 after the timeout). Keeps the data and the Sentinels' state.
#   status        One line per Redis node (port, role, pid or down) and per Sentinel (port,
#                 pid or down, the master it reports). Exit 0 if all six processes run and
#                 the Sentinels agree on a master as wait-master checks it, 3 otherwise.
#   sentinels     Print the Sentinel addresses: 127.0.0.1:S1,127.0.0.1:S2,127.0.0.1:S3.
#   master        Print the number of the node that the Sentinels report as master
#                 (SENTINEL get-master-addr-by-name, from the first Sentinel that answers).
#   port N        Print Redis node N's port.
#   kill-node N   SIGKILL Redis node N (a crash: the last second of writes may be lost).
#   start-node N  Start Redis node N again and wait until it answers PING. A master that
#                 was failed over meanwhile comes back as a master with no replicas; the
#                 Sentinels turn it into a replica ~10-20 s later (wait-master waits for it).
#   wait-master   Wait until every running Sentinel (at least two) reports the same master,
#                 knows the other two Sentinels and has a quorum (SENTINEL CKQUORUM), that
#                 master answers PING with role:master and one connected replica or more,
#                 and every other running node is its replica with the link up (synced; no
#                 second master).
#   reset         Stop everything and delete the data directory.
#
# Redis nodes 1, 2, 3 listen on 127.0.0.1:BASE, BASE+1, BASE+2 (17100-17102 by default);
# Sentinels 1, 2, 3 on BASE+10, BASE+11, BASE+12 (17110-17112). Quorum 2, failover-timeout
# 10000 ms, parallel-syncs 1.
#
# The Sentinels rewrite their own config files (and, on failover, the Redis nodes'), so
# both are written only on the first start: a changed REDIS_SENTINEL_MASTER or
# REDIS_SENTINEL_DOWN_AFTER_MS takes effect after a reset.
#
# Environment:
#   REDIS_SENTINEL_BASE_PORT       port of Redis node 1                     (default 17100)
#   REDIS_SENTINEL_MASTER          the master's name in the Sentinels   (default moderation)
#   REDIS_SENTINEL_DOWN_AFTER_MS   down-after-milliseconds                  (default 2000)
#   REDIS_SENTINEL_DATA_DIR        one node-N folder per Redis node (redis.conf,
#                                  appendonlydir/, redis.log, redis.pid) and one sentinel-N
#                                  folder per Sentinel (sentinel.conf, sentinel.log,
#                                  sentinel.pid)     (default <repo>/.data/redis-sentinel)
#   REDIS_SENTINEL_START_TIMEOUT   seconds to wait for start / wait-master  (default 60)
#   REDIS_SENTINEL_STOP_TIMEOUT    seconds to wait before SIGKILL           (default 30)
#
# Timings on a 2-core machine (down-after 2000 ms): first start ~3 s (the Sentinels find
# each other through the master's hello channel every 2 s), later starts ~1.5 s, stop
# <0.5 s. After kill-node of the master, wait-master returns once the Sentinels have agreed
# it is down (down-after), elected a leader and promoted a replica: ~3.5-4 s. After
# start-node of that old master, wait-master takes ~11 s more (until it is a replica).

set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

LOG_NAME=redis-sentinel
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$SCRIPT_DIR/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$SCRIPT_DIR/common.sh"

NODES=(1 2 3)
SENTINELS=(1 2 3)
BASE_PORT="${REDIS_SENTINEL_BASE_PORT:-17100}"
MASTER_NAME="${REDIS_SENTINEL_MASTER:-moderation}"
DOWN_AFTER_MS="${REDIS_SENTINEL_DOWN_AFTER_MS:-2000}"
DATA_DIR="${REDIS_SENTINEL_DATA_DIR:-$REPO_ROOT/.data/redis-sentinel}"
START_TIMEOUT="${REDIS_SENTINEL_START_TIMEOUT:-60}"
STOP_TIMEOUT="${REDIS_SENTINEL_STOP_TIMEOUT:-30}"

HOST=127.0.0.1
QUORUM=2
FAILOVER_TIMEOUT_MS=10000
PARALLEL_SYNCS=1

if ! [[ "$BASE_PORT" =~ ^[0-9]+$ ]] || ((BASE_PORT < 1024 || BASE_PORT + 12 > 65535)); then
    die "REDIS_SENTINEL_BASE_PORT=$BASE_PORT: expected a port from 1024 to 65523"
fi
[[ "$MASTER_NAME" =~ ^[A-Za-z0-9._-]+$ ]] || die "REDIS_SENTINEL_MASTER=$MASTER_NAME: expected letters, digits, '.', '_' or '-'"
[[ "$DOWN_AFTER_MS" =~ ^[0-9]+$ ]] || die "REDIS_SENTINEL_DOWN_AFTER_MS=$DOWN_AFTER_MS: expected milliseconds"
[[ "$START_TIMEOUT" =~ ^[0-9]+$ ]] || die "REDIS_SENTINEL_START_TIMEOUT=$START_TIMEOUT: expected seconds"
[[ "$STOP_TIMEOUT" =~ ^[0-9]+$ ]] || die "REDIS_SENTINEL_STOP_TIMEOUT=$STOP_TIMEOUT: expected seconds"

# --- layout --------------------------------------------------------------------------
# A process is named by KIND N: "node N" (a Redis node) or "sentinel N".

port_of() { echo $((BASE_PORT + $1 - 1)); }
sentinel_port_of() { echo $((BASE_PORT + 10 + $1 - 1)); }
node_of_port() { echo $(($1 - BASE_PORT + 1)); }

proc_port() {
    if [[ "$1" == node ]]; then port_of "$2"; else sentinel_port_of "$2"; fi
}
proc_dir() { echo "$DATA_DIR/$1-$2"; }
conf_of() {
    if [[ "$1" == node ]]; then echo "$DATA_DIR/node-$2/redis.conf"; else echo "$DATA_DIR/sentinel-$2/sentinel.conf"; fi
}
log_of() {
    if [[ "$1" == node ]]; then echo "$DATA_DIR/node-$2/redis.log"; else echo "$DATA_DIR/sentinel-$2/sentinel.log"; fi
}
pid_file_of() {
    if [[ "$1" == node ]]; then echo "$DATA_DIR/node-$2/redis.pid"; else echo "$DATA_DIR/sentinel-$2/sentinel.pid"; fi
}

sentinel_addrs() {
    local s out=()
    for s in "${SENTINELS[@]}"; do out+=("$HOST:$(sentinel_port_of "$s")"); done
    (IFS=,; echo "${out[*]}")
}

check_node() {
    [[ "${1:-}" =~ ^[123]$ ]] || die "expected a node number 1, 2 or 3, got '${1:-}'"
}

# --- helpers -------------------------------------------------------------------------

# proc_pid KIND N: its pid if this script started it and it still runs.
proc_pid() { server_pid "$(pid_file_of "$1" "$2")" "$(proc_port "$1" "$2")" "$(conf_of "$1" "$2")"; }

# write_conf KIND N: write its config file on the first start; afterwards check that it
# still uses the configured port (and, for a Sentinel, monitors MASTER_NAME).
write_conf() {
    local kind="$1" n="$2" conf port
    conf="$(conf_of "$kind" "$n")"
    port="$(proc_port "$kind" "$n")"
    if [[ -f "$conf" ]]; then
        grep -qx "port $port" "$conf" ||
            die "$conf is not for port $port (REDIS_SENTINEL_BASE_PORT changed?); '$0 reset' starts afresh"
        if [[ "$kind" == sentinel ]] && ! grep -q "^sentinel monitor $MASTER_NAME " "$conf"; then
            die "$conf does not monitor '$MASTER_NAME' (REDIS_SENTINEL_MASTER changed?); '$0 reset' starts afresh"
        fi
        return 0
    fi
    {
        echo "# Written by deploy/redis/sentinel.sh on the first start; Sentinel rewrites it."
        echo "bind $HOST"
        echo "port $port"
        echo "protected-mode no"
        echo "daemonize no"
        echo "dir $(quote "$(proc_dir "$kind" "$n")")"
        echo "logfile $(quote "$(log_of "$kind" "$n")")"
        if [[ "$kind" == node ]]; then
            echo "appendonly yes"
            echo "appendfsync everysec"
            echo "appenddirname appendonlydir"
            echo "repl-diskless-sync-delay 0"   # sync a replica at once (default: wait 5 s)
            ((n == 1)) || echo "replicaof $HOST $(port_of 1)"
        else
            echo "sentinel monitor $MASTER_NAME $HOST $(port_of 1) $QUORUM"
            echo "sentinel down-after-milliseconds $MASTER_NAME $DOWN_AFTER_MS"
            echo "sentinel failover-timeout $MASTER_NAME $FAILOVER_TIMEOUT_MS"
            echo "sentinel parallel-syncs $MASTER_NAME $PARALLEL_SYNCS"
        fi
    } >"$conf.tmp"
    mv "$conf.tmp" "$conf"
}

# launch KIND N: start it in the background, detached from this shell, unless it runs;
# set LAUNCHED_PID. Dies if its port is taken by another process.
launch() {
    local kind="$1" n="$2" pid port
    if pid="$(proc_pid "$kind" "$n")"; then
        LAUNCHED_PID="$pid"
        return 0
    fi
    port="$(proc_port "$kind" "$n")"
    if port_open "$HOST" "$port"; then
        die "$HOST:$port ($kind $n) is taken by a process this script did not start; set REDIS_SENTINEL_BASE_PORT"
    fi
    mkdir -p "$(proc_dir "$kind" "$n")"
    write_conf "$kind" "$n"
    local args=("$(conf_of "$kind" "$n")")
    [[ "$kind" == sentinel ]] && args+=(--sentinel)
    info "starting $kind $n on $HOST:$port"
    LAUNCHED_PID="$(launch_detached "$(pid_file_of "$kind" "$n")" "$(log_of "$kind" "$n")" redis-server "${args[@]}")" ||
        die "$kind $n's process did not start"
}

# reported_master SENTINEL_PORT: the master's port as that Sentinel reports it.
reported_master() {
    local addr
    addr="$(rcli "$1" sentinel get-master-addr-by-name "$MASTER_NAME")" || return 1
    addr="$(tr -d '\r' <<<"$addr" | sed -n 2p)"
    [[ "$addr" =~ ^[0-9]+$ ]] || return 1
    echo "$addr"
}

# info_field PORT SECTION FIELD: one field of that server's INFO.
info_field() {
    rcli "$1" info "$2" | tr -d '\r' | awk -F: -v f="$3" '$1 == f {print $2}'
}

# master_agreed: true when every running Sentinel (at least QUORUM of them) reports the
# same master, knows the other Sentinels and has a quorum, and that master is one of our
# nodes, answers PING, says role:master and has a connected replica, and the other running
# nodes are its replicas, synced. Prints the master's port.
master_agreed() {
    local s port master="" m live=0 others
    for s in "${SENTINELS[@]}"; do
        proc_pid sentinel "$s" >/dev/null || continue
        port="$(sentinel_port_of "$s")"
        m="$(reported_master "$port")" || return 1
        if [[ -z "$master" ]]; then
            master="$m"
        elif [[ "$m" != "$master" ]]; then
            return 1
        fi
        others="$(rcli "$port" sentinel master "$MASTER_NAME" | tr -d '\r' |
            awk 'prev == "num-other-sentinels" {print; exit} {prev = $0}')"
        [[ "$others" =~ ^[0-9]+$ ]] && ((others >= ${#SENTINELS[@]} - 1)) || return 1
        [[ "$(rcli "$port" sentinel ckquorum "$MASTER_NAME")" == OK* ]] || return 1
        live=$((live + 1))
    done
    ((live >= QUORUM)) || return 1
    ((master >= BASE_PORT && master < BASE_PORT + ${#NODES[@]})) || return 1
    redis_ping "$master" || return 1
    [[ "$(info_field "$master" replication role)" == master ]] || return 1
    local replicas
    replicas="$(info_field "$master" replication connected_slaves)"
    [[ "$replicas" =~ ^[0-9]+$ ]] && ((replicas >= 1)) || return 1
    # Every other running node replicates that master, synced. No second master: a
    # failed-over master that was started again says role:master until the Sentinels turn
    # it into a replica (~10-20 s after its start). A replica not synced yet (just after a
    # start) could not be promoted.
    local n nport repl
    for n in "${NODES[@]}"; do
        nport="$(port_of "$n")"
        [[ "$nport" != "$master" ]] || continue
        proc_pid node "$n" >/dev/null || continue
        repl="$(rcli "$nport" info replication | tr -d '\r')" || return 1
        grep -qx 'role:slave' <<<"$repl" || return 1
        grep -qx "master_port:$master" <<<"$repl" || return 1
        grep -qx 'master_link_status:up' <<<"$repl" || return 1
    done
    echo "$master"
}

# wait_master: wait until master_agreed, up to the start timeout; print the master's port.
wait_master() {
    local deadline=$((SECONDS + START_TIMEOUT)) master
    until master="$(master_agreed)"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
    echo "$master"
}

# start_all KIND N...: launch those of them that do not run, all at once, then wait until
# each one answers PING.
start_all() {
    local kind="$1" n
    local -A pids
    shift
    for n in "$@"; do
        launch "$kind" "$n"
        pids[$n]="$LAUNCHED_PID"
    done
    for n in "$@"; do
        await_answer "$kind $n" "${pids[$n]}" "$(proc_port "$kind" "$n")" "$(log_of "$kind" "$n")" "$(pid_file_of "$kind" "$n")"
    done
}

# --- commands --------------------------------------------------------------------------

cmd_start() {
    ensure_installed
    lock sentinel.lock
    local started=$SECONDS
    # The Redis nodes first, so that the Sentinels find the master at once.
    start_all node "${NODES[@]}"
    start_all sentinel "${SENTINELS[@]}"
    local master
    master="$(wait_master)" ||
        die "the Sentinels do not agree on a working master after ${START_TIMEOUT}s ('$0 status' shows why)"
    info "up in $((SECONDS - started))s: master node $(node_of_port "$master") ($HOST:$master), Sentinels $(sentinel_addrs) (data ${DATA_DIR#"$REPO_ROOT"/})"
}

cmd_start_node() {
    check_node "$1"
    ensure_installed
    lock sentinel.lock
    local pid
    if pid="$(proc_pid node "$1")" && redis_ping "$(port_of "$1")"; then
        info "node $1 is already running (pid $pid)"
        return 0
    fi
    launch node "$1"
    await_answer "node $1" "$LAUNCHED_PID" "$(port_of "$1")" "$(log_of node "$1")" "$(pid_file_of node "$1")"
    info "node $1 answers on $HOST:$(port_of "$1") (pid $LAUNCHED_PID)"
}

cmd_kill_node() {
    check_node "$1"
    kill_server "node $1" "$(proc_pid node "$1" || true)" "$(pid_file_of node "$1")"
}

cmd_stop() {
    [[ -d "$DATA_DIR" ]] || { info "not running"; return 0; }
    lock sentinel.lock
    # SIGTERM to everything at once: no Sentinel is left to fail over a stopping master,
    # and every Redis node writes its append-only file and exits.
    local kind n servers=()
    for kind in sentinel node; do
        for n in 1 2 3; do
            servers+=("$kind-$n:$(proc_pid "$kind" "$n" || true):$(pid_file_of "$kind" "$n")")
        done
    done
    stop_servers "$STOP_TIMEOUT" "" "" "${servers[@]}"
}

# describe KIND N: one status line; true if it runs and answers.
describe() {
    local kind="$1" n="$2" pid port what
    port="$(proc_port "$kind" "$n")"
    pid="$(proc_pid "$kind" "$n")" || pid=""
    if [[ -n "$pid" ]] && redis_ping "$port"; then
        if [[ "$kind" == node ]]; then
            what="$(role_of "$port")"
        else
            local m
            if m="$(reported_master "$port")"; then
                what="reports master node $(node_of_port "$m")"
            else
                what="reports no master"
            fi
        fi
        info "$kind $n: $HOST:$port $what (pid $pid)"
        return 0
    fi
    if [[ -n "$pid" ]]; then
        info "$kind $n: $HOST:$port starting or stopping (pid $pid), no PING answer"
    elif port_open "$HOST" "$port"; then
        info "$kind $n: $HOST:$port served by a process this script did not start"
    else
        info "$kind $n: $HOST:$port down"
    fi
    return 1
}

cmd_status() {
    local n running=0
    for n in "${NODES[@]}"; do
        describe node "$n" && running=$((running + 1))
    done
    for n in "${SENTINELS[@]}"; do
        describe sentinel "$n" && running=$((running + 1))
    done
    local master
    if master="$(master_agreed)"; then
        info "Sentinels agree: master node $(node_of_port "$master")"
    else
        info "Sentinels do not agree on a working master"
        return 3
    fi
    ((running == ${#NODES[@]} + ${#SENTINELS[@]})) || return 3
}

cmd_master() {
    local s m
    for s in "${SENTINELS[@]}"; do
        proc_pid sentinel "$s" >/dev/null || continue
        if m="$(reported_master "$(sentinel_port_of "$s")")"; then
            node_of_port "$m"
            return 0
        fi
    done
    die "no Sentinel answers ($(sentinel_addrs))"
}

cmd_wait_master() {
    local started=$SECONDS master
    master="$(wait_master)" ||
        die "the Sentinels do not agree on a working master after ${START_TIMEOUT}s ('$0 status' shows why)"
    info "master is node $(node_of_port "$master") ($HOST:$master; waited $((SECONDS - started))s)"
}

cmd_reset() {
    cmd_stop
    delete_data_dir 'node-[123]' 'sentinel-[123]' sentinel.lock
}

usage() {
    echo "usage: $0 start|stop|status|sentinels|master|port N|kill-node N|start-node N|wait-master|reset" >&2
    exit 2
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    sentinels) sentinel_addrs ;;
    master) cmd_master ;;
    port) check_node "${2:-}"; port_of "$2" ;;
    kill-node) cmd_kill_node "${2:-}" ;;
    start-node) cmd_start_node "${2:-}" ;;
    wait-master) cmd_wait_master ;;
    reset) cmd_reset ;;
    *) usage ;;
esac
