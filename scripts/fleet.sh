#!/bin/sh
# `make fleet`: a throwaway PostgreSQL and three permd replicas on it (README: Run a fleet).
# PostgreSQL runs from a temporary folder (initdb, as the `postgres` user when run as root,
# since PostgreSQL refuses root), on 127.0.0.1 and a free port; the replicas serve
# 127.0.0.1:7468, 7469 and 7470. Ctrl-C stops everything and removes the folder.
set -eu

PERMD=${PERMD:-.build/release/permd}
POLICIES=${POLICIES:-policies}
PORTS=${FLEET_PORTS:-"7468 7469 7470"}

. "$(dirname "$0")/postgres-cluster.sh"
for port in $PORTS; do
  if python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$port" 2>/dev/null; then
    echo "fleet: 127.0.0.1:$port is in use (another permd? \`make run\`?); stop it first" >&2
    exit 1
  fi
done

folder=$(mktemp -d "${TMPDIR:-/tmp}/permd-fleet-XXXXXX")
pids=""
stop() {
  trap - INT TERM EXIT
  for pid in $pids; do kill "$pid" 2>/dev/null || true; done
  for pid in $pids; do wait "$pid" 2>/dev/null || true; done
  pg_cluster_stop "$folder"
  echo "fleet: stopped; the database is gone"
}
trap stop INT TERM EXIT
pg_cluster_start "$folder"
db_port=$pg_port
password=$pg_password

token=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$token" > "$folder/admin.token"
chmod 600 "$folder/admin.token"
# The password goes to libpq through PGPASSWORD: never on a command line or in a log.
export PGPASSWORD="$password"
db="postgresql://postgres@127.0.0.1:$db_port/permd"
metrics=9468
for port in $PORTS; do
  "$PERMD" serve --policies "$POLICIES" --db "$db" --listen "127.0.0.1:$port" \
    --admin-token-file "$folder/admin.token" --metrics-listen "127.0.0.1:$metrics" 2>>"$folder/replica-$port.log" &
  pids="$pids $!"
  metrics=$((metrics + 1))
done
set -- $PORTS
for port in "$@"; do
  for _ in $(seq 1 300); do
    grep -q "permd serving" "$folder/replica-$port.log" 2>/dev/null && break
    sleep 0.1
  done
  if ! grep -q "permd serving" "$folder/replica-$port.log"; then
    echo "fleet: the replica on 127.0.0.1:$port did not start:" >&2
    cat "$folder/replica-$port.log" >&2
    exit 1
  fi
done

cat <<EOF
fleet: PostgreSQL on 127.0.0.1:$db_port (database permd, in $folder), replicas on 127.0.0.1:$1, :$2 and :$3
       (logs: $folder/replica-<port>.log; metrics on 127.0.0.1:9468-9470). From another terminal
       (nc from Debian's netcat-openbsd):

  printf 'AUTH $token\\nUSER.ADD {"id": "alice", "organizations": ["org_acme"], "roles": ["billing-admin"]}\\n' | nc -q1 127.0.0.1 $1
  printf 'SYNC 2\\nCHECK alice org_acme read:invoices\\n' | nc -q1 127.0.0.1 $2
  printf 'STATS\\n' | nc -q1 127.0.0.1 $3
  PGPASSWORD=$password $PERMD user list --db $db

Ctrl-C stops the replicas and PostgreSQL and removes the folder.
EOF
wait
