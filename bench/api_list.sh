#!/usr/bin/env bash
# The REST API's case list under load (issue 25 goal: p99 <= 50 ms at 200 connections with
# 100,000 cases). Seeds demo history (`seed-demo --history DAYS --stores STORES`: 140 days
# of 200 stores is about 100,000 cases), makes a read token for the demo manager (every
# store), then wrk -c200 on: /healthz (the floor), the first page of open cases, the first
# page of every case, one store's, a word search, and the tenth page by cursor.
# BENCH_POSTGRES_URL: measure PostgreSQL instead (a schema of its own, dropped after).
# Needs wrk (Debian package) and, for PostgreSQL, psql.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-200}
DAYS=${DAYS:-140}
STORES=${STORES:-200}
PORT=18097
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --profile dist -q -p mend-server --bin mend-server
MEND_BIN=${MEND_BIN:-target/dist/mend-server}
work=$(mktemp -d)
schema=""
cleanup() {
  kill "${mend:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  [ -n "$schema" ] && psql -q "$BENCH_POSTGRES_URL" -c "DROP SCHEMA IF EXISTS $schema CASCADE" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
export MEND_DATA_DIR="$work" MEND_BIND=127.0.0.1:$PORT RUST_LOG=warn MEND_DEMO_PASSWORD=bench-password-1
# One client (wrk) sends everything: no per-client cap, no per-token limit.
export MEND_MAX_REQUESTS_PER_CLIENT=100000 MEND_API_RATE_LIMIT=0
backend=SQLite
if [ -n "${BENCH_POSTGRES_URL:-}" ]; then
  sep='?'; [[ $BENCH_POSTGRES_URL == *\?* ]] && sep='&'
  schema="bench_api_$$"
  psql -q "$BENCH_POSTGRES_URL" -c "CREATE SCHEMA $schema"
  export MEND_DATABASE_URL="$BENCH_POSTGRES_URL${sep}options=-csearch_path%3D$schema"
  backend=PostgreSQL
fi
start=$(date +%s.%N)
"$MEND_BIN" seed-demo --history "$DAYS" --stores "$STORES" | grep '^history'
echo "seeding took $(echo "$(date +%s.%N) - $start" | bc) s"
token=$("$MEND_BIN" token add --email manager@demo.mend.example --name bench --scope read | sed -n 's/^token //p')
"$MEND_BIN" 2>"$work/mend.log" &
mend=$!
base="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
auth="Authorization: Bearer $token"
store=$(curl -s -H "$auth" "$base/api/v1/stores" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
cursor=""
for _ in $(seq 1 9); do
  cursor=$(curl -s -H "$auth" "$base/api/v1/cases?status=all${cursor:+&cursor=$cursor}" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("next_cursor") or "")')
done
listed=$(curl -s -H "$auth" "$base/api/v1/cases?status=all" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["cases"]))')
[ "$listed" -gt 0 ] || { echo "the API listed nothing: token or seeding wrong"; exit 1; }
echo "$backend; machine: $(nproc) cores; wrk -t2 -c$CONNECTIONS; duration $DURATION; a page holds $listed cases"
row() {
  local label=$1 path=$2
  local out
  out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "$auth" "$base$path")
  local rps p50 p99 non2xx
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  printf '| %s | %s | %s | %s | %s |\n' "$label" "$rps" "$p50" "$p99" "${non2xx:-0}"
}
echo "| row | req/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|"
row "healthz (floor)" "/healthz"
row "open cases, first page" "/api/v1/cases"
row "every case, first page" "/api/v1/cases?status=all"
row "one store, every case" "/api/v1/cases?status=all&store=$store"
row "word \"music\"" "/api/v1/cases?status=all&q=music"
row "tenth page by cursor" "/api/v1/cases?status=all&cursor=$cursor"
