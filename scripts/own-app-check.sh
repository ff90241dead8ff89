#!/usr/bin/env bash
# Builds README.md's "Add auth to your axum app" the way a new user does:
# a new cargo project in a temp folder outside the workspace, whose
# [dependencies] are the README's toml block (path dependencies pointed at
# this checkout) and whose src/main.rs is the README's rust block, both
# taken verbatim, so that the check fails when the README drifts. Then it
# starts the debug build and checks, with curl, what the README promises:
# the address printed, sign-up 201, sign-in 200, the protected route 200
# with the token and 401 without, a password reset 202 whose message (with
# a link of the documented shape) lands in the outbox folder, and the
# unoptimised-hashing warning; then, with the README's profile lines
# appended to Cargo.toml and a rebuild, no such warning. Used by .ci/run:
#   bash scripts/own-app-check.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
readme="$root/README.md"
section='## Add auth to your axum app'
# Its own target folder: the app's dependency tree is built with the app's
# profile (not the workspace's), so it shares nothing with target/debug.
export CARGO_TARGET_DIR="${OWN_APP_TARGET_DIR:-$root/target/own-app}"
export CARGO_TERM_COLOR=never
# No debug info: a third of the disk and faster links. It changes no
# optimisation level, which is what the check is about.
export CARGO_PROFILE_DEV_DEBUG=false

scratch="$(mktemp -d)"
server=""
stop() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    server=""
  fi
}
cleanup() {
  stop
  rm -rf "$scratch"
}
trap cleanup EXIT
fail() {
  echo "own-app check: $*" >&2
  if [ -f "$scratch/server.log" ]; then
    echo "--- the app's output:" >&2
    cat "$scratch/server.log" >&2
  fi
  exit 1
}

# block LANG N: the Nth (1-based) code block of LANG in the section.
block() {
  awk -v section="$section" -v lang="$1" -v want="$2" '
    $0 == section { on = 1; next }
    on && /^## / { exit }
    on && !inside && index($0, "```" lang) == 1 { inside = 1; n++; next }
    inside && /^```/ { inside = 0; if (n == want) exit; next }
    inside && n == want { print }
  ' "$readme"
}

dependencies="$(block toml 1)"
program="$(block rust 1)"
profile="$(block toml 2)"
[ -n "$dependencies" ] && [ -n "$program" ] && [ -n "$profile" ] ||
  fail "README.md's \"$section\" lost its dependencies, program or profile lines"
grep -q '^\[dependencies\]' <<<"$dependencies" || fail "the first toml block is not [dependencies]"
grep -q 'path = "/path/to/clone/' <<<"$dependencies" ||
  fail "the dependencies no longer name /path/to/clone, which this check replaces"
grep -q '^\[profile\.dev\.package\.argon2\]' <<<"$profile" ||
  fail "the second toml block does not set argon2's dev profile"

app="$scratch/my-app"
mkdir -p "$app/src"
{
  printf '[package]\nname = "my-app"\nversion = "0.1.0"\nedition = "2024"\n\n'
  # The README's `/path/to/clone` is this checkout.
  sed "s#/path/to/clone/#$root/#g" <<<"$dependencies"
} >"$app/Cargo.toml"
printf '%s\n' "$program" >"$app/src/main.rs"
# The checkout's lock file: the versions CI has already fetched and
# checked, not whatever the registry has today (cargo drops what the app
# does not use).
cp "$root/Cargo.lock" "$app/Cargo.lock"

port_busy() { curl -s -o /dev/null --max-time 2 "http://127.0.0.1:8080/"; }

# run_app NAME: builds (debug) and starts the app in a fresh folder, as the
# README says, and waits for the address it prints.
run_app() {
  local started=$SECONDS
  cargo build -q --manifest-path "$app/Cargo.toml"
  echo "own-app check: $1 build took $((SECONDS - started)) s"
  port_busy && fail "something already listens on port 8080"
  rm -rf "$scratch/run" && mkdir -p "$scratch/run"
  (cd "$scratch/run" && JWT_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
    exec "$CARGO_TARGET_DIR/debug/my-app") >"$scratch/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 150); do
    grep -q '^listening on http://127.0.0.1:8080$' "$scratch/server.log" && return 0
    kill -0 "$server" 2>/dev/null || fail "the app exited"
    sleep 0.2
  done
  fail "the app did not print \"listening on http://127.0.0.1:8080\""
}

base=http://127.0.0.1:8080
# status METHOD PATH [BODY] [TOKEN]: the answer's status code.
status() {
  local args=(-s -o "$scratch/body" -w '%{http_code}' -X "$1" "$base$2")
  if [ -n "${3:-}" ]; then args+=(-H 'content-type: application/json' -d "$3"); fi
  if [ -n "${4:-}" ]; then args+=(-H "authorization: Bearer $4"); fi
  curl "${args[@]}"
}
expect() { # expect WHAT WANT GOT
  [ "$3" = "$2" ] || fail "$1 answered $3, not $2: $(cat "$scratch/body" 2>/dev/null)"
  echo "own-app check: $1: $3"
}
warning='unoptimised'
# timed_sign_ins: three more sign-ins, and how long each took (for the log:
# the figures the warning's threshold was chosen from).
timed_sign_ins() {
  local times=() i
  for i in 1 2 3; do
    times+=("$(curl -s -o /dev/null -w '%{time_total}' -X POST "$base/api/auth/sign-in" \
      -H 'content-type: application/json' -d "$account")")
  done
  echo "own-app check: sign-in took ${times[*]} s"
}

account='{"email": "ada@example.com", "password": "correct horse battery staple"}'
run_app "first"
expect "sign-up" 201 "$(status POST /api/auth/sign-up "$account")"
expect "sign-in" 200 "$(status POST /api/auth/sign-in "$account")"
token="$(sed -E 's/.*"access_token":"([^"]+)".*/\1/' "$scratch/body")"
expect "GET /api/tasks with the token" 200 "$(status GET /api/tasks "" "$token")"
grep -q '"user_id"' "$scratch/body" || fail "/api/tasks did not answer the user id"
expect "GET /api/tasks without a token" 401 "$(status GET /api/tasks)"
expect "request-password-reset" 202 \
  "$(status POST /api/auth/request-password-reset '{"email": "ada@example.com"}')"
message=""
for _ in $(seq 1 50); do
  message="$(find "$scratch/run/outbox" -name '*password_reset*.eml' 2>/dev/null | head -n 1 || true)"
  [ -n "$message" ] && break
  sleep 0.2
done
[ -n "$message" ] || fail "no password_reset message in the outbox folder"
grep -qE '^http://127\.0\.0\.1:8080/reset-password#token=[A-Za-z0-9_-]+$' "$message" ||
  fail "the message has no link of the documented shape: $(cat "$message")"
echo "own-app check: the reset message and its link are in outbox/"
grep -q "$warning" "$scratch/server.log" ||
  fail "no unoptimised-hashing warning without the profile lines"
timed_sign_ins
echo "own-app check: without the profile lines it warns: $(grep "$warning" "$scratch/server.log")"
stop

printf '\n%s\n' "$profile" >>"$app/Cargo.toml"
run_app "second (with the profile lines)"
expect "sign-up" 201 "$(status POST /api/auth/sign-up "$account")"
expect "sign-in" 200 "$(status POST /api/auth/sign-in "$account")"
timed_sign_ins
stop
if grep -q "$warning" "$scratch/server.log"; then
  fail "the unoptimised-hashing warning is printed with the profile lines"
fi
echo "own-app check: with the profile lines it does not warn"
echo "own-app check: ok"
