# shellcheck shell=bash
# Helpers shared by deploy/kafka/kafka.sh (one broker) and deploy/kafka/cluster.sh (three
# brokers): the jars, the java binary, launching a broker and waiting for it. Sourced, not
# run, after deploy/lib.sh. The sourcing script sets REPO_ROOT first.

: "${REPO_ROOT:?set REPO_ROOT before sourcing deploy/kafka/common.sh}"

KAFKA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LIB_DIR="$KAFKA_DIR/lib"
LIB_STAMP="$LIB_DIR/.pom.sha256"
LOG4J_CONFIG="$KAFKA_DIR/log4j2.properties"

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

# kafka_java LOGS_DIR ARGS...: run a Kafka class (a tool) with the jars in lib/ and our
# logging config; a tool that logs writes to LOGS_DIR/server.log.
kafka_java() {
    local logs_dir="$1"
    shift
    "$(java_bin)" -cp "$LIB_DIR/*" \
        -Dlog4j2.configurationFile="$LOG4J_CONFIG" \
        -Dkafka.logs.dir="$logs_dir" \
        "$@"
}

# print_broker_logs SERVER_LOG OUT_FILE MARKER: show the end of server.log and what the
# JVM printed since the last line ending in MARKER (the start being reported).
print_broker_logs() {
    local server_log="$1" out_file="$2" marker="$3"
    if [[ -s "$server_log" ]]; then
        warn "---- last 40 lines of $server_log ----"
        tail -n 40 "$server_log" >&2
    fi
    if [[ -s "$out_file" ]]; then
        warn "---- $out_file (this start) ----"
        tac "$out_file" | sed "/ $marker ----\$/q" | tac | tail -n 40 >&2
    fi
}

# --- the jars ------------------------------------------------------------------------

pom_checksum() { sha256sum "$KAFKA_DIR/pom.xml" | cut -d' ' -f1; }

lib_is_current() {
    [[ -f "$LIB_STAMP" ]] &&
        [[ "$(cat "$LIB_STAMP")" == "$(pom_checksum)" ]] &&
        compgen -G "$LIB_DIR/kafka_2.13-*.jar" >/dev/null
}

# Copy the broker's jars into lib/ with Maven, unless they are there and match pom.xml.
# Tries offline first (~/.m2 cache), then online. Uses fd 8 for its lock.
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
    local mvn_args=(-B -q -Dstyle.color=never -f "$KAFKA_DIR/pom.xml" dependency:copy-dependencies
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

# --- one broker process ----------------------------------------------------------------

# broker_pid PID_FILE PROPS: print the pid stored in PID_FILE if that process still runs
# and is the broker started with PROPS (not another program that got a recycled pid).
broker_pid() {
    local pid
    pid="$(live_pid_in "$1")" || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "kafka.Kafka $2" || return 1
    echo "$pid"
}

# launch_broker PID_FILE PROPS LOGS_DIR OUT_FILE HEAP_OPTS: start kafka.Kafka PROPS in the
# background, detached from this shell (launch_detached), and print its pid.
launch_broker() {
    local pid_file="$1" props="$2" logs_dir="$3" out_file="$4" heap_opts="$5"
    # shellcheck disable=SC2086  # heap_opts is a list of options
    launch_detached "$pid_file" "$out_file" "$(java_bin)" $heap_opts \
        -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
        -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$LOG4J_CONFIG" \
        -Dkafka.logs.dir="$logs_dir" \
        -cp "$LIB_DIR/*" kafka.Kafka "$props"
}

# log_size FILE: its size in bytes, 0 if it does not exist. Taken before a start, so that
# await_serving only reads what this start logged.
log_size() {
    if [[ -f "$1" ]]; then stat -c %s "$1"; else echo 0; fi
}

# await_serving PID HOST PORT SERVER_LOG LOG_OFFSET TIMEOUT: wait until the broker PID
# accepts connections on HOST:PORT and has logged 'Kafka Server started' past LOG_OFFSET
# in SERVER_LOG. Returns 0 when it serves, 1 if the process exited, 2 if the port did not
# open within TIMEOUT seconds (the process still runs). The listening socket opens a little
# before the broker serves requests, hence the log line; when the port is open but the line
# does not come within the time left (at least 5 s), it warns and returns 0.
await_serving() {
    local pid="$1" host="$2" port="$3" server_log="$4" log_offset="$5" timeout="$6"
    local started=$SECONDS
    if ! poll_until "$timeout" 0.5 "$pid" port_open "$host" "$port"; then
        is_alive "$pid" && return 2
        return 1
    fi
    local remaining=$((timeout - (SECONDS - started)))
    local deadline=$((SECONDS + (remaining > 5 ? remaining : 5)))
    local size
    while :; do
        if [[ -f "$server_log" ]]; then
            size="$(stat -c %s "$server_log")"
            ((size >= log_offset)) || log_offset=0 # rotated
            if tail -c +"$((log_offset + 1))" "$server_log" | grep -q 'Kafka Server started'; then
                return 0
            fi
        fi
        is_alive "$pid" || return 1
        if ((SECONDS >= deadline)); then
            warn "port $port is open but $server_log has no 'Kafka Server started' yet; going on"
            return 0
        fi
        sleep 0.2
    done
}
