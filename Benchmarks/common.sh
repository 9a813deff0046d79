# Helpers of the server benchmarks (compare.sh, durable-writes.sh): sourced after `say` is
# defined. Runs leave their permd-load JSON summary in $work/<name>.json.

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

# One number of a flat JSON summary.
field() {  # run field
    local value
    value=$(grep -o "\"$2\":[0-9]*" "$work/$1.json" 2>/dev/null | cut -d: -f2) || true
    echo "${value:-0}"
}
ms() { awk -v us="$1" 'BEGIN { printf "%.3f", us / 1000 }'; }

# The median of the numbers given (the lower middle one of an even count).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
