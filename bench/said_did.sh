#!/usr/bin/env bash
# "You said, we did" mailing to 10,000 customers (issue 23) beside complaint intake, on
# SQLite: the form POST row at 50 connections on a quiet server, then the same row while
# the outbox mails a change to 10,000 customers through a real SMTP server (aiosmtpd,
# discarding), side by side in one run; and how long the mailing took. The customers'
# complaints are written straight into the database first (10,000 consenting cases of the
# category), and the change is recorded as the manager's form would record it.
# Needs wrk, python3 with aiosmtpd (pip install aiosmtpd).
set -euo pipefail
cd "$(dirname "$0")/.."
CUSTOMERS=${CUSTOMERS:-10000}
POST_DURATION=${POST_DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-50}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
python3 -c "import aiosmtpd" 2>/dev/null || { echo "aiosmtpd is not installed (pip install aiosmtpd)"; exit 1; }
[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --profile dist -q -p mend-server --bin mend-server
MEND_BIN=${MEND_BIN:-target/dist/mend-server}

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

python3 -m aiosmtpd -n -l 127.0.0.1:18125 -c aiosmtpd.handlers.Sink &
pids+=("$!")
db="$work/mend.db"
start_mend() {
  MEND_DATA_DIR="$work" MEND_BIND=127.0.0.1:18124 MEND_DATABASE_URL="sqlite://$db" MEND_FORM_MIN_SECONDS=0 MEND_FORM_RATE_LIMIT=0 \
    MEND_MAX_REQUESTS_PER_CLIENT=100000 MEND_SMTP_URL=smtp://127.0.0.1:18125 RUST_LOG=warn "$MEND_BIN" --demo >"$work/demo.txt" 2>>"$work/mend.log" &
  pids+=("$!")
  for _ in $(seq 1 200); do curl -sf http://127.0.0.1:18124/healthz >/dev/null && break; sleep 0.1; done
}
start_mend
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

# 10,000 customers who complained about the restroom in the last 30 days and agreed to be
# contacted (each a different address).
python3 - "$db" "$CUSTOMERS" <<'EOF'
import datetime, random, sqlite3, sys, uuid
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
loc, tp = c.execute("SELECT location_id, id FROM touchpoints LIMIT 1").fetchone()
now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
rows = []
for i in range(n):
    at = now - datetime.timedelta(seconds=random.randint(3600, 30 * 86400))
    rows.append((str(uuid.uuid4()), "BEN-%06d" % i, loc, tp, "cleanliness", "No soap in the restroom.",
                 "customer%d@bench.example" % i, 1, random.choice(["en", "ko", "ja", "pl"]), "resolved",
                 at.strftime("%Y-%m-%d %H:%M:%S")))
c.executemany("INSERT INTO cases (id, reference, location_id, touchpoint_id, category, body, contact_email,"
              " contact_consent, language, status, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
c.commit()
EOF
start_mend
base=http://127.0.0.1:18124
code=$(awk '/^touchpoint/ { print $2; exit }' "$work/demo.txt")
python3 bench/stamps.py "$base/t/$code" 80000 "$work/stamps.txt"
post_row() {
  STAMPS="$work/stamps.txt" FORM_PATH="/t/$code" THREADS=2 DURATION="$POST_DURATION" \
    wrk -t2 -c"$CONNECTIONS" -d"$POST_DURATION" --latency -s bench/post.lua "$base/t/$code" \
    | grep -E "Requests/sec|Latency  |  50%|  99%|answers other|Socket errors"
}
wait_unsent() {
  for _ in $(seq 1 600); do
    [ "$(curl -s $base/metrics | awk '/^mend_outbox_unsent / { print $2 }')" = 0 ] && return
    sleep 0.2
  done
}
echo "machine: $(nproc) cores; $CUSTOMERS customers; wrk -t2 -c$CONNECTIONS -d$POST_DURATION"
# A first row warms the server (page cache, connections) and is not reported.
post_row >/dev/null
wait_unsent
echo "### form POST, quiet server"
post_row
wait_unsent

# The change, as the manager's form records it: restroom complaints of the last 31 days.
python3 - "$db" <<'EOF'
import datetime, json, sqlite3, sys, uuid
c = sqlite3.connect(sys.argv[1], timeout=30)
loc = c.execute("SELECT location_id FROM touchpoints LIMIT 1").fetchone()[0]
now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
f = lambda t: t.strftime("%Y-%m-%d %H:%M:%S")
cid = str(uuid.uuid4())
c.execute("INSERT INTO process_changes (id, created_at, effective_on, category, texts, mail_from, mail_to)"
          " VALUES (?,?,?,?,?,?,?)", (cid, f(now), now.date().isoformat(), "cleanliness",
          json.dumps({"en": "We now check the restrooms every 30 minutes."}),
          f(now - datetime.timedelta(days=31)), f(now + datetime.timedelta(days=1))))
c.execute("INSERT INTO process_change_stores (change_id, location_id) VALUES (?,?)", (cid, loc))
c.commit()
EOF
start=$(date +%s.%N)
echo "### form POST while the change is mailed to $CUSTOMERS customers"
post_row
sent() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1], timeout=30).execute(\"SELECT count(*) FROM outbox WHERE kind='customer_changed' AND sent_at IS NOT NULL\").fetchone()[0])" "$db"; }
echo "mailed by the end of the POST row: $(sent)"
for _ in $(seq 1 3000); do
  [ "$(sent)" -ge "$CUSTOMERS" ] && break
  sleep 0.2
done
echo "all $(sent) emails sent $(python3 -c "import sys; print(round($(date +%s.%N) - $start, 1))") s after the change was recorded"
wait_unsent
# The quiet row again after the mailing: the two quiet rows show how far the machine's own
# noise moves the figures.
echo "### form POST, quiet server again"
post_row
