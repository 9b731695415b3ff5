#!/bin/bash
# Runs once, when the primary's data directory is first initialised
# (/docker-entrypoint-initdb.d): a role for the streaming replica, a
# physical replication slot so the primary keeps the WAL the replica has
# not received yet, and a pg_hba.conf line that lets the replica in.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '${REPLICATION_PASSWORD}';
SELECT pg_create_physical_replication_slot('replica_1');
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
