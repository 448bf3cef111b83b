#!/usr/bin/env bash
# Fill one server to about a million cases and measure 5 s each of creates,
# the realistic mix and reads alone at ~10k, ~100k and ~1M, with RSS and
# file size:
# scale.sh BINARY
set -uo pipefail
source "$(dirname "$0")/common.sh"
data=$WORK/scale-data
start_server "$1" "$data" || exit 1
total=0
measure() {
    c=$(load "$data" 5s creates); total=$((total + $(echo "$c" | awk '/requests:/ {print $2}')))
    r=$(load "$data" 5s realistic); total=$((total + $(echo "$r" | awk '/requests:/ {print $2}') / 6))
    g=$(load "$data" 5s reads)
    echo "cases ~$total | creates $(echo "$c" | awk '/throughput/ {print $2}')/s p99 $(echo "$c" | awk '/p99/ {print $8}') ms" \
        "| realistic $(echo "$r" | awk '/throughput/ {print $2}')/s p99 $(echo "$r" | awk '/p99/ {print $8}') ms" \
        "| reads $(echo "$g" | awk '/throughput/ {print $2}')/s p99 $(echo "$g" | awk '/p99/ {print $8}') ms" \
        "| RSS $(awk '/VmRSS/ {print int($2/1024)}' /proc/$SERVER/status) MiB" \
        "| file $(( $(stat -c %s "$data/frontdesk.redb") / 1048576 )) MiB"
}
fill() {
    while [ $total -lt "$1" ]; do
        d=10s; [ "$1" -le 10000 ] && d=1s
        total=$((total + $(load "$data" $d creates | awk '/requests:/ {print $2}')))
    done
}
fill 10000; measure
fill 100000; measure
fill 1000000; measure
stop_server
