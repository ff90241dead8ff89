#!/usr/bin/env bash
# Runs the quickstart of examples/README.md verbatim: starts an example
# server the way it and README.md say (in a scratch folder, so an existing
# data/ is left alone), then runs the curl block that follows
# `<!-- quickstart -->` and checks what it printed. Used by .ci/run, once
# per server:
#   bash scripts/quickstart-check.sh [task-api-axum | task-api-actix]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
package="${1:-task-api-axum}"
guide="$root/examples/README.md"
for doc in README.md examples/README.md; do
  grep -q "cargo run -p $package\b" "$root/$doc" || {
    echo "quickstart check: $doc does not say \`cargo run -p $package\`" >&2; exit 1;
  }
done
scratch="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT

if curl -s -o /dev/null localhost:8080; then
  echo "quickstart check: something already listens on port 8080" >&2
  exit 1
fi

# The guide's block, from the marker to the end of its code fence.
awk '/<!-- quickstart -->/ {on=1; next} on && /^```sh/ {inside=1; next} inside && /^```/ {exit} inside {print}' \
  "$guide" >"$scratch/quickstart.sh"
[ -s "$scratch/quickstart.sh" ] || { echo "quickstart check: no quickstart block in examples/README.md" >&2; exit 1; }

cargo build -q --manifest-path "$root/Cargo.toml" -p "$package"
(cd "$scratch" && exec cargo run -q --manifest-path "$root/Cargo.toml" -p "$package") >"$scratch/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null localhost:8080/healthz && break; sleep 0.2; done

output="$(cd "$scratch" && bash -euo pipefail quickstart.sh)"
printf '%s\n' "$output"
expect() {
  grep -q -- "$1" <<<"$output" || {
    echo "quickstart check: expected output containing: $1" >&2
    cat "$scratch/server.log" >&2
    exit 1
  }
}
expect '"email":"ada@example.com"'
expect '"title":"Buy milk"'
expect '"completed":true'
expect '^204$'
expect '"code":"session_revoked"'
expect '^{} 202$'
expect '^reset: 204$'
[ -f "$scratch/data/tasks.db" ] && [ -f "$scratch/data/tasks.db.jwt-secret" ] || {
  echo "quickstart check: data/tasks.db or its secret file is missing" >&2; exit 1;
}
echo "quickstart check ($package): ok"
