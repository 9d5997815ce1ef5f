#!/usr/bin/env bash
# Run a single-node Apache Kafka broker (KRaft mode, broker + controller in one JVM) for
# local development and tests, from the jars on Maven Central: no Docker, no tarball.
#
# Usage: deploy/kafka/kafka.sh start|stop|status|wait
#
#   start   Start the broker in the background and wait until it serves requests. Reuses
#           whatever already listens on the port. Fetches the jars with Maven the first
#           time (deploy/kafka/lib/) and formats the storage once per data directory.
#   stop    Stop the broker that this script started (and only that one).
#   status  Tell whether a broker is running. Exit 0 if the port accepts connections.
#   wait    Wait until the port accepts connections.
#
# Environment:
#   KAFKA_PORT               PLAINTEXT listener port            (default 9092)
#   KAFKA_CONTROLLER_PORT    KRaft controller listener port     (default 9093)
#   KAFKA_DATA_DIR           data, logs and pid file            (default <repo>/.data/kafka,
#                            or <repo>/.data/kafka-<port> when KAFKA_PORT is not 9092)
#   KAFKA_BOOTSTRAP_SERVERS  when set to anything but 127.0.0.1:<port> / localhost:<port>,
#                            Kafka is external: start and wait only wait for its first host
#   KAFKA_START_TIMEOUT      seconds to wait for start-up       (default 90)
#   KAFKA_STOP_TIMEOUT       seconds to wait before SIGKILL     (default 60)
#   KAFKA_HEAP_OPTS          JVM heap options                   (default -Xms256m -Xmx1g)
#   JAVA_HOME or JAVA        the java binary to use (Java 17 or later)

set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

LOG_NAME=kafka
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$SCRIPT_DIR/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$SCRIPT_DIR/common.sh"

PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
if [[ "$PORT" == 9092 ]]; then
    DATA_DIR="${KAFKA_DATA_DIR:-$REPO_ROOT/.data/kafka}"
else
    DATA_DIR="${KAFKA_DATA_DIR:-$REPO_ROOT/.data/kafka-$PORT}"
fi
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-60}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"

TEMPLATE="$SCRIPT_DIR/server.properties"

PROPS="$DATA_DIR/server.properties"   # rendered from TEMPLATE
LOG_DIRS="$DATA_DIR/data"             # Kafka's log.dirs: partitions and KRaft metadata
LOGS_DIR="$DATA_DIR/logs"             # server.log (Log4j) and kafka.out (stdout/stderr)
SERVER_LOG="$LOGS_DIR/server.log"
OUT_FILE="$LOGS_DIR/kafka.out"
PID_FILE="$DATA_DIR/kafka.pid"

HOST=127.0.0.1

# --- helpers -------------------------------------------------------------------------

# our_pid: print the pid of the broker this script started for DATA_DIR, if it still runs.
our_pid() { broker_pid "$PID_FILE" "$PROPS"; }

# external_target: when KAFKA_BOOTSTRAP_SERVERS names a cluster other than the local
# broker, set EXT_HOST / EXT_PORT to its first host:port and succeed.
external_target() {
    local servers="${KAFKA_BOOTSTRAP_SERVERS:-}" first
    [[ -n "${servers// /}" ]] || return 1
    first="${servers%%,*}"
    first="${first//[[:space:]]/}"
    first="${first#*://}"                       # PLAINTEXT://host:port
    case "$first" in
        "127.0.0.1:$PORT" | "localhost:$PORT") return 1 ;;
    esac
    EXT_PORT="${first##*:}"
    EXT_HOST="${first%:*}"
    EXT_HOST="${EXT_HOST#[}"
    EXT_HOST="${EXT_HOST%]}"                    # [::1]:9092
    [[ "$EXT_PORT" =~ ^[0-9]+$ && -n "$EXT_HOST" ]] ||
        die "cannot parse KAFKA_BOOTSTRAP_SERVERS='$servers' (expected host:port[,host:port...])"
}

# wait_for_port HOST PORT TIMEOUT [PID]: poll until the port accepts connections. Gives up
# early if PID is given and that process exits.
wait_for_port() {
    poll_until "$3" 0.5 "${4:-}" port_open "$1" "$2"
}

# run_java ARGS...: run a Kafka class with the jars in lib/ and our logging config.
run_java() { kafka_java "$LOGS_DIR" "$@"; }

# print_logs: show the end of server.log and what the JVM printed during this start.
print_logs() { print_broker_logs "$SERVER_LOG" "$OUT_FILE" "kafka.sh start"; }

# --- set-up steps ----------------------------------------------------------------------

