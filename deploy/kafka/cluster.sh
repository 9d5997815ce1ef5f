#!/usr/bin/env bash
# Run a three-node Apache Kafka cluster on this machine, replicated as in production, for
# fault-injection tests: KRaft combined mode (every node is a broker and a controller) with
# a static quorum of three voters, replication factor 3 and min.insync.replicas=2 for every
# topic, internal ones included. Same jars as kafka.sh (deploy/kafka/lib/, from Maven).
#
# Usage: deploy/kafka/cluster.sh COMMAND
#
#   start              Start the nodes that are not running and wait until all three serve
#                      and the quorum has a leader. Formats the storage once per data dir.
#   stop               Stop every node (SIGTERM to all at once, SIGKILL after the timeout).
#                      Keeps the data: the next start resumes the same cluster.
#   status             One line per node. Exit 0 if all three serve, 3 otherwise.
#   bootstrap          Print the bootstrap string: 127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3.
#   port N             Print node N's client (PLAINTEXT) port.
#   kill-node N        SIGKILL node N (a crash: no controlled shutdown, no flush).
#   stop-node N        Stop node N cleanly (SIGTERM: controlled shutdown).
#   start-node N       Start node N again and wait until it serves. It then catches up and
#                      rejoins the in-sync replicas in the background.
#   leader TOPIC PART  Print the node id leading that partition ("none" and exit 1 if none).
#   quorum             Describe the KRaft quorum (leader, voters, lag).
#   reset              Stop every node and delete the data directory.
#
# Nodes are numbered 1, 2, 3 (their node.id). Node N listens on
#   client (PLAINTEXT)   127.0.0.1:BASE+2(N-1)     19192, 19194, 19196 by default
#   controller (KRaft)   127.0.0.1:BASE+2(N-1)+1   19193, 19195, 19197 by default
#
# Environment:
#   KAFKA_CLUSTER_BASE_PORT      first of the six consecutive ports         (default 19192)
#   KAFKA_CLUSTER_DATA_DIR       data, logs and pid files, one node-N folder per node
#                                (default <repo>/.data/kafka-cluster)
#   KAFKA_CLUSTER_HEAP_OPTS      JVM heap options, per node                 (default -Xms128m -Xmx512m)
#   KAFKA_CLUSTER_START_TIMEOUT  seconds to wait for start-up               (default 120)
#   KAFKA_CLUSTER_STOP_TIMEOUT   seconds to wait before SIGKILL             (default 60)
#   JAVA_HOME or JAVA            the java binary to use (Java 17 or later)
#
# Timings on a 2-core machine: start ~15-30 s (three JVMs share the cores), start-node ~10 s,
# stop ~7 s. After kill-node, the partitions the node led get a new leader once its broker
# session expires (broker.session.timeout.ms, 9 s by default): ~10-15 s; a new quorum leader
# takes ~2-4 s. A node left alone (two of three killed) cannot complete its controlled
# shutdown, which needs a controller quorum: stop gives it 10 s, then SIGKILL.

set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

LOG_NAME=kafka-cluster
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$SCRIPT_DIR/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$SCRIPT_DIR/common.sh"

NODES=(1 2 3)
BASE_PORT="${KAFKA_CLUSTER_BASE_PORT:-19192}"
DATA_DIR="${KAFKA_CLUSTER_DATA_DIR:-$REPO_ROOT/.data/kafka-cluster}"
HEAP_OPTS="${KAFKA_CLUSTER_HEAP_OPTS:--Xms128m -Xmx512m}"
START_TIMEOUT="${KAFKA_CLUSTER_START_TIMEOUT:-120}"
STOP_TIMEOUT="${KAFKA_CLUSTER_STOP_TIMEOUT:-60}"

TEMPLATE="$SCRIPT_DIR/server-cluster.properties"
CLUSTER_ID_FILE="$DATA_DIR/cluster.id"
TOOL_LOGS_DIR="$DATA_DIR/logs"   # what the Kafka tools run by this script log
HOST=127.0.0.1
START_MARKER="cluster.sh start"

