#!/usr/bin/env bash
# Runs every test of Kandinsky: installs the system libraries when missing, runs the package's
# tests, then builds, runs and tests (XCTest, through the KandinskyTesting product) the consumer
# package that depends on Kandinsky by path.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-libraries.sh
swift build --build-tests
swift test --skip-build
swift build --package-path Examples/Consumer
swift run --package-path Examples/Consumer --skip-build Consumer
swift test --package-path Examples/Consumer
