#!/bin/bash
# Instructions Redis spends per one-seat hold under scenario (b), counted
# by callgrind (docs/PERFORMANCE.md, "eleventh session"). Exact and
# repeatable where CPU time on a shared machine is not.
#
#   crates/bench/scripts/callgrind-redis.sh API_BIN [OUT] [PORT] [FROM]
#
# Starts redis-server under callgrind on PORT (default 6391), drives it
# with the bench against API_BIN, zeroes the counters once the event's
# holds hash has FROM entries (default 3,000: the hashes are past their
# small listpack form, whose searches would depend on when counting
# began), counts 3 s, waits for the bench to end, and prints the
# instructions per hold. Needs
# valgrind, a generator build (cargo build --profile generator -p
# booking-bench), Postgres and redis-cli.
set -euo pipefail
BIN=$1
OUT=${2:-/tmp/callgrind-redis.out}
PORT=${3:-6391}
FROM=${4:-3000}
BENCH=$(dirname "$0")/../../../target/generator/bench
DIR=$(mktemp -d)
rm -f "$OUT" "$OUT".*

valgrind --tool=callgrind --callgrind-out-file="$OUT" redis-server --port "$PORT" \
  --save '' --appendonly no --dir "$DIR" > "$DIR/valgrind.log" 2>&1 &
REDIS=$!
cleanup() {
  kill "${LOAD:-}" 2> /dev/null || true
  redis-cli -p "$PORT" shutdown nosave > /dev/null 2>&1 || kill "$REDIS" 2> /dev/null || true
  wait 2> /dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
for _ in $(seq 120); do redis-cli -p "$PORT" ping > /dev/null 2>&1 && break; sleep 0.5; done

"$BENCH" --server-bin "$BIN" --runs 1 --connections 64 --scenarios b --seconds 20 \
  --redis-url "redis://127.0.0.1:$PORT/" > "$DIR/bench.log" 2>&1 &
LOAD=$!

holds() {
  local total=0 key
  for key in $(redis-cli -p "$PORT" --scan --pattern '*:holds'); do
    total=$((total + $(redis-cli -p "$PORT" hlen "$key")))
  done
  echo "$total"
}
for _ in $(seq 600); do [ "$(holds)" -ge "$FROM" ] && break; sleep 0.25; done
callgrind_control -z "$REDIS" > /dev/null 2>&1
before=$(holds)
sleep 3
after=$(holds)
callgrind_control -d "$REDIS" > /dev/null 2>&1
# Counting stops here, so the bench's references and ceilings run at
# valgrind's plain speed; it then stops its api and drops its database.
callgrind_control -i off "$REDIS" > /dev/null 2>&1
wait "$LOAD" || echo "the bench failed: see $DIR/bench.log" >&2
LOAD=
held=$((after - before))
[ "$held" -gt 0 ] || { echo "no holds counted: see $DIR/bench.log" >&2; exit 1; }
total=$(callgrind_annotate "$OUT.1" 2> /dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
echo "holds counted: $held ($before -> $after)"
echo "instructions: $total, per hold: $((total / held))"
echo "profile: $OUT.1 (callgrind_annotate it)"
