# Shared by scripts/load.sh and scripts/rss.sh (source it, do not run it):
# a temporary folder cleaned up on exit, the example servers started on
# SQLite in it, JSON posts, and the sign-in flood's accounts and wrk script.
#
# After `servers_init`, the caller has: $workdir, $bin_dir, the associative
# arrays base (URL) and pid (process id) keyed by server name, and the list
# pids of everything to kill on exit (append background jobs to it).

# fail message...: prints to stderr and exits (the EXIT trap cleans up).
fail() { echo "${0##*/}: $*" >&2; exit 1; }

# servers_init: checks the tools, makes the temporary folder, sets the traps.
servers_init() {
  command -v wrk >/dev/null || fail "wrk is needed: apt-get install wrk"
  local tool
  for tool in curl python3; do
    command -v "$tool" >/dev/null || fail "$tool is needed"
  done
  bin_dir="${CARGO_TARGET_DIR:-target}/release"
  workdir="$(mktemp -d)"
  pids=()
  declare -gA base pid
  trap servers_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

servers_cleanup() {
  local p
  for p in ${pids[@]+"${pids[@]}"}; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$workdir"
}

# start_server server port [NAME=value...]: starts $bin_dir/server on a fresh
# SQLite file in $workdir/server (with the extra environment given), and
# waits until it answers /healthz.
start_server() {
  local server="$1" port="$2" dir="$workdir/$1" i
  shift 2
  base[$server]="http://127.0.0.1:$port"
  mkdir "$dir"
  if curl -s -o /dev/null "${base[$server]}/healthz"; then fail "port $port is already in use"; fi
  # `env` execs the server, so $! is the server's own process id. Every
  # client here is 127.0.0.1, so the per-client limit is off.
  env BIND_ADDRESS="127.0.0.1:$port" DATABASE_URL="sqlite://$dir/tasks.db" \
    JWT_SECRET="load-test-secret-load-test-secret-0123456789" CLIENT_LIMIT_REQUESTS=0 \
    RUST_LOG=warn "$@" \
    "$bin_dir/$server" >"$dir/server.log" 2>&1 &
  pid[$server]=$!
  pids+=("${pid[$server]}")
  for i in $(seq 1 100); do
    curl -sf -o /dev/null "${base[$server]}/healthz" && return 0
    if ! kill -0 "${pid[$server]}" 2>/dev/null || [ "$i" -eq 100 ]; then
      cat "$dir/server.log" >&2; fail "$server did not answer /healthz"
    fi
    sleep 0.1
  done
}

# post server path body [token]: POST JSON, aborting on a non-2xx answer;
# prints the answer's body.
post() {
  local auth=()
  if [ -n "${4:-}" ]; then auth=(-H "authorization: Bearer $4"); fi
  curl -sf -X POST "${base[$1]}$2" -H 'content-type: application/json' \
    ${auth[@]+"${auth[@]}"} -d "$3" || fail "$1: POST $2 failed"
}

# sign_up_flood_accounts server: the 32 accounts the sign-in flood uses.
# The flood picks one at random per request (one account under 32
# concurrent sign-ins would meet the sign-in throttle, which counts
# attempts in flight).
sign_up_flood_accounts() {
  local i
  for i in $(seq 1 32); do
    post "$1" /api/auth/sign-up \
      "{\"email\":\"flood$i@example.com\",\"password\":\"load test password\"}" >/dev/null
  done
}

# write_sign_in_lua path: wrk's script for the sign-in flood.
write_sign_in_lua() {
  cat >"$1" <<'LUA'
request = function()
  local body = string.format('{"email":"flood%d@example.com","password":"load test password"}', math.random(1, 32))
  return wrk.format("POST", nil, {["content-type"] = "application/json"}, body)
end
LUA
}

# check server what output: aborts on non-2xx answers in wrk's output or a
# dead server.
check() {
  if grep -q 'Non-2xx' <<<"$3"; then fail "$1: non-2xx answers from $2:"$'\n'"$3"; fi
  kill -0 "${pid[$1]}" 2>/dev/null || fail "$1 exited; its log: $workdir/$1/server.log"
}
