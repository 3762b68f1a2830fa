import Foundation
import KandinskyCore
import KandinskyTestSupport
import Testing

/// Runs every example executable with small sizes and checks what it prints and writes.
@Suite struct ExampleRunTests {
    /// With every image identical, a pixel's calibration scores of its target class are all the
    /// same score s, so its pixelwise curve is flat at s and the class is in the set where it is
    /// the target (s ≤ s). A class that is never the target there has no score: under the
    /// linear rule its curve is NaN and it is never in the set, so the sets equal the targets;
    /// under the conformal rule its threshold is +∞ (no evidence either way) and it is always
    /// in the set, so every set holds both classes. Both cover every target pixel.
    /// Probabilities are multiples of 1/64 so that 1 − p is exact both in the Float16 the
    /// calibration scores are stored in and in the Float32 of the test scores; otherwise a
    /// stored score rounded down would sit just below its own test score.
    @Test func calibrateExternalScoresReproducesTargetsOfIdenticalImages() throws {
        try withScratchDirectory("external-scores") { directory in
            let (images, classes, height, width) = (10, 2, 4, 5)
            let plane = height * width
            let foreground = (0..<plane).map { UInt8(($0 * 7) % 3 == 0 ? 1 : 0) }
            let probability = (0..<plane).map { Float(5 + $0) / 64 }
            var probabilities = [Float]()
            var targets = [UInt8]()
            for _ in 0..<images {
                probabilities += probability.map { 1 - $0 } + probability
                targets += foreground.map { 1 - $0 } + foreground
            }
            let target = ShapedArray<UInt8>(shape: [images, classes, height, width], scalars: targets)
            try NumpyFile.write(
                .float32(Tensor(shape: [images, classes, height, width], scalars: probabilities)),
                to: directory.appendingPathComponent("probs.npy"))
            try NumpyFile.write(.uint8(target), to: directory.appendingPathComponent("targets.npy"))

            for rule in ["linear", "conformal"] {
                let run = try runExample(
                    "CalibrateExternalScores",
                    [
                        directory.appendingPathComponent("probs.npy").path,
                        directory.appendingPathComponent("targets.npy").path,
                        "--method", "pixel", "--alpha", "0.2", "--quantile", rule,
                    ])
                #expect(run.status == 0, "\(run.stderr)")
                #expect(run.row("calibration images: 5, test images: 5") != nil, "\(run.stdout)")
                #expect(number(run.row("pixel"), 3) == 1)
                #expect(run.row("kmeans") == nil)
                guard
                    case .uint8(let sets) = try NumpyFile.read(contentsOf: directory.appendingPathComponent("sets.npy"))
                else {
                    Issue.record("sets.npy is not uint8")
                    return
                }
                #expect(sets.shape == [5, classes, height, width])
                let expected =
                    rule == "linear"
                    ? Array(target.scalars[0..<(5 * classes * plane)]) : Array(repeating: 1, count: 5 * classes * plane)
                #expect(sets.scalars == expected, "\(rule)")
            }
        }
    }

    @Test func calibrateExternalScoresRunsOnItsDemoPair() throws {
        try withScratchDirectory("external-demo") { directory in
            let run = try runExample(
                "CalibrateExternalScores", ["--demo", directory.path, "--demo-images", "40", "--demo-size", "16"])
            #expect(run.status == 0, "\(run.stderr)")
            for method in ["pixel", "image", "kmeans"] {
                let row = run.row(method)
                #expect(row?.count == 4, "\(run.stdout)")
                // Coverage errors are mean absolute differences of fractions, so within [0, 1].
                #expect((0...1).contains(number(row, 1)) && (0...1).contains(number(row, 2)))
                #expect((0...1).contains(number(row, 3)))
            }
            // Imagewise pools the over- and underconfident halves into one curve, so its pixelwise
            // coverage error exceeds that of k-means, which can separate them.
            #expect(number(run.row("kmeans"), 1) < number(run.row("image"), 1), "\(run.stdout)")
            guard case .uint8(let sets) = try NumpyFile.read(contentsOf: directory.appendingPathComponent("sets.npy"))
            else {
                Issue.record("sets.npy is not uint8")
                return
            }
            #expect(sets.shape == [20, 2, 16, 16])
            #expect(sets.scalars.allSatisfy { $0 <= 1 })
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("probs.npy").path))
        }
    }

    @Test func calibrateExternalScoresRejectsMismatchedShapesInOneLine() throws {
        try withScratchDirectory("external-bad") { directory in
            try NumpyFile.write(
                .float32(Tensor(shape: [4, 2, 3, 3], repeating: 0.5)), to: directory.appendingPathComponent("probs.npy")
            )
            try NumpyFile.write(
                .uint8(ShapedArray(shape: [4, 2, 3, 2], repeating: 0)),
                to: directory.appendingPathComponent("targets.npy"))
            let run = try runExample(
                "CalibrateExternalScores",
                [
                    directory.appendingPathComponent("probs.npy").path,
                    directory.appendingPathComponent("targets.npy").path,
                ])
            #expect(run.status != 0)
            #expect(run.stderr.contains("targets.npy") && run.stderr.contains("[4, 2, 3, 2]"), "\(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("sets.npy").path))
        }
    }

    @Test func customGroupingBeatsPixelwiseAndImagewise() throws {
        let run = try runExample(
            "CustomGrouping", ["--calibration-images", "40", "--test-images", "40", "--size", "16"])
        #expect(run.status == 0, "\(run.stderr)")
        // 16 × 16: the deepest ring is d = 7, so bands ⌊d / 2⌋ = 0 … 3 are all present.
        #expect(run.row("border-bands")?[1] == "4", "\(run.stdout)")
        #expect(run.row("pixel")?[1] == "-" && run.row("image")?[1] == "1")
        let (pixel, image, bands) = (
            number(run.row("pixel"), 2), number(run.row("image"), 2), number(run.row("border-bands"), 2)
        )
        #expect(bands < image && bands < pixel, "\(run.stdout)")
    }

    @Test func trainCalibratePredictRunsEndToEnd() throws {
        let run = try runExample(
            "TrainCalibratePredict",
            [
                "--train-images", "16", "--calibration-images", "16", "--test-images", "8", "--epochs", "2", "--width",
                "32",
            ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.row("data: 16 train, 16 calibration, 8 test images of 32×24") != nil, "\(run.stdout)")
        let losses = run.lines.filter { $0.hasPrefix("epoch ") }.map {
            number($0.split(separator: " ").map(String.init), 3)
        }
        #expect(losses.count == 2 && losses.allSatisfy { $0 > 0 && $0.isFinite }, "\(run.stdout)")
        #expect(run.row("calibrated: method kmeans, curves [101, 2, 24, 32]") != nil, "\(run.stdout)")
        // Background and person are complementary, so every test pixel has exactly one target
        // label: 8 images × 24 × 32 pixels.
        let coverage = run.row("coverage at confidence 0.90:")
        #expect(coverage?[6] == "6144", "\(run.stdout)")
        #expect((0.7...1).contains(number(coverage, 4)), "\(run.stdout)")
        #expect((0...2).contains(number(coverage, 12)), "\(run.stdout)")
    }
}
