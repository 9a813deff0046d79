#!/usr/bin/env bash
# Durable write throughput on SQLite and on PostgreSQL, side by side (docs/benchmarks.md,
# issue 11): 50 connections alternating ROLE.ADD/ROLE.DEL, one write in flight each.
#
#   Benchmarks/durable-writes.sh                # 3 rounds of 5 s on each store, medians
#   RUNS=1 DURATION=3 Benchmarks/durable-writes.sh
#
# Builds permd and permd-load in release, seeds a dataset (as Benchmarks/compare.sh does),
# imports it into an SQLite file and into a throwaway PostgreSQL (scripts/postgres-cluster.sh:
# fsync and synchronous_commit on), serves each with permd, and drives both with the same
# permd-load run (every answer checked; the writes leave the state as it began). Odd rounds
# SQLite first, even rounds PostgreSQL first. Everything listens on 127.0.0.1 only and is
# stopped at exit.
#
# Environment (defaults): RUNS=3, DURATION=5, WRITERS=50, USERS=20000, ORGS=1000, ROLES=20,
# PERMISSIONS=100, SEED=1, SQLITE_PORT=17478, POSTGRES_PORT=17479.
set -euo pipefail

RUNS=${RUNS:-3}
DURATION=${DURATION:-5}
WRITERS=${WRITERS:-50}
USERS=${USERS:-20000}
ORGS=${ORGS:-1000}
ROLES=${ROLES:-20}
PERMISSIONS=${PERMISSIONS:-100}
SEED=${SEED:-1}
SQLITE_PORT=${SQLITE_PORT:-17478}
POSTGRES_PORT=${POSTGRES_PORT:-17479}

cd "$(dirname "$0")/.."
say() { printf 'durable-writes: %s\n' "$*" >&2; }
. Benchmarks/common.sh
for port in "$SQLITE_PORT" "$POSTGRES_PORT"; do
    if listening "$port"; then
        say "127.0.0.1:$port is in use; set SQLITE_PORT or POSTGRES_PORT to free ports"
        exit 1
    fi
done

say "building permd and permd-load (release)"
swift build -c release --product permd 2>&1 | tail -1 >&2
swift build -c release --product permd-load 2>&1 | tail -1 >&2
bin=$(swift build -c release --show-bin-path)
permd=$bin/permd
load=$bin/permd-load

. scripts/postgres-cluster.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/permd-durable.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    [ -d "$work/pg" ] && pg_cluster_stop "$work/pg"
    rm -rf "$work"
}
trap cleanup EXIT

say "seeding $USERS users in $ORGS organizations"
"$load" seed --users "$USERS" --orgs "$ORGS" --roles "$ROLES" --permissions "$PERMISSIONS" --seed "$SEED" \
    --out "$work/data" >&2
policies=$work/data/policies
sqlite=$work/permd.db
"$permd" import "$work/data/users.csv" --policies "$policies" --db "$sqlite" >&2

say "starting a throwaway PostgreSQL"
# The cluster runs as `postgres` when run as root: it must reach its folder.
chmod 755 "$work"
mkdir "$work/pg"
pg_cluster_start "$work/pg"
# The password reaches libpq through PGPASSWORD, never a command line.
export PGPASSWORD=$pg_password
postgres="postgresql://postgres@127.0.0.1:$pg_port/permd"
"$permd" import "$work/data/users.csv" --policies "$policies" --db "$postgres" >&2

umask 077
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/admin-token"
for store in sqlite postgres; do
    port=$SQLITE_PORT db=$sqlite
    [ $store = postgres ] && port=$POSTGRES_PORT db=$postgres
    "$permd" serve --policies "$policies" --db "$db" --listen "127.0.0.1:$port" \
        --admin-token-file "$work/admin-token" 2>"$work/$store.log" &
    pids+=($!)
    wait_for_port "$port" "permd on $store" $! || { cat "$work/$store.log" >&2; exit 1; }
done

failed=()

load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq 1 "$RUNS"); do
    order="sqlite postgres"
    [ $((round % 2)) -eq 0 ] && order="postgres sqlite"
    for store in $order; do
        port=$SQLITE_PORT
        [ $store = postgres ] && port=$POSTGRES_PORT
        name=r$round-$store
        say "round $round: $store, $WRITERS writers x 1, $DURATION s"
        if ! "$load" --target permd --server "127.0.0.1:$port" --users-from "$sqlite" --policies "$policies" \
            --connections "$WRITERS" --pipeline 1 --duration "$DURATION" --mix write=100 \
            --token-file "$work/admin-token" --json >"$work/$name.out" 2>"$work/$name.err"; then
            failed+=("$name")
            grep -h 'mismatch\|failed\|permd-load:' "$work/$name.err" | head -5 >&2 || true
        fi
        tail -n 1 "$work/$name.out" >"$work/$name.json"
    done
done

echo
echo "$(date -u +%Y-%m-%d) · $(nproc) cores · $("$pg_bin/postgres" --version) · $USERS users ·" \
    "median of $RUNS rounds of $DURATION s · load average $load_at_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo
echo "| store | writes/s (rounds) | p50 ms | p99 ms |"
echo "|---|---|---|---|"
for store in sqlite postgres; do
    rates=() p50=() p99=()
    for round in $(seq 1 "$RUNS"); do
        rates+=("$(field "r$round-$store" requests_per_s)")
        p50+=("$(field "r$round-$store" p50_us)")
        p99+=("$(field "r$round-$store" p99_us)")
    done
    echo "| $store | **$(median "${rates[@]}")** (${rates[*]}) | $(ms "$(median "${p50[@]}")") | $(ms "$(median "${p99[@]}")") |"
done
echo
if [ ${#failed[@]} -gt 0 ]; then
    echo "permd-load found wrong answers or failed in: ${failed[*]}"
    exit 1
fi
echo "permd-load checked every answer: 0 mismatches."
