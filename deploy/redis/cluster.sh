#!/usr/bin/env bash
# Run a local Redis Cluster for fault-injection tests: three masters and three replicas on
# 127.0.0.1, from Debian's redis-server. Every node keeps an append-only file (fsync every
# second) and the default cluster-require-full-coverage yes: while a slot has no master,
# the whole cluster refuses queries.
#
# Usage: deploy/redis/cluster.sh COMMAND
#
#   start          Start the nodes that are not running. On the first start (per data dir)
#                  create the cluster with redis-cli --cluster create (--cluster-replicas 1).
#                  Then wait as wait-ok does. Nothing to do when the cluster is up.
#   stop           Stop every node (SIGTERM to all at once, SIGKILL after the timeout).
#                  Keeps the data: the next start resumes the same cluster.
#   status         One line per node (port, role, pid or down) and the cluster state.
#                  Exit 0 if all six nodes run and the cluster is ok, 3 otherwise.
#   nodes          Print the startup-nodes string: 127.0.0.1:P1,127.0.0.1:P2,...,127.0.0.1:P6.
#   port N         Print node N's port.
#   kill-node N    SIGKILL node N (a crash: the last second of writes may be lost).
#   start-node N   Start node N again; wait until it answers PING and the cluster is ok. A
#                  master that was failed over meanwhile rejoins as a replica.
#   master-of KEY  Print the number of the node that is master for KEY's slot, as the
#                  first live node sees it ("none" and exit 1 if no live master has it).
#   wait-ok        Wait until every live node reports cluster_state:ok with all 16384 slots
#                  assigned, all live nodes agree which master has which slots, every one
#                  of those masters answers PING, and every live replica's link to its
#                  master is up (synced: only such a replica can take over).
#   reset          Stop every node and delete the data directory.
#
# Nodes are numbered 1 to 6. Node N listens on 127.0.0.1:BASE+N-1 (17000 to 17005 by
# default) and on the cluster bus at that port + 10000 (27000 to 27005). The first create
# makes nodes 1-3 masters; which replica follows which master is redis-cli's choice.
#
# Environment:
#   REDIS_CLUSTER_BASE_PORT        port of node 1; nodes use BASE..BASE+5    (default 17000)
#   REDIS_CLUSTER_DATA_DIR         one node-N folder per node: redis.conf, nodes.conf,
#                                  appendonlydir/, redis.log, redis.pid
#                                  (default <repo>/.data/redis-cluster)
#   REDIS_CLUSTER_NODE_TIMEOUT_MS  cluster-node-timeout                      (default 2000)
#   REDIS_CLUSTER_START_TIMEOUT    seconds to wait for start / wait-ok       (default 60)
#   REDIS_CLUSTER_STOP_TIMEOUT     seconds to wait before SIGKILL            (default 30)
#
# Timings on a 2-core machine (node timeout 2000 ms): start ~2.5 s (first or later: the
# replicas' sync is part of it), stop <0.5 s. After kill-node of a master, its replica is
# promoted once the node is marked failing (node timeout) plus an election delay of
# 0.5-1.5 s: wait-ok returns after ~4-5 s. start-node ~0.5 s (the old master learns of the
# newer configuration at once and syncs as a replica).

set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

LOG_NAME=redis-cluster
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$SCRIPT_DIR/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$SCRIPT_DIR/common.sh"

NODES=(1 2 3 4 5 6)
BASE_PORT="${REDIS_CLUSTER_BASE_PORT:-17000}"
DATA_DIR="${REDIS_CLUSTER_DATA_DIR:-$REPO_ROOT/.data/redis-cluster}"
NODE_TIMEOUT_MS="${REDIS_CLUSTER_NODE_TIMEOUT_MS:-2000}"
START_TIMEOUT="${REDIS_CLUSTER_START_TIMEOUT:-60}"
STOP_TIMEOUT="${REDIS_CLUSTER_STOP_TIMEOUT:-30}"

HOST=127.0.0.1
SLOTS=16384
CREATED_MARKER="$DATA_DIR/cluster.created"   # written once the cluster has been created

