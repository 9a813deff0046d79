# A throwaway PostgreSQL cluster for scripts (`make fleet`, Benchmarks/): sourced, not run.
#
#   . scripts/postgres-cluster.sh
#   pg_cluster_start "$folder"     # sets pg_port and pg_password; database `permd` created
#   ...                           # postgresql://postgres@127.0.0.1:$pg_port/permd, PGPASSWORD=$pg_password
#   pg_cluster_stop "$folder"      # fast shutdown; the folder is removed
#
# initdb in $folder/data (as the `postgres` user when run as root, since PostgreSQL refuses
# root), listening on 127.0.0.1 and a free port only, its unix socket in $folder, password
# (SCRAM) authentication on TCP, fsync and synchronous_commit on (the defaults). Extra
# server settings may come in PG_SETTINGS ("-c shared_buffers=32MB ...").

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] || pg_bin=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
pg_as_postgres=""
[ "$(id -u)" = 0 ] && pg_as_postgres="runuser -u postgres --"

pg_cluster_start() {  # folder
  if [ ! -x "$pg_bin/initdb" ] || [ ! -x "$pg_bin/pg_ctl" ]; then
    echo "PostgreSQL's initdb and pg_ctl are not installed; run \`make test-deps\`" >&2
    return 1
  fi
  chmod 755 "$1"
  [ -z "$pg_as_postgres" ] || chown postgres "$1"
  pg_password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  printf '%s\n' "$pg_password" > "$1/pwfile"
  [ -z "$pg_as_postgres" ] || chown postgres "$1/pwfile"
  $pg_as_postgres "$pg_bin/initdb" -D "$1/data" -U postgres --pwfile "$1/pwfile" --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C >"$1/initdb.log" 2>&1 \
    || { rm -f "$1/pwfile"; cat "$1/initdb.log" >&2; return 1; }
  rm -f "$1/pwfile"
  # A free port: bound with port 0, then released.
  pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  $pg_as_postgres "$pg_bin/pg_ctl" -D "$1/data" -l "$1/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories='$1' ${PG_SETTINGS:-}" start >/dev/null \
    || { cat "$1/postgres.log" >&2; return 1; }
  $pg_as_postgres "$pg_bin/createdb" -h "$1" -p "$pg_port" -U postgres permd
}

pg_cluster_stop() {  # folder
  $pg_as_postgres "$pg_bin/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$1"
}
