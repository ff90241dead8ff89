#!/usr/bin/env bash
# Load test of both example servers, task-api-axum and task-api-actix, with
# wrk; their figures are printed side by side (plain and as Markdown):
#   1. requests/s of the authenticated task list, of the same list without
#      auth (the /bench route, served by a build with the bench-routes
#      feature when BENCH_ROUTES=1: the same query, no token check), and of
#      /healthz;
#   2. the list's latency (p50/p99) while 32 other clients sign in
#      continuously (argon2id hashing must not stall other requests).
# Only one server is under load at a time, and the servers take turns
# round by round, so that drift on a shared machine hits both alike.
#
#   bash scripts/load.sh [seconds]     # per wrk run; default 10
#
# Needs wrk (Debian: apt-get install wrk), curl and python3. Builds both
# servers in release mode and runs each on SQLite in a temporary folder, on
# ports PORT and PORT+1 (default 18181 and 18182).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
first_port="${PORT:-18181}"
servers=(task-api-axum task-api-actix)
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "usage: bash scripts/load.sh [seconds]" >&2; exit 2; }
source scripts/lib/servers.sh
servers_init

cargo build --release -q -p task-api-axum -p task-api-actix --features bench-routes

declare -A user_id token
results="$workdir/results" # lines "server metric value", read by python below

# setup server port: starts the server on a fresh SQLite file, then creates
# the same data on each: one user with 20 tasks, and 32 accounts for the
# sign-in flood.
setup() {
  local server="$1" signed_up i
  start_server "$server" "$2" BENCH_ROUTES=1
  signed_up="$(post "$server" /api/auth/sign-up '{"email":"load@example.com","password":"load test password"}')"
  read -r "user_id[$server]" "token[$server]" < <(python3 -c \
    'import json,sys; r=json.load(sys.stdin); print(r["user"]["id"], r["access_token"])' <<<"$signed_up") \
    || fail "$server: unexpected sign-up answer: $signed_up"
  for i in $(seq 1 20); do
    post "$server" "/api/${user_id[$server]}/tasks" \
      "{\"title\":\"task $i\",\"description\":\"load test task number $i\"}" "${token[$server]}" >/dev/null
  done
  sign_up_flood_accounts "$server"
  curl -sf -o /dev/null "${base[$server]}/bench/${user_id[$server]}/tasks" \
    || fail "$server: no /bench route (built without the bench-routes feature?)"
}

# rps server metric path [header]: records the requests/s over $seconds,
# with 32 connections.
rps() {
  local args=(-t2 -c32 -d"${seconds}s") out
  if [ -n "${4:-}" ]; then args+=(-H "$4"); fi
  out="$(wrk "${args[@]}" "${base[$1]}$3")"
  check "$1" "$3" "$out"
  echo "$1 $2 $(awk '/Requests\/sec/ {print $2}' <<<"$out")" >>"$results"
}

# flood server: 32 clients sign in non-stop while 4 clients read the list.
flood() {
  local server="$1" flood_pid out
  wrk -t1 -c32 -d"$((seconds + 2))s" -s "$workdir/sign_in.lua" \
    "${base[$server]}/api/auth/sign-in" >"$workdir/$server/sign_in.out" &
  flood_pid=$!
  pids+=("$flood_pid")
  sleep 1
  out="$(wrk -t1 -c4 -d"${seconds}s" --latency -H "authorization: Bearer ${token[$server]}" \
    "${base[$server]}/api/${user_id[$server]}/tasks")"
  wait "$flood_pid"
  check "$server" "/api/auth/sign-in" "$(cat "$workdir/$server/sign_in.out")"
  check "$server" "the list under the sign-in flood" "$out"
  {
    echo "$server sign_ins $(awk '/Requests\/sec/ {print $2}' "$workdir/$server/sign_in.out")"
    echo "$server p50 $(awk '$1 == "50%" {print $2}' <<<"$out")"
    echo "$server p99 $(awk '$1 == "99%" {print $2}' <<<"$out")"
    echo "$server under $(awk '/Requests\/sec/ {print $2}' <<<"$out")"
  } >>"$results"
}

