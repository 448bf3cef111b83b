#!/usr/bin/env bash
# Time a start on an existing data dir: from exec to the "listening" log line,
# then to a first answered listing, and the RSS then: restart.sh BINARY DATA_DIR
# (drop the page cache first for a cold start: echo 3 > /proc/sys/vm/drop_caches)
set -euo pipefail
source "$(dirname "$0")/common.sh"
mkdir -p "$WORK"
start=$(date +%s.%N)
"$1" serve --config "$CONFIG" --bind 127.0.0.1:$PORT --data-dir "$2" \
    --scripts-dir "${SCRIPTS:-$REPO/scripts}" 2> "$WORK/restart.log" &
SERVER=$!
until grep -q listening "$WORK/restart.log" 2>/dev/null; do
    kill -0 $SERVER 2>/dev/null || { echo "server exited; see $WORK/restart.log" >&2; exit 1; }
    sleep 0.01
done
listening=$(date +%s.%N)
curl -sf -H "authorization: Bearer $(cat "$2/admin.token")" "http://127.0.0.1:$PORT/api/v1/cases?limit=20" -o /dev/null
listed=$(date +%s.%N)
echo "listening after $(echo "$listening - $start" | bc) s," \
    "first list answered after $(echo "$listed - $start" | bc) s," \
    "RSS $(awk '/VmRSS/ {print int($2/1024)}' /proc/$SERVER/status) MiB"
grep -E "not closed cleanly|repaired|older file" "$WORK/restart.log" || true
stop_server
