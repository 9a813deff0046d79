#!/usr/bin/env bash
# permd next to Redis, same dataset, same load generator, one run (docs/benchmarks.md).
#
#   Benchmarks/compare.sh                 # from the repository root or anywhere
#
# Builds permd and permd-load in release, seeds a dataset (20,000 users in 1,000
# organizations, ~32,000 memberships), imports it, serves it with permd, loads the same
# state into Redis (one set per membership holding its effective permissions), then drives
# both with permd-load for each shape: permd answers CHECK, Redis SISMEMBER, and every
# answer of both is checked against the state. Then durable writes: permd ROLE.ADD/ROLE.DEL
# against SADD/SREM on a second Redis with appendonly yes, appendfsync always. Prints one
# table. Everything listens on 127.0.0.1 only and is stopped at exit.
#
# Environment (defaults): DURATION=5 (seconds per run), SHAPES="4x1 50x1 1000x1 4x64"
# (connections x in flight), WRITERS=50, USERS=20000, ORGS=1000, ROLES=20, PERMISSIONS=100,
# SEED=1, PERMD_PORT=17468, REDIS_PORT=16379, REDIS_AOF_PORT=16380.
set -euo pipefail

DURATION=${DURATION:-5}
SHAPES=${SHAPES:-"4x1 50x1 1000x1 4x64"}
WRITERS=${WRITERS:-50}
USERS=${USERS:-20000}
ORGS=${ORGS:-1000}
ROLES=${ROLES:-20}
PERMISSIONS=${PERMISSIONS:-100}
SEED=${SEED:-1}
PERMD_PORT=${PERMD_PORT:-17468}
REDIS_PORT=${REDIS_PORT:-16379}
REDIS_AOF_PORT=${REDIS_AOF_PORT:-16380}

cd "$(dirname "$0")/.."
say() { printf 'compare: %s\n' "$*" >&2; }

# Whether something accepts connections on 127.0.0.1:$1.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() {  # port name pid
    for _ in $(seq 1 300); do
        listening "$1" && return 0
        kill -0 "$3" 2>/dev/null || { say "$2 exited before listening on 127.0.0.1:$1"; return 1; }
        sleep 0.1
    done
    say "$2 is not listening on 127.0.0.1:$1 after 30 s"
    return 1
}

for port in "$PERMD_PORT" "$REDIS_PORT" "$REDIS_AOF_PORT"; do
    if listening "$port"; then
        say "127.0.0.1:$port is in use; set PERMD_PORT, REDIS_PORT or REDIS_AOF_PORT to free ports"
        exit 1
    fi
done

if ! command -v redis-server >/dev/null 2>&1; then
    say "installing Debian's redis-server"
    sudo=$([ "$(id -u)" = 0 ] || echo sudo)
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null
    # The package starts a system-wide Redis where a service manager runs; this script uses its own.
fi

say "building permd and permd-load (release)"
swift build -c release --product permd 2>&1 | tail -1 >&2
swift build -c release --product permd-load 2>&1 | tail -1 >&2
bin=$(swift build -c release --show-bin-path)
permd=$bin/permd
load=$bin/permd-load

