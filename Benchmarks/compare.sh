#!/usr/bin/env bash
# permd next to Redis, same dataset, same load generator, side by side (docs/benchmarks.md).
#
#   Benchmarks/compare.sh                 # the whole table: every shape, 3 rounds, medians
#   RUNS=1 DURATION=3 Benchmarks/compare.sh   # a quick look
#
# Builds permd and permd-load in release, seeds a dataset (20,000 users in 1,000
# organizations, ~32,000 memberships), imports it, serves it with permd, loads the same
# state into Redis (one set per membership holding its effective permissions), then drives
# both with permd-load for each shape: permd answers CHECK, Redis SISMEMBER, and every
# answer of both is checked against the state. Then durable writes: permd ROLE.ADD/ROLE.DEL
# against SADD/SREM on a second Redis with appendonly yes, appendfsync always.
#
# Each round runs every shape on both servers one after the other (permd first in odd
# rounds, Redis first in even ones, so that a load that changes during the run weighs on
# both alike); the table gives the median of the rounds for each figure, the median of the
# rounds' ratios with their range, and each of issue 14's targets with whether it is met.
# The machine's load average at the start and at the end is printed with it: on a shared
# machine the ratios are the figures to trust. Everything listens on 127.0.0.1 only and is
# stopped at exit.
#
# Environment (defaults): RUNS=3 (rounds), DURATION=5 (seconds per run), SHAPES="4x1 50x1
# 1000x1 4x64" (connections x in flight), WRITERS=50, USERS=20000, ORGS=1000, ROLES=20,
# PERMISSIONS=100, SEED=1, PERMD_PORT=17468, REDIS_PORT=16379, REDIS_AOF_PORT=16380.
set -euo pipefail

RUNS=${RUNS:-3}
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

. Benchmarks/common.sh

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

# One field of the named run in every round.
fields() {  # run field
    local round
    for round in $(seq 1 "$RUNS"); do field "r$round-$1" "$2"; done
}
ratio() { awk -v p="$1" -v r="$2" 'BEGIN { printf "%.2f", (r > 0 ? p / r : 0) }'; }

# issue 14's target for a shape: the least ratio, and whether permd's p99 must not exceed Redis's.
target_ratio() {
    case $1 in
        4x1) echo 1.2 ;; 50x1) echo 1.4 ;; 1000x1) echo 1.2 ;; 4x64) echo 6 ;; writes) echo 2 ;; *) echo "" ;;
    esac
}
target_p99() { case $1 in 50x1 | 1000x1) echo yes ;; *) echo no ;; esac; }

rows=()
add_row() {  # label shape-key permd-run redis-run
    local label=$1 key=$2 p r ratios=() round pp rp low high median_ratio want met p99p p99r
    p=$(median $(fields "$3" requests_per_s))
    r=$(median $(fields "$4" requests_per_s))
    for round in $(seq 1 "$RUNS"); do
        ratios+=("$(ratio "$(field "r$round-$3" requests_per_s)" "$(field "r$round-$4" requests_per_s)")")
    done
    median_ratio=$(median "${ratios[@]}")
    low=$(printf '%s\n' "${ratios[@]}" | sort -g | head -1)
    high=$(printf '%s\n' "${ratios[@]}" | sort -g | tail -1)
    p99p=$(median $(fields "$3" p99_us))
    p99r=$(median $(fields "$4" p99_us))
    want=$(target_ratio "$key")
    met=""
    if [ -n "$want" ]; then
        met=$(awk -v m="$median_ratio" -v w="$want" 'BEGIN { print (m >= w ? "met" : "not met") }')
        if [ "$(target_p99 "$key")" = yes ]; then
            want="$want×, p99 ≤ Redis"
            [ "$p99p" -le "$p99r" ] || met="not met"
        else
            want="$want×"
        fi
    fi
    rows+=("| $label | $p | $r | **${median_ratio}×** ($low–$high) \
| $(ms "$(median $(fields "$3" p50_us))") / $(ms "$p99p") | $(ms "$(median $(fields "$4" p50_us))") / $(ms "$p99r") \
| ${want:-} ${met:+($met)} |")
}

load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq 1 "$RUNS"); do
    say "round $round of $RUNS"
    # Odd rounds permd first, even rounds Redis first.
    first=permd
    [ $((round % 2)) -eq 0 ] && first=redis
    for shape in $SHAPES; do
        connections=${shape%x*}
        pipeline=${shape#*x}
        for server in $first $([ $first = permd ] && echo redis || echo permd); do
            port=$PERMD_PORT
            [ "$server" = redis ] && port=$REDIS_PORT
            run_load "r$round-$server-$shape" "$server" "$port" "$connections" "$pipeline" check=100
        done
    done
    for server in $first $([ $first = permd ] && echo redis || echo permd); do
        if [ "$server" = permd ]; then
            run_load "r$round-permd-writes" permd "$PERMD_PORT" "$WRITERS" 1 write=100 --token-file "$work/admin-token"
        else
            run_load "r$round-redis-writes" redis "$REDIS_AOF_PORT" "$WRITERS" 1 write=100
        fi
    done
done

for shape in $SHAPES; do
    add_row "${shape%x*} × ${shape#*x}, CHECK vs SISMEMBER" "$shape" "permd-$shape" "redis-$shape"
done
add_row "$WRITERS writers × 1, ROLE.ADD/DEL vs SADD/SREM (fsync always)" writes permd-writes redis-writes

echo
echo "$(date -u +%Y-%m-%d) · $(nproc) cores · $(redis-server --version | awk '{print $1, $3}' | tr -d 'v=') ·" \
    "$USERS users, $(grep -c , "$work/data/users.csv" | awk '{print $1 - 1}') memberships ·" \
    "median of $RUNS rounds of $DURATION s per run · load average $load_at_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo
echo "| shape | permd req/s | Redis req/s | permd/Redis (range) | permd p50 / p99 ms | Redis p50 / p99 ms | target |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
if [ ${#failed[@]} -gt 0 ]; then
    echo "permd-load found wrong answers or failed in: ${failed[*]}"
    exit 1
fi
echo "permd-load checked every answer of every run against the state: 0 mismatches."
