#!/bin/sh
# Peak resident memory and time of calibration at scale, on synthetic sigmoid outputs with label
# maps: from whole arrays, from shards in memory, from shards on disk (--scores-dir: scored part
# by part, merged, memory-mapped) and from a mapped score store; plus scoring every shard and
# merging the parts. Every disk-backed calibration is compared byte for byte with the in-memory
# one when both ran.
# Usage: scripts/bench/score_scale.sh DIR [N] [H] [W] [SHARD_IMAGES] [path/to/kandinsky]
# (defaults: 2000 images of 240 x 320 in shards of 100, .build/release/kandinsky).
# Environment: WHOLE=0 skips the whole arrays (the default above 5000 images: they need N·H·W·5
# bytes twice); IN_MEMORY lists the methods also run in memory from shards (default "pixel image
# kmeans"; they hold 6 bytes a score, k-means twice that for its group split), "" for none.
# Needs numpy and GNU time (/usr/bin/time -v). DIR receives N·H·W·5 bytes of shards (twice
# with the whole arrays), the merged store (6 bytes a score) and, while merging, the parts.
set -eu
dir="$1"; n="${2:-2000}"; h="${3:-240}"; w="${4:-320}"; per="${5:-100}"
tool="$(cd "$(dirname "${6:-.build/release/kandinsky}")" && pwd)/$(basename "${6:-.build/release/kandinsky}")"
here="$(cd "$(dirname "$0")" && pwd)"
whole="${WHOLE:-$([ "$n" -le 5000 ] && echo 1 || echo 0)}"
in_memory="${IN_MEMORY-pixel image kmeans}"
if [ ! -d "$dir/p" ]; then
    if [ "$whole" = 1 ]; then
        python3 "$here/make_score_shards.py" "$dir" "$n" "$h" "$w" "$per"
    else
        python3 "$here/make_score_shards.py" "$dir" "$n" "$h" "$w" "$per" --shards-only
    fi
fi
cd "$dir"
measure() {  # LABEL COMMAND...: one line with the peak RSS and the wall-clock time
    label="$1"; shift
    /usr/bin/time -v "$@" > /dev/null 2> time.log || { cat time.log; exit 1; }
    rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' time.log)
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' time.log)
    printf '%-44s %8s MB %10s\n' "$label" "$rss" "$wall"
}
echo "N = $n images of $h x $w in shards of $per"
for method in pixel image kmeans; do
    if [ "$whole" = 1 ]; then
        measure "whole arrays, $method" "$tool" calibrate-scores --probs probs.npy --targets labels.npy \
            --method "$method" --out "whole-$method.safetensors"
    fi
    if echo " $in_memory " | grep -q " $method "; then
        measure "shards in memory, $method" "$tool" calibrate-scores --probs p --targets t --method "$method" \
            --out "memory-$method.safetensors"
        [ "$whole" = 1 ] && cmp "whole-$method.safetensors" "memory-$method.safetensors"
    fi
done
rm -rf disk
measure "shards on disk (score, merge, map), pixel" "$tool" calibrate-scores --probs p --targets t \
    --scores-dir disk --method pixel --out disk-pixel.safetensors
echo "merged store: $(stat -c %s disk/scores.kscores) bytes"
for method in image kmeans; do
    measure "mapped store, $method" "$tool" calibrate-scores --scores disk/scores.kscores --scores-dir disk \
        --method "$method" --out "disk-$method.safetensors"
done
for method in $in_memory; do
    cmp "memory-$method.safetensors" "disk-$method.safetensors"
    echo "disk-backed $method curves are byte-identical to the in-memory ones"
done
rm -rf parts && mkdir -p parts
start=$(date +%s.%N)
for shard in p/p-*.npy; do
    k=$(basename "$shard" .npy | sed 's/^p-//')
    "$tool" score --probs "$shard" --targets "t/t-$k.npy" --out "parts/part-$k.kscores" > /dev/null
done
echo "score of every shard, one process each:      $(echo "$(date +%s.%N) - $start" | bc) s"
measure "score, one shard" "$tool" score --probs p/p-0000.npy --targets t/t-0000.npy --out one.kscores
measure "merge-scores of every shard's part" "$tool" merge-scores parts/*.kscores --out all.kscores
cmp all.kscores disk/scores.kscores
echo "merged $(du -cb parts/*.kscores | tail -1 | cut -f1) bytes of parts into $(stat -c %s all.kscores) bytes"
rm -rf parts