work=$(mktemp -d "${TMPDIR:-/tmp}/permd-compare.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

say "seeding $USERS users in $ORGS organizations ($ROLES roles, $PERMISSIONS permissions)"
"$load" seed --users "$USERS" --orgs "$ORGS" --roles "$ROLES" --permissions "$PERMISSIONS" --seed "$SEED" \
    --out "$work/data" >&2
policies=$work/data/policies
db=$work/permd.db
"$permd" import "$work/data/users.csv" --policies "$policies" --db "$db" >&2
umask 077
openssl rand -hex 16 >"$work/admin-token" 2>/dev/null || head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/admin-token"
chmod 600 "$work/admin-token"

say "starting permd on 127.0.0.1:$PERMD_PORT"
"$permd" serve --policies "$policies" --db "$db" --listen "127.0.0.1:$PERMD_PORT" \
    --admin-token-file "$work/admin-token" 2>"$work/permd.log" &
pids+=($!)
wait_for_port "$PERMD_PORT" permd $! || { cat "$work/permd.log" >&2; exit 1; }

start_redis() {  # port dir extra-options...
    local port=$1 dir=$2
    shift 2
    mkdir -p "$dir"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --daemonize no --logfile "$dir/redis.log" \
        "$@" &
    pids+=($!)
    wait_for_port "$port" "redis-server" $! || { cat "$dir/redis.log" >&2; exit 1; }
    "$load" fill-redis --server "127.0.0.1:$port" --users-from "$db" --policies "$policies" >&2
}
say "starting Redis on 127.0.0.1:$REDIS_PORT (no persistence) and 127.0.0.1:$REDIS_AOF_PORT (appendfsync always)"
start_redis "$REDIS_PORT" "$work/redis" --appendonly no
start_redis "$REDIS_AOF_PORT" "$work/redis-aof" --appendonly yes --appendfsync always

failed=()
# Runs permd-load; its JSON summary goes to $work/<name>.json.
run_load() {  # name target port connections pipeline mix [options...]
    local name=$1 target=$2 port=$3 connections=$4 pipeline=$5 mix=$6
    shift 6
    say "$name: $connections connections x $pipeline, $DURATION s"
    if ! "$load" --target "$target" --server "127.0.0.1:$port" --users-from "$db" --policies "$policies" \
        --connections "$connections" --pipeline "$pipeline" --duration "$DURATION" --mix "$mix" --json "$@" \
        >"$work/$name.out" 2>"$work/$name.err"; then
        failed+=("$name")
        grep -h 'mismatch\|failed\|permd-load:' "$work/$name.err" | grep -v ' s: ' | head -5 >&2 || true
    fi
    head -n -1 "$work/$name.out" | sed 's/^/    /' >&2
    tail -n 1 "$work/$name.out" >"$work/$name.json"
}

# One number of a flat JSON summary.
field() { grep -o "\"$2\":[0-9]*" "$work/$1.json" | cut -d: -f2; }
ms() { awk -v us="$1" 'BEGIN { printf "%.3f", us / 1000 }'; }

rows=()
add_row() {  # label permd-run redis-run
    local p r
    p=$(field "$2" requests_per_s)
    r=$(field "$3" requests_per_s)
    rows+=("| $1 | $p | $r | $(awk -v p="$p" -v r="$r" 'BEGIN { printf "%.2f×", (r > 0 ? p / r : 0) }') \
| $(ms "$(field "$2" p50_us)") / $(ms "$(field "$2" p99_us)") | $(ms "$(field "$3" p50_us)") / $(ms "$(field "$3" p99_us)") |")
}

for shape in $SHAPES; do
    connections=${shape%x*}
    pipeline=${shape#*x}
    run_load "permd-$shape" permd "$PERMD_PORT" "$connections" "$pipeline" check=100
    run_load "redis-$shape" redis "$REDIS_PORT" "$connections" "$pipeline" check=100
    add_row "$connections × $pipeline, CHECK vs SISMEMBER" "permd-$shape" "redis-$shape"
done
run_load permd-writes permd "$PERMD_PORT" "$WRITERS" 1 write=100 --token-file "$work/admin-token"
run_load redis-writes redis "$REDIS_AOF_PORT" "$WRITERS" 1 write=100
add_row "$WRITERS writers × 1, ROLE.ADD/DEL vs SADD/SREM (fsync always)" permd-writes redis-writes

echo
echo "$(date -u +%Y-%m-%d) · $(nproc) cores · $(redis-server --version | awk '{print $1, $3}' | tr -d 'v=') ·" \
    "$USERS users, $(grep -c , "$work/data/users.csv" | awk '{print $1 - 1}') memberships · $DURATION s per run" \
    "· load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| shape | permd req/s | Redis req/s | permd/Redis | permd p50 / p99 ms | Redis p50 / p99 ms |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
if [ ${#failed[@]} -gt 0 ]; then
    echo "permd-load found wrong answers or failed in: ${failed[*]}"
    exit 1
fi
echo "permd-load checked every answer of every run against the state: 0 mismatches."
