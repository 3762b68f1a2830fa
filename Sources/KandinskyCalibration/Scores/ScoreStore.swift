import KandinskyCore

/// The non-conformity scores of a calibration set, stored compactly per class and pixel.
///
/// For probabilities P and targets T, both [N, C, H, W] row-major, the score of image n, class c
/// and pixel p = h·W + w exists iff T[n, c, h, w] = 1 and is s = 1 − P[n, c, h, w] (see
/// ``ScorePrecision``). Scores are kept in a compressed-row layout: the scores of row
/// r = c·H·W + p are `values[offsets[r] ..< offsets[r + 1]]`, as Float16 sorted ascending (ties
/// by image), and `imageIndices` holds the image of each score at the same position: the
/// conformal rule weighs a pooled score by 1/m, m the number of the pool's target pixels in
/// the score's image, and a group split needs to know which image a score came from.
/// Storage is therefore 6 bytes per existing score (2 for the value, 4 for the image) plus one
/// offset per (class, pixel); missing scores take no space.
///
/// Pixelwise quantiles read one row; pooled quantiles gather the rows of a group.
public struct ScoreStore: Sendable {
    /// N, the number of calibration images.
    public let imageCount: Int
    /// C, the number of classes.
    public let classCount: Int
    /// H, the image height in pixels.
    public let height: Int
    /// W, the image width in pixels.
    public let width: Int
    /// How the scores were computed.
    public let precision: ScorePrecision
    /// C·H·W + 1 row offsets into ``values``.
    let offsets: ShapedArray<Int>
    /// The scores, row after row.
    let values: HalfTensor
    /// The image of each score in ``values``.
    let imageIndices: ShapedArray<UInt32>
    /// For a store read with ``init(mapping:spillDirectory:residentBudget:)``: the memory map
    /// that ``values`` and ``imageIndices`` borrow, which bounds their resident pages.
    let mapping: MappedScores?

    /// H·W.
    public var pixelCount: Int { height * width }

    /// The total number of stored scores (target pixels over all images and classes).
    public var scoreCount: Int { values.count }

    /// The bytes held by the scores and their images (6 per score), excluding the per-pixel
    /// offsets.
    package var scoreBytes: Int { values.count * (MemoryLayout<Float16>.stride + MemoryLayout<UInt32>.stride) }

    /// The number of scores of class `c` (its target pixels over all images).
    public func scoreCount(ofClass c: Int) -> Int {
        precondition(c >= 0 && c < classCount, "class \(c) is out of range for \(classCount) classes")
        return offsets.withUnsafeBufferPointer { $0[(c + 1) * pixelCount] - $0[c * pixelCount] }
    }

    /// The number of scores at one pixel of one class (the images having the class there).
    public func scoreCount(ofClass c: Int, pixel p: Int) -> Int {
        offsets.withUnsafeBufferPointer { $0[c * pixelCount + p + 1] - $0[c * pixelCount + p] }
    }

    /// The scores of class `c` at pixel `p` = h·W + w, widened to Float32, ascending.
    public func scores(ofClass c: Int, pixel p: Int) -> [Float] {
        precondition(
            c >= 0 && c < classCount && p >= 0 && p < pixelCount,
            "class \(c), pixel \(p) out of range for \(classCount) classes and \(pixelCount) pixels")
        let row = c * pixelCount + p
        return offsets.withUnsafeBufferPointer { o in
            values.withUnsafeBufferPointer { v in v[o[row]..<o[row + 1]].map(Float.init) }
        }
    }

