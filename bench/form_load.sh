#!/usr/bin/env bash
# Complaint form under load (issue 10): form GET, complaint POST and the status page at
# 50 and 200 connections, on SQLite (full durability) and, when PostgreSQL answers (or
# BENCH_POSTGRES_URL names one), on PostgreSQL too, side by side with actix-web's hello
# world and the raw one-insert-per-commit rate of the same disk, all in one run.
# Needs wrk (Debian package) and python3 (psql for PostgreSQL). Abuse guards are off
# (MEND_FORM_MIN_SECONDS=0, MEND_FORM_RATE_LIMIT=0, and no cap on requests in flight per
# client: all of wrk's connections come from one address) so wrk is not taken for a bot.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
# POST rows are shorter: each post needs a fresh stamp, fetched beforehand.
POST_DURATION=${POST_DURATION:-5s}
# What to run: BACKENDS="sqlite postgres", CONNECTIONS="50 200", ROWS="get status post"
# (narrow them to look at one figure; RESULTS.md rows come from the full run).
BACKENDS=${BACKENDS:-sqlite postgres}
CONNECTIONS=${CONNECTIONS:-50 200}
ROWS=${ROWS:-get status post}
wants() { [[ " $2 " == *" $1 "* ]]; }
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
# BENCH_NO_BUILD=1: use the release binaries already built (to compare two builds copied
# aside, with MEND_BIN, without a rebuild between them).
[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --profile dist -q -p mend-server --bin mend-server --example hello --example commit_rate
# MEND_BIN: another build of the server to measure (say, a copy of the last commit's, for
# a before/after on the same machine); the default is the one just built.
MEND_BIN=${MEND_BIN:-target/dist/mend-server}
PG=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}

work=$(mktemp -d)
schema="bench_$$"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${pg_url:-}" ] && psql -q "$PG" -c "DROP SCHEMA IF EXISTS $schema CASCADE" 2>/dev/null
  rm -rf "$work" "${shm:-}"
}
trap cleanup EXIT
HELLO_BIND=127.0.0.1:18090 target/dist/examples/hello &
pids+=("$!")
echo "machine: $(nproc) cores; wrk -t2; duration $DURATION (POST $POST_DURATION)"
echo "### raw SQLite, one insert per commit, WAL + synchronous=FULL, same disk"
target/dist/examples/commit_rate "$work/raw.db" 5

start_mend() { # port, data dir, database URL
  mkdir -p "$2"
  MEND_DATA_DIR="$2" MEND_BIND=127.0.0.1:$1 MEND_DATABASE_URL="$3" MEND_FORM_MIN_SECONDS=0 MEND_FORM_RATE_LIMIT=0 MEND_MAX_REQUESTS_PER_CLIENT=100000 \
    RUST_LOG=warn "$MEND_BIN" --demo >"$2/demo.txt" 2>"$2/mend.log" &
  pids+=("$!")
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$1/healthz" >/dev/null && break; sleep 0.1; done
}

