#!/usr/bin/env bash
# From a fresh clone: `cargo run --release -p mend-server -- --demo` until the first HTTP answer.
set -u
cd "$1"
start=$(date +%s.%N)
MEND_BIND=127.0.0.1:18080 MEND_DATA_DIR=$(mktemp -d) cargo run --release -p mend-server -- --demo > /tmp/first_answer_server.log 2>&1 &
pid=$!
until curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:18080/healthz 2>/dev/null | grep -q 200; do
  sleep 0.5
  kill -0 $pid 2>/dev/null || { echo "server exited"; exit 1; }
done
end=$(date +%s.%N)
echo "first answer after $(echo "$end - $start" | bc) s"
kill $pid; wait $pid 2>/dev/null
