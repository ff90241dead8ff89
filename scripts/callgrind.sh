#!/usr/bin/env bash
# Instructions per access-token operation (HS256), counted by valgrind's
# callgrind: repeatable on a noisy machine where times are not. Runs each
# case of auth-core's `instructions` bench binary (benches/instructions.rs)
# at two iteration counts, LOW and LOW + MEASURED, and divides the
# difference in instructions by MEASURED, so setup (sign-up, keys) cancels
# out. Prints a Markdown table: instructions per call and the ratio to the
# floor, a raw `jsonwebtoken::decode` into a hand-written claims struct.
#
#   bash scripts/callgrind.sh [measured]
#
# MEASURED defaults to 10000, LOW (env) to 1000. Needs valgrind (Debian:
# apt-get install valgrind). Builds the bench binary in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
measured="${1:-10000}"
low="${LOW:-1000}"
cases=(raw_decode authenticate_cache_hit authenticate_stateless)
[[ "$measured" =~ ^[1-9][0-9]*$ && "$low" =~ ^[0-9]+$ ]] \
  || { echo "usage: bash scripts/callgrind.sh [measured]" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is needed: apt-get install valgrind" >&2; exit 1; }

bin="$(cargo bench -q -p auth-core --bench instructions --no-run --message-format=json \
  | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)"
[[ -x "$bin" ]] || { echo "callgrind.sh: no instructions bench binary found" >&2; exit 1; }

# instructions case iterations: total instructions callgrind collected.
instructions() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 >/dev/null \
    | awk '/Collected :/ {print $NF}'
}

echo "| case | instructions per call | × raw_decode |"
echo "|---|---:|---:|"
floor=""
for case in "${cases[@]}"; do
  echo "callgrind.sh: $case" >&2
  small="$(instructions "$case" "$low")"
  large="$(instructions "$case" $((low + measured)))"
  per_call=$(((large - small) / measured))
  floor="${floor:-$per_call}"
  awk -v c="$case" -v n="$per_call" -v f="$floor" 'BEGIN { printf "| %s | %d | %.2f |\n", c, n, n / f }'
done
