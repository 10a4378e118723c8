#!/usr/bin/env bash
# The kiosk (issue 9 goals): tap-to-durable latency p99 <= 10 ms; drain after an outage
# with 100,000 buffered taps at >= 1,000 taps/s; idle RSS <= 30 MB.
#  1. Idle RSS of a fresh kiosk.
#  2. Taps with the server down (wrk -c1: one customer at a time, as at a kiosk): each
#     answer comes only after the tap is committed with synchronous=FULL. Beside it, the
#     kiosk's /status (no disk write) as the floor of the same HTTP path.
#  3. The outbox is filled to N taps (bench/kiosk_fill.py), the kiosk restarted with the
#     server up, and the time until its outbox is empty measured.
#  4. Idle RSS after the drain.
# Needs wrk (Debian package) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-20s}
N=${N:-100000}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
cargo build --profile dist -q -p mend-server -p mend-kiosk
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
export RUST_LOG=warn MEND_DATA_DIR="$work/server" MEND_BIND=127.0.0.1:18095 MEND_DEMO_PASSWORD=bench-password-1
mkdir -p "$work/server"
target/dist/mend-server seed-demo >/dev/null
token=$(target/dist/mend-server kiosk add --location "Mend Demo Café" --name Bench | awk '{print $3}')
rss() { awk '/VmRSS/ { printf "%.1f MB", $2 / 1024 }' "/proc/$1/status"; }
start_kiosk() { # server URL
  MEND_KIOSK_SERVER_URL="$1" MEND_KIOSK_TOKEN="$token" MEND_KIOSK_BIND=127.0.0.1:18096 \
    MEND_KIOSK_DATA_DIR="$work/kiosk" MEND_KIOSK_REPEAT_SECONDS=0 MEND_KIOSK_RETRY_MAX_SECONDS=1 \
    target/dist/mend-kiosk >>"$work/kiosk.log" 2>&1 &
  kiosk=$!
  pids+=("$kiosk")
  for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18096/status >/dev/null && break; sleep 0.1; done
}
buffered() { curl -s http://127.0.0.1:18096/status | python3 -c 'import json,sys; print(json.load(sys.stdin)["buffered"])'; }

echo "machine: $(nproc) cores, $(uname -m); disk of $work: $(df -h "$work" | awk 'NR==2 {print $1}')"
# The server is down: nothing listens on 18095 yet.
start_kiosk http://127.0.0.1:18095
sleep 3
echo "kiosk idle RSS (fresh): $(rss "$kiosk")"
echo "### kiosk /status (floor: same HTTP path, no disk write), wrk -t1 -c1 -d$DURATION"
wrk -t1 -c1 -d"$DURATION" --latency http://127.0.0.1:18096/status | grep -E "Requests/sec|  50%|  99%"
echo "### tap -> durable (POST /tap, synchronous=FULL), wrk -t1 -c1 -d$DURATION"
wrk -t1 -c1 -d"$DURATION" --latency -s bench/kiosk_tap.lua http://127.0.0.1:18096 | grep -E "Requests/sec|  50%|  90%|  99%|answers other"
echo "taps buffered: $(buffered)"

kill "$kiosk"; wait "$kiosk" 2>/dev/null || true
python3 - "$work/kiosk/kiosk.sqlite" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
with db:
    db.execute("DELETE FROM taps")
PY
python3 bench/kiosk_fill.py "$work/kiosk/kiosk.sqlite" "$N"
target/dist/mend-server 2>"$work/mend.log" &
pids+=("$!")
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18095/healthz >/dev/null && break; sleep 0.1; done
start=$(date +%s.%N)
start_kiosk http://127.0.0.1:18095
while [ "$(buffered)" != 0 ]; do sleep 0.05; done
took=$(echo "$(date +%s.%N) - $start" | bc)
stored=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM kiosk_ratings').fetchone()[0])" "$work/server/mend.db")
echo "### drain: $N taps in $took s = $(echo "$N / $took" | bc) taps/s (kiosk start included); server holds $stored taps"
sleep 5
echo "kiosk idle RSS (after the drain): $(rss "$kiosk")"
