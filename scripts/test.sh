#!/usr/bin/env bash
# Runs every test of Kandinsky: installs the system libraries when missing, runs the package's
# tests and one example with the invariant checks on, then builds, runs and tests (XCTest,
# through the KandinskyTesting product) the consumer package that depends on Kandinsky by path, and
# last builds the DocC documentation of every public module with warnings as errors.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-libraries.sh
# Every Swift file as the checked-in .swift-format lays it out (scripts/format.sh formats them).
bash scripts/format.sh --lint
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
# The documentation of every public module, in a build of its own: KANDINSKY_DOCS=1 adds the
# swift-docc-plugin (Package.swift); a warning (a broken link, an undocumented parameter) fails.
KANDINSKY_DOCS=1 swift package --scratch-path .build-docs generate-documentation --warnings-as-errors \
    --target KandinskyCore --target KandinskyData --target KandinskyModels --target KandinskyCalibration \
    --target KandinskyPlots --target KandinskyExperiments --target KandinskyTesting
