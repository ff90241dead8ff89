#!/usr/bin/env bash
# Memory of both example servers under sign-in load: the resident set
# (VmRSS in /proc/PID/status) of task-api-axum and task-api-actix, each on
# SQLite in a temporary folder with its defaults,
#   1. at start (once /healthz answers),
#   2. after 500 sequential sign-ins of one user,
#   3. after a first and 4. a second flood of 32 connections signing in
#      non-stop for SECONDS (default 15) over 32 accounts,
# plus the peak (VmHWM). Prints a Markdown table and checks the goal:
#   * RSS after the floods <= permits × 20 MiB + 60 MiB, where permits is
#     the hasher's concurrency limit (the default: one per CPU, `nproc`);
#   * no growth between the floods: RSS after the second at most
#     TOLERANCE_MIB (default 4) above RSS after the first.
# Exits 1 when a goal is missed. A benchmark, not a test: run it by hand.
#
#   bash scripts/rss.sh [seconds]
#
# Needs wrk (Debian: apt-get install wrk), curl and python3. Builds both
# servers in release mode; ports PORT and PORT+1 (default 18191, 18192).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-15}"
first_port="${PORT:-18191}"
tolerance_mib="${TOLERANCE_MIB:-4}"
permits="$(nproc)"
servers=(task-api-axum task-api-actix)
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "usage: bash scripts/rss.sh [seconds]" >&2; exit 2; }
source scripts/lib/servers.sh
servers_init

cargo build --release -q -p task-api-axum -p task-api-actix
write_sign_in_lua "$workdir/sign_in.lua"
results="$workdir/results" # lines "server metric KiB", read by python below

# record server metric field: one field of /proc/PID/status (in KiB).
record() {
  local kib
  kib="$(awk -v f="$3:" '$1 == f {print $2}' "/proc/${pid[$1]}/status")"
  echo "$1 $2 $kib" >>"$results"
}

# sequential server count: signs one user in `count` times, one at a time,
# over one keep-alive connection; aborts on any answer but 200.
sequential() {
  python3 - "${base[$1]}" "$2" <<'PY' || fail "$1: sequential sign-ins failed"
import http.client, json, sys, urllib.parse
url, count = urllib.parse.urlsplit(sys.argv[1]), int(sys.argv[2])
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
body = json.dumps({"email": "flood1@example.com", "password": "load test password"})
for i in range(count):
    conn.request("POST", "/api/auth/sign-in", body, {"content-type": "application/json"})
    answer = conn.getresponse()
    answer.read()
    if answer.status != 200:
        sys.exit(f"sign-in {i + 1}: {answer.status}")
PY
}

# flood server n: 32 connections sign in for $seconds.
flood() {
  local out
  out="$(wrk -t1 -c32 -d"${seconds}s" -s "$workdir/sign_in.lua" "${base[$1]}/api/auth/sign-in")"
  check "$1" "/api/auth/sign-in" "$out"
  echo "$1 sign_ins_$2 $(awk '/Requests\/sec/ {print $2}' <<<"$out")" >>"$results"
}

# One server at a time, so that the other's hashing does not slow it down.
port="$first_port"
for server in "${servers[@]}"; do
  echo "$server: start" >&2
  start_server "$server" "$port"
  port=$((port + 1))
  record "$server" start VmRSS
  sign_up_flood_accounts "$server"
  echo "$server: 500 sequential sign-ins" >&2
  sequential "$server" 500
  record "$server" sequential VmRSS
  for n in 1 2; do
    echo "$server: flood $n/2 (${seconds} s)" >&2
    flood "$server" "$n"
    record "$server" "flood$n" VmRSS
  done
  record "$server" peak VmHWM
  kill "${pid[$server]}"
done

python3 - "$results" "$seconds" "$permits" "$tolerance_mib" <<'PY'
import sys
path, seconds, permits, tolerance = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
data = {}
for line in open(path):
    server, metric, value = line.split()
    data.setdefault(server, {})[metric] = float(value)
servers = list(data)
limit = permits * 20 + 60
mib = lambda kib: f"{kib / 1024:.0f} MiB"
rows = [
    ("at start", lambda d: mib(d["start"])),
    ("after 500 sequential sign-ins", lambda d: mib(d["sequential"])),
    (f"after flood 1 ({seconds} s, 32 connections)", lambda d: mib(d["flood1"])),
    (f"after flood 2 ({seconds} s, 32 connections)", lambda d: mib(d["flood2"])),
    ("peak (VmHWM)", lambda d: mib(d["peak"])),
    ("sign-ins/s, flood 1 / flood 2", lambda d: f"{d['sign_ins_1']:.0f} / {d['sign_ins_2']:.0f}"),
]
failed = []
def goal(d, server):
    after = max(d["flood1"], d["flood2"]) / 1024
    growth = (d["flood2"] - d["flood1"]) / 1024
    ok = after <= limit and growth <= tolerance
    if not ok:
        failed.append(server)
    return f"{'met' if ok else 'MISSED'} ({after:.0f} MiB, {growth:+.0f} MiB)"
rows.append((f"goal: <= {limit} MiB, growth <= {tolerance:g} MiB", None))
print(f"\nVmRSS, SQLite, defaults ({permits} hashing permits); wrk -t1 -c32\n")
print("| | " + " | ".join(servers) + " |")
print("|---|" + "---:|" * len(servers))
for label, cell in rows:
    cells = [cell(data[s]) if cell else goal(data[s], s) for s in servers]
    print(f"| {label} | " + " | ".join(cells) + " |")
if failed:
    sys.exit(f"\nrss.sh: goal missed by {', '.join(failed)}")
PY
