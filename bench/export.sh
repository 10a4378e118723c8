#!/usr/bin/env bash
# Export of N (default 1,000,000) answered surveys as CSV and XLSX from a release server on
# SQLite: wall time of the download, and the server's peak resident memory (VmHWM) with
# its resident memory before the export, so the export's own share shows.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
cargo build --profile dist -q -p mend-server --bin mend-server
work=$(mktemp -d)
cleanup() { kill "$mend" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
export MEND_DATA_DIR="$work" MEND_BIND=127.0.0.1:18093 RUST_LOG=warn MEND_DEMO_PASSWORD=bench-password-1
target/dist/mend-server seed-demo >/dev/null
python3 bench/seed_surveys.py "$work/mend.db" "$N"
# shellcheck source=bench/manager.sh
source bench/manager.sh
start_and_sign_in 18093 "$work"
rss() { awk -v k="$1" '$1 == k":" { print $2 / 1024 " MB" }' /proc/$mend/status; }
echo "machine: $(nproc) cores; $N answered surveys; server RSS before: $(rss VmRSS)"
for ext in csv xlsx; do
  out="$work/out.$ext"
  t=$( { /usr/bin/time -f "%e" curl -s -b "$jar" -o "$out" "http://127.0.0.1:18093/manage/export/surveys.$ext"; } 2>&1 )
  echo "surveys.$ext: ${t} s, $(du -h "$out" | cut -f1), server peak RSS so far: $(rss VmHWM)"
done