render_properties() {
    # A data directory formatted with --standalone records the controller's endpoint in
    # its metadata, so it cannot move to another controller port afterwards.
    if [[ -f "$LOG_DIRS/meta.properties" && -f "$PROPS" ]] &&
        ! grep -qx "controller.quorum.bootstrap.servers=$HOST:$CONTROLLER_PORT" "$PROPS"; then
        die "$DATA_DIR was formatted for another controller port ($(grep '^controller.quorum.bootstrap.servers=' "$PROPS" | cut -d= -f2)); use another KAFKA_DATA_DIR or delete it"
    fi
    sed -e "s|@PORT@|$PORT|g" \
        -e "s|@CONTROLLER_PORT@|$CONTROLLER_PORT|g" \
        -e "s|@LOG_DIRS@|$LOG_DIRS|g" \
        "$TEMPLATE" >"$PROPS.tmp"
    mv "$PROPS.tmp" "$PROPS"
}

format_storage() {
    [[ -f "$LOG_DIRS/meta.properties" ]] && return 0
    local cluster_id
    cluster_id="$(run_java kafka.tools.StorageTool random-uuid | tail -n 1)"
    [[ -n "$cluster_id" ]] || die "kafka.tools.StorageTool random-uuid printed no cluster id"
    info "formatting $LOG_DIRS (cluster id $cluster_id)"
    run_java kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$PROPS" >>"$OUT_FILE" 2>&1 || {
        print_logs
        die "formatting the storage failed"
    }
}

# --- commands --------------------------------------------------------------------------

cmd_wait() {
    local host="$HOST" port="$PORT"
    if external_target; then
        host="$EXT_HOST" port="$EXT_PORT"
    fi
    if wait_for_port "$host" "$port" "$START_TIMEOUT"; then
        info "$host:$port accepts connections"
    else
        die "$host:$port did not accept connections within ${START_TIMEOUT}s"
    fi
}

cmd_start() {
    if external_target; then
        info "KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS: using that cluster, not starting one"
        cmd_wait
        return
    fi

    mkdir -p "$DATA_DIR" "$LOGS_DIR" "$LOG_DIRS"
    # One start at a time per data directory. fd 9 is closed for the broker itself below,
    # so the lock ends with this script.
    exec 9>"$DATA_DIR/start.lock"
    flock 9

    local pid log_offset=0
    if port_open "$HOST" "$PORT"; then
        if pid="$(our_pid)"; then
            info "already running on $HOST:$PORT (pid $pid)"
        else
            info "something already accepts connections on $HOST:$PORT; reusing it"
        fi
        return 0
    fi

    if pid="$(our_pid)"; then
        info "broker (pid $pid) is starting; waiting for $HOST:$PORT"
    else
        rm -f "$PID_FILE"
        if port_open "$HOST" "$CONTROLLER_PORT"; then
            die "controller port $HOST:$CONTROLLER_PORT is taken by another process (set KAFKA_CONTROLLER_PORT)"
        fi
        ensure_lib
        render_properties
        format_storage

        log_offset="$(log_size "$SERVER_LOG")"
        echo "---- $(date -u +%FT%TZ) kafka.sh start ----" >>"$OUT_FILE"

        info "starting Kafka on $HOST:$PORT (controller $HOST:$CONTROLLER_PORT, data ${DATA_DIR#"$REPO_ROOT"/})"
        pid="$(launch_broker "$PID_FILE" "$PROPS" "$LOGS_DIR" "$OUT_FILE" "$HEAP_OPTS")" ||
            die "the broker process did not start"
    fi

    local rc=0
    await_serving "$pid" "$HOST" "$PORT" "$SERVER_LOG" "$log_offset" "$START_TIMEOUT" || rc=$?
    if ((rc == 2)); then
        print_logs
        die "Kafka (pid $pid) did not open $HOST:$PORT within ${START_TIMEOUT}s; it is still running ('$0 stop' stops it)"
    elif ((rc != 0)); then
        print_logs
        rm -f "$PID_FILE"
        die "Kafka exited during start-up"
    fi
    info "Kafka is up on $HOST:$PORT (pid $pid)"
}

cmd_stop() {
    if external_target; then
        info "KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS is external; nothing to stop"
        return 0
    fi
    local pid
    if ! pid="$(our_pid)"; then
        rm -f "$PID_FILE"
        report_not_ours "$HOST" "$PORT"
        return 0
    fi

    info "stopping Kafka (pid $pid)"
    stop_pid "$pid" "$STOP_TIMEOUT" 0.2
    rm -f "$PID_FILE"
    info "stopped"
}

cmd_status() {
    if external_target; then
        if port_open "$EXT_HOST" "$EXT_PORT"; then
            info "external cluster at $EXT_HOST:$EXT_PORT accepts connections"
            return 0
        fi
        info "external cluster at $EXT_HOST:$EXT_PORT does not accept connections"
        return 3
    fi
    local pid=""
    pid="$(our_pid)" || pid=""
    if port_open "$HOST" "$PORT"; then
        if [[ -n "$pid" ]]; then
            info "running on $HOST:$PORT (pid $pid, data ${DATA_DIR#"$REPO_ROOT"/})"
        else
            info "$HOST:$PORT accepts connections (a broker this script did not start)"
        fi
        return 0
    fi
    if [[ -n "$pid" ]]; then
        info "starting (pid $pid), $HOST:$PORT not open yet"
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
