import ArgumentParser
import Foundation
import KandinskyCalibration
import KandinskyCore

/// Calibrates probability maps made by any framework (saved with `np.save`), compares the
/// chosen grouping with pixelwise and imagewise calibration on held-out images, and writes
/// prediction sets.
@main
struct CalibrateExternalScores: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Calibrate probs.npy [N, C, H, W] against targets.npy, evaluate, and write prediction sets.")

    @Argument(
        help:
            "Probabilities [N, C, H, W], or one sigmoid output [N, 1, H, W] (float32, float16 or float64), saved by np.save."
    )
    var probabilities: String?

    @Argument(
        help:
            "Targets: one-hot [N, C, H, W] 0/1, a label map [N, H, W], or a 0/1 mask [N, 1, H, W] for one sigmoid output (uint8, bool or any number type)."
    )
    var targets: String?

    @Option(help: "Write a seeded synthetic probs.npy/targets.npy pair into this directory first and use it.")
    var demo: String?

    @Option(help: "Images in the demo pair.")
    var demoImages = 60

    @Option(help: "Height and width of the demo images.")
    var demoSize = 32

    @Option(help: "Grouping compared with pixel and image: pixel, image, kmeans or gen-ann.")
    var method: GroupingSpecification.Method = .kmeans

    @Option(help: "Miscoverage α of the written prediction sets (confidence 1 − α).")
    var alpha = 0.1

    @Option(
        help: "Threshold rule: conformal (a finite-sample guarantee per image) or linear (the original's quantiles).")
    var quantile: QuantileRule = .conformal

    @Option(help: "Seed of the calibration/test split and of the grouping's own randomness.")
    var seed: UInt64 = 0

    @Option(help: "Where sets.npy (uint8 [N_test, C, H, W]) is written; the input's directory by default.")
    var output: String?

    mutating func validate() throws {
        guard demo != nil || (probabilities != nil && targets != nil) else {
            throw ValidationError("give probs.npy and targets.npy, or --demo DIR")
        }
        guard alpha > 0 && alpha < 1 else { throw ValidationError("--alpha must be in (0, 1), got \(alpha)") }
    }

    func run() throws {
        let probabilitiesURL: URL
        let targetsURL: URL
        if let demo {
            (probabilitiesURL, targetsURL) = try writeDemoPair(
                to: URL(fileURLWithPath: demo), images: demoImages, size: demoSize, seed: seed)
            print("wrote a synthetic pair (\(demoImages) images of \(demoSize)×\(demoSize)) to \(demo)")
        } else if let probabilities, let targets {
            (probabilitiesURL, targetsURL) = (URL(fileURLWithPath: probabilities), URL(fileURLWithPath: targets))
        } else {
            throw ValidationError("give probs.npy and targets.npy, or --demo DIR")
        }
        let sources = (probabilitiesURL.path, targetsURL.path)
        // Any form a model gives: single-channel sigmoid outputs, label maps, Float64, …
        let input = try CalibrationInput(
            probabilities: NumpyFile.read(contentsOf: probabilitiesURL),
            targets: NumpyFile.read(contentsOf: targetsURL),
            probabilitiesSource: sources.0, targetsSource: sources.1)
        if let warning = input.clampingWarning { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        let t = input.targets!  // given above
        let outputDirectory = output.map(URL.init(fileURLWithPath:)) ?? probabilitiesURL.deletingLastPathComponent()
        switch input.probabilities {
        case .float32(let p): try run(probabilities: p, targets: t, sources: sources, output: outputDirectory)
        case .float16(let p): try run(probabilities: p, targets: t, sources: sources, output: outputDirectory)
        }
    }

    func run<P: QuantileScalar>(
        probabilities: ShapedArray<P>, targets: ShapedArray<UInt8>, sources: (String, String), output: URL
    ) throws {
        let imageCount = probabilities.shape[0]
        guard imageCount >= 2 else { throw ValidationError("need at least 2 images to split, found \(imageCount)") }

        // A seeded split into calibration and test halves; images are exchangeable, pixels are not.
        var generator = SeededGenerator(seed: seed)
        let order = Array(0..<imageCount).shuffled(using: &generator)
        let calibrationImages = Array(order[..<(imageCount / 2)])
        let testImages = Array(order[(imageCount / 2)...])
        func take<S>(_ array: ShapedArray<S>, _ images: [Int]) -> ShapedArray<S> {
            ShapedArray.concatenate(images.map { array[leading: $0..<($0 + 1)] }, alongAxis: 0)
        }
        let scores = try ScoreStore(
            probabilities: take(probabilities, calibrationImages), targets: take(targets, calibrationImages))
        let testProbabilities = take(probabilities, testImages)
        let testTargets = take(targets, testImages)
        print(
            "calibration images: \(calibrationImages.count), test images: \(testImages.count), shape \(probabilities.shape)"
        )

        var methods: [GroupingSpecification.Method] = [.pixel, .image]
        if !methods.contains(method) { methods.append(method) }
        let evaluation = CoverageEvaluation(binCount: 20, classIndex: 1)
        print("method    pixelwise-CE  marginal-CE  coverage@\(1 - alpha)")
        let setsURL = output.appendingPathComponent("sets.npy")
        for m in methods {
            let curves = try GroupingSpecification(method: m, seed: seed).makeGrouping()
                .calibrate(scores, rule: quantile, seed: seed)
            let result = try evaluation.evaluate(curves, probabilities: testProbabilities, targets: testTargets)
            let sets = try curves.predictionSets(probabilities: testProbabilities, alpha: alpha)
            let coverage = Self.coverage(sets: sets, targets: testTargets, classIndex: 1)
            print(
                m.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
                    + String(
                        format: "%12.4f  %11.4f  %11.4f", result.meanPixelwiseCalibrationError,
                        result.marginalCalibrationError, coverage))
            if m == method { try NumpyFile.write(.uint8(sets), to: setsURL) }
        }
        print("wrote \(setsURL.path): uint8 \(testProbabilities.shape), \(method.rawValue) sets at α = \(alpha)")
    }

    /// The fraction of target pixels of class `classIndex` whose prediction set holds the class.
    static func coverage(sets: ShapedArray<UInt8>, targets: ShapedArray<UInt8>, classIndex c: Int) -> Double {
        let (classes, plane) = (targets.shape[1], targets.shape[2] * targets.shape[3])
        var covered = 0
        var total = 0
        sets.withUnsafeBufferPointer { s in
            targets.withUnsafeBufferPointer { t in
                for n in 0..<targets.shape[0] {
                    let base = (n * classes + c) * plane
                    for i in base..<(base + plane) where t[i] == 1 {
                        total += 1
                        covered += Int(s[i])
                    }
                }
            }
        }
        return Double(covered) / Double(max(total, 1))
    }
}