if ! [[ "$BASE_PORT" =~ ^[0-9]+$ ]] || ((BASE_PORT < 1024 || BASE_PORT + 5 > 65535)); then
    die "KAFKA_CLUSTER_BASE_PORT=$BASE_PORT: expected a port from 1024 to 65530"
fi

# --- layout --------------------------------------------------------------------------

port_of() { echo $((BASE_PORT + 2 * ($1 - 1))); }
controller_port_of() { echo $((BASE_PORT + 2 * ($1 - 1) + 1)); }
node_dir() { echo "$DATA_DIR/node-$1"; }
props_of() { echo "$DATA_DIR/node-$1/server.properties"; }   # rendered from TEMPLATE
log_dirs_of() { echo "$DATA_DIR/node-$1/data"; }             # partitions, KRaft metadata
logs_of() { echo "$DATA_DIR/node-$1/logs"; }                 # server.log, kafka.out
server_log_of() { echo "$DATA_DIR/node-$1/logs/server.log"; }
out_file_of() { echo "$DATA_DIR/node-$1/logs/kafka.out"; }
pid_file_of() { echo "$DATA_DIR/node-$1/kafka.pid"; }

bootstrap_servers() {
    local n out=()
    for n in "${NODES[@]}"; do out+=("$HOST:$(port_of "$n")"); done
    (IFS=,; echo "${out[*]}")
}

controller_servers() {
    local n out=()
    for n in "${NODES[@]}"; do out+=("$HOST:$(controller_port_of "$n")"); done
    (IFS=,; echo "${out[*]}")
}

# The static quorum: 1@127.0.0.1:<controller port 1>,2@...,3@...
voters() {
    local n out=()
    for n in "${NODES[@]}"; do out+=("$n@$HOST:$(controller_port_of "$n")"); done
    (IFS=,; echo "${out[*]}")
}

check_node() {
    [[ "${1:-}" =~ ^[123]$ ]] || die "expected a node number 1, 2 or 3, got '${1:-}'"
}

# node_pid N: the pid of node N if this script started it and it still runs.
node_pid() { broker_pid "$(pid_file_of "$1")" "$(props_of "$1")"; }