    /// Computes the scores of probabilities `probabilities` and targets `targets`, both
    /// [N, C, H, W], checking the inputs.
    ///
    /// - Parameters:
    ///   - probabilities: P in [0, 1], Float32 or Float16.
    ///   - targets: T, 0 or 1.
    ///   - precision: how s = 1 − p is computed.
    ///   - probabilitiesSource: the name of the probabilities in error messages (a file path).
    ///   - targetsSource: the name of the targets in error messages (a file path).
    /// - Throws: ``CalibrationError`` when the shapes differ or are not rank 4, N or H·W is 0, a
    ///   probability is NaN or outside [0, 1], or a target is not 0 or 1.
    /// - Complexity: two passes over T and one over P, and a sort of each pixel's scores, split
    ///   across cores.
    public init<P: QuantileScalar>(
        probabilities: ShapedArray<P>, targets: ShapedArray<UInt8>,
        precision: ScorePrecision = .float,
        probabilitiesSource: String = "probabilities",
        targetsSource: String = "targets"
    ) throws(CalibrationError) {
        self = try Specialized.dispatch(
            probabilities,
            float: { (p: Tensor) throws(CalibrationError) -> ScoreStore in
                try ScoreStore(
                    validating: p, targets: targets, precision: precision,
                    probabilitiesSource: probabilitiesSource, targetsSource: targetsSource)
            },
            half: { (p: HalfTensor) throws(CalibrationError) -> ScoreStore in
                try ScoreStore(
                    validating: p, targets: targets, precision: precision,
                    probabilitiesSource: probabilitiesSource, targetsSource: targetsSource)
            })
    }

    private init<P: QuantileScalar>(
        validating probabilities: ShapedArray<P>, targets: ShapedArray<UInt8>,
        precision: ScorePrecision, probabilitiesSource: String,
        targetsSource: String
    ) throws(CalibrationError) {
        try InputValidation.checkShapes(
            probabilities: probabilities.shape, targets: targets.shape,
            probabilitiesSource: probabilitiesSource, targetsSource: targetsSource)
        let shape = probabilities.shape
        var builder = Builder(classCount: shape[1], height: shape[2], width: shape[3], precision: precision)
        try builder.count(targets: targets, source: targetsSource)
        try builder.append(
            probabilities: probabilities, targets: targets,
            probabilitiesSource: probabilitiesSource, targetsSource: targetsSource)
        self = builder.finish()
    }

    /// A store from its parts (rows already sorted).
    init(
        imageCount: Int, classCount: Int, height: Int, width: Int, precision: ScorePrecision,
        offsets: ShapedArray<Int>, values: HalfTensor, imageIndices: ShapedArray<UInt32>,
        mapping: MappedScores? = nil
    ) {
        self.imageCount = imageCount
        self.classCount = classCount
        self.height = height
        self.width = width
        self.precision = precision
        self.offsets = offsets
        self.values = values
        self.imageIndices = imageIndices
        self.mapping = mapping
        #if KANDINSKY_INTERNAL_CHECKS
            _checkInvariants()
        #endif
    }

    /// Checks the compressed-row layout (built with `KANDINSKY_INTERNAL_CHECKS`, see
    /// Package.swift): C·H·W + 1 offsets from 0 that never decrease and end at the score count,
    /// one image per score, in 0..<N, and every row strictly ascending by (score, image).
    ///
    /// - Complexity: O(number of scores + C·H·W).
    package func _checkInvariants() {
        let rows = classCount * pixelCount
        precondition(offsets.shape == [rows + 1], "offsets of shape \(offsets.shape) for \(rows) rows")
        precondition(
            imageIndices.count == values.count, "\(imageIndices.count) image indices for \(values.count) scores")
        offsets.withUnsafeBufferPointer { o in
            values.withUnsafeBufferPointer { v in
                imageIndices.withUnsafeBufferPointer { ids in
                    precondition(
                        o[0] == 0 && o[rows] == v.count, "offsets run from \(o[0]) to \(o[rows]), not 0 to \(v.count)")
                    for r in 0..<rows {
                        precondition(o[r] <= o[r + 1], "offsets decrease at row \(r)")
                        for i in o[r]..<o[r + 1] {
                            precondition(Int(ids[i]) < imageCount, "score \(i) names image \(ids[i]) of \(imageCount)")
                            guard i > o[r] else { continue }
                            let previous = (v[i - 1].bitPattern, ids[i - 1])
                            let current = (v[i].bitPattern, ids[i])
                            precondition(previous < current, "row \(r) is not sorted at score \(i)")
                        }
                    }
                }
            }
        }
    }

