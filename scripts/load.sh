#!/usr/bin/env bash
# Load test of both example servers, task-api-axum and task-api-actix, with
# wrk; one Markdown table of their figures, side by side:
#   1. requests/s of the authenticated task list (20 tasks), of the same
#      list authenticated by an API key instead of the JWT, of the same
#      list without auth (the /bench route, served by a build with the
#      bench-routes feature when BENCH_ROUTES=1: the same query, no token
#      check), and of /healthz, in three alternating rounds (medians), with
#      the ratios the goals are stated in (BENCHMARKS.md);
#   2. sign-ins/s while 32 clients sign in non-stop over 32 accounts,
#      against the raw Argon2id verify rate times the hashing permits and
#      against that many raw verifies at once, and
#      the list's latency (p50/p99) meanwhile, read by 4 clients each
#      pausing 10 ms between requests (a probe, not a second load);
#   3. the resident memory (VmRSS) after 1 and after 2, and the peak (VmHWM).
# Only one server is under load at a time, and the servers take turns
# round by round, so that drift on a shared machine hits both alike.
#
#   bash scripts/load.sh [--db sqlite|postgres] [seconds]   # per wrk run; default 10
#
# --db sqlite (the default): each server on a fresh SQLite file in a
# temporary folder, with the examples' default 5 s session cache.
# --db postgres: each server on a fresh database of the PostgreSQL at
# AUTH_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test),
# created and dropped again here, with the session cache off
# (SESSION_CACHE_SECS=0, the multi-instance setting): every authenticated
# request asks the database whether its session is still active.
#
# The raw verify rates are criterion's `cargo bench -p auth-core --bench
# hashing -- raw_verify` (one verify at a time, and one per permit at
# once), run here just before each server's flood: this machine's speed
# drifts by up to a fifth within minutes and by half within hours, so a
# rate measured earlier says little about the flood (this adds about a
# minute per server, and the bench's build on a first run). Needs wrk
# (apt-get install wrk), curl, python3, and psql for --db postgres. Builds
# both servers in release mode; ports PORT and PORT+1 (default 18181 and
# 18182).
set -euo pipefail
cd "$(dirname "$0")/.."
db=sqlite
if [ "${1:-}" = "--db" ]; then db="${2:-}"; shift 2 || true; fi
seconds="${1:-10}"
first_port="${PORT:-18181}"
servers=(task-api-axum task-api-actix)
usage="usage: bash scripts/load.sh [--db sqlite|postgres] [seconds]"
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "$usage" >&2; exit 2; }
[[ "$db" =~ ^(sqlite|postgres)$ ]] || { echo "$usage" >&2; exit 2; }
source scripts/lib/servers.sh
servers_init
pg_url="${AUTH_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
if [ "$db" = postgres ]; then command -v psql >/dev/null || fail "psql is needed for --db postgres"; fi

cargo build --release -q -p task-api-axum -p task-api-actix --features bench-routes
cargo bench -q -p auth-core --bench hashing --no-run

declare -A user_id token api_key
results="$workdir/results" # lines "server metric value", read by python below

# pg_database server: creates a fresh PostgreSQL database for the server
# (dropped on exit) and sets pg_database_url to its URL (pg_url's, with
# the database name replaced; its query string kept).
pg_databases=()
pg_database() {
  local name="load_${1//-/_}"
  psql -q "$pg_url" -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >/dev/null \
    || fail "cannot create the database $name on $pg_url"
  pg_databases+=("$name")
  pg_database_url="$(python3 -c 'import sys, urllib.parse as u
url = u.urlsplit(sys.argv[1])
print(u.urlunsplit(url._replace(path="/" + sys.argv[2])))' "$pg_url" "$name")"
}
drop_pg_databases() {
  local name
  servers_cleanup
  for name in ${pg_databases[@]+"${pg_databases[@]}"}; do
    psql -q "$pg_url" -c "DROP DATABASE IF EXISTS $name" >/dev/null 2>&1 || true
  done
}
trap drop_pg_databases EXIT

