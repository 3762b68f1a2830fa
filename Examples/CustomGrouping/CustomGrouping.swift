import ArgumentParser
import Foundation
import KandinskyCalibration
import KandinskyCore

/// Calibrates synthetic probability maps with ``BorderBandsGrouping`` and compares it with
/// pixelwise and imagewise calibration by the mean pixelwise coverage error on test images.
@main
struct CustomGrouping: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare a border-band grouping with pixelwise and imagewise calibration on synthetic maps.")

    @Option(help: "Calibration images.")
    var calibrationImages = 60

    @Option(help: "Test images.")
    var testImages = 60

    @Option(help: "Height and width of the images.")
    var size = 24

    @Option(help: "Rings per band.")
    var bandWidth = 2

    @Option(help: "Number of bands.")
    var bandCount = 4

    @Option(help: "Seed of the synthetic maps.")
    var seed: UInt64 = 0

    func run() throws {
        var generator = SeededGenerator(seed: seed)
        let calibration = BorderMiscalibratedMaps.make(images: calibrationImages, size: size, using: &generator)
        let test = BorderMiscalibratedMaps.make(images: testImages, size: size, using: &generator)
        let scores = try ScoreStore(probabilities: calibration.probabilities, targets: calibration.targets)
        let evaluation = CoverageEvaluation(binCount: 20, classIndex: 1)

        // The custom strategy goes through the same generic entry point as the built-in ones.
        let strategies: [any NonconformityGrouping] = [
            PixelwiseGrouping(), ImagewiseGrouping(), BorderBandsGrouping(bandWidth: bandWidth, bandCount: bandCount),
        ]
        print("\(calibrationImages) calibration and \(testImages) test images of \(size)×\(size)")
        print("method          groups  pixelwise-CE  marginal-CE")
        for strategy in strategies {
            let curves = try strategy.calibrate(scores)
            let result = try evaluation.evaluate(curves, probabilities: test.probabilities, targets: test.targets)
            let groups = curves.groups.labels[1] == nil ? "-" : "\(curves.groups.groupCounts[1])"
            print(
                curves.method.padding(toLength: 16, withPad: " ", startingAt: 0)
                    + groups.padding(toLength: 6, withPad: " ", startingAt: 0)
                    + String(
                        format: "%14.4f  %11.4f", result.meanPixelwiseCalibrationError, result.marginalCalibrationError)
            )
        }
    }
}

/// Two-class probability maps (background, foreground) whose miscalibration depends on the
/// distance to the image border.
///
/// For each pixel of each image: u ~ N(0, 2²), the true foreground probability is σ(u) and the
/// target is drawn from it; the network reports σ(τ(d)·u) with τ(d) = 0.6 + 1.4·e^(−d/2), so it
/// is overconfident (τ ≈ 2) on the border (d = 0) and underconfident (τ ≈ 0.6) in the interior.
/// A strategy that pools pixels by distance to the border finds exactly this structure.
enum BorderMiscalibratedMaps {
    static func make(images: Int, size: Int, using generator: inout some RandomNumberGenerator)
        -> (probabilities: Tensor, targets: ShapedArray<UInt8>)
    {
        let plane = size * size
        var probabilities = Tensor(shape: [images, 2, size, size], repeating: 0)
        var targets = ShapedArray<UInt8>(shape: [images, 2, size, size], repeating: 0)
        probabilities.withUnsafeMutableBufferPointer { p in
            targets.withUnsafeMutableBufferPointer { t in
                for n in 0..<images {
                    for i in 0..<plane {
                        let (h, w) = (i / size, i % size)
                        let d = Double(min(h, w, size - 1 - h, size - 1 - w))
                        let temperature = 0.6 + 1.4 * exp(-d / 2)
                        let u = 2 * generator.nextNormal()
                        let foreground: UInt8 = generator.nextUnitDouble() < 1 / (1 + exp(-u)) ? 1 : 0
                        let reported = Float(1 / (1 + exp(-temperature * u)))
                        p[(n * 2 + 1) * plane + i] = reported
                        p[n * 2 * plane + i] = 1 - reported
                        t[(n * 2 + 1) * plane + i] = foreground
                        t[n * 2 * plane + i] = 1 - foreground
                    }
                }
            }
        }
        return (probabilities, targets)
    }
}
