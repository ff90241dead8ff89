#!/usr/bin/env bash
# Faults under a write load, for both example servers (task-api-axum and
# task-api-actix), with a figures table at the end:
#
#   postgres  Both servers on one PostgreSQL database (a fresh schema each)
#             take task POSTs from 8 clients each; PostgreSQL is stopped
#             for DOWN_SECS (default 3) and started again. Expected: 503s
#             (problem+json with Retry-After) while it is down, 201s again
#             afterwards without restarting the servers, and every task
#             acknowledged with a 201 is in the database.
#   sqlite    Each server on its own SQLite file takes task POSTs from 8
#             clients; it is killed with SIGKILL and started again on the
#             same file. Expected: every task acknowledged with a 201 is
#             in the file.
#
#   bash scripts/faults.sh [postgres|sqlite|all]      # default all
#
# Environment: LOAD_SECS (default 12; the fault comes after a third of it),
# DOWN_SECS (default 3), PG_CLUSTER (default: the one cluster under
# /etc/postgresql, as "VERSION NAME"), AUTH_TEST_POSTGRES_URL (default
# postgres://postgres@127.0.0.1:5432/test), PORT (default 18281; uses
# PORT..PORT+3).
#
# The postgres part stops the machine's PostgreSQL (as root, through
# pg_ctlcluster): anything else using it fails for those seconds. It makes
# sure PostgreSQL runs again on exit. Needs curl, python3, psql, sqlite3.
# Not in .ci/run for that reason.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-all}"
case "$mode" in postgres|sqlite|all) ;; *) echo "usage: bash scripts/faults.sh [postgres|sqlite|all]" >&2; exit 2 ;; esac
load_secs="${LOAD_SECS:-12}"
down_secs="${DOWN_SECS:-3}"
pg_url="${AUTH_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
first_port="${PORT:-18281}"
servers=(task-api-axum task-api-actix)
for tool in curl python3 sqlite3; do
  command -v "$tool" >/dev/null || { echo "faults.sh: $tool is needed" >&2; exit 1; }
done
if [ "$mode" != sqlite ]; then
  for tool in psql pg_ctlcluster pg_isready; do
    command -v "$tool" >/dev/null || { echo "faults.sh: $tool is needed for the postgres part" >&2; exit 1; }
  done
  if [ -z "${PG_CLUSTER:-}" ]; then
    version="$(ls /etc/postgresql | head -1)"
    PG_CLUSTER="$version $(ls "/etc/postgresql/$version" | head -1)"
  fi
fi

cargo build --release -q -p task-api-axum -p task-api-actix
bin_dir="${CARGO_TARGET_DIR:-target}/release"

