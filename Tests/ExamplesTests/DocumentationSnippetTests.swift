import Foundation
import KandinskyCalibration
import KandinskyCore
import KandinskyTestSupport
import Testing

/// Runs the code of the "Getting started" article (KandinskyCalibration.docc) verbatim, on
/// files written here, so the article cannot drift from the API.
@Suite struct DocumentationSnippetTests {
    @Test func gettingStartedRunsAndItsSetsCoverTheTargets() throws {
        try withScratchDirectory("getting-started") { directory in
            // Two-class maps: the foreground probability of each pixel is a multiple of 1/64 (so
            // scores are exact in Float16) and the target is foreground where it exceeds a per-image
            // cut. The test files repeat the calibration files, which makes coverage checkable by hand.
            func maps(images: Int) -> (Tensor, ShapedArray<UInt8>) {
                var p = [Float]()
                var t = [UInt8]()
                for n in 0..<images {
                    let foreground = (0..<48).map { Float(($0 * 5 + n * 3) % 64) / 64 }
                    p += foreground.map { 1 - $0 } + foreground
                    let cut = Float(24 + (n % 4) * 4) / 64
                    let target = foreground.map { UInt8($0 > cut ? 1 : 0) }
                    t += target.map { 1 - $0 } + target
                }
                return (
                    Tensor(shape: [images, 2, 6, 8], scalars: p), ShapedArray(shape: [images, 2, 6, 8], scalars: t)
                )
            }
            let (calibrationP, calibrationT) = maps(images: 40)
            let (testP, testT) = (calibrationP, calibrationT)
            try NumpyFile.write(.float32(calibrationP), to: directory.appendingPathComponent("cal_probs.npy"))
            try NumpyFile.write(.uint8(calibrationT), to: directory.appendingPathComponent("cal_targets.npy"))
            try NumpyFile.write(.float32(testP), to: directory.appendingPathComponent("test_probs.npy"))
            try NumpyFile.write(.uint8(testT), to: directory.appendingPathComponent("test_targets.npy"))
            let previous = FileManager.default.currentDirectoryPath
            #expect(FileManager.default.changeCurrentDirectoryPath(directory.path))
            defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }

            // --- the article's code, from `func load` to the evaluation ---
            func load(_ name: String) throws -> AnyShapedArray {
                try NumpyFile.read(contentsOf: URL(fileURLWithPath: name))
            }

            let calibration = try CalibrationInput(
                probabilities: load("cal_probs.npy"), targets: load("cal_targets.npy"))
            let scores = try ScoreStore(probabilities: calibration.probabilities.float32, targets: calibration.targets!)

            let curves = try Calibrator(grouping: KMeansGrouping()).calibrate(scores)
            try curves.write(to: URL(fileURLWithPath: "cmodel.safetensors"))

            let testProbabilities = try CalibrationInput(probabilities: load("test_probs.npy")).probabilities.float32
            let sets = try curves.predictionSets(probabilities: testProbabilities, alpha: 0.1)
            try NumpyFile.write(.uint8(sets), to: URL(fileURLWithPath: "sets.npy"))

            let test = try CalibrationInput(probabilities: load("test_probs.npy"), targets: load("test_targets.npy"))
            let result = try CoverageEvaluation(classIndex: 1).evaluate(
                curves, probabilities: test.probabilities.float32,
                targets: test.targets!)
            // --- end of the article's code ---

            #expect(curves.curves.shape == [101, 2, 6, 8])
            #expect(curves.method == "kmeans")
            let reread = try CalibratedCurves.read(contentsOf: directory.appendingPathComponent("cmodel.safetensors"))
            #expect(reread.curves.scalars.elementsEqual(curves.curves.scalars) { $0 == $1 || ($0.isNaN && $1.isNaN) })
            guard
                case .uint8(let written) = try NumpyFile.read(contentsOf: directory.appendingPathComponent("sets.npy"))
            else {
                Issue.record("sets.npy is not uint8")
                return
            }
            #expect(written == sets)
            // The rule at ℓ = 0.9 (read exactly: Q = 101) holds on the threshold-setting images
            // themselves: for each group g of class 1 with targets in n_g of them, the missed
            // fractions of those images sum to at most (n_g + 1)·0.1 − 1.
            let thresholdImages = Calibrator(grouping: KMeansGrouping()).splitImages(count: 40).thresholds
            let labels = try #require(curves.groups.labels[1])
            #expect(curves.groups.groupCounts[1] >= 4)
            for g in 0..<curves.groups.groupCounts[1] {
                var missedSum = 0.0
                var images = 0
                for n in thresholdImages {
                    let targets = (0..<48).filter {
                        labels.scalars[$0] == Int32(g) && testT.scalars[n * 96 + 48 + $0] == 1
                    }
                    guard !targets.isEmpty else { continue }
                    images += 1
                    missedSum +=
                        Double(targets.filter { sets.scalars[n * 96 + 48 + $0] == 0 }.count) / Double(targets.count)
                }
                #expect(
                    missedSum <= Double(images + 1) * 0.1 - 1 + 1e-9 || images == 0,
                    "group \(g): \(missedSum) over \(images) images")
            }
            let classOne = testT.scalars.indices.filter { $0 % 96 >= 48 && testT.scalars[$0] == 1 }
            #expect(result.targetCount == classOne.count)
            #expect(result.meanPixelwiseCalibrationError >= 0 && result.meanPixelwiseCalibrationError <= 1)
        }
    }
}
