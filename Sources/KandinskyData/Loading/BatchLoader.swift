import Dispatch
import Foundation
import KandinskyCore

/// A batch of samples: images `[N, 3, H, W]` and targets `[N, 1 + C, H, W]`, row-major.
public struct SegmentationBatch: Sendable {
    /// `[N, 3, H, W]` images in [0, 1].
    public var images: Tensor
    /// `[N, 1 + C, H, W]` 0/1 targets, channel 0 background.
    public var targets: ShapedArray<UInt8>
    /// Dataset indices of the samples, in batch order.
    public var indices: [Int]
    /// Manifest image ids of the samples, in batch order.
    public var imageIDs: [Int]

    /// `N`, the number of samples.
    public var count: Int { indices.count }

    /// Stacks samples of size `dims` with `channels` target channels; `indices` are their dataset indices.
    init(stacking samples: [SegmentationSample], indices: [Int], dims: ResizeAndPad, channels: Int) {
        precondition(samples.count == indices.count, "\(samples.count) samples but \(indices.count) indices")
        let n = samples.count
        let imageSize = 3 * dims.width * dims.height
        let targetSize = channels * dims.width * dims.height
        self.images = Tensor(shape: [n, 3, dims.height, dims.width]) { out in
            for (i, sample) in samples.enumerated() {
                precondition(
                    sample.image.count == imageSize && sample.target.count == targetSize,
                    "sample \(i) is \(sample.image.shape) / \(sample.target.shape), expected [3, \(dims.height), \(dims.width)] / [\(channels), \(dims.height), \(dims.width)]"
                )
                _ = sample.image.withUnsafeBufferPointer {
                    UnsafeMutableBufferPointer(rebasing: out[(i * imageSize)..<((i + 1) * imageSize)]).initialize(
                        fromContentsOf: $0)
                }
            }
        }
        self.targets = ShapedArray<UInt8>(shape: [n, channels, dims.height, dims.width]) { out in
            for (i, sample) in samples.enumerated() {
                _ = sample.target.withUnsafeBufferPointer {
                    UnsafeMutableBufferPointer(rebasing: out[(i * targetSize)..<((i + 1) * targetSize)]).initialize(
                        fromContentsOf: $0)
                }
            }
        }
        self.indices = indices
        self.imageIDs = samples.map(\.imageID)
    }
}

/// Iterates over a dataset in batches, one epoch at a time.
///
/// Each epoch visits the samples in a seeded random order (a Fisher–Yates shuffle drawn from
/// stream `epoch` of `seed`, so epoch `e` has the same order in every run) or in dataset order.
/// While the caller works on one batch, the next is decoded on another thread (on a 2-core
/// machine: the second core), so training is not starved. Augmentation parameters come from a
/// generator per (epoch, position), so they do not depend on thread timing.
///
/// By default the first bad sample ends the epoch with its error; with `skipBadSamples` bad
/// samples are left out (batches may then be smaller) and listed in ``skipped``.
public final class BatchLoader<Dataset: SegmentationDataset>: @unchecked Sendable {
    /// The dataset the batches come from.
    public let dataset: Dataset
    /// Samples per batch (the last batch of an epoch may be smaller unless `dropLast`).
    public let batchSize: Int
    /// Whether each epoch visits the samples in a seeded random order.
    public let shuffle: Bool
    /// The seed of the shuffles and augmentations.
    public let seed: UInt64
    /// Applied to every sample when set (training); `nil` for evaluation.
    public let augmentation: Augmentation?
    /// Whether bad samples are skipped and reported instead of ending the epoch with an error.
    public let skipBadSamples: Bool
    /// Whether a last batch smaller than `batchSize` is dropped.
    public let dropLast: Bool

    private let lock = NSLock()
    private var skippedErrors: [DataError] = []

    /// The samples skipped so far (only with `skipBadSamples`), with their errors.
    public var skipped: [DataError] {
        lock.lock()
        defer { lock.unlock() }
        return skippedErrors
    }