# setup server port: starts the server on a fresh database, then creates
# the same data on each: one user with 20 tasks, and 32 accounts for the
# sign-in flood.
setup() {
  local server="$1" signed_up i env=(BENCH_ROUTES=1)
  if [ "$db" = postgres ]; then
    pg_database "$server"
    env+=("DATABASE_URL=$pg_database_url" SESSION_CACHE_SECS=0)
  fi
  start_server "$server" "$2" "${env[@]}"
  signed_up="$(post "$server" /api/auth/sign-up '{"email":"load@example.com","password":"load test password"}')"
  read -r "user_id[$server]" "token[$server]" < <(python3 -c \
    'import json,sys; r=json.load(sys.stdin); print(r["user"]["id"], r["access_token"])' <<<"$signed_up") \
    || fail "$server: unexpected sign-up answer: $signed_up"
  for i in $(seq 1 20); do
    post "$server" "/api/${user_id[$server]}/tasks" \
      "{\"title\":\"task $i\",\"description\":\"load test task number $i\"}" "${token[$server]}" >/dev/null
  done
  read -r "api_key[$server]" < <(post "$server" /api/auth/api-keys '{"name":"load test"}' \
    "${token[$server]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])') \
    || fail "$server: could not make an API key"
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

# memory server label: records VmRSS now as "rss_label", in KiB.
memory() {
  echo "$1 rss_$2 $(awk '$1 == "VmRSS:" {print $2}' "/proc/${pid[$1]}/status")" >>"$results"
}

# raw_verify server: runs the raw verify benches, and records their means
# (ns) as the reference of server's flood, which comes next.
criterion="${CARGO_TARGET_DIR:-target}/criterion/argon2id_owasp"
cpus="$(nproc)" # the hasher's default permits, and the parallel bench's width
raw_verify() {
  local raw parallel
  cargo bench -q -p auth-core --bench hashing -- raw_verify >"$workdir/raw_verify.log" 2>&1 \
    || { cat "$workdir/raw_verify.log" >&2; fail "the raw verify bench failed"; }
  raw="$(mean_ns raw_verify)"
  parallel="$(mean_ns "raw_verify_x${cpus}_in_parallel")"
  printf '%s raw_ns %s\n%s parallel_ns %s\n' "$1" "$raw" "$1" "$parallel" >>"$results"
}
# mean_ns bench: criterion's mean of its run just now, in ns.
mean_ns() {
  local estimates="$criterion/$1/new/estimates.json"
  [ -f "$estimates" ] || fail "no criterion estimate at $estimates"
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["mean"]["point_estimate"])' \
    "$estimates"
}

# flood server: 32 clients sign in non-stop while the paced probe reads
# the list.
flood() {
  local server="$1" flood_pid out
  wrk -t1 -c32 -d"$((seconds + 2))s" -s "$workdir/sign_in.lua" \
    "${base[$server]}/api/auth/sign-in" >"$workdir/$server/sign_in.out" &
  flood_pid=$!
  pids+=("$flood_pid")
  sleep 1
  out="$(wrk -t1 -c4 -d"${seconds}s" --latency -s "$workdir/probe.lua" \
    -H "authorization: Bearer ${token[$server]}" "${base[$server]}/api/${user_id[$server]}/tasks")"
  wait "$flood_pid"
  check "$server" "/api/auth/sign-in" "$(cat "$workdir/$server/sign_in.out")"
  check "$server" "the list under the sign-in flood" "$out"
  {
    echo "$server sign_ins $(awk '/Requests\/sec/ {print $2}' "$workdir/$server/sign_in.out")"
    echo "$server p50 $(awk '$1 == "50%" {print $2}' <<<"$out")"
    echo "$server p99 $(awk '$1 == "99%" {print $2}' <<<"$out")"
  } >>"$results"
}

write_sign_in_lua "$workdir/sign_in.lua"
# wrk waits delay() ms before each request of a connection.
echo 'function delay() return 10 end' >"$workdir/probe.lua"

port="$first_port"
for server in "${servers[@]}"; do
  setup "$server" "$port"
  port=$((port + 1))
done
for server in "${servers[@]}"; do # warm-up
  wrk -t1 -c4 -d2s -H "authorization: Bearer ${token[$server]}" \
    "${base[$server]}/api/${user_id[$server]}/tasks" >/dev/null
  wrk -t1 -c4 -d2s -H "authorization: Bearer ${api_key[$server]}" \
    "${base[$server]}/api/${user_id[$server]}/tasks" >/dev/null
done
# Three rounds, each server in turn: on a shared machine a single pair of
# runs can be 10 % apart by noise alone; the median round is reported.
for round in 1 2 3; do
  for server in "${servers[@]}"; do
    echo "round $round/3: $server" >&2
    rps "$server" auth "/api/${user_id[$server]}/tasks" "authorization: Bearer ${token[$server]}"
    rps "$server" key "/api/${user_id[$server]}/tasks" "authorization: Bearer ${api_key[$server]}"
    rps "$server" bare "/bench/${user_id[$server]}/tasks"
    rps "$server" health /healthz
  done
done
for server in "${servers[@]}"; do memory "$server" rounds; done
for server in "${servers[@]}"; do
  echo "raw verify, then the sign-in flood: $server" >&2
  raw_verify "$server"
  flood "$server"
  memory "$server" flood
  echo "$server hwm $(awk '$1 == "VmHWM:" {print $2}' "/proc/${pid[$server]}/status")" >>"$results"
done

python3 - "$results" "$seconds" "$cpus" "$db" <<'PY'
import re, statistics, sys
path, seconds, cores, db = sys.argv[1:]
data = {}
for line in open(path):
    server, metric, value = line.split()
    data.setdefault(server, {}).setdefault(metric, []).append(value)
servers = list(data)
permits = int(cores)  # the hasher's default: one per CPU

def num(x):  # 12345.6 -> "12 346"
    return f"{x:,.0f}".replace(",", " ")

def ms(wrk_time):  # wrk's "720.00us", "7.78ms", "1.02s" -> "0.72 ms"
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", wrk_time).groups()
    scale = {"us": 1e-3, "ms": 1, "s": 1e3, "m": 6e4}[unit]
    return f"{float(value) * scale:.2f} ms"

def mib(kib):
    return f"{int(kib) / 1024:.0f} MiB"

def median_ratio(over, under):
    ratios = [a / b for a, b in zip(over, under)]
    return f"{statistics.median(ratios):.2f} ({', '.join(f'{r:.2f}' for r in ratios)})"

cache = "session cache off" if db == "postgres" else "session cache 5 s"
rows = {}
for s in servers:
    d = data[s]
    auth, key, bare, health = (
        [float(x) for x in d[k]] for k in ("auth", "key", "bare", "health"))
    sign_ins = float(d["sign_ins"][0])
    raw_rate = 1e9 / float(d["raw_ns"][0])  # one verify at a time
    parallel_rate = permits * 1e9 / float(d["parallel_ns"][0])  # permits at once
    cells = {
        "auth": f"{num(statistics.median(auth))} req/s",
        "key": f"{num(statistics.median(key))} req/s",
        "bare": f"{num(statistics.median(bare))} req/s",
        "health": f"{num(statistics.median(health))} req/s",
        "auth_health": median_ratio(auth, health),
        "auth_bare": median_ratio(auth, bare),
        "key_auth": median_ratio(key, auth),
        "sign_ins": f"{num(sign_ins)}/s",
        "raw": f"{raw_rate:.1f}/s, {parallel_rate:.1f}/s",
        "sign_in_ratio": f"{sign_ins / (raw_rate * permits):.2f}",
        "sign_in_parallel": f"{sign_ins / parallel_rate:.2f}",
        "p50": ms(d["p50"][0]),
        "p99": ms(d["p99"][0]),
        "rss_rounds": mib(d["rss_rounds"][0]),
        "rss_flood": mib(d["rss_flood"][0]),
        "hwm": mib(d["hwm"][0]),
    }
    for k, v in cells.items():
        rows.setdefault(k, []).append(v)
labels = {
    "auth": "GET /api/{user_id}/tasks, authenticated",
    "key": "same list, authenticated by an API key",
    "bare": "same query, no auth (/bench route)",
    "health": "GET /healthz",
    "auth_health": "authenticated / healthz, median (rounds); goal >= 0.65 on SQLite",
    "auth_bare": "authenticated / no auth, median (rounds); goal >= 0.75 on PostgreSQL",
    "key_auth": "API key / JWT, median (rounds); goal >= 0.9",
    "sign_ins": "sign-ins/s under the flood (32 clients, 32 accounts)",
    "raw": f"raw verifies just before: one at a time, {permits} at once",
    "sign_in_ratio": f"sign-ins / (raw verify one at a time x {permits} permits); goal >= 0.9",
    "sign_in_parallel": f"sign-ins / raw verifies {permits} at once",
    "p50": "list p50 under the flood (paced probe)",
    "p99": "list p99 under the flood (paced probe); goal <= 10 ms",
    "rss_rounds": "RSS after the rounds",
    "rss_flood": "RSS after the flood",
    "hwm": "peak RSS (VmHWM)",
}
width = max(len(s) for s in servers)
print(f"\n{db.capitalize() if db == 'sqlite' else 'PostgreSQL'} ({cache}), 20 tasks, wrk -t2 -c32 "
      f"for {seconds} s per run, medians of 3 alternating rounds; {cores} cores shared "
      f"by wrk and the server\n")
print("| | " + " | ".join(servers) + " |")
print("|---|" + "---:|" * len(servers))
for k, label in labels.items():
    print(f"| {label} | " + " | ".join(rows[k]) + " |")
PY