run() { # label, then wrk arguments
  local label=$1; shift
  echo "### $label"
  wrk -t2 -d"$DURATION" --latency "$@" | grep -E "Requests/sec|Latency  |  50%|  99%|Non-2xx|answers other|Socket errors|WARNING"
}
drain() { # port: waits until every alert of the POST row is delivered, so the next row
  # measures a quiet server, and says how long the alerts took to catch up
  local start=$SECONDS left
  for _ in $(seq 1 600); do
    left=$(curl -s "http://127.0.0.1:$1/metrics" | awk '/^mend_outbox_unsent / { print $2 }')
    [ "${left:-1}" = 0 ] && break
    sleep 0.2
  done
  echo "alerts still unsent when the POST row ended were all delivered $((SECONDS - start)) s later (unsent now: ${left:-?})"
}
intake() { # port: the intake's cumulative batch figures from /metrics, as
  # "batches seconds complaints batches-over-50ms waited-seconds"
  curl -s "http://127.0.0.1:$1/metrics" | awk '
    /^mend_intake_batch_seconds_count / { n = $2 }
    /^mend_intake_batch_seconds_sum / { t = $2 }
    /^mend_intake_batch_seconds_bucket\{le="0.05"\}/ { fast = $2 }
    /^mend_intake_batch_size_sum / { c = $2 }
    /^mend_intake_wait_seconds_sum / { w = $2 }
    END { print n + 0, t + 0, c + 0, n - fast, w + 0 }'
}
intake_row() { # port, figures before the row: what the row's batches were
  local before after
  before=$2
  after=$(intake "$1")
  awk -v b="$before" -v a="$after" 'BEGIN {
    split(b, x, " "); split(a, y, " ")
    n = y[1] - x[1]; c = y[3] - x[3]
    if (n <= 0 || c <= 0) exit
    printf "intake: %d batches of %.1f complaints on average, each %.1f ms to durable (over 50 ms: %d); a complaint waited %.1f ms for its batch on average\n",
      n, c / n, 1000 * (y[2] - x[2]) / n, y[4] - x[4], 1000 * (y[5] - x[5]) / c }'
}
load() { # backend label, port
  local base="http://127.0.0.1:$2" code
  code=$(awk '/^touchpoint/ { print $2; exit }' "$work/$1/demo.txt")
  # One complaint's status page, as its customer opens it from the 303.
  python3 bench/stamps.py "$base/t/$code" 1 "$work/one.txt"
  local status
  status=$(curl -s -o /dev/null -w '%{redirect_url}' -F "stamp=$(head -n1 "$work/one.txt")" -F category=cleanliness \
    -F "body=Benchmark complaint" "$base/t/$code")
  for c in $CONNECTIONS; do
    run "hello world, $c connections" -c"$c" http://127.0.0.1:18090/
    wants get "$ROWS" && run "$1: form GET, $c connections" -c"$c" "$base/t/$code"
    wants status "$ROWS" && run "$1: status page, $c connections" -c"$c" "$status"
    wants post "$ROWS" || continue
    python3 bench/stamps.py "$base/t/$code" "${STAMPS_PER_RUN:-80000}" "$work/stamps.txt"
    local figures
    figures=$(intake "$2")
    STAMPS="$work/stamps.txt" FORM_PATH="/t/$code" THREADS=2 DURATION="$POST_DURATION" \
      run "$1: form POST (new complaint each), $c connections" -c"$c" -s bench/post.lua "$base/t/$code"
    intake_row "$2" "$figures"
    drain "$2"
  done
}

if wants sqlite "$BACKENDS"; then
  start_mend 18091 "$work/sqlite" "sqlite://$work/sqlite/mend.db"
  load sqlite 18091
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

  # The same POST row with the alerts' .eml files off this disk (the data dir on tmpfs, the
  # database still on the disk): what the complaint path costs when alerts go to an SMTP
  # relay, or to a faster disk, instead of a new file per alert on this ext4.
  if [ -d /dev/shm ] && wants post "$ROWS"; then
    shm=$(mktemp -d /dev/shm/mend-bench.XXXXXX)
    mkdir -p "$work/sqlite-shm"
    start_mend 18093 "$shm" "sqlite://$work/sqlite-shm/mend.db"
    code=$(awk '/^touchpoint/ { print $2; exit }' "$shm/demo.txt")
    python3 bench/stamps.py "http://127.0.0.1:18093/t/$code" "${STAMPS_PER_RUN:-80000}" "$work/stamps.txt"
    figures=$(intake 18093)
    STAMPS="$work/stamps.txt" FORM_PATH="/t/$code" THREADS=2 DURATION="$POST_DURATION" \
      run "sqlite, alerts' .eml on tmpfs: form POST (new complaint each), 200 connections" -c200 -s bench/post.lua "http://127.0.0.1:18093/t/$code"
    intake_row 18093 "$figures"
    drain 18093
    kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
    rm -rf "$shm"
  fi
fi

if ! wants postgres "$BACKENDS"; then
  :
elif psql -q "$PG" -c "CREATE SCHEMA $schema" 2>/dev/null; then
  sep="?"; [[ "$PG" == *\?* ]] && sep="&"
  pg_url="$PG${sep}options=-csearch_path%3D$schema"
  start_mend 18092 "$work/postgres" "$pg_url"
  load postgres 18092
else
  echo "### PostgreSQL: not reachable at $PG, skipped"
fi
