#!/usr/bin/env bash
# Finding a case among a million (issue 23 goal: p99 <= 100 ms for a word query, on
# SQLite and PostgreSQL). Seeds demo history (`seed-demo --history DAYS --stores STORES`:
# 1,400 days of 200 stores is about a million cases), then measures, one request at a
# time as a manager sees it, the search page for: a common English word (one English
# case in twelve has it), a common Korean word (a two-syllable word, as a phrase of its
# pieces), a word no case has, a Korean word with a store chosen, and a reference (straight
# to its case), beside /healthz of the same server as a floor.
# BENCH_POSTGRES_URL: measure PostgreSQL instead (a schema of its own, dropped after).
# BENCH_DATA_DIR: a data dir seeded before (kept; no seeding), to compare builds; with
# BENCH_POSTGRES_SCHEMA, the PostgreSQL schema it was seeded in (kept too).
# Needs wrk (Debian package) and, for PostgreSQL, psql.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
DAYS=${DAYS:-1400}
STORES=${STORES:-200}
PORT=18095
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --profile dist -q -p mend-server --bin mend-server
MEND_BIN=${MEND_BIN:-target/dist/mend-server}
work=${BENCH_DATA_DIR:-$(mktemp -d)}
schema=""
cleanup() {
  kill "${mend:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  [ -n "$schema" ] && psql -q "$BENCH_POSTGRES_URL" -c "DROP SCHEMA IF EXISTS $schema CASCADE" 2>/dev/null
  [ -n "${BENCH_DATA_DIR:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
export MEND_DATA_DIR="$work" MEND_BIND=127.0.0.1:$PORT RUST_LOG=warn MEND_DEMO_PASSWORD=bench-password-1
export MEND_MAX_REQUESTS_PER_CLIENT=100000
backend=SQLite
if [ -n "${BENCH_POSTGRES_URL:-}" ]; then
  sep='?'; [[ $BENCH_POSTGRES_URL == *\?* ]] && sep='&'
  if [ -n "${BENCH_POSTGRES_SCHEMA:-}" ]; then
    use=$BENCH_POSTGRES_SCHEMA
  else
    schema="bench_search_$$"
    use=$schema
    psql -q "$BENCH_POSTGRES_URL" -c "CREATE SCHEMA $schema"
  fi
  export MEND_DATABASE_URL="$BENCH_POSTGRES_URL${sep}options=-csearch_path%3D$use"
  backend=PostgreSQL
fi
if [ -z "${BENCH_DATA_DIR:-}" ]; then
  start=$(date +%s.%N)
  "$MEND_BIN" seed-demo --history "$DAYS" --stores "$STORES" | grep '^history'
  echo "seeding took $(echo "$(date +%s.%N) - $start" | bc) s"
fi
# shellcheck source=bench/manager.sh
source bench/manager.sh
start_and_sign_in $PORT "$work"
cookie=$(sed 's/^#HttpOnly_//' "$jar" | awk '!/^#/ && NF >= 7 { printf "%s=%s; ", $6, $7 }')
base="http://127.0.0.1:$PORT"
one=$(curl -s -H "Cookie: $cookie" "$base/manage/cases" | sed -n 's/.*<option value="\([^"]*\)">Demo Seoul<.*/\1/p' | head -n1)
reference=$(curl -s -H "Cookie: $cookie" "$base/manage/cases?status=all&q=music" | sed -n 's/.*href="\/manage\/cases\/\([A-Z0-9-]*\)".*/\1/p' | head -n1)
found=$(curl -s -H "Cookie: $cookie" "$base/manage/cases?status=all&q=music" | grep -c 'href="/manage/cases/[A-Z0-9]' || true)
[ "$found" -gt 0 ] || { echo "the search found nothing: not signed in, or nothing seeded?"; exit 1; }
echo "$backend; machine: $(nproc) cores; wrk -t1 -c1; duration $DURATION; a results page lists $found cases"
run() { # label, path
  echo "### $1"
  wrk -t1 -c1 -d"$DURATION" --latency -H "Cookie: $cookie" "$base$2" \
    | grep -E "Requests/sec|  50%|  99%|Non-2xx"
}
ko=$(printf '커피' | od -An -tx1 | tr -d ' \n' | sed 's/\(..\)/%\1/g')
run "healthz (floor)" /healthz
run "word: music (every store)" "/manage/cases?status=all&q=music"
run "Korean word: 커피 (every store)" "/manage/cases?status=all&q=$ko"
run "a word no case has" "/manage/cases?status=all&q=zebra"
run "Korean word, one store" "/manage/cases?status=all&location=$one&q=$ko"
run "reference $reference (to the case)" "/manage/cases?q=$reference"