if ! [[ "$BASE_PORT" =~ ^[0-9]+$ ]] || ((BASE_PORT < 1024 || BASE_PORT + 5 + 10000 > 65535)); then
    die "REDIS_CLUSTER_BASE_PORT=$BASE_PORT: expected a port from 1024 to 55530 (the cluster bus uses port + 10000)"
fi
[[ "$NODE_TIMEOUT_MS" =~ ^[0-9]+$ ]] || die "REDIS_CLUSTER_NODE_TIMEOUT_MS=$NODE_TIMEOUT_MS: expected milliseconds"
[[ "$START_TIMEOUT" =~ ^[0-9]+$ ]] || die "REDIS_CLUSTER_START_TIMEOUT=$START_TIMEOUT: expected seconds"
[[ "$STOP_TIMEOUT" =~ ^[0-9]+$ ]] || die "REDIS_CLUSTER_STOP_TIMEOUT=$STOP_TIMEOUT: expected seconds"

# --- layout --------------------------------------------------------------------------

port_of() { echo $((BASE_PORT + $1 - 1)); }
node_of_port() { echo $(($1 - BASE_PORT + 1)); }
node_dir() { echo "$DATA_DIR/node-$1"; }
conf_of() { echo "$DATA_DIR/node-$1/redis.conf"; }
log_of() { echo "$DATA_DIR/node-$1/redis.log"; }
pid_file_of() { echo "$DATA_DIR/node-$1/redis.pid"; }

startup_nodes() {
    local n out=()
    for n in "${NODES[@]}"; do out+=("$HOST:$(port_of "$n")"); done
    (IFS=,; echo "${out[*]}")
}

check_node() {
    [[ "${1:-}" =~ ^[1-6]$ ]] || die "expected a node number 1 to 6, got '${1:-}'"
}

# --- helpers -------------------------------------------------------------------------

# node_pid N: the pid of node N if this script started it and it still runs.
node_pid() { server_pid "$(pid_file_of "$1")" "$(port_of "$1")" "$(conf_of "$1")"; }

write_conf() {
    local n="$1" dir conf
    dir="$(node_dir "$n")"
    conf="$(conf_of "$n")"
    cat >"$conf.tmp" <<EOF
# Written by deploy/redis/cluster.sh (rewritten at every start of the node).
bind $HOST
port $(port_of "$n")
protected-mode no
daemonize no
dir $(quote "$dir")
logfile $(quote "$(log_of "$n")")
cluster-enabled yes
cluster-config-file nodes.conf
cluster-node-timeout $NODE_TIMEOUT_MS
appendonly yes
appendfsync everysec
appenddirname appendonlydir
# A replica syncs at once (default: wait 5 s for more replicas to share the transfer).
repl-diskless-sync-delay 0
EOF
    mv "$conf.tmp" "$conf"
}

# launch_node N: start node N in the background, detached from this shell, unless it
# runs; set LAUNCHED_PID. Dies if its ports are taken by another process.
launch_node() {
    local n="$1" pid port
    if pid="$(node_pid "$n")"; then
        LAUNCHED_PID="$pid"
        return 0
    fi
    port="$(port_of "$n")"
    local p
    for p in "$port" $((port + 10000)); do
        if port_open "$HOST" "$p"; then
            die "$HOST:$p (node $n) is taken by a process this script did not start; set REDIS_CLUSTER_BASE_PORT"
        fi
    done
    mkdir -p "$(node_dir "$n")"
    write_conf "$n"
    info "starting node $n on $HOST:$port"
    LAUNCHED_PID="$(launch_detached "$(pid_file_of "$n")" "$(log_of "$n")" redis-server "$(conf_of "$n")")" ||
        die "node $n's process did not start"
}

