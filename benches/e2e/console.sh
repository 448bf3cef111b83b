#!/usr/bin/env bash
# The console's budgets (issue 19), against a fresh release server:
#  1. the inbox with 50 cases at CASES cases (default 100,000): wrk on one
#     connection, so latency is close to server time; the full page and the
#     fragment a live refresh fetches;
#  2. what 200 open consoles (each with its live feed) cost the write path:
#     wrk creates for 10 s without, then with, 200 SSE clients connected.
# console.sh BINARY
set -euo pipefail
source "$(dirname "$0")/common.sh"
CASES=${CASES:-100000}
CONSOLES=${CONSOLES:-200}
BASE=http://127.0.0.1:$PORT
start_server "$1" "$WORK/data"
TOKEN=$(cat "$WORK/data/admin.token")

echo "== filling $CASES cases"
"$LOAD" --url "$BASE" --token "$TOKEN" --connections 64 --mix creates --duration 120s --rounds $((CASES / 64)) | grep -E 'throughput|requests'

curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$BASE/api/v1/agents" \
    -d '{"name": "bench", "email": "bench@acme.example", "role": "lead", "teams": ["support"], "password": "bench password 1"}' > /dev/null
SESSION=$(curl -s -D - -o /dev/null -H "Origin: $BASE" --data-urlencode account=bench \
    --data-urlencode 'password=bench password 1' "$BASE/login" | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: fd_session=\([^;]*\).*/\1/p')
[ -n "$SESSION" ] || { echo "sign-in failed" >&2; exit 1; }
COOKIE="Cookie: fd_session=$SESSION"
echo "unsolved count shown: $(curl -s -H "$COOKIE" "$BASE/?view=unsolved" | grep -o 'data-count="unsolved">[0-9]*' | head -1)"

for path in "/?view=unsolved" "/console/inbox?view=unsolved" "/?view=status:new"; do
    echo "== inbox $path, 1 connection, 10 s"
    wrk -t1 -c1 -d10s --latency -H "$COOKIE" "$BASE$path" | grep -E 'Requests/sec|Non-2xx|^ +(50|90|99)%'
done

echo "== creates without consoles"
TOKEN=$TOKEN wrk -t2 -c64 -d10s --latency -s "$(dirname "$0")/wrk/creates.lua" "$BASE" | grep -E 'Requests/sec|Non-2xx|^ +(50|99)%'

echo "== creates with $CONSOLES live consoles"
pids=()
for _ in $(seq "$CONSOLES"); do
    curl -s -N -H "$COOKIE" "$BASE/console/live" > /dev/null &
    pids+=($!)
done
sleep 2
TOKEN=$TOKEN wrk -t2 -c64 -d10s --latency -s "$(dirname "$0")/wrk/creates.lua" "$BASE" | grep -E 'Requests/sec|Non-2xx|^ +(50|99)%'
kill "${pids[@]}" 2>/dev/null || true
wait "${pids[@]}" 2>/dev/null || true
stop_server