extension GroupingSpecification.Method: ExpressibleByArgument {}
extension QuantileRule: ExpressibleByArgument {}

/// Writes a seeded pair of two-class maps (background, foreground) of `images` × `size` × `size`:
/// the true foreground probability of each pixel is σ(u) with u ~ N(0, 2²), the target is drawn
/// from it, and the reported probability σ(u·τ) is overconfident (τ = 1.8) in the left half of
/// the image and underconfident (τ = 0.6) in the right half, so pixelwise structure matters.
func writeDemoPair(to directory: URL, images: Int, size: Int, seed: UInt64) throws -> (URL, URL) {
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    var generator = SeededGenerator(seed: seed &+ 1)
    let plane = size * size
    var probabilities = Tensor(shape: [images, 2, size, size], repeating: 0)
    var targets = ShapedArray<UInt8>(shape: [images, 2, size, size], repeating: 0)
    probabilities.withUnsafeMutableBufferPointer { p in
        targets.withUnsafeMutableBufferPointer { t in
            for n in 0..<images {
                for i in 0..<plane {
                    let u = 2 * generator.nextNormal()
                    let truth = 1 / (1 + exp(-u))
                    let temperature = i % size < size / 2 ? 1.8 : 0.6
                    let reported = Float(1 / (1 + exp(-u * temperature)))
                    let foreground: UInt8 = generator.nextUnitDouble() < truth ? 1 : 0
                    p[(n * 2 + 1) * plane + i] = reported
                    p[n * 2 * plane + i] = 1 - reported
                    t[(n * 2 + 1) * plane + i] = foreground
                    t[n * 2 * plane + i] = 1 - foreground
                }
            }
        }
    }
    let probabilitiesURL = directory.appendingPathComponent("probs.npy")
    let targetsURL = directory.appendingPathComponent("targets.npy")
    try NumpyFile.write(.float32(probabilities), to: probabilitiesURL)
    try NumpyFile.write(.uint8(targets), to: targetsURL)
    return (probabilitiesURL, targetsURL)
}