# masters_view PORT: from that node's CLUSTER NODES, one line per master that is not
# flagged failing and serves slots: "PORT SLOTCOUNT RANGES...", sorted by port. Slots
# being migrated ([...]) are left out.
masters_view() {
    local nodes
    nodes="$(rcli "$1" cluster nodes)" || return 1
    [[ -n "$nodes" ]] || return 1
    awk '
        $3 ~ /(^|,)master(,|$)/ && $3 !~ /(^|,)fail\??(,|$)/ && NF > 8 {
            split($2, a, "[:@]")
            count = 0; ranges = ""
            for (i = 9; i <= NF; i++) {
                if ($i ~ /^\[/) continue
                n = split($i, r, "-")
                count += (n == 2 ? r[2] - r[1] + 1 : 1)
                ranges = ranges " " $i
            }
            if (count > 0) print a[2], count ranges
        }' <<<"$nodes" | sort -n
}

# cluster_ok: true when every running node answers, reports cluster_state:ok with all
# slots assigned, all of them see the same masters serving the same slots, those masters
# cover every slot, each of them answers PING, and every running replica's link to its
# master is up. A master killed a moment ago still looks fine to the others until the
# node timeout: the PING is what tells. A replica that never synced cannot be promoted
# (its data counts as too old), so a kill right after start would leave its slots dead.
cluster_ok() {
    local n port info view first="" live=0
    for n in "${NODES[@]}"; do
        node_pid "$n" >/dev/null || continue
        port="$(port_of "$n")"
        info="$(rcli "$port" cluster info)" || return 1
        grep -q '^cluster_state:ok' <<<"$info" || return 1
        grep -q "^cluster_slots_assigned:$SLOTS" <<<"$info" || return 1
        # A replica that has not synced yet (just after a start) cannot be promoted.
        info="$(rcli "$port" info replication)" || return 1
        if grep -q '^role:slave' <<<"$info"; then
            grep -q '^master_link_status:up' <<<"$info" || return 1
        fi
        view="$(masters_view "$port")" || return 1
        if [[ -z "$first" ]]; then
            first="$view"
        elif [[ "$view" != "$first" ]]; then
            return 1
        fi
        live=$((live + 1))
    done
    ((live > 0)) || return 1
    local total=0 mport count
    while read -r mport count _; do
        redis_ping "$mport" || return 1
        total=$((total + count))
    done <<<"$first"
    ((total == SLOTS))
}

# wait_ok: wait until cluster_ok, up to the start timeout.
wait_ok() {
    poll_until "$START_TIMEOUT" 0.5 "" cluster_ok
}

# slots_assigned PORT: cluster_slots_assigned as that node reports it.
slots_assigned() {
    rcli "$1" cluster info | tr -d '\r' | awk -F: '$1 == "cluster_slots_assigned" {print $2}'
}

# create_cluster: on the first start, join the six (empty) nodes into a cluster.
create_cluster() {
    [[ -f "$CREATED_MARKER" ]] && return 0
    if [[ "$(slots_assigned "$(port_of 1)")" == "$SLOTS" ]]; then
        touch "$CREATED_MARKER"   # created before, the marker got lost
        return 0
    fi
    local n addrs=()
    for n in "${NODES[@]}"; do addrs+=("$HOST:$(port_of "$n")"); done
    info "creating the cluster (3 masters, 3 replicas)"
    local out
    if ! out="$(timeout "$START_TIMEOUT" redis-cli --cluster create "${addrs[@]}" \
        --cluster-replicas 1 --cluster-yes 2>&1 </dev/null)"; then
        echo "$out" >&2
        die "redis-cli --cluster create failed ('$0 reset' starts afresh)"
    fi
    grep -q '\[OK\] All 16384 slots covered' <<<"$out" || {
        echo "$out" >&2
        die "redis-cli --cluster create did not cover all slots ('$0 reset' starts afresh)"
    }
    touch "$CREATED_MARKER"
}

# --- commands --------------------------------------------------------------------------

cmd_start() {
    ensure_installed
    lock cluster.lock
    local n started=$SECONDS
    local -A pids
    for n in "${NODES[@]}"; do
        launch_node "$n"
        pids[$n]="$LAUNCHED_PID"
    done
    for n in "${NODES[@]}"; do
        await_answer "node $n" "${pids[$n]}" "$(port_of "$n")" "$(log_of "$n")" "$(pid_file_of "$n")"
    done
    create_cluster
    wait_ok || die "the cluster is not ok after ${START_TIMEOUT}s ('$0 status' shows the nodes)"
    info "cluster is up in $((SECONDS - started))s: $(startup_nodes) (data ${DATA_DIR#"$REPO_ROOT"/})"
}

cmd_start_node() {
    check_node "$1"
    ensure_installed
    [[ -f "$CREATED_MARKER" ]] || die "no cluster in ${DATA_DIR#"$REPO_ROOT"/} yet: run '$0 start'"
    lock cluster.lock
    local pid
    if pid="$(node_pid "$1")" && redis_ping "$(port_of "$1")"; then
        info "node $1 is already running (pid $pid)"
    else
        launch_node "$1"
        await_answer "node $1" "$LAUNCHED_PID" "$(port_of "$1")" "$(log_of "$1")" "$(pid_file_of "$1")"
        info "node $1 answers on $HOST:$(port_of "$1") (pid $LAUNCHED_PID)"
    fi
    wait_ok || die "the cluster is not ok ${START_TIMEOUT}s after node $1 started"
    info "cluster is ok; node $1 is a $(role_of "$(port_of "$1")")"
}

cmd_kill_node() {
    check_node "$1"
    kill_server "node $1" "$(node_pid "$1" || true)" "$(pid_file_of "$1")"
}

cmd_stop() {
    [[ -d "$DATA_DIR" ]] || { info "not running"; return 0; }
    lock cluster.lock
    # SIGTERM to every node at once: each one writes its append-only file and exits.
    local n servers=()
    for n in "${NODES[@]}"; do
        servers+=("$n:$(node_pid "$n" || true):$(pid_file_of "$n")")
    done
    stop_servers "$STOP_TIMEOUT" "" nodes "${servers[@]}"
}

cmd_status() {
    local n pid port running=0
    for n in "${NODES[@]}"; do
        port="$(port_of "$n")"
        pid="$(node_pid "$n")" || pid=""
        if [[ -n "$pid" ]] && redis_ping "$port"; then
            info "node $n: $HOST:$port $(role_of "$port") (pid $pid)"
            running=$((running + 1))
        elif [[ -n "$pid" ]]; then
            info "node $n: $HOST:$port starting or stopping (pid $pid), no PING answer"
        elif port_open "$HOST" "$port"; then
            info "node $n: $HOST:$port served by a process this script did not start"
        else
            info "node $n: $HOST:$port down"
        fi
    done
    if ((running > 0)) && cluster_ok; then
        info "cluster: ok"
    else
        info "cluster: not ok"
        return 3
    fi
    ((running == ${#NODES[@]})) || return 3
}

cmd_master_of() {
    local key="${1-}"
    [[ -n "$key" ]] || die "usage: $0 master-of KEY"
    local n port slot="" view
    for n in "${NODES[@]}"; do
        node_pid "$n" >/dev/null || continue
        port="$(port_of "$n")"
        slot="$(rcli "$port" cluster keyslot "$key")" || continue
        [[ "$slot" =~ ^[0-9]+$ ]] || continue
        view="$(masters_view "$port")" || continue
        local master
        master="$(awk -v s="$slot" '{
            for (i = 3; i <= NF; i++) {
                n = split($i, r, "-")
                if ((n == 2 && s >= r[1] && s <= r[2]) || (n == 1 && s == r[1])) { print $1; exit }
            } }' <<<"$view")"
        if [[ -n "$master" ]]; then
            node_of_port "$master"
            return 0
        fi
        echo none
        return 1
    done
    die "no node of the cluster answers"
}

cmd_wait_ok() {
    local started=$SECONDS
    wait_ok || die "the cluster is not ok after ${START_TIMEOUT}s ('$0 status' shows the nodes)"
    info "cluster is ok (waited $((SECONDS - started))s)"
}

cmd_reset() {
    cmd_stop
    delete_data_dir 'node-[1-6]' cluster.lock cluster.created
}

usage() {
    echo "usage: $0 start|stop|status|nodes|port N|kill-node N|start-node N|master-of KEY|wait-ok|reset" >&2
    exit 2
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    nodes) startup_nodes ;;
    port) check_node "${2:-}"; port_of "$2" ;;
    kill-node) cmd_kill_node "${2:-}" ;;
    start-node) cmd_start_node "${2:-}" ;;
    master-of) cmd_master_of "${2-}" ;;
    wait-ok) cmd_wait_ok ;;
    reset) cmd_reset ;;
    *) usage ;;
esac
