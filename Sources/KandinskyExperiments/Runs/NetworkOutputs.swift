import Foundation
import KandinskyCore
import KandinskyData
import KandinskyModels

/// A network's probabilities on a dataset split, with the split's targets: what calibration and
/// evaluation consume.
///
/// Probabilities are kept as Float16 ([N, C, H, W], 2 bytes per value), which the calibration
/// module reads directly; targets as bytes.
package struct NetworkOutputs: Sendable {
    /// Sigmoid probabilities [N, C, H, W].
    package var probabilities: HalfTensor
    /// Targets [N, C, H, W] in {0, 1}.
    package var targets: ShapedArray<UInt8>

    /// Outputs from arrays of the same shape [N, C, H, W].
    ///
    /// - Precondition: equal shapes.
    package init(probabilities: HalfTensor, targets: ShapedArray<UInt8>) {
        precondition(
            probabilities.shape == targets.shape,
            "probabilities \(probabilities.shape) and targets \(targets.shape) differ in shape")
        self.probabilities = probabilities
        self.targets = targets
    }

    /// Runs `model` over `dataset` in batches, with progress.
    package init(
        model: inout UNet, dataset: COCODataset, batchSize: Int, title: String,
        progressStyle: ProgressReporter.Style = .automatic
    ) throws {
        var batches = BatchLoader(dataset: dataset, batchSize: batchSize, shuffle: false).epoch(0)
        let progress = ProgressReporter(title: title, total: dataset.count, style: progressStyle)
        var probabilityParts: [HalfTensor] = []
        var targetParts: [ShapedArray<UInt8>] = []
        while let batch = try TrainingRun.next(&batches) {
            let probabilities = try ExperimentError.wrapping {
                try model.probabilities(batch.images, batchSize: batchSize)
            }
            probabilityParts.append(probabilities.converted(to: Float16.self))
            targetParts.append(batch.targets)
            progress.advance(by: batch.count)
        }
        progress.finish()
        guard !probabilityParts.isEmpty else {
            throw ExperimentError("\(title): the dataset has no images", kind: .invalidData)
        }
        self.init(
            probabilities: HalfTensor.concatenate(probabilityParts, alongAxis: 0),
            targets: ShapedArray<UInt8>.concatenate(targetParts, alongAxis: 0))
    }

    /// The number of images.
    package var count: Int { probabilities.shape[0] }

    /// The images at `indices`, in that order.
    package func subset(_ indices: [Int]) -> NetworkOutputs {
        NetworkOutputs(
            probabilities: HalfTensor.concatenate(indices.map { probabilities[leading: $0..<($0 + 1)] }, alongAxis: 0),
            targets: ShapedArray<UInt8>.concatenate(indices.map { targets[leading: $0..<($0 + 1)] }, alongAxis: 0))
    }
}

/// A seeded random choice of `count` distinct indices of `0..<total`, ascending: the first
/// `count` entries of KandinskyCore's `seededPermutation(count:using:)`.
package func seededSubset(count: Int, of total: Int, seed: UInt64) -> [Int] {
    precondition(count >= 0 && count <= total, "cannot choose \(count) of \(total)")
    var generator = SeededGenerator(seed: seed)
    return seededPermutation(count: total, using: &generator).prefix(count).sorted()
}
