#!/usr/bin/env bash
# Webhook latency and throughput (issue 25 goals: 303 -> receiver p99 <= 1 s for single
# events; a burst of 1,000 complaints delivers >= 200 webhooks/s and keeps the complaint
# POST p99 at its goal). Needs python3 with standardwebhooks (pip install standardwebhooks).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c "import standardwebhooks" || { echo "pip install standardwebhooks"; exit 1; }
[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --profile dist -q -p mend-server --bin mend-server
python3 bench/webhook_latency.py "${SINGLE:-200}" "${BURST:-1000}"
