import KandinskyCore
import Synchronization

extension ScoreStore {
    /// Builds a ``ScoreStore`` from shards: consecutive runs of calibration images, each
    /// probabilities P [n, C, H, W] with targets T [n, C, H, W], so that no more than one shard
    /// is ever needed in memory.
    ///
    /// The builder makes two passes over the shards, in the same order:
    ///
    /// 1. ``count(targets:source:)`` with each shard's targets, which checks them and counts the
    ///    scores of every (class, pixel) row;
    /// 2. ``append(probabilities:targets:probabilitiesSource:targetsSource:)`` with each shard's
    ///    probabilities and the same targets, which writes the scores straight into their final
    ///    places;
    ///
    /// then ``finish()`` sorts the rows. Counting first lets the store be allocated once at its
    /// final size, so the peak memory is the store (6 bytes per score), one shard and
    /// O(C·H·W) per-row offsets and cursors, whatever the number of shards. The targets are read
    /// twice; they are the smaller input (bytes against Float32 or Float16 probabilities).
    ///
    /// Image n of shard k becomes image n₀ + n of the store, n₀ the images of shards 0..<k. The
    /// result equals, bit for bit, the store built by
    /// ``ScoreStore/init(probabilities:targets:precision:probabilitiesSource:targetsSource:)``
    /// from the shards concatenated along N (which is this builder with a single shard): the
    /// scores are the same and each row is sorted by the same (score, image) key, which no two
    /// scores of a row share.
    ///
    /// After a method throws, or after ``finish()``, the builder is unusable (its counts or
    /// scores are partial, or handed over): start a new one.
    public struct Builder: Sendable {
        /// C, H and W of every shard.
        public let classCount: Int, height: Int, width: Int
        /// How the scores are computed.
        public let precision: ScorePrecision
        /// Row r = c·H·W + p: its score count during counting, its offset once appending began
        /// (the last entry is the total).
        private var offsets: [Int]
        /// Where the next score of each row goes.
        private var cursors: [Int] = []
        /// The images of each counted shard, to check that appending repeats them.
        private var shardSizes: [Int] = []
        private var appendedShards = 0
        private var appendedImages = 0
        /// The scores and their images: empty until the first append allocates them. Kept
        /// non-optional so that every access mutates them in place (a copy would duplicate the
        /// whole store).
        private var values = HalfTensor(shape: [0], scalars: [])
        private var images = ShapedArray<UInt32>(shape: [0], scalars: [])
        private var allocated = false
        private var failed = false

        /// A builder of scores of C = `classCount` classes over H × W pixels.
        /// - Precondition: C, H and W are positive.
        public init(classCount: Int, height: Int, width: Int, precision: ScorePrecision = .float) {
            precondition(
                classCount > 0 && height > 0 && width > 0,
                "a score store needs at least one class and one pixel, found C = \(classCount), H = \(height), W = \(width)"
            )
            self.classCount = classCount
            self.height = height
            self.width = width
            self.precision = precision
            self.offsets = [Int](repeating: 0, count: classCount * height * width + 1)
        }

        /// The images counted so far.
        public var imageCount: Int { shardSizes.reduce(0, +) }

        /// Pass 1: counts the scores of one shard's targets T [n, C, H, W], 0 or 1.
        ///
        /// - Throws: ``CalibrationError`` when T is not [n, C, H, W] with n ≥ 1, or a target is
        ///   not 0 or 1 (naming the first in row-major order and its index in this shard).
        /// - Precondition: no shard was appended yet.
        /// - Complexity: one pass over T, split across cores.
        public mutating func count(targets: ShapedArray<UInt8>, source: String = "targets") throws(CalibrationError) {
            precondition(!failed, "a score-store builder cannot be used after it threw or finished")
            precondition(!allocated, "every shard must be counted before the first is appended")
            failed = true
            let shape = targets.shape
            try checkShard(shape, source: source)
            let (n, rows) = (shape[0], offsets.count - 1)
            let badTarget = targets.withUnsafeBufferPointer { t in
                offsets.withUnsafeMutableBufferPointer { counts in
                    let tb = UncheckedPointer(t.baseAddress!)
                    let cb = UncheckedPointer(counts.baseAddress!)
                    return InputValidation.firstFailure(in: 0..<rows) { range in
                        var bad: Int?
                        for image in 0..<n {
                            let row = tb.pointer + image * rows
                            for r in range {
                                let value = row[r]
                                if value > 1 {
                                    let index = image * rows + r
                                    bad = bad.map { min($0, index) } ?? index
                                }
                                cb.pointer[r] += Int(value & 1)
                            }
                        }
                        return bad
                    }
                }
            }
            if let bad = badTarget {
                throw .invalidTarget(
                    source: source, value: Double(targets.withUnsafeBufferPointer { $0[bad] }),
                    at: InputValidation.multiIndex(bad, shape: shape))
            }
            shardSizes.append(n)
            failed = false
        }

