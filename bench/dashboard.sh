#!/usr/bin/env bash
# Dashboard of a year of 20 stores (issue 8 goal: renders in <= 200 ms): seeds the history
# with `seed-demo --history 365 --stores 20` (timed), then measures the dashboard of all
# stores over the year, of one store over the year, and of all stores over the default
# four weeks, one request at a time (the latency a manager sees), beside /healthz of the
# same server as a floor. Needs wrk (Debian package).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
DAYS=${DAYS:-365}
STORES=${STORES:-20}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --profile dist -q -p mend-server --bin mend-server
# MEND_BIN: another build of the server to measure (a before/after on the same machine).
MEND_BIN=${MEND_BIN:-target/dist/mend-server}
work=$(mktemp -d)
cleanup() { kill "$mend" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
export MEND_DATA_DIR="$work" MEND_BIND=127.0.0.1:18094 RUST_LOG=warn MEND_DEMO_PASSWORD=bench-password-1
start=$(date +%s.%N)
"$MEND_BIN" seed-demo --history "$DAYS" --stores "$STORES" | grep '^history'
echo "seeding took $(echo "$(date +%s.%N) - $start" | bc) s; database $(du -h "$work/mend.db" | cut -f1)"
# shellcheck source=bench/manager.sh
source bench/manager.sh
start_and_sign_in 18094 "$work"
# HttpOnly cookies are written as "#HttpOnly_host ..." lines.
cookie=$(sed 's/^#HttpOnly_//' "$jar" | awk '!/^#/ && NF >= 7 { printf "%s=%s; ", $6, $7 }')
to=$(date -u +%F)
from=$(date -u -d "$to - $((DAYS - 1)) days" +%F)
year="/manage/dashboard?from=$from&to=$to"
one=$(curl -s -H "Cookie: $cookie" "http://127.0.0.1:18094$year" | sed -n 's/.*<option value="\([^"]*\)">Demo Kraków<.*/\1/p' | head -n1)
size=$(curl -s -H "Cookie: $cookie" -o /dev/null -w '%{http_code} %{size_download}' "http://127.0.0.1:18094$year")
[[ $size == 200\ * ]] || { echo "the dashboard answered $size: not signed in?"; exit 1; }
size=${size#200 }
echo "machine: $(nproc) cores; wrk -t1 -c1; duration $DURATION; year page $size bytes"
run() { # label, path
  echo "### $1"
  wrk -t1 -c1 -d"$DURATION" --latency -H "Cookie: $cookie" "http://127.0.0.1:18094$2" \
    | grep -E "Requests/sec|  50%|  99%|Non-2xx"
}
run "healthz (floor)" /healthz
run "dashboard, all $STORES stores, $DAYS days" "$year"
run "dashboard, one store, $DAYS days" "$year&location=$one"
run "dashboard, all stores, last 4 weeks" /manage/dashboard
