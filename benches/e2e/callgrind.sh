#!/usr/bin/env bash
# Instructions the server executes for a fixed sequence of requests, counted
# by callgrind, which counts the same for the same binary and requests however
# busy the machine is: callgrind.sh BINARY [mix] [rounds] [connections]
#
# The server starts under valgrind with the shipped config (as common.sh);
# the counters are zeroed once it listens, so start-up (plugin compilation)
# is left out. frontdesk-load then sends `rounds` rounds per connection, and
# the counts are dumped. Prints the instructions per request in all and on
# the writer thread (the thread whose calls include `run_batch`); the
# per-thread profiles stay in $WORK/callgrind/ for callgrind_annotate.
# With one connection (the default) every batch holds one command, so the
# writer's commit weighs far more than under load; 64 connections batch as
# the server does, though the batch sizes vary from run to run.
set -euo pipefail
source "$(dirname "$0")/common.sh"
mix=${2:-realistic}
rounds=${3:-100}
connections=${4:-1}
out=$WORK/callgrind
rm -rf "$out" && mkdir -p "$out"
WRAP=(valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out/cg.%p")
START_TENTHS=6000 start_server "$1" "$WORK/data"
callgrind_control --zero "$SERVER" > /dev/null
"$LOAD" --url http://127.0.0.1:$PORT --token "$(cat "$WORK/data/admin.token")" \
    --connections "$connections" --rounds "$rounds" --duration 3600s --mix "$mix" | grep -E 'requests|throughput'
callgrind_control --dump "$SERVER" > /dev/null
stop_server
case $mix in realistic) per_round=6 ;; *) per_round=1 ;; esac
requests=$((rounds * connections * per_round))
# The dump after the zeroing is the one numbered 1: one file per thread.
awk -v n="$requests" '
    FNR == 1 { writer[FILENAME] = 0 }
    /writer::run_batch/ { writer[FILENAME] = 1 }
    /^totals:/ { total[FILENAME] = $2 }
    END {
        for (f in total) { all += total[f]; if (writer[f]) w += total[f] }
        printf "requests: %d\ninstructions per request: %.0f (writer %.0f, the rest %.0f)\n", n, all / n, w / n, (all - w) / n
    }' "$out"/cg.*.1-*
