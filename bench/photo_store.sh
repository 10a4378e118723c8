#!/usr/bin/env bash
# Complaints with a photo by where photos are kept (issue 26): files under the data dir
# (before: OLD_BIN, a build of the commit before the photo store), SQLite, PostgreSQL
# (BENCH_POSTGRES_URL) and an S3-compatible server (s3s-fs), side by side in one run:
# POST throughput and p99, and 303 -> alert email with its photo accepted by SMTP.
# Needs python3 with aiosmtpd and pillow; s3s-fs for the S3 row; psql for PostgreSQL.
#   OLD_BIN=/tmp/old/target/release/mend-server BENCH_POSTGRES_URL=postgres://... bench/photo_store.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c "import aiosmtpd, PIL" || { echo "pip install aiosmtpd pillow"; exit 1; }
[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --release -q -p mend-server --bin mend-server
python3 bench/photo_store.py