    /// A loader of `batchSize` samples per batch, in a seeded shuffled order when `shuffle` (a
    /// new order each epoch, from `seed` and the epoch number); the next batch is decoded while
    /// the current one is used.
    ///
    /// - Precondition: `batchSize` > 0.
    public init(
        dataset: Dataset, batchSize: Int, shuffle: Bool = true, seed: UInt64 = 0, augmentation: Augmentation? = nil,
        skipBadSamples: Bool = false, dropLast: Bool = false
    ) {
        precondition(batchSize > 0, "batch size must be positive, got \(batchSize)")
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.seed = seed
        self.augmentation = augmentation
        self.skipBadSamples = skipBadSamples
        self.dropLast = dropLast
    }

    /// The dataset indices of an epoch, in visiting order.
    package func order(epoch: Int) -> [Int] {
        guard shuffle else { return Array(0..<dataset.count) }
        var generator = SeededGenerator.stream(epoch, of: seed)
        return seededPermutation(count: dataset.count, using: &generator)
    }

    /// The number of batches per epoch.
    public var batchesPerEpoch: Int {
        dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize
    }

    /// The batches of one epoch.
    public func epoch(_ epoch: Int) -> Epoch {
        Epoch(loader: self, epoch: epoch, order: order(epoch: epoch))
    }

    /// One epoch's batches; `next()` returns the prefetched batch and starts decoding the one after.
    public struct Epoch: Sendable {
        let loader: BatchLoader
        let epoch: Int
        let order: [Int]
        private var position = 0
        private var pending: Pending?

        init(loader: BatchLoader, epoch: Int, order: [Int]) {
            self.loader = loader
            self.epoch = epoch
            self.order = order
        }

        /// The next batch, `nil` after the last; throws the first bad sample's error unless the
        /// loader skips bad samples.
        public mutating func next() throws(DataError) -> SegmentationBatch? {
            let current = pending ?? startBatch()
            pending = nil
            guard let current else { return nil }
            pending = startBatch()
            return try current.wait().get()
        }

        private mutating func startBatch() -> Pending? {
            let size = min(loader.batchSize, order.count - position)
            guard size > 0, !(loader.dropLast && size < loader.batchSize) else { return nil }
            let positions = position..<(position + size)
            position += size
            let pending = Pending()
            let loader = self.loader
            let order = self.order
            let epoch = self.epoch
            DispatchQueue.global(qos: .userInitiated).async {
                pending.finish(loader.load(positions: positions, order: order, epoch: epoch))
            }
            return pending
        }
    }

    /// Loads the samples at `positions` of an epoch's order into one batch.
    func load(positions: Range<Int>, order: [Int], epoch: Int) -> Result<SegmentationBatch, DataError> {
        var samples: [SegmentationSample] = []
        samples.reserveCapacity(positions.count)
        var indices: [Int] = []
        for position in positions {
            let index = order[position]
            do throws(DataError) {
                var sample = try dataset.sample(index)
                if let augmentation {
                    var generator = SeededGenerator.stream(epoch &* 1_000_003 &+ position, of: seed ^ 0x5EED_A06)
                    sample = augmentation(sample, using: &generator)
                }
                samples.append(sample)
                indices.append(index)
            } catch {
                guard skipBadSamples else { return .failure(error) }
                lock.lock()
                skippedErrors.append(error)
                lock.unlock()
            }
        }
        return .success(
            SegmentationBatch(stacking: samples, indices: indices, dims: dataset.dims, channels: dataset.channelCount))
    }
}

/// A batch being decoded on another thread.
final class Pending: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<SegmentationBatch, DataError>?

    func finish(_ result: Result<SegmentationBatch, DataError>) {
        self.result = result
        done.signal()
    }

    func wait() -> Result<SegmentationBatch, DataError> {
        done.wait()
        return result!
    }
}
