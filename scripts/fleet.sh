#!/bin/sh
# `make fleet`: a throwaway PostgreSQL and three permd replicas on it (README: Run a fleet).
# PostgreSQL runs from a temporary folder (initdb, as the `postgres` user when run as root,
# since PostgreSQL refuses root), on 127.0.0.1 and a free port; the replicas serve
# 127.0.0.1:7468, 7469 and 7470. Ctrl-C stops everything and removes the folder.
set -eu

PERMD=${PERMD:-.build/release/permd}
POLICIES=${POLICIES:-policies}
PORTS=${FLEET_PORTS:-"7468 7469 7470"}

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bin" ] && [ -x "$bin/initdb" ] || bin=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
if [ ! -x "$bin/initdb" ] || [ ! -x "$bin/pg_ctl" ]; then
  echo "fleet: PostgreSQL's initdb and pg_ctl are not installed; run \`make test-deps\`" >&2
  exit 1
fi
for port in $PORTS; do
  if python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$port" 2>/dev/null; then
    echo "fleet: 127.0.0.1:$port is in use (another permd? \`make run\`?); stop it first" >&2
    exit 1
  fi
done

folder=$(mktemp -d "${TMPDIR:-/tmp}/permd-fleet-XXXXXX")
chmod 755 "$folder"
as_postgres=""
if [ "$(id -u)" = 0 ]; then
  as_postgres="runuser -u postgres --"
  chown postgres "$folder"
fi
pids=""
stop() {
  trap - INT TERM EXIT
  for pid in $pids; do kill "$pid" 2>/dev/null || true; done
  for pid in $pids; do wait "$pid" 2>/dev/null || true; done
  $as_postgres "$bin/pg_ctl" -D "$folder/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$folder"
  echo "fleet: stopped; the database is gone"
}
trap stop INT TERM EXIT

password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$password" > "$folder/pwfile"
[ -z "$as_postgres" ] || chown postgres "$folder/pwfile"
$as_postgres "$bin/initdb" -D "$folder/data" -U postgres --pwfile "$folder/pwfile" --auth-local=trust \
  --auth-host=scram-sha-256 -E UTF8 --locale=C >"$folder/initdb.log" 2>&1 \
  || { cat "$folder/initdb.log" >&2; exit 1; }
rm -f "$folder/pwfile"
# A free port: bound with port 0, then released.
db_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
$as_postgres "$bin/pg_ctl" -D "$folder/data" -l "$folder/postgres.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -c port=$db_port -c unix_socket_directories='$folder'" start >/dev/null
$as_postgres "$bin/createdb" -h "$folder" -p "$db_port" -U postgres permd

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