# live_bootstrap: the bootstrap string restricted to the nodes that accept connections,
# so that a tool does not spend its first attempts on a killed node.
live_bootstrap() {
    local n out=()
    for n in "${NODES[@]}"; do
        port_open "$HOST" "$(port_of "$n")" && out+=("$HOST:$(port_of "$n")")
    done
    ((${#out[@]} > 0)) || die "no node accepts connections ($(bootstrap_servers))"
    (IFS=,; echo "${out[*]}")
}

# tool ARGS...: run a short-lived Kafka tool. C1 only and the serial collector: about half
# the CPU time of the defaults, which matters while three brokers start on two cores.
tool() { kafka_java "$TOOL_LOGS_DIR" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "$@"; }

# --- set-up steps ----------------------------------------------------------------------

# lock: one start / stop at a time per data directory (fd 9, closed for the brokers).
lock() {
    mkdir -p "$DATA_DIR" "$TOOL_LOGS_DIR"
    exec 9>"$DATA_DIR/cluster.lock"
    flock 9
}

# cluster_id: print the cluster id, generated once per data directory. Every node's storage
# is formatted with it.
cluster_id() {
    if [[ ! -s "$CLUSTER_ID_FILE" ]]; then
        local id
        id="$(tool kafka.tools.StorageTool random-uuid | tail -n 1)"
        [[ -n "$id" ]] || die "kafka.tools.StorageTool random-uuid printed no cluster id"
        echo "$id" >"$CLUSTER_ID_FILE"
    fi
    cat "$CLUSTER_ID_FILE"
}

render_properties() {
    local n="$1" props
    props="$(props_of "$n")"
    sed -e "s|@NODE_ID@|$n|g" \
        -e "s|@PORT@|$(port_of "$n")|g" \
        -e "s|@CONTROLLER_PORT@|$(controller_port_of "$n")|g" \
        -e "s|@VOTERS@|$(voters)|g" \
        -e "s|@LOG_DIRS@|$(log_dirs_of "$n")|g" \
        "$TEMPLATE" >"$props.tmp"
    mv "$props.tmp" "$props"
}

# format_storage N ID: format node N's log directory for cluster ID, once. With static
# voters (controller.quorum.voters) the storage tool takes neither --standalone nor
# --initial-controllers: the quorum is the configuration, not part of the metadata.
format_storage() {
    local n="$1" id="$2" log_dirs
    log_dirs="$(log_dirs_of "$n")"
    if [[ -f "$log_dirs/meta.properties" ]]; then
        grep -qx "cluster.id=$id" "$log_dirs/meta.properties" ||
            die "$log_dirs belongs to another cluster than $id ($CLUSTER_ID_FILE); '$0 reset' starts afresh"
        return 0
    fi
    info "formatting node $n's storage (cluster id $id)"
    tool kafka.tools.StorageTool format -t "$id" -c "$(props_of "$n")" >>"$(out_file_of "$n")" 2>&1 || {
        print_node_logs "$n"
        die "formatting node $n's storage failed"
    }
}

print_node_logs() {
    print_broker_logs "$(server_log_of "$1")" "$(out_file_of "$1")" "$START_MARKER"
}

# prepare_nodes ID N...: for each node N that does not run, check that its ports are
# free, render its properties and format its storage. Formatting runs a JVM per node: they
# run in parallel, and before any node starts, so that the nodes start together.
prepare_nodes() {
    local id="$1" n formats=()
    shift
    for n in "$@"; do
        node_pid "$n" >/dev/null && continue
        prepare_node "$n"
        if [[ ! -f "$(log_dirs_of "$n")/meta.properties" ]]; then
            format_storage "$n" "$id" &
            formats+=("$!")
        else
            format_storage "$n" "$id"   # checks the cluster id
        fi
    done
    local pid failed=0
    for pid in ${formats[@]+"${formats[@]}"}; do
        wait "$pid" || failed=1
    done
    ((failed == 0)) || die "formatting the storage failed"
}

prepare_node() {
    local n="$1" p
    node_pid "$n" >/dev/null && return 0
    for p in "$(port_of "$n")" "$(controller_port_of "$n")"; do
        if port_open "$HOST" "$p"; then
            die "$HOST:$p (node $n) is taken by a process this script did not start; set KAFKA_CLUSTER_BASE_PORT"
        fi
    done
    mkdir -p "$(node_dir "$n")" "$(logs_of "$n")" "$(log_dirs_of "$n")"
    render_properties "$n"
}

# launch_node N: start node N (prepared) unless it runs; set LAUNCHED_PID and LOG_OFFSET
# for await_node.
launch_node() {
    local n="$1" pid
    LOG_OFFSET=0
    if pid="$(node_pid "$n")"; then
        LAUNCHED_PID="$pid"
        return 0
    fi
    LOG_OFFSET="$(log_size "$(server_log_of "$n")")"
    echo "---- $(date -u +%FT%TZ) $START_MARKER ----" >>"$(out_file_of "$n")"
    info "starting node $n on $HOST:$(port_of "$n") (controller $HOST:$(controller_port_of "$n"))"
    LAUNCHED_PID="$(launch_broker "$(pid_file_of "$n")" "$(props_of "$n")" "$(logs_of "$n")" \
        "$(out_file_of "$n")" "$HEAP_OPTS")" || die "node $n's process did not start"
}

# await_node N PID LOG_OFFSET DEADLINE: wait until node N serves (up to DEADLINE, in
# $SECONDS); on failure show its logs and die.
await_node() {
    local n="$1" pid="$2" offset="$3" deadline="$4" rc=0 port
    port="$(port_of "$n")"
    local timeout=$((deadline - SECONDS))
    ((timeout > 5)) || timeout=5
    await_serving "$pid" "$HOST" "$port" "$(server_log_of "$n")" "$offset" "$timeout" || rc=$?
    if ((rc == 2)); then
        print_node_logs "$n"
        die "node $n (pid $pid) did not open $HOST:$port within ${START_TIMEOUT}s; it is still running ('$0 stop' stops the cluster)"
    elif ((rc != 0)); then
        print_node_logs "$n"
        rm -f "$(pid_file_of "$n")"
        die "node $n exited during start-up ('$0 status' shows the other nodes, '$0 stop' stops them)"
    fi
}

# quorum_leader: print the node id of the KRaft quorum's leader; fail if there is none.
quorum_leader() {
    local leader=""
    leader="$(tool org.apache.kafka.tools.MetadataQuorumCommand \
        --bootstrap-controller "$(controller_servers)" describe --status 2>/dev/null |
        awk '$1 == "LeaderId:" {print $2}')" || true
    [[ "$leader" =~ ^[0-9]+$ ]] && ((leader >= 0)) || return 1
    echo "$leader"
}

# --- commands --------------------------------------------------------------------------

cmd_start() {
    lock
    ensure_lib
    local id n deadline=$((SECONDS + START_TIMEOUT))
    id="$(cluster_id)"
    local -A pids offsets
    prepare_nodes "$id" "${NODES[@]}"
    for n in "${NODES[@]}"; do
        launch_node "$n"
        pids[$n]="$LAUNCHED_PID"
        offsets[$n]="$LOG_OFFSET"
    done
    # The nodes start together: a broker only serves once the quorum (two of the three
    # controllers) has elected a leader, which has registered and unfenced the broker.
    for n in "${NODES[@]}"; do
        await_node "$n" "${pids[$n]}" "${offsets[$n]}" "$deadline"
    done
    # So the quorum has a leader by now; ask which node that is (one JVM, ~2 s).
    local leader
    until leader="$(quorum_leader)"; do
        ((SECONDS < deadline)) || die "all three nodes serve but the quorum reports no leader"
        sleep 1
    done
    info "cluster is up: $(bootstrap_servers) (quorum leader: node $leader, data ${DATA_DIR#"$REPO_ROOT"/})"
}

cmd_start_node() {
    check_node "$1"
    lock
    ensure_lib
    local id
    id="$(cluster_id)"
    if node_pid "$1" >/dev/null && port_open "$HOST" "$(port_of "$1")"; then
        info "node $1 is already running (pid $(node_pid "$1"))"
        return 0
    fi
    prepare_nodes "$id" "$1"
    launch_node "$1"
    await_node "$1" "$LAUNCHED_PID" "$LOG_OFFSET" $((SECONDS + START_TIMEOUT))
    info "node $1 is up on $HOST:$(port_of "$1") (pid $LAUNCHED_PID)"
}

cmd_kill_node() {
    check_node "$1"
    local pid
    if ! pid="$(node_pid "$1")"; then
        rm -f "$(pid_file_of "$1")"
        info "node $1 is not running"
        return 0
    fi
    kill -KILL "$pid" 2>/dev/null || true
    await_exit "$pid" 10 0.05
    rm -f "$(pid_file_of "$1")"
    info "killed node $1 (pid $pid)"
}

running_count() {
    local n count=0
    for n in "${NODES[@]}"; do
        node_pid "$n" >/dev/null && count=$((count + 1))
    done
    echo "$count"
}

# A broker's controlled shutdown needs a controller quorum (two of the three nodes). A node
# left alone cannot complete it and would wait minutes: it gets LONE_GRACE seconds, then
# SIGKILL (as after a crash, the next start recovers its logs).
LONE_GRACE=10

cmd_stop_node() {
    check_node "$1"
    local pid timeout="$STOP_TIMEOUT"
    if ! pid="$(node_pid "$1")"; then
        rm -f "$(pid_file_of "$1")"
        info "node $1 is not running"
        return 0
    fi
    if (($(running_count) < 2 && LONE_GRACE < STOP_TIMEOUT)); then
        info "node $1 is the last one running: no controller quorum for its controlled shutdown; SIGKILL after ${LONE_GRACE}s"
        timeout="$LONE_GRACE"
    fi
    info "stopping node $1 (pid $pid)"
    stop_pid "$pid" "$timeout" 0.2
    rm -f "$(pid_file_of "$1")"
    info "stopped node $1"
}

cmd_stop() {
    [[ -d "$DATA_DIR" ]] || { info "not running"; return 0; }
    lock
    # SIGTERM to every node at once, so that the controllers are all still up while the
    # brokers do their controlled shutdowns (one by one, the last node would have no quorum).
    # Still, a slow node can be left alone when the others are done: see LONE_GRACE.
    local n servers=()
    for n in "${NODES[@]}"; do
        servers+=("$n:$(node_pid "$n" || true):$(pid_file_of "$n")")
    done
    stop_servers "$STOP_TIMEOUT" "$LONE_GRACE" nodes "${servers[@]}"
}

cmd_status() {
    local n pid port serving=0
    for n in "${NODES[@]}"; do
        port="$(port_of "$n")"
        pid="$(node_pid "$n")" || pid=""
        if port_open "$HOST" "$port"; then
            if [[ -n "$pid" ]]; then
                info "node $n: running on $HOST:$port (pid $pid)"
                serving=$((serving + 1))
            else
                info "node $n: $HOST:$port accepts connections (a process this script did not start)"
            fi
        elif [[ -n "$pid" ]]; then
            info "node $n: starting or stopping (pid $pid), $HOST:$port not open"
        else
            info "node $n: down"
        fi
    done
    ((serving == ${#NODES[@]})) || return 3
}

cmd_leader() {
    local topic="${1:-}" partition="${2:-}"
    [[ -n "$topic" && "$partition" =~ ^[0-9]+$ ]] || die "usage: $0 leader TOPIC PARTITION"
    local described leader
    described="$(tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$(live_bootstrap)" \
        --describe --topic "$topic" 2>&1)" ||
        die "cannot describe topic $topic: $(grep -m1 -i error <<<"$described" || echo "$described")"
    leader="$(awk -v p="$partition" '
        { for (i = 1; i < NF; i++) {
              if ($i == "Partition:") part = $(i + 1)
              if ($i == "Leader:" && part == p) { print $(i + 1); exit } } }' <<<"$described")"
    [[ -n "$leader" ]] || die "topic $topic has no partition $partition"
    echo "$leader"
    [[ "$leader" =~ ^[0-9]+$ ]]
}

cmd_quorum() {
    tool org.apache.kafka.tools.MetadataQuorumCommand \
        --bootstrap-controller "$(controller_servers)" describe --status
}

cmd_reset() {
    cmd_stop
    [[ -d "$DATA_DIR" ]] || return 0
    # Only delete what looks like this script's data directory.
    local entry
    for entry in "$DATA_DIR"/* "$DATA_DIR"/.[!.]*; do
        [[ -e "$entry" ]] || continue
        case "${entry##*/}" in
            node-[123] | logs | cluster.id | cluster.lock) ;;
            *) die "$DATA_DIR holds ${entry##*/}, which this script did not write; not deleting it" ;;
        esac
    done
    rm -rf "$DATA_DIR"
    info "deleted ${DATA_DIR#"$REPO_ROOT"/}"
}

usage() {
    echo "usage: $0 start|stop|status|bootstrap|port N|kill-node N|stop-node N|start-node N|leader TOPIC PARTITION|quorum|reset" >&2
    exit 2
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    bootstrap) bootstrap_servers ;;
    port) check_node "${2:-}"; port_of "$2" ;;
    kill-node) cmd_kill_node "${2:-}" ;;
    stop-node) cmd_stop_node "${2:-}" ;;
    start-node) cmd_start_node "${2:-}" ;;
    leader) cmd_leader "${2:-}" "${3:-}" ;;
    quorum) cmd_quorum ;;
    reset) cmd_reset ;;
    *) usage ;;
esac
