#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ for a bounded time each.
#
#   bash scripts/fuzz.sh                       # every target, 20 s each (CI: 15 s)
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh token headers
#
# Needs cargo-fuzz (installed here when missing) and a C++ compiler (for
# libFuzzer). Uses the nightly toolchain when there is one, else the stable
# one (enough without a sanitizer). A crash fails the run: the reproducer is in
# fuzz/artifacts/<target>/, and `cargo +nightly fuzz run -s none <target> <file>`
# replays it.
#
# Sanitizer: none by default (FUZZ_SANITIZER=address to change it). Every
# crate fuzzed here forbids unsafe code, so AddressSanitizer would mostly
# slow the runs; the targets check behaviour instead (a clear 4xx for bad
# input, never a panic or a 5xx; what verifies is valid). Debug assertions
# and overflow checks are on.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${FUZZ_SECONDS:-20}"
sanitizer="${FUZZ_SANITIZER:-none}"
cargo_fuzz_version=0.13.2

if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $cargo_fuzz_version" ]; then
  echo "installing cargo-fuzz $cargo_fuzz_version"
  cargo install --locked cargo-fuzz --version "$cargo_fuzz_version"
fi

# Nightly when there is one. Without a sanitizer, cargo-fuzz passes only
# stable `-C` flags, so the stable toolchain builds the targets as well;
# a sanitizer needs `-Z` flags, hence RUSTC_BOOTSTRAP=1 on stable.
if rustup run nightly rustc --version >/dev/null 2>&1; then
  fuzz=(cargo +nightly fuzz)
  rustup run nightly rustc --version
else
  echo "no nightly toolchain: building the fuzz targets with the stable one"
  fuzz=(cargo fuzz)
  if [ "$sanitizer" != none ]; then
    export RUSTC_BOOTSTRAP=1
  fi
fi

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <("${fuzz[@]}" list)
fi

flags=(--sanitizer "$sanitizer" --debug-assertions)
"${fuzz[@]}" build "${flags[@]}"

for target in "${targets[@]}"; do
  case "$target" in
    token | headers) dict=dict/token.dict ;;
    *) dict=dict/json.dict ;;
  esac
  mkdir -p "corpus/$target"
  echo "== fuzz $target for ${seconds}s"
  # New inputs go to corpus/ (not committed); seeds/ is read only.
  log="target/fuzz-$target.log"
  mkdir -p target
  status=0
  "${fuzz[@]}" run "${flags[@]}" "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -dict="$dict" -max_len=4096 -timeout=10 \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb)' "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$log" >&2
    echo "fuzz target $target failed (exit $status); the reproducer is in fuzz/artifacts/$target/" >&2
    exit "$status"
  fi
done
echo "fuzzing: ${#targets[@]} targets, ${seconds}s each, no crash"
