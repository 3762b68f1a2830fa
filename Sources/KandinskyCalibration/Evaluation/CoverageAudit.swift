import Foundation
import KandinskyCore
import Synchronization

/// A per-class, per-group audit of prediction sets on a test set: coverage with 95 % intervals
/// beside the size of the sets, at several miscoverage levels α.
///
/// A coverage number is only meaningful beside its set size (sets that always hold every class
/// cover everything), so each row reports both.
///
/// **Prediction sets.** At level α the threshold of class k at pixel (h, w) is
/// t_k(h, w) = ``CalibratedCurves/threshold(atLevel:indexing:)`` at 1 − α (by default the
/// curves' own indexing, ``CalibratedCurves/defaultIndexing``, as `predict-sets` reads it). Class
/// k is in the set of pixel (h, w) of test image n when s = `precision.testScore(P[n, k, h, w])`
/// ≤ t_k(h, w): a +∞ threshold always admits the class, a NaN threshold never does.
///
/// **Rows.** One row per class c (every class), per group g of c and per α, in that order. For a
/// grouped class the groups are those of ``CalibratedCurves/groups`` (ids 0 ..< G_c); a
/// pixelwise class has one row for the whole class (g = nil, all H·W pixels), not one per pixel,
/// which would be H·W rows; with ``wholeClassRows`` a grouped class also has that whole-class row
/// (g = nil) before its group rows. Write P_g for the pixel locations of the group. For each row:
/// - calibration images n_g and scores: ``CalibratedCurves/groupImageCounts`` and
///   ``CalibratedCurves/groupSampleCounts`` of (c, g), nil when unknown (always for a
///   pixelwise class, whose pools are single pixels);
/// - test images with targets: the images n with m_n = #{(h, w) ∈ P_g : T[n, c, h, w] = 1} ≥ 1,
///   and target pixels M = Σ_n m_n;
/// - **per-image coverage**: the mean over those images of the covered fraction
///   f_n = #{covered target pixels of image n in P_g} / m_n. This is the quantity the
///   ``QuantileRule/conformal`` rule controls: E[f] ≥ 1 − α for a test image exchangeable with
///   the calibration images. Its 95 % interval is the Student t interval
///   mean ± t₀.₉₇₅,ₙ₋₁ · sd / √n over the n images (sd the sample standard deviation, clipped
///   to [0, 1]; [0, 1] when n = 1), or, when every m_n is 1 (each f_n is 0 or 1), the Wilson
///   interval of (Σ f_n) successes in n trials (``ConfidenceInterval``);
/// - **pixel-pooled coverage**: covered target pixels / M, with the 95 % Wilson interval of
///   that binomial count (it treats pixels as independent, which they are not within an image,
///   so it is narrower than the truth; the per-image interval is the one to trust);
/// - **shortfall**: the per-image interval's upper end lies below 1 − α;
/// - **always-in share**: the fraction of the pixels of P_g whose threshold of class c is +∞;
/// - **set sizes**, over all test images and pixels of P_g (N·|P_g| pixels, targets or not):
///   the mean number of classes in the set, and the shares of empty sets, singletons and full
///   sets (all C classes).
///
/// Quantities without anything to average (no test image with targets, an empty group) are NaN
/// and their intervals nil.
///
/// - Complexity: O(N·C·H·W·|α|) time, split across cores by image; O(C·H·W·|α| + Σ_c G_c) memory
///   besides the inputs.
public struct CoverageAudit: Sendable {
    /// The default levels: α ∈ {0.2, 0.1, 0.05}.
    public static let defaultAlphas: [Double] = [0.2, 0.1, 0.05]

    /// The miscoverage levels α, each in (0, 1).
    public var alphas: [Double]
    /// How 1 − α is read off the curves; nil for the curves' default.
    public var indexing: ThresholdIndexing?
    /// How test scores are computed; nil for the curves' own precision.
    public var precision: ScorePrecision?
    /// Whether a grouped class also gets the rows of its whole (g = nil, all H·W pixels, as a
    /// pixelwise class has), before its group rows: the same numbers as an audit of the curves
    /// with their groups set aside, from the same pass over the test set.
    public var wholeClassRows: Bool