    /// Sorts every row ascending by score, ties by image, keeping each score with its image.
    ///
    /// Scores are non-negative, and non-negative Float16 values order as their bit patterns, so
    /// a (bits << 32 | image) key orders a row exactly.
    static func sortRows(
        offsets: UncheckedPointer<Int>, rowCount rows: Int, longestRow: Int,
        values: UncheckedPointer<Float16>, images: UncheckedPointer<UInt32>
    ) {
        parallelFor(0..<rows, chunkCount: 4 * availableCoreCount) { range in
            let keys = UnsafeMutablePointer<UInt64>.allocate(capacity: max(longestRow, 1))
            defer { keys.deallocate() }
            let sorter = KeySorter(capacity: longestRow)
            for r in range {
                let start = offsets.pointer[r]
                let count = offsets.pointer[r + 1] - start
                guard count > 1 else { continue }
                let v = values.pointer + start
                let ids = images.pointer + start
                for j in 0..<count { keys[j] = UInt64(v[j].bitPattern) << 32 | UInt64(ids[j]) }
                sorter.sort(keys, count: count)
                for j in 0..<count {
                    v[j] = Float16(bitPattern: UInt16(truncatingIfNeeded: keys[j] >> 32))
                    ids[j] = UInt32(truncatingIfNeeded: keys[j])
                }
            }
        }
    }

    /// The scores of the calibration images `selected` only, renumbered 0..<selected.count in
    /// the order given (rows stay sorted: filtering keeps their order), held in memory.
    ///
    /// A memory-mapped store's selection stays on disk when it is made by a ``Calibrator``.
    ///
    /// - Precondition: the indices are distinct and in 0..<N.
    /// - Complexity: O(number of scores + C·H·W).
    public func images(_ selected: [Int]) -> ScoreStore {
        let newIndex = renumbering(selected)
        let newOffsets = selectedOffsets(newIndex)
        let rows = classCount * pixelCount
        let total = newOffsets[rows]
        var newImages = [UInt32](repeating: 0, count: total)
        let newValues = HalfTensor(shape: [total]) { out in
            values.withUnsafeBufferPointer { v in
                imageIndices.withUnsafeBufferPointer { ids in
                    var cursor = 0
                    for i in 0..<v.count {
                        let mapped = newIndex[Int(ids[i])]
                        guard mapped >= 0 else { continue }
                        out[cursor] = v[i]
                        newImages[cursor] = UInt32(mapped)
                        cursor += 1
                    }
                }
            }
        }
        return ScoreStore(
            imageCount: selected.count, classCount: classCount, height: height, width: width,
            precision: precision, offsets: ShapedArray(shape: [rows + 1], scalars: newOffsets),
            values: newValues, imageIndices: ShapedArray(shape: [total], scalars: newImages))
    }

    /// The new index of each image (−1 for those not selected) when the images `selected` are
    /// renumbered 0..<selected.count in the order given.
    ///
    /// - Precondition: the indices are distinct and in 0..<N.
    func renumbering(_ selected: [Int]) -> [Int32] {
        var newIndex = [Int32](repeating: -1, count: imageCount)
        for (j, i) in selected.enumerated() {
            precondition(i >= 0 && i < imageCount && newIndex[i] < 0, "image \(i) is out of range or repeated")
            newIndex[i] = Int32(j)
        }
        return newIndex
    }

    /// The C·H·W + 1 row offsets of the scores of the images that `newIndex` keeps.
    func selectedOffsets(_ newIndex: [Int32]) -> [Int] {
        let rows = classCount * pixelCount
        var newOffsets = [Int](repeating: 0, count: rows + 1)
        imageIndices.withUnsafeBufferPointer { ids in
            offsets.withUnsafeBufferPointer { o in
                var reads = MappedReads(mapping)
                for r in 0..<rows {
                    var kept = 0
                    for i in o[r]..<o[r + 1] where newIndex[Int(ids[i])] >= 0 { kept += 1 }
                    newOffsets[r + 1] = newOffsets[r] + kept
                    reads.didRead(images: o[r]..<o[r + 1])
                }
            }
        }
        return newOffsets
    }
}
