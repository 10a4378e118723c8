#!/usr/bin/env bash
# Sticker rendering benchmark (criterion), with the qrcode crate's own renderer as the
# baseline in the same run, then p50/p99 of 2,000 PNG renders at 600 px.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p mend-server --bench qr -- --warm-up-time 1 --measurement-time 3 "$@"