    /// - Precondition: `alphas` is not empty and every α is in (0, 1).
    public init(
        alphas: [Double] = CoverageAudit.defaultAlphas, indexing: ThresholdIndexing? = nil,
        precision: ScorePrecision? = nil, wholeClassRows: Bool = false
    ) {
        precondition(!alphas.isEmpty, "at least one alpha is needed")
        precondition(alphas.allSatisfy { $0 > 0 && $0 < 1 }, "every alpha must lie in (0, 1), got \(alphas)")
        self.alphas = alphas
        self.indexing = indexing
        self.precision = precision
        self.wholeClassRows = wholeClassRows
    }

    /// How the per-image interval was computed.
    public enum IntervalMethod: String, Sendable, Codable, Equatable {
        /// mean ± t₀.₉₇₅,ₙ₋₁ · sd / √n over the per-image fractions.
        case studentT = "t"
        /// Wilson, because every image had exactly one target pixel in the group.
        case wilson
    }

    /// One class × group × α of the audit. See ``CoverageAudit`` for the definitions.
    public struct Row: Sendable, Equatable, Codable {
        /// The class c.
        public var classIndex: Int
        /// The group id g, nil for a pixelwise class (one row for all its pixels).
        public var group: Int?
        /// |P_g|, the pixel locations of the group (H·W for a pixelwise class).
        public var pixels: Int
        /// α.
        public var alpha: Double
        /// n_g, the threshold-setting calibration images with targets in the group; nil when unknown.
        public var calibrationImages: Int?
        /// The calibration scores pooled in the group; nil when unknown.
        public var calibrationScores: Int?
        /// Test images with at least one target pixel of c in the group.
        public var testImages: Int
        /// M, the test target pixels of c in the group.
        public var targetPixels: Int
        /// Target pixels whose set contains c.
        public var coveredPixels: Int
        /// The mean over test images with targets of the covered fraction of their target pixels.
        public var perImageCoverage: Double
        /// Its 95 % interval, nil without test images.
        public var perImageInterval: ConfidenceInterval?
        /// How ``perImageInterval`` was computed, nil without test images.
        public var perImageIntervalMethod: IntervalMethod?
        /// coveredPixels / targetPixels.
        public var pooledCoverage: Double
        /// Its 95 % Wilson interval, nil without target pixels.
        public var pooledInterval: ConfidenceInterval?
        /// The per-image interval lies entirely below 1 − α.
        public var shortfall: Bool
        /// The fraction of the group's pixels whose threshold of c is +∞.
        public var alwaysInShare: Double
        /// The mean number of classes in the sets of the group's pixels over the test images.
        public var meanSetSize: Double
        /// The share of those sets that are empty.
        public var emptyShare: Double
        /// The share that hold exactly one class.
        public var singletonShare: Double
        /// The share that hold all C classes.
        public var fullShare: Double
    }

    /// The audit of one set of curves on one test set.
    public struct Result: Sendable, Equatable {
        /// The rows: for each class, each group, each α (in the order of ``CoverageAudit/alphas``).
        public var rows: [Row]
        /// The α levels.
        public var alphas: [Double]
        /// The curves' rule.
        public var rule: QuantileRule
        /// The indexing the thresholds were read with.
        public var indexing: ThresholdIndexing
        /// The score precision used.
        public var precision: ScorePrecision
        /// The number of test images N.
        public var testImages: Int

        /// The rows as a fixed-width text table, one line per row, with a header.
        public var table: String { CoverageAudit.table(rows) }
    }

    /// Audits `curves` on probabilities and targets [N, C, H, W].
    ///
    /// - Throws: ``CalibrationError`` for mismatched shapes, N = 0, curves that do not fit the
    ///   probabilities (naming `curvesSource`), group labels that are not [H, W], or invalid
    ///   probabilities or targets.
    /// - Complexity: O(N·C·H·W·|α|), split across cores.
    public func evaluate<P: QuantileScalar>(
        _ curves: CalibratedCurves, probabilities: ShapedArray<P>,
        targets: ShapedArray<UInt8>,
        probabilitiesSource: String = "probabilities", targetsSource: String = "targets",
        curvesSource: String = "curves"
    ) throws(CalibrationError) -> Result {
        try Accumulator(self, curves: curves, imageCount: probabilities.shape.first ?? 0, curvesSource: curvesSource)
            .result(
                ofWhole: probabilities, targets: targets, probabilitiesSource: probabilitiesSource,
                targetsSource: targetsSource)
    }

