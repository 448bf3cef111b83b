#!/usr/bin/env bash
# One 10 s wrk run (2 threads, 64 connections) of a mix against a fresh
# server: wrk.sh BINARY [creates|realistic]. The independent client beside
# frontdesk-load (ab.sh); alternate two binaries to compare them.
set -euo pipefail
source "$(dirname "$0")/common.sh"
start_server "$1" "$WORK/data"
TOKEN=$(cat "$WORK/data/admin.token") wrk -t2 -c64 -d10s --latency \
    -s "$(dirname "$0")/wrk/${2:-creates}.lua" "http://127.0.0.1:$PORT" |
    grep -E 'Requests/sec|Non-2xx|Socket errors|^ +(50|99)%|requests in'
stop_server
