import ArgumentParser
import Foundation
import KandinskyCalibration
import KandinskyCore
import KandinskyData
import KandinskyModels

/// The library end to end: a tiny synthetic COCO-style dataset, a small UNet trained for a few
/// epochs, calibration of its probabilities, and prediction sets on test images.
@main
struct TrainCalibratePredict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Synthetic dataset → UNet → calibration → prediction sets, in under a minute.")

    @Option(help: "Training images.")
    var trainImages = 48

    @Option(help: "Calibration images.")
    var calibrationImages = 64

    @Option(help: "Test images.")
    var testImages = 32

    @Option(help: "Training epochs.")
    var epochs = 4

    @Option(help: "Width of the network's input (the height is three quarters of it); a multiple of 16.")
    var width = 64

    @Option(help: "Grouping: pixel, image, kmeans or gen-ann.")
    var method: GroupingSpecification.Method = .kmeans

    @Option(help: "Miscoverage α of the prediction sets.")
    var alpha = 0.1

    @Option(help: "Seed of the data, the initial weights and the batch order.")
    var seed: UInt64 = 0

    mutating func validate() throws {
        guard width >= 16 && width % 16 == 0 else {
            throw ValidationError("--width must be a positive multiple of 16, got \(width)")
        }
        guard alpha > 0 && alpha < 1 else { throw ValidationError("--alpha must be in (0, 1), got \(alpha)") }
    }

    func run() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "kandinsky-example-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }

        // 1. Data: the built-in synthetic COCO-person look-alike, written as JPEG/PNG files and
        //    COCO manifests, then read back through the same loader real data uses.
        let dataset = SyntheticDataset(
            trainCount: trainImages, validationCount: 4, calibrationCount: calibrationImages,
            testCount: testImages, width: width, height: width * 3 / 4, seed: seed)
        try dataset.write(to: root)
        let dims = ResizeAndPad(width: width, height: width * 3 / 4)
        let splits = root.appendingPathComponent("trainval/splits/t\(trainImages)")
        let train = try COCODataset(
            root: root.appendingPathComponent("trainval"),
            manifest: splits.appendingPathComponent("labels_train.json"), dims: dims)
        let calibration = try COCODataset(
            root: root.appendingPathComponent("trainval"),
            manifest: splits.appendingPathComponent("labels_cal.json"), dims: dims)
        let test = try COCODataset(root: root.appendingPathComponent("test"), dims: dims)
        print(
            "data: \(train.count) train, \(calibration.count) calibration, \(test.count) test images of \(dims.width)×\(dims.height)"
        )

        // 2. Model: a small UNet (background + person) trained with the paper's loss and schedule.
        var generator = SeededGenerator(seed: seed)
        let model = UNet(inputChannels: 3, outputChannels: train.channelCount, channels: 8, depth: 2, using: &generator)
        var trainer = Trainer(model: model, schedule: CosineAnnealingWarmRestarts(baseLearningRate: 3e-3))
        let loader = BatchLoader(dataset: train, batchSize: 8, shuffle: true, seed: seed)
        for epoch in 0..<epochs {
            var batches = loader.epoch(epoch)
            var total: Float = 0
            var count = 0
            while let batch = try batches.next() {
                total += try trainer.trainStep(images: batch.images, targets: batch.targets.map { Float($0) })
                count += 1
            }
            trainer.finishEpoch()
            print("epoch \(epoch + 1): loss \(String(format: "%.4f", total / Float(count)))")
        }

        // 3. Calibration: scores 1 − p of the calibration images' target pixels → curves.
        var network = trainer.model
        let (calibrationProbabilities, calibrationTargets) = try outputs(of: &network, on: calibration)
        let curves = try GroupingSpecification(method: method, seed: seed).makeGrouping()
            .calibrate(ScoreStore(probabilities: calibrationProbabilities, targets: calibrationTargets))
        print("calibrated: method \(curves.method), curves \(curves.curves.shape)")

        // 4. Prediction sets on the test images, and how often they hold the true class.
        let (testProbabilities, testTargets) = try outputs(of: &network, on: test)
        let sets = try curves.predictionSets(probabilities: testProbabilities, alpha: alpha)
        var covered = 0
        var targets = 0
        var setSize = 0
        sets.withUnsafeBufferPointer { s in
            testTargets.withUnsafeBufferPointer { t in
                for i in 0..<t.count {
                    setSize += Int(s[i])
                    if t[i] == 1 {
                        targets += 1
                        covered += Int(s[i])
                    }
                }
            }
        }
        let pixels = testTargets.count / testTargets.shape[1]
        print(
            String(
                format: "coverage at confidence %.2f: %.4f of %d target labels; mean set size %.3f classes",
                1 - alpha, Double(covered) / Double(targets), targets, Double(setSize) / Double(pixels)))
    }

    /// The network's probabilities and the targets of every image of `dataset`, [N, C, H, W].
    func outputs(of network: inout UNet, on dataset: COCODataset) throws -> (Tensor, ShapedArray<UInt8>) {
        var batches = BatchLoader(dataset: dataset, batchSize: 16, shuffle: false).epoch(0)
        var probabilities: [Tensor] = []
        var targets: [ShapedArray<UInt8>] = []
        while let batch = try batches.next() {
            probabilities.append(try network.probabilities(batch.images))
            targets.append(batch.targets)
        }
        return (Tensor.concatenate(probabilities, alongAxis: 0), ShapedArray.concatenate(targets, alongAxis: 0))
    }
}

extension GroupingSpecification.Method: ExpressibleByArgument {}
