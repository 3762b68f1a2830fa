// swift-tools-version: 6.0
// A package that depends on Kandinsky as a user's would (by path here, by URL elsewhere).
import PackageDescription

let package = Package(
    name: "Consumer",
    dependencies: [
        .package(name: "Kandinsky", path: "../..")
    ],
    targets: [
        .executableTarget(
            name: "Consumer",
            dependencies: [
                .product(name: "KandinskyCore", package: "Kandinsky"),
                .product(name: "KandinskyCalibration", package: "Kandinsky"),
                .product(name: "KandinskyModels", package: "Kandinsky"),
                .product(name: "KandinskyData", package: "Kandinsky"),
                .product(name: "KandinskyExperiments", package: "Kandinsky"),
                .product(name: "KandinskyPlots", package: "Kandinsky"),
            ]
        ),
        // A user's XCTest suite for a grouping of their own, through the KandinskyTesting product.
        .testTarget(
            name: "ConsumerTests",
            dependencies: [
                .product(name: "KandinskyCore", package: "Kandinsky"),
                .product(name: "KandinskyCalibration", package: "Kandinsky"),
                .product(name: "KandinskyTesting", package: "Kandinsky"),
            ]
        ),
    ]
)