    /// Counters of one (class, group, α) slot.
    struct Tally {
        var testImages = 0, targetPixels = 0, coveredPixels = 0
        var fractionSum = 0.0, fractionSquares = 0.0
        var allSingle = true
        var setPixels = 0, setSizes = 0, empty = 0, singletons = 0, full = 0

        mutating func add(_ other: Tally) {
            testImages += other.testImages
            targetPixels += other.targetPixels
            coveredPixels += other.coveredPixels
            fractionSum += other.fractionSum
            fractionSquares += other.fractionSquares
            allSingle = allSingle && other.allSingle
            setPixels += other.setPixels
            setSizes += other.setSizes
            empty += other.empty
            singletons += other.singletons
            full += other.full
        }
    }

    /// The tallies of an audit over a test set read shard by shard, images in order: after shards
    /// of N_1, N_2, … images (N in all, given first), ``result()`` is bit for bit what
    /// ``CoverageAudit/evaluate(_:probabilities:targets:probabilitiesSource:targetsSource:curvesSource:)``
    /// gives for their concatenation along N.
    ///
    /// The counts are integers. The per-image fractions f_n and their squares are summed as one
    /// pass over the whole set sums them: images 0 ..< N are cut into the chunks of
    /// ``parallelFor(_:chunkCount:_:)`` over 0 ..< N (one per core), each chunk's sums add its
    /// images in order from 0, wherever the shards cut it, and the chunks' sums are added in
    /// chunk order. The work of a shard is split across cores by image, each image's counts kept
    /// apart, then folded into the sums in image order.
    ///
    /// Memory: the thresholds and set-size counts, O(C·H·W·|α|), and one tally per chunk and
    /// slot, whatever the number of shards.
    package struct Accumulator: SpecializedAccumulator {
        /// The audit's settings.
        let audit: CoverageAudit
        /// The curves audited.
        let curves: CalibratedCurves
        /// The name of the curves in error messages.
        let curvesSource: String
        /// N, the images of the whole set.
        let imageCount: Int
        /// The images added so far.
        var added = 0
        /// The chunks of 0 ..< N whose sums are kept apart (``parallelFor(_:chunkCount:_:)``'s).
        let chunks: [Range<Int>]
        /// The chunk of the next image.
        var chunk = 0
        /// Group labels of `curves` that do not fit them, thrown by ``result()`` (after the
        /// checks of the shards, as a whole-set audit reports it); nothing is counted then.
        let layoutError: CalibrationError?
        /// The group of every pixel of every class, [C·H·W].
        let groupOf: [Int32]
        /// G_c, the groups of each class (1 for a pixelwise class).
        let groupCounts: [Int]
        /// The slot of (class c, group g) is slotBase[c] + g, [C + 1].
        let slotBase: [Int]
        /// The slot of a grouped class's whole, after its groups (−1: no such row), [C].
        let wholeSlot: [Int]
        /// The thresholds [α][C·H·W].
        let thresholds: [Float]
        /// The indexing the thresholds were read with.
        let indexing: ThresholdIndexing
        /// The score precision.
        let precision: ScorePrecision
        /// The tallies of each chunk and (α, slot), [chunks][α · slots].
        var tallies: [Tally]
        /// Pixels per (α, pixel, set size) over the images added, [α][H·W][C + 1].
        var sizes: [UInt32]

        /// The slots per α: every (class, group) and the wholes of grouped classes.
        var slots: Int { slotBase[curves.classCount] }

        /// An accumulator of no images out of `imageCount`.
        package init(
            _ audit: CoverageAudit, curves: CalibratedCurves, imageCount: Int, curvesSource: String = "curves"
        ) {
            self.audit = audit
            self.curves = curves
            self.curvesSource = curvesSource
            self.imageCount = imageCount
            chunks = parallelChunks(0..<imageCount)
            let (classCount, pixels) = (curves.classCount, curves.height * curves.width)
            var groupOf = [Int32](repeating: 0, count: classCount * pixels)
            var groupCounts = [Int](repeating: 1, count: classCount)
            var slotBase = [Int](repeating: 0, count: classCount + 1)
            var wholeSlot = [Int](repeating: -1, count: classCount)
            var layoutError: CalibrationError?
            for c in 0..<classCount {
                if let map = curves.groups.labels[c] {
                    guard map.shape == [curves.height, curves.width] else {
                        layoutError = .invalidCurves(
                            source: curvesSource, field: "group_labels",
                            problem:
                                "class \(c) has a label map of shape \(map.shape), expected [\(curves.height), \(curves.width)]"
                        )
                        break
                    }
                    groupCounts[c] = max(curves.groups.groupCounts[c], 1)
                    map.withUnsafeBufferPointer { l in for q in 0..<pixels { groupOf[c * pixels + q] = l[q] } }
                    if audit.wholeClassRows { wholeSlot[c] = groupCounts[c] }
                }
                slotBase[c + 1] = slotBase[c] + groupCounts[c] + (wholeSlot[c] >= 0 ? 1 : 0)
            }
            (self.groupOf, self.groupCounts, self.slotBase, self.wholeSlot) = (
                groupOf, groupCounts, slotBase, wholeSlot
            )
            self.layoutError = layoutError
            let indexing = audit.indexing ?? curves.defaultIndexing
            self.indexing = indexing
            precision = audit.precision ?? curves.precision
            var thresholds = [Float]()
            if layoutError == nil {
                thresholds.reserveCapacity(audit.alphas.count * classCount * pixels)
                for alpha in audit.alphas {
                    thresholds += curves.threshold(atLevel: 1 - alpha, indexing: indexing).scalars
                }
            }
            self.thresholds = thresholds
            let slotCount = layoutError == nil ? audit.alphas.count * slotBase[classCount] : 0
            tallies = [Tally](repeating: Tally(), count: chunks.count * slotCount)
            sizes = [UInt32](
                repeating: 0, count: layoutError == nil ? audit.alphas.count * pixels * (classCount + 1) : 0)
        }

        /// Images per pass of ``add(probabilities:targets:probabilitiesSource:targetsSource:)``,
        /// which bounds the per-image counts kept apart to 2 · this · |α| · slots.
        static let imagesPerPass = 512

        /// Tallies the next images, [n, C, H, W], after the checks of the whole audit.
        ///
        /// - Throws: ``CalibrationError`` for mismatched shapes, n = 0, curves that do not fit the
        ///   probabilities, or invalid probabilities or targets.
        /// - Precondition: the images added do not exceed N.
        /// - Complexity: O(n·C·H·W·|α|), split across cores by image.
        mutating func tally<P: QuantileScalar>(
            _ probabilities: ShapedArray<P>, _ shard: EvaluationShard
        ) throws(CalibrationError) {
            try TestSet(
                curves: curves, targets: shard.targets, probabilitiesSource: shard.probabilitiesSource,
                targetsSource: shard.targetsSource, curvesSource: curvesSource
            ).check(probabilities: probabilities)
            let n = probabilities.shape[0]
            precondition(added + n <= imageCount, "\(added + n) images added to an audit of \(imageCount)")
            guard layoutError == nil else {
                added += n
                return
            }
            for first in stride(from: 0, to: n, by: Self.imagesPerPass) {
                pass(probabilities, shard.targets, images: first..<min(first + Self.imagesPerPass, n))
            }
        }

        /// Counts `images` of a shard: their set sizes into ``sizes`` and each image's target and
        /// covered pixels per (α, slot), then folds the images' fractions into their chunks' tallies
        /// in image order.
        mutating func pass<P: QuantileScalar>(
            _ probabilities: ShapedArray<P>, _ targets: ShapedArray<UInt8>, images: Range<Int>
        ) {
            let (classCount, pixels, alphaCount, slots) = (
                curves.classCount, curves.height * curves.width, audit.alphas.count, self.slots
            )
            let slotCount = alphaCount * slots
            let sizeBins = classCount + 1
            let precision = self.precision
            // Per image of the pass and (α, slot): its target pixels, then its covered ones.
            var perImage = [Int32](repeating: 0, count: images.count * 2 * slotCount)
            let lock = Mutex(())
            withShardPointers(probabilities, targets) { pb, tb in
                thresholds.withUnsafeBufferPointer { thr in
                    groupOf.withUnsafeBufferPointer { groups in
                        slotBase.withUnsafeBufferPointer { bases in
                            wholeSlot.withUnsafeBufferPointer { wholes in
                                sizes.withUnsafeMutableBufferPointer { totalSizes in
                                    perImage.withUnsafeMutableBufferPointer { perImage in
                                        let hb = UncheckedPointer(thr.baseAddress!)
                                        let gb = UncheckedPointer(groups.baseAddress!)
                                        let sb = UncheckedPointer(bases.baseAddress!)
                                        let wb = UncheckedPointer(wholes.baseAddress!)
                                        let zb = UncheckedPointer(totalSizes.baseAddress!)
                                        let ib = UncheckedPointer(perImage.baseAddress!)
                                        parallelFor(images) { chunk in
                                            var sizes = [UInt32](
                                                repeating: 0, count: alphaCount * pixels * sizeBins)
                                            var scores = [Float](repeating: 0, count: classCount * pixels)
                                            sizes.withUnsafeMutableBufferPointer { sizeCounts in
                                                scores.withUnsafeMutableBufferPointer { score in
                                                    for image in chunk {
                                                        let targetCount =
                                                            ib.pointer + (image - images.lowerBound) * 2 * slotCount
                                                        let coveredCount = targetCount + slotCount
                                                        let imageBase = image * classCount * pixels
                                                        for i in 0..<(classCount * pixels) {
                                                            score[i] = precision.testScore(
                                                                probability: Float(pb.pointer[imageBase + i]))
                                                        }
                                                        for a in 0..<alphaCount {
                                                            let thresholdsAt = hb.pointer + a * classCount * pixels
                                                            let sizeRow = a * pixels * sizeBins
                                                            for q in 0..<pixels {
                                                                var size = 0
                                                                for k in 0..<classCount
                                                                where score[k * pixels + q]
                                                                    <= thresholdsAt[k * pixels + q]
                                                                {
                                                                    size += 1
                                                                }
                                                                sizeCounts[sizeRow + q * sizeBins + size] += 1
                                                            }
                                                            for c in 0..<classCount {
                                                                let slotOfGroup0 = a * slots + sb.pointer[c]
                                                                let plane = c * pixels
                                                                let targetPlane = imageBase + c * pixels
                                                                var targets: Int32 = 0
                                                                var covered: Int32 = 0
                                                                for q in 0..<pixels
                                                                where tb.pointer[targetPlane + q] == 1 {
                                                                    let slot =
                                                                        slotOfGroup0 + Int(gb.pointer[plane + q])
                                                                    let isCovered =
                                                                        score[plane + q] <= thresholdsAt[plane + q]
                                                                    targetCount[slot] += 1
                                                                    targets += 1
                                                                    if isCovered {
                                                                        coveredCount[slot] += 1
                                                                        covered += 1
                                                                    }
                                                                }
                                                                if wb.pointer[c] >= 0 {
                                                                    targetCount[slotOfGroup0 + wb.pointer[c]] +=
                                                                        targets
                                                                    coveredCount[slotOfGroup0 + wb.pointer[c]] +=
                                                                        covered
                                                                }
                                                            }
                                                        }
                                                    }
                                                }
                                            }
                                            lock.withLock { _ in
                                                for i in 0..<sizes.count { zb.pointer[i] += sizes[i] }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            for i in 0..<images.count {
                while added >= chunks[chunk].upperBound { chunk += 1 }
                let local = chunk * slotCount
                let targetCount = i * 2 * slotCount
                let coveredCount = targetCount + slotCount
                for slot in 0..<slotCount where perImage[targetCount + slot] > 0 {
                    let fraction = Double(perImage[coveredCount + slot]) / Double(perImage[targetCount + slot])
                    tallies[local + slot].testImages += 1
                    tallies[local + slot].targetPixels += Int(perImage[targetCount + slot])
                    tallies[local + slot].coveredPixels += Int(perImage[coveredCount + slot])
                    tallies[local + slot].fractionSum += fraction
                    tallies[local + slot].fractionSquares += fraction * fraction
                    if perImage[targetCount + slot] != 1 { tallies[local + slot].allSingle = false }
                }
                added += 1
            }
        }

        /// The audit of the images added.
        ///
        /// - Throws: ``CalibrationError/Kind/invalidCurves`` for group labels that are not [H, W].
        /// - Precondition: all N images were added.
        package func result() throws(CalibrationError) -> Result {
            precondition(added == imageCount && imageCount > 0, "\(added) of \(imageCount) images were added")
            if let layoutError { throw layoutError }
            let (classCount, pixels, alphas) = (curves.classCount, curves.height * curves.width, audit.alphas)
            let (alphaCount, slots) = (alphas.count, self.slots)
            let slotCount = alphaCount * slots
            let sizeBins = classCount + 1
            var tallies = [Tally](repeating: Tally(), count: slotCount)
            for chunk in chunks.indices {
                for slot in 0..<slotCount { tallies[slot].add(self.tallies[chunk * slotCount + slot]) }
            }
            let sizeCounts = sizes
            // Every pixel's set, counted once per class c in the slot of its group of c.
            for a in 0..<alphaCount {
                for c in 0..<classCount {
                    for q in 0..<pixels {
                        let counts = (a * pixels + q) * sizeBins
                        func add(to slot: Int) {
                            for size in 0..<sizeBins {
                                let count = Int(sizeCounts[counts + size])
                                tallies[slot].setPixels += count
                                tallies[slot].setSizes += size * count
                            }
                            tallies[slot].empty += Int(sizeCounts[counts])
                            tallies[slot].singletons += Int(sizeCounts[counts + 1])
                            tallies[slot].full += Int(sizeCounts[counts + classCount])
                        }
                        add(to: a * slots + slotBase[c] + Int(groupOf[c * pixels + q]))
                        if wholeSlot[c] >= 0 { add(to: a * slots + slotBase[c] + wholeSlot[c]) }
                    }
                }
            }
            var rows: [Row] = []
            for c in 0..<classCount {
                let grouped = curves.groups.labels[c] != nil
                if wholeSlot[c] >= 0 {
                    for (a, alpha) in alphas.enumerated() {
                        let plane = (a * classCount + c) * pixels
                        let alwaysIn = (0..<pixels).reduce(0) { $0 + (thresholds[plane + $1] == .infinity ? 1 : 0) }
                        rows.append(
                            CoverageAudit.row(
                                tallies[a * slots + slotBase[c] + wholeSlot[c]], classIndex: c, group: nil,
                                pixels: pixels,
                                alpha: alpha, calibrationImages: nil, calibrationScores: nil, alwaysIn: alwaysIn,
                                classCount: classCount))
                    }
                }
                for g in 0..<groupCounts[c] {
                    let pixelsInGroup =
                        grouped
                        ? groupOf[(c * pixels)..<((c + 1) * pixels)].reduce(0) { $0 + ($1 == Int32(g) ? 1 : 0) }
                        : pixels
                    let imageCounts = grouped ? CoverageAudit.entry(curves.groupImageCounts, c, g) : nil
                    let sampleCounts = grouped ? CoverageAudit.entry(curves.groupSampleCounts, c, g) : nil
                    for (a, alpha) in alphas.enumerated() {
                        let tally = tallies[a * slots + slotBase[c] + g]
                        var alwaysIn = 0
                        let plane = (a * classCount + c) * pixels
                        for q in 0..<pixels
                        where (!grouped || groupOf[c * pixels + q] == Int32(g))
                            && thresholds[plane + q] == .infinity
                        { alwaysIn += 1 }
                        rows.append(
                            CoverageAudit.row(
                                tally, classIndex: c, group: grouped ? g : nil, pixels: pixelsInGroup, alpha: alpha,
                                calibrationImages: imageCounts, calibrationScores: sampleCounts, alwaysIn: alwaysIn,
                                classCount: classCount))
                    }
                }
            }
            return Result(
                rows: rows, alphas: alphas, rule: curves.rule, indexing: indexing, precision: precision,
                testImages: imageCount)
        }

        /// ``tally(_:_:)`` on Float32 probabilities (``SpecializedAccumulator``).
        package mutating func accumulate(_ p: Tensor, _ s: EvaluationShard) throws(CalibrationError) { try tally(p, s) }
        /// ``tally(_:_:)`` on Float16 probabilities.
        package mutating func accumulate(_ p: HalfTensor, _ s: EvaluationShard) throws(CalibrationError) {
            try tally(p, s)
        }
    }

    /// counts[c]?[g], nil when the class has no counts or the group is beyond them.
    static func entry(_ counts: [[Int]?], _ c: Int, _ g: Int) -> Int? {
        guard c < counts.count, let perGroup = counts[c], g < perGroup.count else { return nil }
        return perGroup[g]
    }

    /// The row of a tally: the means, shares and intervals defined in ``CoverageAudit``.
    static func row(
        _ tally: Tally, classIndex: Int, group: Int?, pixels: Int, alpha: Double, calibrationImages: Int?,
        calibrationScores: Int?, alwaysIn: Int, classCount: Int
    ) -> Row {
        let images = tally.testImages
        let mean = images > 0 ? tally.fractionSum / Double(images) : .nan
        var interval: ConfidenceInterval?
        var method: IntervalMethod?
        if images > 0 {
            if tally.allSingle {
                interval = ConfidenceInterval.wilson(successes: tally.coveredPixels, trials: images)
                method = .wilson
            } else {
                let variance =
                    images > 1
                    ? max((tally.fractionSquares - Double(images) * mean * mean) / Double(images - 1), 0) : .nan
                interval = ConfidenceInterval.studentT(
                    mean: mean, standardDeviation: variance.squareRoot(), count: images)
                method = .studentT
            }
        }
        let setPixels = Double(tally.setPixels)
        func share(_ count: Int) -> Double { tally.setPixels > 0 ? Double(count) / setPixels : .nan }
        return Row(
            classIndex: classIndex, group: group, pixels: pixels, alpha: alpha,
            calibrationImages: calibrationImages, calibrationScores: calibrationScores,
            testImages: images, targetPixels: tally.targetPixels, coveredPixels: tally.coveredPixels,
            perImageCoverage: mean, perImageInterval: interval, perImageIntervalMethod: method,
            pooledCoverage: tally.targetPixels > 0 ? Double(tally.coveredPixels) / Double(tally.targetPixels) : .nan,
            pooledInterval: tally.targetPixels > 0
                ? ConfidenceInterval.wilson(successes: tally.coveredPixels, trials: tally.targetPixels) : nil,
            shortfall: interval.map { $0.upper < 1 - alpha } ?? false,
            alwaysInShare: pixels > 0 ? Double(alwaysIn) / Double(pixels) : .nan,
            meanSetSize: share(tally.setSizes), emptyShare: share(tally.empty),
            singletonShare: share(tally.singletons), fullShare: share(tally.full))
    }

    /// Rows as a fixed-width table: class, group (`all` for a pixelwise class), its pixels, α, calibration
    /// images and scores (`-` when unknown), test images, target pixels, per-image coverage
    /// and interval, pooled coverage and interval, shortfall (`!`), always-in share, mean set
    /// size and the shares of empty, singleton and full sets.
    package static func table(_ rows: [Row]) -> String {
        func number(_ x: Double, _ digits: Int = 3) -> String { x.isNaN ? "-" : String(format: "%.\(digits)f", x) }
        func range(_ interval: ConfidenceInterval?) -> String {
            interval.map { "[\(number($0.lower)), \(number($0.upper))]" } ?? "-"
        }
        let header = [
            "class", "group", "pixels", "alpha", "cal img", "cal scores", "test img", "targets", "per-image", "95 % CI",
            "pooled", "95 % CI", "short", "always in", "set size", "empty", "single", "full",
        ]
        var lines = [header]
        for row in rows {
            lines.append([
                String(row.classIndex), row.group.map(String.init) ?? "all", String(row.pixels), number(row.alpha, 3),
                row.calibrationImages.map(String.init) ?? "-", row.calibrationScores.map(String.init) ?? "-",
                String(row.testImages), String(row.targetPixels), number(row.perImageCoverage),
                range(row.perImageInterval),
                number(row.pooledCoverage), range(row.pooledInterval), row.shortfall ? "!" : "",
                number(row.alwaysInShare), number(row.meanSetSize, 2), number(row.emptyShare),
                number(row.singletonShare), number(row.fullShare),
            ])
        }
        var widths = [Int](repeating: 0, count: header.count)
        for line in lines { for (i, cell) in line.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return lines.map { line in
            line.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return i <= 1 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// A 95 % confidence interval [lower, upper] ⊆ [0, 1] of a proportion or a mean of fractions.
public struct ConfidenceInterval: Sendable, Equatable, Codable {
    /// The lower end.
    public var lower: Double
    /// The upper end.
    public var upper: Double

    /// An interval; `lower` ≤ `upper`.
    package init(lower: Double, upper: Double) {
        self.lower = lower
        self.upper = upper
    }

    /// z = Φ⁻¹(0.975), the two-sided 95 % normal quantile.
    package static let z = 1.959963984540054

    /// The Wilson score interval of x successes in n trials at 95 %:
    /// (x + z²/2)/(n + z²) ± z/(n + z²) · √(x(n − x)/n + z²/4).
    ///
    /// For 8 of 10 it is [0.490, 0.943].
    /// - Precondition: n ≥ 1 and 0 ≤ x ≤ n.
    package static func wilson(successes x: Int, trials n: Int) -> ConfidenceInterval {
        precondition(n >= 1 && x >= 0 && x <= n, "\(x) successes in \(n) trials")
        let (xd, nd, z2) = (Double(x), Double(n), z * z)
        let centre = (xd + z2 / 2) / (nd + z2)
        let half = z / (nd + z2) * (xd * (nd - xd) / nd + z2 / 4).squareRoot()
        return ConfidenceInterval(lower: max(centre - half, 0), upper: min(centre + half, 1))
    }

    /// The Student t interval of a mean of n values in [0, 1] at 95 %:
    /// mean ± t₀.₉₇₅,ₙ₋₁ · sd/√n clipped to [0, 1]; [0, 1] when n = 1 (no spread is known).
    /// - Precondition: n ≥ 1.
    package static func studentT(mean: Double, standardDeviation sd: Double, count n: Int) -> ConfidenceInterval {
        precondition(n >= 1, "a mean of \(n) values")
        guard n > 1 else { return ConfidenceInterval(lower: 0, upper: 1) }
        let half = studentQuantile975(degreesOfFreedom: n - 1) * sd / Double(n).squareRoot()
        return ConfidenceInterval(lower: max(mean - half, 0), upper: min(mean + half, 1))
    }

    /// t₀.₉₇₅,ν, the 97.5 % quantile of Student's t distribution with ν degrees of freedom:
    /// tabulated (7 decimals) for ν ≤ 30, else the Cornish–Fisher expansion to ν⁻⁴
    /// (z + g₁/ν + g₂/ν² + g₃/ν³ + g₄/ν⁴, Abramowitz & Stegun 26.7.5), within 10⁻⁷ for ν > 30.
    /// - Precondition: ν ≥ 1.
    package static func studentQuantile975(degreesOfFreedom nu: Int) -> Double {
        precondition(nu >= 1, "\(nu) degrees of freedom")
        let table = [
            12.7062047, 4.3026527, 3.1824463, 2.7764451, 2.5705818, 2.4469119, 2.3646243, 2.3060041,
            2.2621572, 2.2281389, 2.2009852, 2.1788128, 2.1603687, 2.1447867, 2.1314495, 2.1199053,
            2.1098156, 2.1009220, 2.0930241, 2.0859634, 2.0796138, 2.0738731, 2.0686576, 2.0638986,
            2.0595386, 2.0555294, 2.0518305, 2.0484071, 2.0452296, 2.0422725,
        ]
        if nu <= table.count { return table[nu - 1] }
        let v = Double(nu)
        let z3 = z * z * z
        let z5 = z3 * z * z
        let z7 = z5 * z * z
        let z9 = z7 * z * z
        let g1 = (z3 + z) / 4
        let g2 = (5 * z5 + 16 * z3 + 3 * z) / 96
        let g3 = (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / 384
        let g4 = (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / 92160
        return z + g1 / v + g2 / (v * v) + g3 / (v * v * v) + g4 / (v * v * v * v)
    }
}
