#!/bin/bash
# The streaming replica of docker/compose.cluster.yml: on first start, a
# pg_basebackup of the primary (-R writes standby.signal and the
# connection to the primary; -S streams through its replication slot);
# then a hot standby that answers read-only queries (postgres.read_url).
set -euo pipefail
export PGPASSWORD="$REPLICATION_PASSWORD"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -h "$PRIMARY_HOST" -p 5432 -q; do
    echo "waiting for the primary at $PRIMARY_HOST"; sleep 1
  done
  rm -rf "${PGDATA:?}"/*
  pg_basebackup -h "$PRIMARY_HOST" -p 5432 -U replicator -D "$PGDATA" \
    -R -X stream -S replica_1 -c fast
  chmod 0700 "$PGDATA"
fi
exec postgres -c hot_standby=on
