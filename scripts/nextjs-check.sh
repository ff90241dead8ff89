#!/usr/bin/env bash
# The Next.js + Better Auth example in Chromium: npm ci, next build, then
# examples/nextjs-better-auth/e2e/run.mjs against each example server in
# trusted issuer mode. Used by .ci/run:
#   bash scripts/nextjs-check.sh [screenshots folder] [server ...]
# Servers default to task-api-axum and task-api-actix, built here (debug).
# Screenshots go to <folder>/<server>/ (default target/e2e-screenshots/nextjs).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
app="$root/examples/nextjs-better-auth"
shots="${1:-$root/target/e2e-screenshots/nextjs}"
shift || true
servers=("$@")
[ ${#servers[@]} -gt 0 ] || servers=(task-api-axum task-api-actix)
bin_dir="${CARGO_TARGET_DIR:-$root/target}/debug"
export NEXT_TELEMETRY_DISABLED=1

say() { printf '[nextjs-check %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
fail() { echo "nextjs check: FAILED: $*" >&2; exit 1; }
started=$SECONDS

command -v node >/dev/null || fail "node is needed (Node.js 20 or later)"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || fail "no Chromium at ${CHROMIUM:-/usr/bin/chromium} (apt-get install chromium)"
say "node $(node --version), npm $(npm --version), $("${CHROMIUM:-/usr/bin/chromium}" --version 2>/dev/null | head -1)"

# better-sqlite3 compiles from source when no prebuilt binary can be
# fetched; the node headers of the machine's Node.js are then enough.
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then
  export npm_config_nodedir=/usr
fi

say "npm ci (pinned by package-lock.json)"
(cd "$app" && npm ci --no-audit --no-fund --loglevel=error </dev/null) || fail "npm ci"
node -e 'require(process.argv[1])' "$app/node_modules/better-sqlite3" ||
  fail "better-sqlite3 does not load on node $(node --version)"
say "npm ci done ($((SECONDS - started)) s)"

say "next build"
(cd "$app" && npx --no-install next build </dev/null) || fail "next build"
say "next build done ($((SECONDS - started)) s)"

for server in "${servers[@]}"; do
  # One package a build, as scripts/quickstart-check.sh does: building two
  # together unifies their features into other artifacts, a second build.
  say "cargo build -p $server"
  cargo build -q --manifest-path "$root/Cargo.toml" -p "$server" || fail "cargo build -p $server"
  say "e2e against $server"
  node "$app/e2e/run.mjs" "$bin_dir/$server" "$shots" </dev/null || fail "the browser test against $server"
done
say "ok in $((SECONDS - started)) s; screenshots in $shots"
