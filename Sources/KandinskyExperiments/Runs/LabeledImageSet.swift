import Foundation
import KandinskyCore

/// What the experiment runs need from a dataset split: its class names and batches of
/// images [N, 3, H, W] with targets [N, C, H, W] (channel 0 the background).
public protocol LabeledImageSet {
    /// Class names, background first.
    var classNames: [String] { get }
    /// The number of images.
    var count: Int { get }
    /// The batches of one epoch: shuffled by (`seed`, `epoch`) and augmented when `augmented`
    /// is true, in order and unaugmented otherwise.
    func batches(batchSize: Int, epoch: Int, seed: UInt64, augmented: Bool) -> any BatchSequence
    /// The split restricted to the images at `indices`, in that order.
    func subset(_ indices: [Int]) -> Self
}

/// The batches of one pass over a dataset, loaded on demand.
public protocol BatchSequence {
    /// The number of batches.
    var count: Int { get }
    /// Batch `index`: images [n, 3, H, W] in [0, 1] and targets [n, C, H, W] in {0, 1}.
    func load(_ index: Int) throws -> (images: Tensor, targets: Tensor)
}

/// The splits an experiment uses.
public struct DataSplits {
    public var train: any LabeledImageSet
    public var validation: any LabeledImageSet
    public var calibration: any LabeledImageSet
    public var test: any LabeledImageSet

    public init(train: any LabeledImageSet, validation: any LabeledImageSet,
                calibration: any LabeledImageSet, test: any LabeledImageSet) {
        self.train = train
        self.validation = validation
        self.calibration = calibration
        self.test = test
    }

    /// Class names, background first.
    public var classNames: [String] { train.classNames }
}