        /// Pass 2: writes the scores s = 1 − P of one shard, the k-th counted, whose targets
        /// are the ones counted k-th.
        ///
        /// - Parameters:
        ///   - probabilities: P [n, C, H, W] in [0, 1], Float32 or Float16.
        ///   - targets: T [n, C, H, W], the targets given to ``count(targets:source:)`` for this shard.
        ///   - probabilitiesSource: the name of the probabilities in error messages (a file path).
        ///   - targetsSource: the name of the targets in error messages (a file path).
        /// - Throws: ``CalibrationError`` when the shapes differ, or a probability is NaN or
        ///   outside [0, 1] (naming the first and its index in this shard).
        /// - Precondition: this shard was counted, with these targets.
        /// - Complexity: one pass over P and T, split across cores.
        public mutating func append<P: QuantileScalar>(
            probabilities: ShapedArray<P>, targets: ShapedArray<UInt8>,
            probabilitiesSource: String = "probabilities",
            targetsSource: String = "targets"
        ) throws(CalibrationError) {
            try Specialized.dispatch(
                probabilities,
                float: { (p: Tensor) throws(CalibrationError) in
                    try appendSpecialized(
                        p, targets: targets, probabilitiesSource: probabilitiesSource, targetsSource: targetsSource)
                },
                half: { (p: HalfTensor) throws(CalibrationError) in
                    try appendSpecialized(
                        p, targets: targets, probabilitiesSource: probabilitiesSource, targetsSource: targetsSource)
                })
        }

        private mutating func appendSpecialized<P: QuantileScalar>(
            _ probabilities: ShapedArray<P>, targets: ShapedArray<UInt8>,
            probabilitiesSource: String, targetsSource: String
        ) throws(CalibrationError) {
            precondition(!failed, "a score-store builder cannot be used after it threw or finished")
            precondition(appendedShards < shardSizes.count, "shard \(appendedShards) was appended but never counted")
            failed = true
            try InputValidation.checkShapes(
                probabilities: probabilities.shape, targets: targets.shape,
                probabilitiesSource: probabilitiesSource, targetsSource: targetsSource)
            try checkShard(probabilities.shape, source: probabilitiesSource)
            let n = probabilities.shape[0]
            precondition(
                n == shardSizes[appendedShards],
                "shard \(appendedShards) has \(n) images but \(shardSizes[appendedShards]) were counted")
            if !allocated { allocate() }
            let imageBase = appendedImages
            let precision = precision
            let (badProbability, overflow) = withSlots { slots in
                Self.scatter(probabilities, targets: targets, firstImage: imageBase, precision: precision, into: slots)
            }
            if let bad = badProbability {
                throw .invalidProbability(
                    source: probabilitiesSource,
                    value: Float(probabilities.withUnsafeBufferPointer { $0[bad] }),
                    at: InputValidation.multiIndex(bad, shape: probabilities.shape))
            }
            precondition(!overflow, "shard \(appendedShards)'s targets (\(targetsSource)) differ from the ones counted")
            appendedShards += 1
            appendedImages += n
            failed = false
        }

        /// Where the scores of each row go: the next free slot of row r is `cursors[r]`, its end
        /// `ends[r]`.
        private struct ScoreSlots: Sendable {
            let values: UncheckedPointer<Float16>, images: UncheckedPointer<UInt32>
            let cursors: UncheckedPointer<Int>, ends: UncheckedPointer<Int>
        }

        /// Calls `body` with the slots of the store's arrays (allocated by the first append).
        private mutating func withSlots<R>(_ body: (ScoreSlots) -> R) -> R {
            values.withUnsafeMutableBufferPointer { out in
                images.withUnsafeMutableBufferPointer { ids in
                    cursors.withUnsafeMutableBufferPointer { cursor in
                        offsets.withUnsafeBufferPointer { o in
                            body(
                                ScoreSlots(
                                    values: UncheckedPointer(out.baseAddress ?? UnsafeMutablePointer(bitPattern: 2)!),
                                    images: UncheckedPointer(ids.baseAddress ?? UnsafeMutablePointer(bitPattern: 4)!),
                                    cursors: UncheckedPointer(cursor.baseAddress!),
                                    ends: UncheckedPointer(o.baseAddress! + 1)))
                        }
                    }
                }
            }
        }

