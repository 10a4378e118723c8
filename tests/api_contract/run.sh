#!/usr/bin/env bash
# The REST API against its own OpenAPI document: schemathesis (from PyPI) reads
# /api/v1/openapi.json and sends generated requests, valid and not, to a real server with
# a demo history; it fails on any 5xx and on any answer the document does not describe.
# Run by CI after the tests (it needs target/debug/mend-server).
#   tests/api_contract/run.sh            # SECONDS_PER_RUN=60 by default
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=${MEND_BIN:-target/debug/mend-server}
[ -x "$BIN" ] || cargo build -q -p mend-server --bin mend-server
command -v st >/dev/null || python3 -m pip install --quiet schemathesis \
  || python3 -m pip install --quiet --break-system-packages schemathesis

work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export MEND_DATA_DIR="$work" MEND_BIND="127.0.0.1:$port" MEND_API_RATE_LIMIT=0 \
  MEND_FORM_RATE_LIMIT=0 MEND_FORM_MIN_SECONDS=0 MEND_NEW_USER_PASSWORD="a long enough password"

"$BIN" seed-demo --history 7 --stores 2 >/dev/null
"$BIN" user add --email api-admin@example.com --role admin >/dev/null
# An admin token (it may do everything), and a read token of a store's manager: the run
# with the second one shows refusals are documented too.
admin=$("$BIN" token add --email api-admin@example.com --name contract --scope admin | sed -n 's/^token //p')
reader=$("$BIN" token add --email manager@demo.mend.example --name contract-read --scope read | sed -n 's/^token //p')

"$BIN" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 50); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.2
done

# One worker: with two, hypothesis parses lambda sources from two threads at once and
# CPython 3.11's ast module can fail with "AST constructor recursion depth mismatch" (a
# CI run died of it, not of the API).
run() {
  st run "http://127.0.0.1:$port/api/v1/openapi.json" \
    --header "Authorization: Bearer $1" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-time "${SECONDS_PER_RUN:-60}" --workers 1 --suppress-health-check all \
    --no-color
}
status=0
# The reader first: the admin's run deactivates people at random, the manager among them,
# and a deactivated person's token is refused everywhere.
run "$reader" || status=$?
run "$admin" || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- server log (last lines)"
  tail -n 40 "$work/server.log"
fi
exit "$status"
