#!/usr/bin/env bash
# Bulk import of a chain (issue 20): 10,000 stores x 5 spots through
# `mend-server import locations`, a dry run then the import, then the same file again
# (nothing changes), on SQLite and, when PostgreSQL answers, on PostgreSQL. Prints wall
# time and the process's peak memory (GNU time's maximum resident set size).
# Goals: dry run <= 5 s, import <= 10 s, memory growth <= 100 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
STORES=${STORES:-10000}
SPOTS=${SPOTS:-5}
cargo build --profile dist -q -p mend-server --bin mend-server
export RUST_LOG=warn
BIN=${MEND_BIN:-target/dist/mend-server}
PG=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
work=$(mktemp -d)
schema="bench_import_$$"
cleanup() {
  psql -q "$PG" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

python3 - "$work/stores.csv" "$STORES" "$SPOTS" <<'PY'
import sys
path, stores, spots = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
zones = [("Asia/Seoul","ko","KRW","강남 {}호점"),("Asia/Tokyo","ja","JPY","渋谷 {}店"),("Europe/Warsaw","pl","PLN","Łódź {}"),("Europe/Paris","en","EUR","Café {}")]
labels = ["Counter","Restroom","Terrace","Drive-thru","Exit","Parking","Till 2"]
with open(path, "w", encoding="utf-8") as f:
    f.write("\ufeffref,location,region,time_zone,language,currency,touchpoint_ref,touchpoint\n")
    for s in range(stores):
        tz, lang, cur, name = zones[s % 4]
        for p in range(spots):
            f.write(f"S{s:06},{name.format(s)},R{s % 50},{tz},{lang},{cur},P{p},{labels[p % len(labels)]}\n")
PY
echo "file: $STORES stores x $SPOTS spots, $(du -h "$work/stores.csv" | cut -f1)"

run() {  # label, database url
  local label=$1 url=$2
  for step in "--dry-run" "" "again"; do
    local args=(import locations "$work/stores.csv")
    [ "$step" = "--dry-run" ] && args+=(--dry-run)
    local start end
    start=$(date +%s.%N)
    MEND_DATABASE_URL=$url MEND_DATA_DIR=$work/data /usr/bin/time -f "%M" -o "$work/rss" \
      "$BIN" "${args[@]}" > "$work/out"
    end=$(date +%s.%N)
    printf '%-10s %-9s %6.2f s  peak RSS %5d MB  %s\n' "$label" "${step:-import}" \
      "$(echo "$end - $start" | bc)" "$(( $(cat "$work/rss") / 1024 ))" "$(cat "$work/out")"
  done
  # The empty server's own footprint, for the growth figure.
  MEND_DATABASE_URL=$url MEND_DATA_DIR=$work/data /usr/bin/time -f "%M" -o "$work/rss" \
    "$BIN" location list > /dev/null
  printf '%-10s %-9s peak RSS %5d MB (listing the stores, for comparison)\n' "$label" "list" "$(( $(cat "$work/rss") / 1024 ))"
}

mkdir -p "$work/data"
run sqlite "sqlite://$work/data/mend.db"
if psql -q "$PG" -c "CREATE SCHEMA $schema" >/dev/null 2>&1; then
  sep='?'; [[ "$PG" == *\?* ]] && sep='&'
  run postgres "${PG}${sep}options=-csearch_path%3D${schema}"
else
  echo "skipped: no PostgreSQL at $PG"
fi
