#!/usr/bin/env bash
# Starts task-api-axum with each asymmetric JWT_ALGORITHM (a key generated
# on first start, in a scratch folder) and has PyJWT verify its tokens
# against its JWKS (scripts/pyjwt-check.py). Used by .ci/run; installs
# PyJWT with its `crypto` extra into a scratch virtualenv.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT

python3 -m venv "$scratch/venv"
"$scratch/venv/bin/pip" install -q --disable-pip-version-check "pyjwt[crypto]==2.10.1"
cargo build -q --manifest-path "$root/Cargo.toml" -p task-api-axum
binary="$root/target/debug/task-api-axum"
[ -n "${CARGO_TARGET_DIR:-}" ] && binary="$CARGO_TARGET_DIR/debug/task-api-axum"

for algorithm in EdDSA ES256 RS256; do
  mkdir -p "$scratch/$algorithm"
  port=$((18000 + RANDOM % 2000))
  (cd "$scratch/$algorithm" && BIND_ADDRESS="127.0.0.1:$port" JWT_ALGORITHM="$algorithm" \
    MAIL_OUTBOX_DIR="$scratch/$algorithm/outbox" exec "$binary") >"$scratch/$algorithm.log" 2>&1 &
  server=$!
  for _ in $(seq 1 150); do curl -sf -o /dev/null "127.0.0.1:$port/healthz" && break; sleep 0.2; done
  "$scratch/venv/bin/python" "$root/scripts/pyjwt-check.py" "http://127.0.0.1:$port" "$algorithm" || {
    cat "$scratch/$algorithm.log" >&2; exit 1;
  }
  [ -f "$scratch/$algorithm/data/tasks.db.jwt-$(tr '[:upper:]' '[:lower:]' <<<"$algorithm").pem" ] || {
    echo "pyjwt check: the generated $algorithm key file is missing" >&2; exit 1;
  }
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
done
echo "pyjwt check: ok"
