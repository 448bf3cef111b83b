#!/usr/bin/env bash
# The HTTP floor beside the real server: floor.sh SERVER FLOOR [mix] [rounds]
# Alternates 10 s runs of the same load generator against `frontdesk serve`
# (binary SERVER), the `http_floor` example (binary FLOOR), which answers the
# same routes with the real server's bodies through the same middleware and
# does no case work, and the floor without the middleware (`--bare`). It
# prints each run's rate and the CPU per request of the server's threads and
# of the load generator over 9.5 s of it.
set -euo pipefail
source "$(dirname "$0")/common.sh"
mix=${3:-realistic}
cpu_per_request() { # server-pid label
    sleep 9.5
    local tck; tck=$(getconf CLK_TCK)
    local server load
    server=$(cat /proc/"$1"/task/*/stat | awk -v t="$tck" '{s+=$14+$15} END {print s/t}')
    load=$(awk -v t="$tck" '{print ($14+$15)/t}' "/proc/$(pgrep -f frontdesk-load | head -1)/stat")
    wait "$LOADER"
    local rate; rate=$(awk '/throughput/ {print $2}' "$WORK/load.out")
    awk -v r="$rate" -v s="$server" -v l="$load" -v name="$2" 'BEGIN {
        n = r * 9.5; printf "%s: %d requests/s, server %.1f us/request, load generator %.1f us/request\n", name, r, s / n * 1e6, l / n * 1e6 }'
}
for _ in $(seq "${4:-3}"); do
    start_loaded "$1" "$mix"
    cpu_per_request "$SERVER" server
    stop_server
    for variant in floor bare; do
        mkdir -p "$WORK/floor" && echo floor > "$WORK/floor/admin.token"
        "$2" 127.0.0.1:$PORT $([ $variant = bare ] && echo --bare) 2> "$WORK/floor.log" &
        SERVER=$!
        for _ in $(seq 100); do grep -q listening "$WORK/floor.log" && break; sleep 0.1; done
        load "$WORK/floor" 10s "$mix" > "$WORK/load.out" &
        LOADER=$!
        cpu_per_request "$SERVER" $variant
        stop_server
    done
done
