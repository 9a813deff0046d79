#!/usr/bin/env bash
# CHECK throughput with `--metrics-listen` on and scraped every second against metrics off
# (docs/benchmarks.md, "Metrics counting on the CHECK path"). Each round starts the server
# once per mode, the modes alternating which goes first, and runs `permd-load --mix
# check=100` at 4 × 64 and 4 × 1, every answer checked; it prints each run, then the medians
# and the server's CPU time per request (utime + stime from /proc, the scrapes included).
#
#   Benchmarks/metrics-overhead.sh DB POLICIES [ROUNDS] [SECONDS]
#
# DB is read only (the server serves a copy). Release binaries from .build/release, or
# PERMD_BIN_DIR. Ports 17568 (line protocol) and 17569 (metrics) on 127.0.0.1.
set -euo pipefail
db=$1 policies=$2 rounds=${3:-3} seconds=${4:-3}
bin=${PERMD_BIN_DIR:-.build/release}
port=17568 metrics_port=17569
work=$(mktemp -d)
server="" scraper=""
cleanup() {
    [ -n "$scraper" ] && kill "$scraper" 2>/dev/null || true
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
cp "$db" "$work/permd.db"
ticks=$(getconf CLK_TCK)

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

start_server() {
    local args=(serve --policies "$policies" --db "$work/permd.db" --listen "127.0.0.1:$port")
    [ "$1" = on ] && args+=(--metrics-listen "127.0.0.1:$metrics_port")
    "$bin/permd" "${args[@]}" 2>"$work/server.log" &
    server=$!
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.2; done
    if [ "$1" = on ]; then
        (while sleep 1; do curl -s -o /dev/null "http://127.0.0.1:$metrics_port/metrics"; done) &
        scraper=$!
    fi
}

stop_server() {
    [ -n "$scraper" ] && kill "$scraper" && wait "$scraper" 2>/dev/null || true
    scraper=""
    kill "$server" && wait "$server" 2>/dev/null || true
    server=""
}

: >"$work/runs"
for round in $(seq 1 "$rounds"); do
    modes="off on"
    [ $((round % 2)) = 0 ] && modes="on off"
    for mode in $modes; do
        start_server "$mode"
        for depth in 64 1; do
            before=$(cpu_ticks "$server")
            summary=$("$bin/permd-load" --server "127.0.0.1:$port" --connections 4 --pipeline "$depth" \
                --duration "$seconds" --mix check=100 --users-from "$work/permd.db" --policies "$policies" \
                --json 2>/dev/null | tail -1)
            after=$(cpu_ticks "$server")
            echo "$round $mode $depth $((after - before)) $summary" | tee -a "$work/runs"
        done
        stop_server
    done
done

python3 - "$work/runs" "$ticks" <<'EOF'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    round_, mode, depth, cpu, summary = line.split(" ", 4)
    result = json.loads(summary)
    assert result["mismatches"] == 0 and result["errors"] == 0, line
    cpu_ns = int(cpu) * 1e9 / int(sys.argv[2]) / result["requests"]
    runs.setdefault((depth, mode), []).append((result["requests_per_s"], cpu_ns))
print("shape     metrics  req/s median (runs)                 server CPU ns/request median")
for depth in ("64", "1"):
    for mode in ("off", "on"):
        rates = [r for r, _ in runs[(depth, mode)]]
        cpus = [c for _, c in runs[(depth, mode)]]
        print(f"4 x {depth:<4}  {mode:<7}  {statistics.median(rates):>9,.0f} ({', '.join(f'{r:,.0f}' for r in rates)})"
              f"  {statistics.median(cpus):,.0f}")
EOF
