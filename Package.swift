// swift-tools-version: 6.0
//
// Kandinsky: conformal calibration of image-segmentation models on the CPU.
//
// Compile-time flags:
// - `KANDINSKY_INTERNAL_CHECKS`: enables invariant checks (`_checkInvariants()`): every ShapedArray's
//   shape agrees with its storage when made and after each write; a ScoreStore's rows are laid out and
//   sorted; k-means results are well formed; calibrated curves never decrease. Enable with
//   `swift build -Xswiftc -DKANDINSKY_INTERNAL_CHECKS`; scripts/test.sh runs an example built so.
// Environment variables read by this manifest:
// - `KANDINSKY_DOCS=1`: adds the swift-docc-plugin so `swift package generate-documentation` works.

import Foundation
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6)
]

var dependencies: [Package.Dependency] = [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
]
if ProcessInfo.processInfo.environment["KANDINSKY_DOCS"] == "1" {
    dependencies.append(.package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"))
}

let package = Package(
    name: "Kandinsky",
    platforms: [.macOS(.v14)],
    products: [
        // MARK: - Public products
        .library(name: "KandinskyCore", targets: ["KandinskyCore"]),
        .library(name: "KandinskyData", targets: ["KandinskyData"]),
        .library(name: "KandinskyModels", targets: ["KandinskyModels"]),
        .library(name: "KandinskyCalibration", targets: ["KandinskyCalibration"]),
        .library(name: "KandinskyPlots", targets: ["KandinskyPlots"]),
        .library(name: "KandinskyExperiments", targets: ["KandinskyExperiments"]),
        .library(name: "KandinskyTesting", targets: ["KandinskyTesting"]),
        .executable(name: "kandinsky", targets: ["kandinsky"]),
    ],
    dependencies: dependencies,
    targets: [
        // MARK: - Public modules
        .target(
            name: "KandinskyCore",
            dependencies: ["CBLAS"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KandinskyData",
            dependencies: ["KandinskyCore", "CPNG", "CTurboJPEG"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KandinskyModels",
            dependencies: ["KandinskyCore", "CKandinskyKernels"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KandinskyCalibration",
            dependencies: ["KandinskyCore", "CKandinskyKernels"],
            swiftSettings: swiftSettings
        ),
        // Every figure: heat maps, SVG charts and diagrams, overlays and the grids that compose
        // them; PNGs through KandinskyData's one writer.
        .target(
            name: "KandinskyPlots",
            dependencies: ["KandinskyCore", "KandinskyData", "KandinskyCalibration"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KandinskyExperiments",
            dependencies: [
                "KandinskyCore", "KandinskyData", "KandinskyModels", "KandinskyCalibration", "KandinskyPlots",
                .product(name: "Yams", package: "Yams"),
            ],
            resources: [.copy("configs")],
            swiftSettings: swiftSettings
        ),
        // Checks of groupings against the coverage guarantee, usable from any test framework.
        .target(
            name: "KandinskyTesting",
            dependencies: ["KandinskyCore", "KandinskyCalibration"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "kandinsky",
            dependencies: [
                "KandinskyCore", "KandinskyData", "KandinskyModels", "KandinskyCalibration", "KandinskyExperiments",
                "KandinskyPlots", "CKandinskyKernels",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: - Implementation details (not products)
        // C kernels with a baseline and an AVX2 + FMA variant chosen at run time (function
        // target attributes, so no compiler flags).
        .target(name: "CKandinskyKernels"),

        // MARK: - System libraries
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        .systemLibrary(
            name: "CPNG",
            pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]
        ),
        .systemLibrary(
            name: "CTurboJPEG",
            pkgConfig: "libturbojpeg",
            providers: [.apt(["libturbojpeg0-dev"])]
        ),

        // MARK: - Benchmarks (run with `swift run -c release kandinsky-benchmarks`)
        .executableTarget(
            name: "kandinsky-benchmarks",
            dependencies: [
                "KandinskyCore", "KandinskyData", "KandinskyModels", "KandinskyCalibration", "KandinskyTesting",
                "CKandinskyKernels",
            ],
            path: "Benchmarks/KandinskyBenchmarks",
            swiftSettings: swiftSettings
        ),

        // MARK: - Examples (each runs with `swift run <Name>`; see Examples/<Name>/README.md)
        .executableTarget(
            name: "CalibrateExternalScores",
            dependencies: [
                "KandinskyCore", "KandinskyCalibration",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Examples/CalibrateExternalScores",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "CustomGrouping",
            dependencies: [
                "KandinskyCore", "KandinskyCalibration",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Examples/CustomGrouping",
            exclude: ["README.md", "Tests"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "TrainCalibratePredict",
            dependencies: [
                "KandinskyCore", "KandinskyData", "KandinskyModels", "KandinskyCalibration",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Examples/TrainCalibratePredict",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),

        // MARK: - Tests
        // What several test targets share, one copy each (not a product): scratch directories,
        // fixture folders, tolerance-aware comparison, running executables (the tool, the
        // examples), the grouping contract every strategy runs, and the seeded mutations and
        // crash-attributing harness of fuzz tests.
        .target(
            name: "KandinskyTestSupport",
            dependencies: ["KandinskyCore", "KandinskyCalibration", "KandinskyTesting"],
            path: "Tests/KandinskyTestSupport",
            swiftSettings: swiftSettings
        ),
        kandinskyTestTarget("KandinskyCoreTests", ["KandinskyCore"], fixtures: true),
        kandinskyTestTarget("KandinskyDataTests", ["KandinskyData"], fixtures: true),
        kandinskyTestTarget("KandinskyModelsTests", ["KandinskyModels", "CKandinskyKernels"], fixtures: true),
        kandinskyTestTarget(
            "KandinskyCalibrationTests",
            ["KandinskyCalibration", "KandinskyTesting", "CKandinskyKernels"], fixtures: true),
        kandinskyTestTarget(
            "KandinskyPlotsTests", ["KandinskyPlots", "KandinskyData", "KandinskyCalibration", "KandinskyCore"]),
        kandinskyTestTarget("KandinskyExperimentsTests", ["KandinskyExperiments", "KandinskyPlots"]),
        // Seeded mutation tests of every file parser (KANDINSKY_FUZZ_ITERATIONS inputs each,
        // 10,000 by default; scripts/fuzz-campaign.sh runs a long campaign of the same tests).
        kandinskyTestTarget(
            "KandinskyFuzzTests", ["KandinskyCore", "KandinskyData", "KandinskyCalibration"],
            fixtures: true),
        kandinskyTestTarget(
            "KandinskyCLITests",
            ["kandinsky", "KandinskyCore", "KandinskyModels", "KandinskyCalibration"]),
        // The example's own XCTest suite, as a user would write it with KandinskyTesting (so
        // without the package's test support).
        .testTarget(
            name: "CustomGroupingTests",
            dependencies: ["CustomGrouping", "KandinskyCore", "KandinskyCalibration", "KandinskyTesting"],
            path: "Examples/CustomGrouping/Tests",
            swiftSettings: swiftSettings
        ),
        kandinskyTestTarget(
            "ExamplesTests",
            [
                "CalibrateExternalScores", "CustomGrouping", "TrainCalibratePredict",
                "kandinsky", "KandinskyCore", "KandinskyCalibration",
            ]),
    ]
)

/// A test target of the package under `Tests/<name>`, with the shared test support; `fixtures`
/// copies its `Fixtures/` folder into its bundle.
func kandinskyTestTarget(_ name: String, _ dependencies: [Target.Dependency], fixtures: Bool = false) -> Target {
    .testTarget(
        name: name,
        dependencies: dependencies + ["KandinskyTestSupport"],
        resources: fixtures ? [.copy("Fixtures")] : nil,
        swiftSettings: swiftSettings
    )
}
