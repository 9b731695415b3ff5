#!/bin/sh
# Forms the Redis Cluster of docker/compose.cluster.yml once: 3 masters
# with a replica each, from the six nodes in $NODES (host:port ...).
# Idempotent: a cluster already formed is left alone.
set -eu
NODES=${NODES:?"NODES: the cluster's nodes, host:port separated by spaces"}
first=${NODES%% *}

for node in $NODES; do
  host=${node%:*}; port=${node##*:}
  until redis-cli -h "$host" -p "$port" ping 2>/dev/null | grep -q PONG; do
    echo "waiting for $node"; sleep 1
  done
done

if redis-cli -h "${first%:*}" -p "${first##*:}" cluster info | grep -q '^cluster_state:ok'; then
  echo "the cluster is already formed"
  exit 0
fi

# CLUSTER MEET wants addresses, not names: resolve each node.
addresses=""
for node in $NODES; do
  host=${node%:*}; port=${node##*:}
  ip=$(getent hosts "$host" | awk '{ print $1; exit }')
  addresses="$addresses ${ip:?cannot resolve $host}:$port"
done
echo "creating the cluster on$addresses"
# shellcheck disable=SC2086 # one word per node
redis-cli --cluster create $addresses --cluster-replicas 1 --cluster-yes

until redis-cli -h "${first%:*}" -p "${first##*:}" cluster info | grep -q '^cluster_state:ok'; do
  echo "waiting for cluster_state:ok"; sleep 1
done
echo "the cluster is up"
