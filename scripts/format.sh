#!/usr/bin/env bash
# Formats every Swift file git tracks with the checked-in .swift-format configuration
# (`swift format` ships with the toolchain); `--lint` only checks, and fails on any finding (CI
# runs it so).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--lint" ]; then
    git ls-files -z '*.swift' | xargs -0 swift format lint --strict --parallel
else
    git ls-files -z '*.swift' | xargs -0 swift format format --in-place --parallel
fi
