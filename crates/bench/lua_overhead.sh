#!/usr/bin/env bash
# What a Lua script costs Redis before it does any work: server CPU per
# call of SET against EVALSHA of `return 1` (no keys, then the 12 keys every
# event script is given), then with the calls every mirror-gated script
# makes first (TIME; the meta HMGET; LASTSAVE for the fence) and one
# GETRANGE of the seat state. A private redis-server on a free port,
# redis-benchmark at 64 connections, three rounds.
#
#   bash crates/bench/lua_overhead.sh        (N=300000 calls per case)
set -euo pipefail
N=${N:-300000}
DIR=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
  --dir "$DIR" --logfile "$DIR/redis.log" --pidfile "$DIR/redis.pid"
trap 'redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
for _ in $(seq 1 50); do [ -s "$DIR/redis.pid" ] && redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
PID=$(cat "$DIR/redis.pid")
TICKS=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }

KEYS='{e}:1 {e}:2 {e}:3 {e}:4 {e}:5 {e}:6 {e}:7 {e}:8 {e}:9 {e}:10 {e}:11 {e}:12'
redis-cli -p "$PORT" hset '{e}:1' st ready rid x ls 1 sec 2 due 99999999999999 w 1 >/dev/null
head -c 100000 /dev/zero | tr '\0' 0 | redis-cli -p "$PORT" -x set '{e}:2' >/dev/null
load() { redis-cli -p "$PORT" script load "$1"; }
NOTHING=$(load "return 1")
CLOCK=$(load "redis.call('TIME') return 1")
META=$(load "redis.call('TIME') redis.call('HMGET', KEYS[1], 'st', 'rid', 'ls', 'sec', 'due', 'w') redis.call('LASTSAVE') return 1")
SEAT=$(load "redis.call('TIME') redis.call('HMGET', KEYS[1], 'st', 'rid', 'ls', 'sec', 'due', 'w') redis.call('LASTSAVE') redis.call('GETRANGE', KEYS[2], 5, 5) return 1")

measure() {
  local name=$1 before after
  shift
  before=$(cpu)
  redis-benchmark -p "$PORT" -c 64 -n "$N" -q "$@" >/dev/null 2>&1
  after=$(cpu)
  python3 - "$name" "$before" "$after" "$TICKS" "$N" <<'PY'
import sys
name, before, after, ticks, n = sys.argv[1], *map(float, sys.argv[2:])
print(f"{name:<50} {(after - before) / ticks * 1e6 / n:6.2f} us of Redis CPU per call")
PY
}
for round in 1 2 3; do
  echo "round $round"
  measure "SET" SET k v
  measure "EVALSHA return 1, no keys" EVALSHA "$NOTHING" 0
  measure "EVALSHA return 1, 12 keys" EVALSHA "$NOTHING" 12 $KEYS
  measure "+ TIME" EVALSHA "$CLOCK" 12 $KEYS
  measure "+ meta HMGET + LASTSAVE (the fence's fast path)" EVALSHA "$META" 12 $KEYS
  measure "+ GETRANGE of one seat" EVALSHA "$SEAT" 12 $KEYS
done