workdir="$(mktemp -d)"
pids=()    # everything started in the background, killed on exit
loads=()   # the load clients of the current part
declare -A pid_of # server processes by name
schemas=()
pg_stopped=0
cleanup() {
  local p s
  for p in ${pids[@]+"${pids[@]}"}; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$pg_stopped" = 1 ] || { [ "$mode" != sqlite ] && ! pg_isready -q -h 127.0.0.1; }; then
    # shellcheck disable=SC2086
    pg_ctlcluster --skip-systemctl-redirect $PG_CLUSTER start 2>/dev/null || true
  fi
  for s in ${schemas[@]+"${schemas[@]}"}; do
    psql -q "$pg_url" -c "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1 || true
  done
  rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() { echo "faults.sh: $*" >&2; exit 1; }
secret="faults-secret-faults-secret-0123456789abcdef"

# start name server port url: starts a server, waits for /healthz.
start() {
  local name="$1" server="$2" port="$3" url="$4" i
  BIND_ADDRESS="127.0.0.1:$port" DATABASE_URL="$url" JWT_SECRET="$secret" \
  SIGN_IN_MAX_FAILURES=0 CLIENT_LIMIT_REQUESTS=0 RUST_LOG=warn "$bin_dir/$server" >>"$workdir/$name.log" 2>&1 &
  pid_of[$name]=$!
  pids+=("$!")
  for i in $(seq 1 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && return 0
    kill -0 "$!" 2>/dev/null || { cat "$workdir/$name.log" >&2; fail "$name exited at start"; }
    sleep 0.1
  done
  cat "$workdir/$name.log" >&2; fail "$name did not answer /healthz"
}

# sign_up port: prints "USER_ID ACCESS_TOKEN" of a new user.
sign_up() {
  curl -sf -X POST "http://127.0.0.1:$1/api/auth/sign-up" -H 'content-type: application/json' \
    -d "{\"email\":\"faults$RANDOM$RANDOM@example.com\",\"password\":\"fault probe password\"}" |
    python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["user"]["id"], r["access_token"])'
}

# The load client: CLIENTS threads POST tasks for SECS seconds; writes the
# ids acknowledged with a 201 to ACKED, and a JSON summary to SUMMARY. The
# fault's start time (epoch seconds) is read from FAULT_AT once it exists.
cat >"$workdir/load.py" <<'EOF'
import http.client, json, os, sys, threading, time
port, user, token, secs, acked_path, summary_path, fault_path = sys.argv[1:8]
clients = 8
deadline = time.time() + float(secs)
lock = threading.Lock()
s = {"attempted": 0, "acknowledged": 0, "status": {}, "connection_errors": 0,
     "503_without_problem_or_retry_after": 0, "ok_times": [], "bad_times": []}
acked = []
def worker(n):
    conn = None
    i = 0
    while time.time() < deadline:
        i += 1
        body = json.dumps({"title": f"fault probe {n}-{i}"})
        t = time.time()
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
            conn.request("POST", f"/api/{user}/tasks", body,
                         {"content-type": "application/json", "authorization": f"Bearer {token}"})
            r = conn.getresponse()
            data = r.read()
            status = r.status
        except Exception:
            with lock:
                s["attempted"] += 1
                s["connection_errors"] += 1
                s["bad_times"].append(t)
            conn = None
            time.sleep(0.05)
            continue
        with lock:
            s["attempted"] += 1
            s["status"][str(status)] = s["status"].get(str(status), 0) + 1
            if status == 201:
                s["acknowledged"] += 1
                acked.append(json.loads(data)["id"])
                s["ok_times"].append(time.time())
            else:
                s["bad_times"].append(t)
                if status == 503:
                    ok = (r.getheader("content-type", "").startswith("application/problem+json")
                          and r.getheader("retry-after") is not None
                          and json.loads(data).get("status") == 503)
                    if not ok:
                        s["503_without_problem_or_retry_after"] += 1
        if status != 201:
            time.sleep(0.05)
threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
for t in threads: t.start()
for t in threads: t.join()
fault_at = float(open(fault_path).read()) if os.path.exists(fault_path) else None
ok_after = [t for t in s["ok_times"] if fault_at is not None and t > fault_at]
bad_after = [t for t in s["bad_times"] if fault_at is not None and t >= fault_at - 0.5]
# Recovery: from the fault to the first 201 after the last failed request.
last_bad = max(bad_after) if bad_after else None
first_ok = min([t for t in ok_after if last_bad is None or t > last_bad], default=None)
s["recovery_secs"] = round(first_ok - fault_at, 2) if fault_at and first_ok else None
s["failed_from"] = round(min(bad_after) - fault_at, 2) if bad_after else None
del s["ok_times"], s["bad_times"]
with open(acked_path, "w") as f:
    f.write("\n".join(str(i) for i in acked) + ("\n" if acked else ""))
with open(summary_path, "w") as f:
    json.dump(s, f)
EOF

# lost acked_file stored_file: ids acknowledged but not stored.
lost() { comm -23 <(sort -n "$1" | uniq) <(sort -n "$2" | uniq) | wc -l; }

results="$workdir/results" # one JSON per line, read by the table below

postgres_part() {
  local i=0 server name port schema user token
  declare -A ports schema_of
  for server in "${servers[@]}"; do
    name="pg-$server"; port=$((first_port + i)); i=$((i + 1))
    schema="faults_$(date +%s)_${i}_$$"
    psql -q "$pg_url" -c "CREATE SCHEMA $schema" >/dev/null
    schemas+=("$schema")
    start "$name" "$server" "$port" "$pg_url?options=-c%20search_path%3D$schema"
    ports[$server]=$port; schema_of[$server]=$schema
  done
  for server in "${servers[@]}"; do
    read -r user token < <(sign_up "${ports[$server]}")
    python3 "$workdir/load.py" "${ports[$server]}" "$user" "$token" "$load_secs" \
      "$workdir/pg-$server.acked" "$workdir/pg-$server.json" "$workdir/pg.fault" &
    pids+=("$!"); loads+=("$!")
  done
  sleep "$(python3 -c "print($load_secs / 3)")"
  echo "postgres: stopping PostgreSQL ($PG_CLUSTER) for ${down_secs}s under load" >&2
  python3 -c 'import time; print(time.time())' >"$workdir/pg.fault"
  pg_stopped=1
  # shellcheck disable=SC2086
  pg_ctlcluster --skip-systemctl-redirect $PG_CLUSTER stop -m fast
  sleep "$down_secs"
  # shellcheck disable=SC2086
  pg_ctlcluster --skip-systemctl-redirect $PG_CLUSTER start
  pg_stopped=0
  pg_isready -q -h 127.0.0.1 -t 30 || fail "PostgreSQL did not come back"
  echo "postgres: PostgreSQL is back" >&2
  wait_loads
  for server in "${servers[@]}"; do
    psql -At "$pg_url" -c "SELECT id FROM ${schema_of[$server]}.tasks" >"$workdir/pg-$server.stored"
    # The same server answers after the outage, without a restart.
    read -r user token < <(sign_up "${ports[$server]}") || fail "$server: no sign-up after the outage"
    record "postgres restart" "$server" "pg-$server"
  done
}

wait_loads() {
  local p
  for p in "${loads[@]}"; do wait "$p" || fail "a load client failed"; done
  loads=()
}

sqlite_part() {
  local i=2 server name port dir user token
  declare -A ports dir_of
  for server in "${servers[@]}"; do
    name="sqlite-$server"; port=$((first_port + i)); i=$((i + 1))
    dir="$workdir/$name"; mkdir "$dir"
    start "$name" "$server" "$port" "sqlite://$dir/tasks.db"
    ports[$server]=$port; dir_of[$server]=$dir
  done
  for server in "${servers[@]}"; do
    read -r user token < <(sign_up "${ports[$server]}")
    python3 "$workdir/load.py" "${ports[$server]}" "$user" "$token" "$load_secs" \
      "$workdir/sqlite-$server.acked" "$workdir/sqlite-$server.json" "$workdir/sqlite.fault" &
    pids+=("$!"); loads+=("$!")
  done
  sleep "$(python3 -c "print($load_secs / 3)")"
  echo "sqlite: kill -9 of both servers under load, then a restart on the same files" >&2
  python3 -c 'import time; print(time.time())' >"$workdir/sqlite.fault"
  for server in "${servers[@]}"; do kill -9 "${pid_of[sqlite-$server]}"; done
  for server in "${servers[@]}"; do
    start "sqlite-$server" "$server" "${ports[$server]}" "sqlite://${dir_of[$server]}/tasks.db"
  done
  wait_loads
  for server in "${servers[@]}"; do
    sqlite3 "${dir_of[$server]}/tasks.db" "SELECT id FROM tasks" >"$workdir/sqlite-$server.stored"
    record "sqlite kill -9" "$server" "sqlite-$server"
  done
}

# record fault server prefix: one line of figures.
record() {
  local lost_count
  lost_count="$(lost "$workdir/$3.acked" "$workdir/$3.stored")"
  python3 - "$1" "$2" "$workdir/$3.json" "$lost_count" "$(sort -u "$workdir/$3.stored" | wc -l)" >>"$results" <<'EOF'
import json, sys
fault, server, path, lost, stored = sys.argv[1:6]
s = json.load(open(path))
s.update(fault=fault, server=server, lost=int(lost), stored=int(stored))
print(json.dumps(s))
EOF
}

[ "$mode" = sqlite ] || postgres_part
[ "$mode" = postgres ] || sqlite_part

python3 - "$results" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
head = ["fault", "server", "attempted", "201", "lost", "503", "503 w/o problem+Retry-After",
        "conn. errors", "other", "recovery s"]
def other(r):
    return sum(v for k, v in r["status"].items() if k not in ("201", "503"))
lines = [head] + [[r["fault"], r["server"], r["attempted"], r["acknowledged"], r["lost"],
          r["status"].get("503", 0), r["503_without_problem_or_retry_after"],
          r["connection_errors"], other(r),
          "-" if r["recovery_secs"] is None else r["recovery_secs"]] for r in rows]
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for l in lines[1:]:
    print("| " + " | ".join(str(c) for c in l) + " |")
bad = [r for r in rows if r["lost"] or r["503_without_problem_or_retry_after"] or other(r)
       or r["acknowledged"] == 0 or r["recovery_secs"] is None]
if bad:
    print("FAILED: " + ", ".join(f'{r["fault"]}/{r["server"]}' for r in bad), file=sys.stderr)
    sys.exit(1)
print("ok: every acknowledged write survived; all 503s were problem+json with Retry-After")
EOF
