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
            dependencies: kandinsky(
                "KandinskyCore", "KandinskyCalibration", "KandinskyModels", "KandinskyData", "KandinskyExperiments",
                "KandinskyPlots")
        ),
        // A user's XCTest suite for a grouping of their own, through the KandinskyTesting product.
        .testTarget(
            name: "ConsumerTests",
            dependencies: kandinsky("KandinskyCore", "KandinskyCalibration", "KandinskyTesting")
        ),
    ]
)

/// The products `names` of the Kandinsky package, as a target's dependencies.
func kandinsky(_ names: String...) -> [Target.Dependency] {
    names.map { .product(name: $0, package: "Kandinsky") }
}
