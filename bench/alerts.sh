#!/usr/bin/env bash
# Staff alert latency: customer's 303 -> SMTP DATA accepted, single and in a burst.
# Needs python3 with aiosmtpd (pip install aiosmtpd).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c "import aiosmtpd" || { echo "pip install aiosmtpd"; exit 1; }
cargo build --profile dist -q -p mend-server --bin mend-server
python3 bench/alert_latency.py "${SINGLE:-200}" "${BURST:-1000}"
