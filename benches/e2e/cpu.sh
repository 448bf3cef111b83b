#!/usr/bin/env bash
# CPU seconds of the writer, the HTTP workers and the load generator over
# 9.5 s of a 10 s run: cpu.sh BINARY [mix]
set -euo pipefail
source "$(dirname "$0")/common.sh"
start_loaded "$1" "${2:-creates}"
sleep 9.5
tck=$(getconf CLK_TCK)
for f in /proc/$SERVER/task/*; do
    awk -v n="$(cat "$f/comm")" -v t="$tck" '{printf "%s %.2f\n", n, ($14+$15)/t}' "$f/stat"
done | awk '{a[$1]+=$2} END {for (k in a) print "server thread " k ": " a[k] " s"}'
awk -v t="$tck" '{print "load generator: " ($14+$15)/t " s"}' "/proc/$(pgrep -f frontdesk-load | head -1)/stat"
finish_loaded
