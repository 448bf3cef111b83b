#!/usr/bin/env bash
# One 10 s run of a mix against a fresh server: ab.sh BINARY [creates|realistic]
# Alternate two binaries to compare them side by side.
set -euo pipefail
source "$(dirname "$0")/common.sh"
start_server "$1" "$WORK/data"
load "$WORK/data" 10s "${2:-creates}"
stop_server
