#!/usr/bin/env bash
# Issue 21's attacks against a release build on SQLite, with the status page measured
# meanwhile (bench/hardening.py): photo bombs, real phone photos, slow bodies, bogus
# password links. Needs wrk and python3. MEND_BIN: another build to measure.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
if [ -z "${MEND_BIN:-}" ]; then
  cargo build --profile dist -q -p mend-server --bin mend-server
  MEND_BIN=target/dist/mend-server
fi
work=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
port=18097
MEND_DATA_DIR="$work" MEND_BIND=127.0.0.1:$port MEND_FORM_MIN_SECONDS=0 MEND_FORM_RATE_LIMIT=0 \
  RUST_LOG=warn "$MEND_BIN" --demo >"$work/demo.txt" 2>"$work/mend.log" &
pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
code=$(awk '/^touchpoint/ { print $2; exit }' "$work/demo.txt")
stamp=$(curl -s "http://127.0.0.1:$port/t/$code" | sed -n 's/.*name="stamp" value="\([^"]*\)".*/\1/p')
status=$(curl -s -o /dev/null -w '%{redirect_url}' -F "stamp=$stamp" -F category=cleanliness \
  -F "body=Benchmark complaint" "http://127.0.0.1:$port/t/$code")
echo "machine: $(nproc) cores; server: $MEND_BIN"
python3 bench/hardening.py "http://127.0.0.1:$port" "$pid" "$code" "${status#http://127.0.0.1:$port}"
