#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (issue 10), as CI does: FUZZ_SECONDS each
# (default 30). Stable Rust: `-s none` builds the coverage instrumentation libFuzzer
# needs without a sanitizer runtime (those need nightly). Safe Rust has no memory errors
# to catch; what this hunts is panics, aborts, hangs (-timeout) and runaway memory
# (-rss_limit_mb, -malloc_limit_mb). Built with -O, as the released binary is: without
# debug assertions, so a dependency's debug_assert! that release builds never run (one in
# actix-multipart fires on a field named "") does not stop the hunt. A finding is saved
# under fuzz/artifacts/<target>/ and fails the run; replay it with
# `cargo fuzz run -O -s none --codegen-units 16 <target> <file>`.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH=${FUZZ_SECONDS:-30}
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz@0.13.2
# 16 codegen units: cargo-fuzz otherwise forces one in release builds (for its inlining),
# which made this build of the whole server CI's longest step.
OPTS=(--codegen-units 16)
# FUZZ_TARGET_DIR: where to build (CI keeps it between runs); default fuzz/target.
if [ -n "${FUZZ_TARGET_DIR:-}" ]; then
  OPTS+=(--target-dir "$FUZZ_TARGET_DIR")
fi
cargo fuzz build -O -s none "${OPTS[@]}"
for target in $(cargo fuzz list); do
  echo "== fuzzing $target for ${SECONDS_EACH}s"
  corpus="corpus/$target"
  mkdir -p "$corpus"
  seeds=()
  [ -d "seeds/$target" ] && seeds=("seeds/$target")
  log=$(mktemp)
  status=0
  cargo fuzz run -O -s none "${OPTS[@]}" "$target" "$corpus" "${seeds[@]}" -- \
    -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=1024 -malloc_limit_mb=512 \
    -max_len=131072 -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb)" "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$log"
    echo "fuzz target $target failed (exit $status): the input is in fuzz/artifacts/$target"
    exit 1
  fi
  rm -f "$log"
done
