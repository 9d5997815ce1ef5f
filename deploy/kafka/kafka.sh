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

LIB_DIR="$SCRIPT_DIR/lib"
LIB_STAMP="$LIB_DIR/.pom.sha256"
TEMPLATE="$SCRIPT_DIR/server.properties"
LOG4J_CONFIG="$SCRIPT_DIR/log4j2.properties"

PROPS="$DATA_DIR/server.properties"   # rendered from TEMPLATE
LOG_DIRS="$DATA_DIR/data"             # Kafka's log.dirs: partitions and KRaft metadata
LOGS_DIR="$DATA_DIR/logs"             # server.log (Log4j) and kafka.out (stdout/stderr)
SERVER_LOG="$LOGS_DIR/server.log"
OUT_FILE="$LOGS_DIR/kafka.out"
PID_FILE="$DATA_DIR/kafka.pid"

HOST=127.0.0.1

# --- helpers -------------------------------------------------------------------------

# our_pid: print the pid of the broker this script started for DATA_DIR, if it still runs.
our_pid() {
    local pid
    pid="$(live_pid_in "$PID_FILE")" || return 1
    # Guard against a recycled pid: the command line must be our broker's.
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "kafka.Kafka $PROPS" || return 1
    echo "$pid"
}

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

java_bin() {
    if [[ -n "${JAVA:-}" ]]; then
        echo "$JAVA"
    elif [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
        echo "$JAVA_HOME/bin/java"
    elif command -v java >/dev/null 2>&1; then
        command -v java
    else
        die "java not found: Kafka 4 needs Java 17 or later (Debian: apt-get install openjdk-17-jre-headless)"
    fi
}

# run_java ARGS...: run a Kafka class with the jars in lib/ and our logging config.
run_java() {
    "$(java_bin)" -cp "$LIB_DIR/*" \
        -Dlog4j2.configurationFile="$LOG4J_CONFIG" \
        -Dkafka.logs.dir="$LOGS_DIR" \
        "$@"
}

# print_logs: show the end of server.log and what the JVM printed during this start.
print_logs() {
    if [[ -s "$SERVER_LOG" ]]; then
        warn "---- last 40 lines of $SERVER_LOG ----"
        tail -n 40 "$SERVER_LOG" >&2
    fi
    if [[ -s "$OUT_FILE" ]]; then
        warn "---- $OUT_FILE (this start) ----"
        tac "$OUT_FILE" | sed '/ kafka.sh start ----$/q' | tac | tail -n 40 >&2
    fi
}

# --- set-up steps ----------------------------------------------------------------------

pom_checksum() { sha256sum "$SCRIPT_DIR/pom.xml" | cut -d' ' -f1; }

lib_is_current() {
    [[ -f "$LIB_STAMP" ]] &&
        [[ "$(cat "$LIB_STAMP")" == "$(pom_checksum)" ]] &&
        compgen -G "$LIB_DIR/kafka_2.13-*.jar" >/dev/null
}

# Copy the broker's jars into lib/ with Maven, unless they are there and match pom.xml.
# Tries offline first (~/.m2 cache), then online.
ensure_lib() {
    lib_is_current && return 0
    command -v mvn >/dev/null 2>&1 || die "mvn not found: needed once to fetch the Kafka jars (apt-get install maven)"

    mkdir -p "$REPO_ROOT/.data"
    exec 8>"$REPO_ROOT/.data/kafka-lib.lock"
    flock 8
    if lib_is_current; then     # fetched meanwhile by another start
        exec 8>&-
        return 0
    fi

    local tmp="$REPO_ROOT/.data/kafka-lib.tmp.$$"
    rm -rf "$tmp"
    info "fetching the Kafka jars with Maven into ${LIB_DIR#"$REPO_ROOT"/} ..."
    local mvn_args=(-B -q -Dstyle.color=never -f "$SCRIPT_DIR/pom.xml" dependency:copy-dependencies
        -DincludeScope=runtime -DoutputDirectory="$tmp")
    if ! mvn -o "${mvn_args[@]}" >/dev/null 2>&1; then
        rm -rf "$tmp"
        mvn "${mvn_args[@]}" || { rm -rf "$tmp"; die "Maven could not fetch the Kafka jars"; }
    fi
    pom_checksum >"$tmp/.pom.sha256"
    rm -rf "$LIB_DIR"
    mv "$tmp" "$LIB_DIR"
    exec 8>&-
}

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

        [[ -f "$SERVER_LOG" ]] && log_offset="$(stat -c %s "$SERVER_LOG")"
        echo "---- $(date -u +%FT%TZ) kafka.sh start ----" >>"$OUT_FILE"

        info "starting Kafka on $HOST:$PORT (controller $HOST:$CONTROLLER_PORT, data ${DATA_DIR#"$REPO_ROOT"/})"
        # setsid + nohup: the broker outlives this shell and its terminal. The inner shell
        # writes its own pid (which exec hands over to java) before starting the JVM.
        # shellcheck disable=SC2086,SC2016  # HEAP_OPTS is a list of options; $$ is the inner shell's
        setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' kafka-start "$PID_FILE" \
            "$(java_bin)" $HEAP_OPTS \
            -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
            -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
            -Dlog4j2.configurationFile="$LOG4J_CONFIG" \
            -Dkafka.logs.dir="$LOGS_DIR" \
            -cp "$LIB_DIR/*" kafka.Kafka "$PROPS" \
            >>"$OUT_FILE" 2>&1 </dev/null 9>&- 8>&- &

        local waited=0
        until [[ -s "$PID_FILE" ]] || ((waited >= 50)); do
            sleep 0.1
            waited=$((waited + 1))
        done
        pid="$(cat "$PID_FILE" 2>/dev/null || true)"
        [[ -n "$pid" ]] || die "the broker process did not start"
    fi

    local started=$SECONDS
    if ! wait_for_port "$HOST" "$PORT" "$START_TIMEOUT" "$pid"; then
        print_logs
        if is_alive "$pid"; then
            die "Kafka (pid $pid) did not open $HOST:$PORT within ${START_TIMEOUT}s; it is still running ('$0 stop' stops it)"
        fi
        rm -f "$PID_FILE"
        die "Kafka exited during start-up"
    fi

    # The listening socket opens a little before the broker serves requests: also wait for
    # the start-up message in this run's part of server.log.
    local remaining=$((START_TIMEOUT - (SECONDS - started)))
    local deadline=$((SECONDS + (remaining > 5 ? remaining : 5)))
    while :; do
        if [[ -f "$SERVER_LOG" ]]; then
            local size
            size="$(stat -c %s "$SERVER_LOG")"
            ((size >= log_offset)) || log_offset=0 # rotated
            if tail -c +"$((log_offset + 1))" "$SERVER_LOG" | grep -q 'Kafka Server started'; then
                break
            fi
        fi
        if ! is_alive "$pid"; then
            print_logs
            rm -f "$PID_FILE"
            die "Kafka exited during start-up"
        fi
        if ((SECONDS >= deadline)); then
            warn "port $PORT is open but server.log has no 'Kafka Server started' yet; going on"
            break
        fi
        sleep 0.2
    done
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
