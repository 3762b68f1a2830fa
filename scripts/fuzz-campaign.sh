#!/usr/bin/env bash
# A long fuzz campaign over the file parsers: runs the KandinskyFuzzTests suite's tests (the same
# code CI runs with 10,000 inputs each) in chunks, each chunk a test process with its own seed,
# and prints the counts per parser and outcome (success / typed error / crash).
#
#   scripts/fuzz-campaign.sh [TOTAL_INPUTS] [INPUTS_PER_CHUNK]
#
# TOTAL_INPUTS (default 1,000,000) is split evenly over the six parsers (npy, safetensors, cmodel, coco, png, jpeg); chunk k of a parser
# runs with KANDINSKY_FUZZ_SEED=k (k ≥ 1; CI runs seed 0). A chunk whose process dies of a
# signal counts one crash: the harness prints the parser, seed and iteration of the input, and
# writes the input to $CRASH_DIR (default .build/fuzz-crashes) as <parser>-<seed>-<iteration>.bin;
# copy it to Tests/KandinskyFuzzTests/Fixtures/regressions/<parser>/ once the bug is fixed.
#
# Environment: CONFIGURATION=debug|release (default debug; the tests are built first with
# `swift build --build-tests`, for release with -enable-testing), SCRATCH_PATH (the build
# folder, default .build; another one keeps the campaign's binary apart from your own builds),
# JOBS (parallel test processes, default 2), PARSERS (a subset, e.g. "npy png"; default all
# six), CRASH_DIR, LOG_DIR.
set -euo pipefail
# The whole script is one function, read before it runs: editing the file during a long
# campaign does not change the campaign.
main() {
  cd "$(dirname "$0")/.."

  total=${1:-1000000}
  chunk=${2:-20000}
  configuration=${CONFIGURATION:-debug}
  jobs=${JOBS:-2}
  scratch=${SCRATCH_PATH:-.build}
  crash_dir=${CRASH_DIR:-$scratch/fuzz-crashes}
  log_dir=${LOG_DIR:-$scratch/fuzz-logs}
  all_parsers=(npy:numpy safetensors:safetensors cmodel:calibratedModel coco:cocoManifest png:png jpeg:jpeg)
  parsers=()
  for entry in "${all_parsers[@]}"; do
    [[ -z ${PARSERS:-} || " $PARSERS " == *" ${entry%%:*} "* ]] && parsers+=("$entry")
  done

  mkdir -p "$crash_dir" "$log_dir"
  crash_dir=$(cd "$crash_dir" && pwd)
  testing_flags=()
  [[ $configuration == release ]] && testing_flags=(-Xswiftc -enable-testing)
  swift build --build-tests -c "$configuration" --scratch-path "$scratch" "${testing_flags[@]}" >&2

  per_parser=$(( total / ${#parsers[@]} ))
  chunks=$(( (per_parser + chunk - 1) / chunk ))
  echo "fuzz campaign: $total inputs, $per_parser per parser in $chunks chunks of up to $chunk ($configuration build, $jobs at a time)" >&2

  # One line per chunk to run: parser, test function, seed, inputs.
  work=()
  for entry in "${parsers[@]}"; do
    parser=${entry%%:*}; test=${entry#*:}
    left=$per_parser
    for ((k = 1; k <= chunks; k++)); do
      n=$(( left < chunk ? left : chunk ))
      left=$(( left - n ))
      work+=("$parser $test $k $n")
    done
  done

  run_chunk() {
    local parser=$1 test=$2 seed=$3 n=$4
    local log="$LOG_DIR_ABS/$parser-$seed.log"
    local status=0
    KANDINSKY_FUZZ_ITERATIONS=$n KANDINSKY_FUZZ_SEED=$seed KANDINSKY_FUZZ_CRASH_DIR=$CRASH_DIR_ABS \
      swift test --skip-build -c "$CONFIGURATION_NAME" --scratch-path "$SCRATCH_NAME" --filter "FuzzTests/$test\(" >"$log" 2>&1 || status=$?
    local line
    line=$(grep -E "^fuzz $parser: " "$log" | tail -1 || true)
    if [[ -n $line && $status -eq 0 ]]; then
      # fuzz npy: 20000 inputs (seed 3): 400 success, 19600 typed error, 0 crash
      echo "$line" | sed -E 's/^fuzz ([a-z]+): ([0-9]+) inputs \(seed ([0-9]+)\): ([0-9]+) success, ([0-9]+) typed error, .*/\1 \2 \4 \5 0/'
    else
      grep -E "^fuzz: crashed in" "$log" >&2 || echo "fuzz: $parser seed $seed: test process failed (status $status), see $log" >&2
      echo "$parser 0 0 0 1"
    fi
  }
  export -f run_chunk
  export LOG_DIR_ABS=$(cd "$log_dir" && pwd) CRASH_DIR_ABS=$crash_dir CONFIGURATION_NAME=$configuration SCRATCH_NAME=$scratch

  start=$(date +%s)
  printf '%s\n' "${work[@]}" | xargs -P "$jobs" -L 1 bash -c 'run_chunk "$@"' _ > "$log_dir/counts.txt"
  elapsed=$(( $(date +%s) - start ))

  awk -v elapsed="$elapsed" '
    { inputs[$1] += $2; success[$1] += $3; typed[$1] += $4; crash[$1] += $5; order[$1] = 1 }
    END {
      printf "%-12s %10s %10s %12s %6s\n", "parser", "inputs", "success", "typed error", "crash"
      n = split("npy safetensors cmodel coco png jpeg", names, " ")
      for (i = 1; i <= n; i++) {
        p = names[i]
        if (!(p in order)) continue
        printf "%-12s %10d %10d %12d %6d\n", p, inputs[p], success[p], typed[p], crash[p]
        ti += inputs[p]; ts += success[p]; tt += typed[p]; tc += crash[p]
      }
      printf "%-12s %10d %10d %12d %6d\n", "total", ti, ts, tt, tc
      printf "(%d s)\n", elapsed
    }' "$log_dir/counts.txt"
}

main "$@"
