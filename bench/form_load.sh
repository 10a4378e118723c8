#!/usr/bin/env bash
# Complaint form under load on SQLite (full durability): GET and POST at 50 and 200
# connections, side by side with actix-web's hello world built in the same run.
# Needs wrk (Debian package) and python3. Abuse guards are off (MEND_FORM_MIN_SECONDS=0,
# MEND_FORM_RATE_LIMIT=0) so the load generator is not taken for a bot.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
# POST rows are shorter: each post needs a fresh stamp, fetched beforehand.
POST_DURATION=${POST_DURATION:-5s}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
cargo build --release -q -p mend-server --bin mend-server --example hello

work=$(mktemp -d)
cleanup() { kill "$mend" "$hello" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
MEND_DATA_DIR="$work" MEND_BIND=127.0.0.1:18091 MEND_FORM_MIN_SECONDS=0 MEND_FORM_RATE_LIMIT=0 \
  RUST_LOG=warn target/release/mend-server --demo >"$work/demo.txt" 2>"$work/mend.log" &
mend=$!
HELLO_BIND=127.0.0.1:18090 target/release/examples/hello &
hello=$!
for _ in $(seq 1 100); do
  curl -sf http://127.0.0.1:18091/healthz >/dev/null && curl -sf http://127.0.0.1:18090/ >/dev/null && break
  sleep 0.1
done
code=$(awk '/^touchpoint/ { print $2; exit }' "$work/demo.txt")
echo "machine: $(nproc) cores; wrk -t2; duration $DURATION; touchpoint $code"

run() { # label, then wrk arguments
  local label=$1; shift
  echo "### $label"
  wrk -t2 -d"$DURATION" --latency "$@" | grep -E "Requests/sec|Latency  |  50%|  99%|Non-2xx|answers other|Socket errors|WARNING"
}
for c in 50 200; do
  run "hello world, $c connections" -c"$c" http://127.0.0.1:18090/
  run "form GET, $c connections" -c"$c" "http://127.0.0.1:18091/t/$code"
  python3 bench/stamps.py "http://127.0.0.1:18091/t/$code" "${STAMPS_PER_RUN:-100000}" "$work/stamps.txt"
  STAMPS="$work/stamps.txt" FORM_PATH="/t/$code" THREADS=2 DURATION="$POST_DURATION" \
    run "form POST (new complaint each), $c connections" -c"$c" -s bench/post.lua "http://127.0.0.1:18091/t/$code"
done
