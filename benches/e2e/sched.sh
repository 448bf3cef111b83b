#!/usr/bin/env bash
# Per thread group of the server and the load generator: share of a core on
# the CPU, share of a core waiting for one (runnable, not running), and time
# slices per second, over 6 s of a 10 s run (/proc/<tid>/schedstat):
#   sched.sh BINARY [mix]
# WNICE=-10 / WFIFO=10 renice or chrt the writer thread, HNICE=5 the HTTP
# workers, after start (negative nice and SCHED_FIFO need root).
set -euo pipefail
source "$(dirname "$0")/common.sh"
start_loaded "$1" "${2:-realistic}"
sleep 1
threads() { for f in /proc/$SERVER/task/*; do [ "$(cat "$f/comm")" = "$1" ] && basename "$f"; done; }
[ -n "${WNICE:-}" ] && for t in $(threads frontdesk-write); do renice -n "$WNICE" -p "$t" > /dev/null; done
[ -n "${WFIFO:-}" ] && for t in $(threads frontdesk-write); do chrt -f -p "$WFIFO" "$t" > /dev/null; done
[ -n "${HNICE:-}" ] && for t in $(threads tokio-rt-worker); do renice -n "$HNICE" -p "$t" > /dev/null; done
sleep 1
snapshot() {
    for f in /proc/$SERVER/task/*; do echo "$(tr ' ' _ < "$f/comm") $(cat "$f/schedstat")"; done
    for f in /proc/$(pgrep -f frontdesk-load | head -1)/task/*; do echo "load-generator $(cat "$f/schedstat")"; done
}
snapshot > "$WORK/sched.1"; sleep 6; snapshot > "$WORK/sched.2"
awk 'NR == FNR { cpu[$1] -= $2; wait[$1] -= $3; n[$1] -= $4; next }
     { cpu[$1] += $2; wait[$1] += $3; n[$1] += $4 }
     END { for (k in cpu) if (cpu[k] > 1e7)
         printf "%-16s on cpu %5.1f%%  waiting %5.1f%%  slices/s %6.0f\n", k, cpu[k] / 6e7, wait[k] / 6e7, n[k] / 6 }' \
    "$WORK/sched.1" "$WORK/sched.2"
finish_loaded
