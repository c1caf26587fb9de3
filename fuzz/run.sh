#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) on two lanes; logs in fuzz/logs/.
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
set -u
cd "$(dirname "$0")/.."
secs=${1:-600}
lane() {
  for t in "$@"; do
    cargo +nightly fuzz run "$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 > "fuzz/logs/$t.log" 2>&1
    echo "$t exit=$?" >> fuzz/logs/summary.txt
  done
}
: > fuzz/logs/summary.txt
lane jwk pem did badge pasted &
lane agent_card registry_reply env_value &
wait
