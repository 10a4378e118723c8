#!/usr/bin/env bash
# Two builds of mend-server side by side on the same seeded database: server CPU time per
# API case-list page (from /proc, so other tenants of a shared machine count less than in
# a throughput figure) and req/s, alternating A B A B. Usage:
#   A=path/to/old/mend-server B=target/dist/mend-server bench/api_list_ab.sh
# Needs wrk. DAYS/STORES as in api_list.sh (140 x 200: about 100,000 cases).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${A:?A=first mend-server binary}" "${B:?B=second mend-server binary}"
DURATION=${DURATION:-8s}
CONNECTIONS=${CONNECTIONS:-10}
ROUNDS=${ROUNDS:-2}
PORT=18098
work=$(mktemp -d)
cleanup() { kill "${mend:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
export MEND_BIND=127.0.0.1:$PORT RUST_LOG=warn MEND_DEMO_PASSWORD=bench-password-1
export MEND_MAX_REQUESTS_PER_CLIENT=100000 MEND_API_RATE_LIMIT=0
MEND_DATA_DIR="$work/seed" "$B" seed-demo --history "${DAYS:-140}" --stores "${STORES:-200}" | grep '^history'
token=$(MEND_DATA_DIR="$work/seed" "$B" token add --email manager@demo.mend.example --name bench --scope read | sed -n 's/^token //p')
base="http://127.0.0.1:$PORT"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
echo "machine: $(nproc) cores; wrk -t2 -c$CONNECTIONS; $DURATION a row; CPU = server user+system per request"
echo "| build | row | req/s | p99 | server CPU per request |"
echo "|---|---|---|---|---|"
for round in $(seq 1 "$ROUNDS"); do
  for which in A B; do
    bin=${!which}
    rm -rf "$work/run" && cp -a "$work/seed" "$work/run"
    MEND_DATA_DIR="$work/run" "$bin" 2>"$work/mend.log" &
    mend=$!
    for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
    cursor=""
    for _ in $(seq 1 9); do
      cursor=$(curl -s -H "Authorization: Bearer $token" "$base/api/v1/cases?status=all${cursor:+&cursor=$cursor}" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin).get("next_cursor") or "")')
    done
    for row in "every case, first page|/api/v1/cases?status=all" "tenth page by cursor|/api/v1/cases?status=all&cursor=$cursor"; do
      label=${row%%|*} path=${row#*|}
      before=$(cpu_ticks "$mend")
      out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $token" "$base$path")
      after=$(cpu_ticks "$mend")
      reqs=$(awk '/requests in/ {print $1}' <<<"$out")
      rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
      p99=$(awk '$1=="99%" {print $2}' <<<"$out")
      us=$(echo "($after - $before) * 1000000 / $(getconf CLK_TCK) / $reqs" | bc)
      printf '| %s (round %s) | %s | %s | %s | %s us |\n' "$which" "$round" "$label" "$rps" "$p99" "$us"
    done
    kill "$mend"; wait "$mend" 2>/dev/null || true
  done
done
