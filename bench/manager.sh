# Sourced by bench scripts: start the release server (MEND_* already exported) and sign
# the demo manager in. Sets $mend (the server's pid) and $jar (curl's cookie jar).
# Usage: start_and_sign_in PORT WORKDIR
start_and_sign_in() {
  local base="http://127.0.0.1:$1"
  "${MEND_BIN:-target/dist/mend-server}" 2>"$2/mend.log" &
  mend=$!
  for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
  jar="$2/cookies"
  local csrf
  csrf=$(curl -s -c "$jar" "$base/manage/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n1)
  curl -s -b "$jar" -c "$jar" -o /dev/null \
    -d "csrf=$csrf&email=manager%40demo.mend.example&password=$MEND_DEMO_PASSWORD&next=%2Fmanage%2F" \
    "$base/manage/login"
}
