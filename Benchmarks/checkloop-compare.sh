#!/usr/bin/env bash
# The in-process CHECK loop of two versions of the index, side by side in one run:
# `CheckLoop` built from commit BASE (with this tree's CheckLoop/main.swift, so both run the
# same loop) and from this tree, run in turn ROUNDS times each, then the median of every
# figure per version. Figures are per CHECK: wall clock, and this thread's CPU time (on a
# machine shared with other work the wall clock also counts the time the loop waited for
# a core).
#
#     Benchmarks/checkloop-compare.sh BASE [ROUNDS] [ITERATIONS] [USERS] [REQUESTS]
#     Benchmarks/checkloop-compare.sh main 3 10000000 1000000 65536   # memory-bound
#
# The copy of BASE is built under a temporary folder, removed at the end.
set -euo pipefail
base=${1:?usage: checkloop-compare.sh BASE [ROUNDS] [ITERATIONS] [USERS] [REQUESTS]}
rounds=${2:-3}
arguments=("${3:-10000000}" "${4:-1000000}" "${5:-65536}")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

git -C "$repo" archive "$base" | tar -x -C "$work"
cp "$here/CheckLoop/main.swift" "$work/Benchmarks/CheckLoop/main.swift"
echo "building CheckLoop at $base and at this tree (release)" >&2
(cd "$work/Benchmarks" && swift build -c release --product CheckLoop >&2)
(cd "$here" && swift build -c release --product CheckLoop >&2)
cp "$work/Benchmarks/.build/release/CheckLoop" "$work/CheckLoop-base"
cp "$here/.build/release/CheckLoop" "$work/CheckLoop-tree"

for round in $(seq "$rounds"); do
    for version in base tree; do
        echo "round $round, $version, load $(cut -d' ' -f1 /proc/loadavg)" >&2
        output=$("$work/CheckLoop-$version" "${arguments[@]}")
        echo "$output" >&2
        echo "$output" | sed -n "s/.*: \([0-9.]*\) ns\/check, \([0-9.]*\) ns of CPU.*/$version \1 \2/p" >> "$work/figures"
    done
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "CheckLoop ${arguments[*]}: median of $rounds rounds x 3 runs, ns per CHECK"
for version in base tree; do
    wall=$(awk -v v=$version '$1 == v { print $2 }' "$work/figures" | median)
    cpu=$(awk -v v=$version '$1 == v { print $3 }' "$work/figures" | median)
    echo "$version ($([ $version = base ] && echo "$base" || echo "this tree")): wall $wall, CPU $cpu"
done
