#!/bin/sh
# Peak resident memory and time of calibration from whole arrays, from shards, and from merged
# score stores, on synthetic sigmoid outputs with label maps.
# Usage: scripts/bench/score_scale.sh DIR [N] [H] [W] [SHARD_IMAGES] [path/to/kandinsky]
# (defaults: 2000 images of 240 x 320 in shards of 100, .build/release/kandinsky). Needs numpy
# and GNU time (/usr/bin/time -v); DIR receives about 2 x N x H x W x 5 bytes of shards.
set -eu
dir="$1"; n="${2:-2000}"; h="${3:-240}"; w="${4:-320}"; per="${5:-100}"
tool="$(cd "$(dirname "${6:-.build/release/kandinsky}")" && pwd)/$(basename "${6:-.build/release/kandinsky}")"
here="$(cd "$(dirname "$0")" && pwd)"
[ -f "$dir/probs.npy" ] || python3 "$here/make_score_shards.py" "$dir" "$n" "$h" "$w" "$per"
cd "$dir"
measure() {  # LABEL COMMAND...: one line with the peak RSS and the wall-clock time
    label="$1"; shift
    /usr/bin/time -v "$@" > /dev/null 2> time.log || { cat time.log; exit 1; }
    rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' time.log)
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' time.log)
    printf '%-40s %8s MB %10s\n' "$label" "$rss" "$wall"
}
for method in pixel image kmeans; do
    measure "whole arrays, $method" "$tool" calibrate-scores --probs probs.npy --targets labels.npy --method "$method" --out whole.safetensors
    measure "shards, $method" "$tool" calibrate-scores --probs p --targets t --method "$method" --out sharded.safetensors
    cmp whole.safetensors sharded.safetensors
done
mkdir -p parts
start=$(date +%s.%N)
for shard in p/p-*.npy; do
    k=$(basename "$shard" .npy | sed 's/^p-//')
    "$tool" score --probs "$shard" --targets "t/t-$k.npy" --out "parts/part-$k.kscores" > /dev/null
done
echo "score of every shard, one process each:    $(echo "$(date +%s.%N) - $start" | bc) s"
measure "score, one shard" "$tool" score --probs p/p-0000.npy --targets t/t-0000.npy --out one.kscores
measure "merge-scores" "$tool" merge-scores parts/*.kscores --out all.kscores
echo "merged store: $(stat -c %s all.kscores) bytes"
for method in pixel image kmeans; do
    measure "from the merged store, $method" "$tool" calibrate-scores --scores all.kscores --method "$method" --out merged.safetensors
    "$tool" calibrate-scores --probs p --targets t --method "$method" --out sharded.safetensors > /dev/null
    cmp merged.safetensors sharded.safetensors
done
