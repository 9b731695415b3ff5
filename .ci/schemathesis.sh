#!/usr/bin/env bash
# Fuzzes the running api against its own OpenAPI document with schemathesis,
# on both stores: no 5xx, every response conforming to the documented
# status codes, schemas and content types, and every documented status
# reached (but those .ci/unreachable_statuses.txt lists, with the reason).
#
#   bash .ci/schemathesis.sh [target/debug/booking-api]
#
# Needs Python 3 with venv, and the stores the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
# Cases per operation and phase; the whole run per store is bounded too.
EXAMPLES=${SCHEMATHESIS_EXAMPLES:-300}
TIME_LIMIT=${SCHEMATHESIS_TIME_LIMIT:-600}
BIN=${1:-target/debug/booking-api}
VENV=target/schemathesis-venv
OUT=target/schemathesis

# CPython 3.11.5-3.11.7 can fail inside ast.parse ("AST constructor
# recursion depth mismatch"), which Hypothesis calls: prefer a newer one.
newer_python() {
  local candidate
  for candidate in python3.13 python3.12 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 python3; do
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      echo "$candidate"; return
    fi
  done
  echo python3
}
PYTHON=${SCHEMATHESIS_PYTHON:-$(newer_python)}

[ -x "$BIN" ] || cargo build -p booking-api
if [ ! -x "$VENV/bin/schemathesis" ] || ! "$VENV/bin/schemathesis" --version | grep -q "$SCHEMATHESIS_VERSION"; then
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi
mkdir -p "$OUT"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run_on() {
  local storage=$1 port pid suffix database="" prefix=""
  port=$(free_port)
  suffix=$(python3 -c 'import uuid; print(uuid.uuid4().hex[:12])')
  local env=(APP_ENV=development BOOKING__SERVER__HOST=127.0.0.1 BOOKING__SERVER__PORT="$port"
             BOOKING__SERVER__WORKERS=2 BOOKING__LOG__LEVEL=error BOOKING__STORAGE="$storage"
             # Generated events stay small, so each create is cheap.
             BOOKING__LIMITS__MAX_SEATS_PER_EVENT=1000)
  if [ "$storage" = postgres_redis ]; then
    database="booking_fuzz_$suffix"; prefix="booking-fuzz-$suffix"
    psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE \"$database\""
    env+=(BOOKING__POSTGRES__URL="postgres://postgres@127.0.0.1:5432/$database" BOOKING__REDIS__KEY_PREFIX="$prefix")
  fi
  env "${env[@]}" "$BIN" > "$OUT/$storage.log" 2>&1 &
  pid=$!
  cleanup() {
    kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
    if [ -n "$database" ]; then
      psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" || true
      redis-cli -h 127.0.0.1 --scan --pattern "$prefix:*" | xargs -r -d '\n' -n 500 redis-cli -h 127.0.0.1 del > /dev/null || true
    fi
  }
  trap cleanup RETURN
  for _ in $(seq 1 60); do
    curl -fs "http://127.0.0.1:$port/health/ready" > /dev/null && break
    sleep 0.5
  done
  echo "== schemathesis on $storage (port $port)"
  local status=0
  timeout "$TIME_LIMIT" "$VENV/bin/schemathesis" run "http://127.0.0.1:$port/openapi.json" \
    --checks not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance \
    --max-examples "$EXAMPLES" --seed 42 --workers 2 --no-color \
    --exclude-path '/events/{eventId}/stream' \
    --report har --report-har-path "$OUT/$storage.har" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "schemathesis failed on $storage (exit $status); the server's log: $OUT/$storage.log" >&2
    return "$status"
  fi
  curl -fs "http://127.0.0.1:$port/openapi.json" > "$OUT/openapi.json"
}

run_on memory
run_on postgres_redis
# Both stores serve one contract: a status reached on either counts.
python3 .ci/reached_statuses.py "$OUT/openapi.json" .ci/unreachable_statuses.txt \
  "$OUT/memory.har" "$OUT/postgres_redis.har"
