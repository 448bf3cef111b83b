#!/usr/bin/env bash
# The console's budgets (issue 19), against a fresh release server:
#  1. the inbox with 50 cases at CASES cases (default 100,000): wrk on one
#     connection, so latency is close to server time; the full page and the
#     fragment a live refresh fetches;
#  2. a case page whose timeline holds 1,000 events (it renders the newest
#     page and loads the rest on demand): wrk on one connection;
#  3. what 200 open consoles (each with its live feed) cost the write path:
#     wrk creates for 10 s without, then with, 200 SSE clients connected,
#     ROUNDS times (default 3) in alternating order, for a median of each.
# console.sh BINARY
set -euo pipefail
source "$(dirname "$0")/common.sh"
CASES=${CASES:-100000}
CONSOLES=${CONSOLES:-200}
ROUNDS=${ROUNDS:-3}
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

echo "== a case with 1,000 events"
AUTH="Authorization: Bearer $TOKEN"
LONG=$(curl -sf -H "$AUTH" -H 'Content-Type: application/json' "$BASE/api/v1/cases" \
    -d '{"subject": "A long thread", "customer": {"email": "long@example.com"}, "message": {"body": "first"}}' \
    | sed -n 's/.*"id":"\([0-9]*\)".*/\1/p' | head -1)
# Notes and customer messages, each 2-3 events with the status changes:
# post until the timeline holds 1,000.
posted=0
while :; do
    count=$(curl -sf -H "$AUTH" "$BASE/api/v1/cases/$LONG/events?limit=1000" | grep -o '"type"' | wc -l)
    [ "$count" -ge 1000 ] && break
    for _ in $(seq 50); do
        curl -sf -o /dev/null -H "$AUTH" -H 'Content-Type: application/json' "$BASE/api/v1/cases/$LONG/messages" \
            -d "{\"type\": \"note\", \"body\": \"note $posted: checked the logs, the order shipped on Monday and the carrier says it is in transit.\"}"
        posted=$((posted + 1))
    done
done
echo "case $LONG holds $count events"
echo "== case page /cases/$LONG, 1 connection, 10 s"
wrk -t1 -c1 -d10s --latency -H "$COOKIE" "$BASE/cases/$LONG" | grep -E 'Requests/sec|Non-2xx|^ +(50|90|99)%'
echo "== its earlier events on demand (/console/cases/$LONG/events?before=...), 1 connection, 10 s"
MIDDLE=$(curl -sf -H "$AUTH" "$BASE/api/v1/cases/$LONG/events?limit=500" | grep -o '"id":"[0-9]*"' | tail -1 | grep -o '[0-9]*')
wrk -t1 -c1 -d10s --latency -H "$COOKIE" "$BASE/console/cases/$LONG/events?before=$MIDDLE" | grep -E 'Requests/sec|Non-2xx|^ +(50|90|99)%'

creates() { # label
    echo "== round $round: creates $1"
    TOKEN=$TOKEN wrk -t2 -c64 -d10s --latency -s "$(dirname "$0")/wrk/creates.lua" "$BASE" | grep -E 'Requests/sec|Non-2xx|^ +(50|99)%'
}
with_consoles() {
    pids=()
    for _ in $(seq "$CONSOLES"); do
        curl -s -N -H "$COOKIE" "$BASE/console/live" > /dev/null &
        pids+=($!)
    done
    sleep 2
    creates "with $CONSOLES live consoles"
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
}
# The store grows with every run and creates slow down with it, so the
# order alternates (without-with, then with-without) to cancel that drift.
for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) -eq 1 ]; then
        creates "without consoles"
        with_consoles
    else
        with_consoles
        creates "without consoles"
    fi
done
stop_server