        /// Writes the score of every target pixel of a shard (P and T [n, C, H, W], same shape)
        /// into its row's next slot, rows split across cores, image i becoming `firstImage + i`.
        /// Returns the first probability (row-major) that is NaN or outside [0, 1], and whether a
        /// row got more scores than were counted for it.
        private static func scatter<P: QuantileScalar>(
            _ probabilities: ShapedArray<P>, targets: ShapedArray<UInt8>,
            firstImage: Int, precision: ScorePrecision,
            into slots: ScoreSlots
        ) -> (Int?, Bool) {
            let n = probabilities.shape[0]
            let rows = probabilities.count / n
            return probabilities.withUnsafeBufferPointer { p in
                targets.withUnsafeBufferPointer { t in
                    let pb = UncheckedPointer(p.baseAddress!)
                    let tb = UncheckedPointer(t.baseAddress!)
                    let overflowed = Atomic<Bool>(false)
                    let bad = InputValidation.firstFailure(in: 0..<rows) { range in
                        var bad: Int?
                        for image in 0..<n {
                            let base = image * rows
                            for r in range {
                                let probability = Float(pb.pointer[base + r])
                                if !(probability >= 0 && probability <= 1) {
                                    bad = bad.map { min($0, base + r) } ?? (base + r)
                                    continue
                                }
                                if tb.pointer[base + r] == 1 {
                                    let slot = slots.cursors.pointer[r]
                                    guard slot < slots.ends.pointer[r] else {
                                        overflowed.store(true, ordering: .relaxed)
                                        continue
                                    }
                                    slots.values.pointer[slot] = precision.halfScore(probability: probability)
                                    slots.images.pointer[slot] = UInt32(firstImage + image)
                                    slots.cursors.pointer[r] = slot + 1
                                }
                            }
                        }
                        return bad
                    }
                    return (bad, overflowed.load(ordering: .relaxed))
                }
            }
        }

        /// The store of every appended shard, its rows sorted by score (ties by image).
        ///
        /// The builder hands its arrays over (mutating rather than consuming, so that no copy of
        /// the builder keeps a second reference that would make the sort copy the store) and is
        /// empty afterwards.
        ///
        /// - Precondition: every counted shard was appended, with the targets it was counted with.
        /// - Complexity: a sort of each row, split across cores.
        public mutating func finish() -> ScoreStore {
            precondition(!failed, "a score-store builder cannot be used after it threw or finished")
            precondition(!shardSizes.isEmpty, "a score store needs at least one shard")
            precondition(
                appendedShards == shardSizes.count,
                "\(shardSizes.count) shards were counted but \(appendedShards) appended")
            let rows = offsets.count - 1
            for r in 0..<rows {
                precondition(cursors[r] == offsets[r + 1], "the appended targets differ from the ones counted")
            }
            var values = self.values
            var images = self.images
            self.values = HalfTensor(shape: [0], scalars: [])
            self.images = ShapedArray<UInt32>(shape: [0], scalars: [])
            failed = true
            let offsets = ShapedArray<Int>(shape: [rows + 1], scalars: self.offsets)
            values.withUnsafeMutableBufferPointer { v in
                images.withUnsafeMutableBufferPointer { ids in
                    offsets.withUnsafeBufferPointer { o in
                        ScoreStore.sortRows(
                            offsets: UncheckedPointer(o.baseAddress!), rowCount: rows, longestRow: appendedImages,
                            values: UncheckedPointer(v.baseAddress ?? UnsafeMutablePointer(bitPattern: 2)!),
                            images: UncheckedPointer(ids.baseAddress ?? UnsafeMutablePointer(bitPattern: 4)!))
                    }
                }
            }
            return ScoreStore(
                imageCount: appendedImages, classCount: classCount, height: height, width: width,
                precision: precision, offsets: offsets, values: values, imageIndices: images)
        }

        /// Counts become offsets (an exclusive prefix sum) and the store's arrays are allocated,
        /// uninitialised: every slot is written exactly once by the appends.
        private mutating func allocate() {
            var running = 0
            for r in 0..<(offsets.count - 1) {
                let count = offsets[r]
                offsets[r] = running
                running += count
            }
            offsets[offsets.count - 1] = running
            precondition(
                imageCount <= Int(UInt32.max) + 1, "a score store holds at most 2³² images, found \(imageCount)")
            cursors = Array(offsets.dropLast())
            allocated = true
            values = HalfTensor(shape: [running], unsafeUninitializedCapacity: { _ in })
            images = ShapedArray<UInt32>(shape: [running], unsafeUninitializedCapacity: { _ in })
        }

        /// Checks a shard's shape [n, C, H, W] against the builder's C, H and W.
        private func checkShard(_ shape: [Int], source: String) throws(CalibrationError) {
            guard shape.count == 4 else {
                throw .shapeMismatch(source: source, expected: "a rank-4 array [N, C, H, W]", found: shape)
            }
            guard shape[0] > 0 else { throw .emptyInput(source: source, shape: shape) }
            guard Array(shape[1...]) == [classCount, height, width] else {
                throw .shapeMismatch(
                    source: source, expected: "[N, \(classCount), \(height), \(width)] as the first shard", found: shape
                )
            }
        }
    }
}
