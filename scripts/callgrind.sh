#!/usr/bin/env bash
# Instructions per access-token operation (HS256) and per sign-in,
# counted by valgrind's callgrind: repeatable on a noisy machine where
# times are not. Runs each case of auth-core's `instructions` bench binary
# (benches/instructions.rs) at two iteration counts, LOW and LOW +
# MEASURED, and divides the difference in instructions by MEASURED, so
# setup (sign-up, keys) cancels out. Prints two Markdown tables of
# instructions per call and the ratio to a floor: per token check against
# a raw `jsonwebtoken::decode` into a hand-written claims struct, and per
# sign-in (HASHES of them, default 4, after 1) against a raw Argon2id
# verify.
#
#   bash scripts/callgrind.sh [measured]
#
# MEASURED defaults to 10000, LOW (env) to 1000, HASHES (env) to 4. Needs
# valgrind (Debian: apt-get install valgrind). Builds the bench binary in
# release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
measured="${1:-10000}"
low="${LOW:-1000}"
hashes="${HASHES:-4}"
cases=(raw_decode authenticate_cache_hit authenticate_stateless)
[[ "$measured" =~ ^[1-9][0-9]*$ && "$low" =~ ^[0-9]+$ && "$hashes" =~ ^[1-9][0-9]*$ ]] \
  || { echo "usage: [LOW=n] [HASHES=n] bash scripts/callgrind.sh [measured]" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is needed: apt-get install valgrind" >&2; exit 1; }

bin="$(cargo bench -q -p auth-core --bench instructions --no-run --message-format=json \
  | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)"
[[ -x "$bin" ]] || { echo "callgrind.sh: no instructions bench binary found" >&2; exit 1; }

# instructions case iterations: total instructions callgrind collected.
instructions() {
  local out count
  out="$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 >/dev/null)" \
    || { printf '%s\n' "$out" >&2; echo "callgrind.sh: $1 failed" >&2; exit 1; }
  count="$(awk '/Collected :/ {print $NF}' <<<"$out")"
  [[ "$count" =~ ^[0-9]+$ ]] || { printf '%s\n' "$out" >&2; echo "callgrind.sh: no count for $1" >&2; exit 1; }
  echo "$count"
}

# table floor low measured case...: one table, each case against the first.
table() {
  local floor_name="$1" low="$2" measured="$3" case small large per_call floor=""
  shift 3
  echo "| case | instructions per call | × $floor_name |"
  echo "|---|---:|---:|"
  for case in "$@"; do
    echo "callgrind.sh: $case" >&2
    small="$(instructions "$case" "$low")"
    large="$(instructions "$case" $((low + measured)))"
    per_call=$(((large - small) / measured))
    floor="${floor:-$per_call}"
    awk -v c="$case" -v n="$per_call" -v f="$floor" 'BEGIN { printf "| %s | %d | %.3f |\n", c, n, n / f }'
  done
}

table raw_decode "$low" "$measured" "${cases[@]}"
echo
# A verify is some 10^8 instructions: a few are plenty.
table raw_verify 1 "$hashes" raw_verify sign_in