write_sign_in_lua "$workdir/sign_in.lua"

port="$first_port"
for server in "${servers[@]}"; do
  setup "$server" "$port"
  port=$((port + 1))
done
for server in "${servers[@]}"; do # warm-up
  wrk -t1 -c4 -d2s -H "authorization: Bearer ${token[$server]}" \
    "${base[$server]}/api/${user_id[$server]}/tasks" >/dev/null
done
# Three rounds, each server in turn: on a shared machine a single pair of
# runs can be 10 % apart by noise alone; the median round is reported.
for round in 1 2 3; do
  for server in "${servers[@]}"; do
    echo "round $round/3: $server" >&2
    rps "$server" auth "/api/${user_id[$server]}/tasks" "authorization: Bearer ${token[$server]}"
    rps "$server" bare "/bench/${user_id[$server]}/tasks"
  done
done
for server in "${servers[@]}"; do rps "$server" health /healthz; done
for server in "${servers[@]}"; do
  echo "sign-in flood: $server" >&2
  flood "$server"
done

python3 - "$results" "$seconds" "$(nproc 2>/dev/null || echo '?')" <<'PY'
import re, statistics, sys
path, seconds, cores = sys.argv[1:]
data = {}
for line in open(path):
    server, metric, value = line.split()
    data.setdefault(server, {}).setdefault(metric, []).append(value)
servers = list(data)

def num(x):  # 12345.6 -> "12 346"
    return f"{x:,.0f}".replace(",", " ")

def ms(wrk_time):  # wrk's "720.00us", "7.78ms", "1.02s" -> "0.72 ms"
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", wrk_time).groups()
    scale = {"us": 1e-3, "ms": 1, "s": 1e3, "m": 6e4}[unit]
    return f"{float(value) * scale:.2f} ms"

rows = {k: [] for k in ("auth", "bare", "health", "ratio", "sign_ins", "p50", "p99", "under")}
for s in servers:
    d = data[s]
    auth = [float(x) for x in d["auth"]]
    bare = [float(x) for x in d["bare"]]
    ratios = [a / b for a, b in zip(auth, bare)]
    rows["auth"].append(f"{num(statistics.median(auth))} req/s")
    rows["bare"].append(f"{num(statistics.median(bare))} req/s")
    rows["health"].append(f"{num(float(d['health'][0]))} req/s")
    rows["ratio"].append(f"{statistics.median(ratios):.2f} ({', '.join(f'{r:.2f}' for r in ratios)})")
    rows["sign_ins"].append(f"{num(float(d['sign_ins'][0]))}/s")
    rows["p50"].append(ms(d["p50"][0]))
    rows["p99"].append(ms(d["p99"][0]))
    rows["under"].append(f"{num(float(d['under'][0]))} req/s")
labels = {
    "auth": "GET /api/{user_id}/tasks, authenticated",
    "bare": "same query, no auth (/bench route)",
    "health": "GET /healthz",
    "ratio": "auth / no auth, median (rounds); goal >= 0.80",
    "sign_ins": "sign-ins during the flood (32 clients)",
    "p50": "list p50 under the sign-in flood",
    "p99": "list p99 under the sign-in flood",
    "under": "list throughput under the flood (4 clients)",
}
title = (f"SQLite, 20 tasks, wrk -t2 -c32 for {seconds} s, medians of 3 alternating "
         f"rounds; {cores} cores shared by wrk and the server")
print(f"\n{title}\n")
width = max(map(len, labels.values()))
cols = [max(len(s), *(len(rows[k][i]) for k in rows)) for i, s in enumerate(servers)]
print(" " * width + "".join(f"  {s:>{w}}" for s, w in zip(servers, cols)))
for k, label in labels.items():
    print(f"{label:<{width}}" + "".join(f"  {v:>{w}}" for v, w in zip(rows[k], cols)))
print("\nMarkdown:\n")
print("| request | " + " | ".join(servers) + " |")
print("|---|" + "---:|" * len(servers))
for k, label in labels.items():
    print(f"| {label} | " + " | ".join(rows[k]) + " |")
PY
