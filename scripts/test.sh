#!/usr/bin/env bash
# Runs every test of Kandinsky: installs the system libraries when missing, runs the package's
# tests and one example with the invariant checks on, then builds, runs and tests (XCTest,
# through the KandinskyTesting product) the consumer package that depends on Kandinsky by path.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-libraries.sh
swift build --build-tests
swift test --skip-build
# The invariant checks of KANDINSKY_INTERNAL_CHECKS (Package.swift), in a build of their own: one
# calibration example end to end (a score store, k-means groups, curves).
checks=$(mktemp -d)
swift run --scratch-path .build-checks -Xswiftc -DKANDINSKY_INTERNAL_CHECKS CalibrateExternalScores --demo "$checks"
rm -rf "$checks"
swift build --package-path Examples/Consumer
swift run --package-path Examples/Consumer --skip-build Consumer
swift test --package-path Examples/Consumer
