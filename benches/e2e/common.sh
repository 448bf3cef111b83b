# Shared by the end-to-end bench scripts: start a server from binary $1 on a
# fresh data dir with the repository's config and scripts (the shipped
# defaults: SLA policies, calendars, the built-in plugins), and stop it.
# CONFIG=FILE and SCRIPTS=DIR run others.
T=${CARGO_TARGET_DIR:-$HOME/.cache/frontdesk/target}
LOAD=${LOAD:-$T/release/frontdesk-load}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=${WORK:-/tmp/frontdesk-bench}
CONFIG=${CONFIG:-$REPO/config/frontdesk.toml}
PORT=${PORT:-18197}

# A caller may set the array WRAP to run the server under another program
# (valgrind) and START_TENTHS to wait longer for it.
start_server() { # binary data-dir
    rm -rf "$2" && mkdir -p "$WORK"
    ${WRAP[@]+"${WRAP[@]}"} "$1" serve --config "$CONFIG" --bind 127.0.0.1:$PORT --data-dir "$2" \
        --scripts-dir "${SCRIPTS:-$REPO/scripts}" 2> "$WORK/server.log" &
    SERVER=$!
    for _ in $(seq "${START_TENTHS:-300}"); do
        [ -f "$2/admin.token" ] && grep -q listening "$WORK/server.log" && return 0
        sleep 0.1
    done
    echo "server did not start; see $WORK/server.log" >&2
    return 1
}

load() { # data-dir duration mix
    "$LOAD" --url http://127.0.0.1:$PORT --token "$(cat "$1/admin.token")" --connections 64 --duration "$2" --mix "$3"
}

stop_server() { kill "$SERVER"; wait "$SERVER" || true; }

# A fresh server from binary $1 with 10 s of mix $2 running against it in the
# background, for scripts that sample the processes meanwhile.
start_loaded() { # binary mix
    start_server "$1" "$WORK/data"
    load "$WORK/data" 10s "$2" > "$WORK/load.out" &
    LOADER=$!
}

finish_loaded() {
    wait "$LOADER"
    grep -E 'throughput|latency' "$WORK/load.out"
    stop_server
}
