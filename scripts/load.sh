#!/usr/bin/env bash
# Load test of an example server (default: the axum one), with wrk:
#   1. requests/s of the authenticated task list, of the same list without
#      auth (the /bench route, served by a build with the bench-routes
#      feature when BENCH_ROUTES=1: the same query, no token check), and of
#      /healthz;
#   2. the list's latency (p50/p99) while 32 other clients sign in
#      continuously (argon2id hashing must not stall other requests).
#
#   bash scripts/load.sh [package] [seconds]     # e.g. task-api-axum 10
#
# Needs wrk (Debian: apt-get install wrk), curl and python3. Builds the
# server in release mode and runs it on SQLite in a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
package="${1:-task-api-axum}"
seconds="${2:-10}"
port="${PORT:-18181}"
base="http://127.0.0.1:$port"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

cargo build --release -q -p "$package" --features bench-routes
workdir="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$workdir"' EXIT

BIND_ADDRESS="127.0.0.1:$port" DATABASE_URL="sqlite://$workdir/tasks.db" \
JWT_SECRET="load-test-secret-load-test-secret-0123456789" BENCH_ROUTES=1 \
RUST_LOG=warn "target/release/$package" >"$workdir/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done

signed_up="$(curl -sf -X POST "$base/api/auth/sign-up" -H 'content-type: application/json' \
  -d '{"email":"load@example.com","password":"load test password"}')"
read -r user_id token < <(python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["user"]["id"], r["access_token"])' <<<"$signed_up")
for i in $(seq 1 20); do
  curl -sf -o /dev/null -X POST "$base/api/$user_id/tasks" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' -d "{\"title\":\"task $i\",\"description\":\"load test task number $i\"}"
done

# The sign-in flood signs in as 32 other users, picked at random per
# request (one account under 32 concurrent sign-ins would meet the sign-in
# throttle, which counts attempts in flight).
for i in $(seq 1 32); do
  curl -sf -o /dev/null -X POST "$base/api/auth/sign-up" -H 'content-type: application/json' \
    -d "{\"email\":\"flood$i@example.com\",\"password\":\"load test password\"}"
done
cat >"$workdir/sign_in.lua" <<'LUA'
request = function()
  local body = string.format('{"email":"flood%d@example.com","password":"load test password"}', math.random(1, 32))
  return wrk.format("POST", nil, {["content-type"] = "application/json"}, body)
end
LUA

rps() { # url [header]: requests/s over $seconds with 32 connections
  local out
  if [ -n "${2:-}" ]; then
    out="$(wrk -t2 -c32 -d"${seconds}s" -H "$2" "$1")"
  else
    out="$(wrk -t2 -c32 -d"${seconds}s" "$1")"
  fi
  grep -q 'Non-2xx' <<<"$out" && { echo "non-2xx answers from $1:" >&2; echo "$out" >&2; exit 1; }
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}

wrk -t1 -c4 -d2s -H "authorization: Bearer $token" "$base/api/$user_id/tasks" >/dev/null # warm-up
# Three alternating rounds: on a shared machine a single pair of runs can
# be 10 % apart by noise alone; the median round is reported.
auth_runs=""; bare_runs=""
for _ in 1 2 3; do
  auth_runs="$auth_runs $(rps "$base/api/$user_id/tasks" "authorization: Bearer $token")"
  bare_runs="$bare_runs $(rps "$base/bench/$user_id/tasks")"
done
health="$(rps "$base/healthz")"

# 32 clients signing in non-stop, and meanwhile 4 clients reading the list.
wrk -t1 -c32 -d"$((seconds + 2))s" -s "$workdir/sign_in.lua" "$base/api/auth/sign-in" >"$workdir/sign_in.out" &
flood=$!
sleep 1
under_load="$(wrk -t1 -c4 -d"${seconds}s" --latency -H "authorization: Bearer $token" "$base/api/$user_id/tasks")"
wait "$flood"
if grep -q 'Non-2xx' "$workdir/sign_in.out"; then
  echo "sign-ins failed:" >&2; cat "$workdir/sign_in.out" >&2; exit 1
fi
p50="$(awk '$1 == "50%" {print $2}' <<<"$under_load")"
p99="$(awk '$1 == "99%" {print $2}' <<<"$under_load")"
list_under_load="$(awk '/Requests\/sec/ {print $2}' <<<"$under_load")"
sign_ins="$(awk '/Requests\/sec/ {print $2}' "$workdir/sign_in.out")"

python3 - "$package" "$auth_runs" "$bare_runs" "$health" "$p50" "$p99" "$list_under_load" "$sign_ins" <<'PY'
import statistics, sys
package, auth_runs, bare_runs, health, p50, p99, under, sign_ins = sys.argv[1:]
auth_runs = [float(x) for x in auth_runs.split()]
bare_runs = [float(x) for x in bare_runs.split()]
ratios = [a / b for a, b in zip(auth_runs, bare_runs)]
auth, bare, health = statistics.median(auth_runs), statistics.median(bare_runs), float(health)
print(f"\n{package} ({sys.platform}, SQLite, 20 tasks, wrk -t2 -c32, medians of 3 rounds)")
print(f"  GET /api/{{user_id}}/tasks, authenticated : {auth:10.0f} req/s")
print(f"  same query, no auth (/bench route)       : {bare:10.0f} req/s")
print(f"  GET /healthz                             : {health:10.0f} req/s")
print(f"  authenticated / unauthenticated          : {statistics.median(ratios):10.2f}  (goal >= 0.80; rounds: {', '.join(f'{r:.2f}' for r in ratios)})")
print(f"  while 32 clients sign in ({float(sign_ins):.0f} sign-ins/s):")
print(f"    list p50 {p50}, p99 {p99}, {float(under):.0f} req/s with 4 clients")
PY
