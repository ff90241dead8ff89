#!/usr/bin/env bash
# Checks Cargo.lock against the RustSec advisory database with cargo-deny,
# offline, under deny.toml's [advisories]: a vulnerability, an unmaintained
# crate or a yanked version fails the run. Used by .ci/run; locally:
#
#   bash scripts/advisories.sh                  # ../shared/advisory-db
#   bash scripts/advisories.sh path/to/advisory-db
#
# The database is a snapshot of github.com/rustsec/advisory-db, plain files
# (read-only, no git history). cargo-deny reads a database only as a clone
# at <db-path>/advisory-db-<hash of its URL>/ whose age is .git/FETCH_HEAD's
# time, so the snapshot is copied to target/advisory-dbs/ (deny.toml's
# db-path), FETCH_HEAD dated as the snapshot: deny.toml's
# maximum-db-staleness then judges its real age. Without a snapshot, the
# database is fetched if GitHub answers; if not, this says so ("advisories
# NOT checked") and exits 0. Installs the pinned cargo-deny when missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
snapshot="${1:-$root/../shared/advisory-db}"
[ -d "$snapshot" ] && snapshot="$(cd "$snapshot" && pwd)"
cd "$root"

# Pinned, so that a new release's config changes cannot break CI. Built
# without LTO and with parallel codegen: about a quarter of the CPU time of
# cargo-deny's own release profile, for a tool that runs for seconds.
cargo_deny_version=0.20.2
if [ "$(cargo deny --version 2>/dev/null)" != "cargo-deny $cargo_deny_version" ]; then
  echo "installing cargo-deny $cargo_deny_version"
  CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install --locked cargo-deny --version "$cargo_deny_version"
fi

# cargo-deny 0.20.2's folder for the default database URL. If a new
# version names it otherwise, the check below fails on the missing
# FETCH_HEAD rather than passing.
db="target/advisory-dbs/advisory-db-3157b0e258782691"
rm -rf "$db"

if [ -d "$snapshot/crates" ]; then
  # The snapshot's date is in SNAPSHOT.txt; failing that, its newest advisory's.
  date="$(grep -m1 -oE '[0-9]{4}-[0-9]{2}-[0-9]{2}' "$snapshot/SNAPSHOT.txt" 2>/dev/null || true)"
  if [ -z "$date" ]; then
    date="$(grep -rhoE '^date = "[0-9-]{10}"' "$snapshot/crates" | sort | tail -1 | grep -oE '[0-9-]{10}')"
  fi
  mkdir -p "$db/.git"
  cp -R "$snapshot/crates" "$db/"
  echo "a copy of $snapshot, not a clone" >"$db/.git/FETCH_HEAD"
  touch -d "$date" "$db/.git/FETCH_HEAD"
  age=$((($(date +%s) - $(date -d "$date" +%s)) / 86400))
  echo "advisory database: $snapshot, $(find "$db/crates" -name '*.md' | wc -l) advisories, of $date ($age days old)"
  if [ "$age" -gt 90 ]; then
    echo "warning: the snapshot is $age days old; advisories published since are not checked"
  fi
elif ! fetched=$(cargo deny fetch db 2>&1); then
  echo "advisories NOT checked: no database at $snapshot, and it could not be fetched:" \
    "$(printf '%s\n' "$fetched" | grep -m1 -iE 'fatal|error' || echo 'no reason given')"
  exit 0
else
  echo "advisory database: fetched from github.com/rustsec/advisory-db (no $snapshot)"
fi

# --offline reads the database as it is; it also keeps cargo metadata off
# the network, so the crates it needs are downloaded first.
cargo metadata --locked --format-version 1 --all-features >/dev/null
cargo deny --offline --locked check advisories
