import KandinskyCore

extension ScoreStore {
    /// The pixelwise non-conformity curves of class `c` under `rule`: [Q, H, W] Float32, where
    /// curve[k, h, w] is the threshold at `levels[k]` of the scores of class c at (h, w).
    ///
    /// - `conformal`: the score of rank ⌈(n + 1)ℓ⌉ among the pixel's n scores (see
    ///   ``QuantileRule/conformal``), +∞ where that exceeds n (in particular where n = 0).
    /// - `linear`: the NaN-aware linear quantile (numpy's default), NaN where the pixel has no
    ///   score. These are also the descriptive curves strategies use as pixel features.
    ///
    /// - Complexity: O(N · H · W + H · W · Q), split across cores (rows are sorted already).
    package func pixelwiseCurves(ofClass c: Int, levels: [Double], rule: QuantileRule = .linear) -> Tensor {
        precondition(c >= 0 && c < classCount, "class \(c) is out of range for \(classCount) classes")
        switch rule {
        case .conformal: return pixelwiseCurves(ofClass: c, levels: levels, table: ConformalQuantile.RankTable.self)
        case .linear: return pixelwiseCurves(ofClass: c, levels: levels, table: LinearQuantile.Table.self)
        }
    }

    /// The curves of class `c` read off each pixel's n sorted scores (`values[offsets[p] ..<
    /// offsets[p + 1]]`, n ≤ N) by a `Table` of n. Ranks and interpolation weights depend only on
    /// the number of scores, so each count's table is made once per chunk of pixels. The map of a
    /// disk-backed store is told of every pixel's scores read.
    ///
    /// - Complexity: O(N · H · W + H · W · Q), split across cores.
    private func pixelwiseCurves<Table: PixelQuantileTable>(
        ofClass c: Int, levels: [Double], table _: Table.Type
    ) -> Tensor {
        let pixels = pixelCount
        let precision = self.precision
        let imageCount = self.imageCount
        let mapping = self.mapping
        return Tensor(shape: [levels.count, height, width]) { output in
            let out = UncheckedPointer(output.baseAddress!)
            offsets.withUnsafeBufferPointer { o in
                values.withUnsafeBufferPointer { v in
                    let offs = UncheckedPointer(o.baseAddress! + c * pixels)
                    let vals = UncheckedPointer(v.baseAddress ?? UnsafePointer(bitPattern: 2)!)
                    parallelFor(0..<pixels, chunkCount: 4 * availableCoreCount) { range in
                        var tables = [Table?](repeating: nil, count: imageCount + 1)
                        var reads = MappedReads(mapping)
                        for p in range {
                            let start = offs.pointer[p]
                            let count = offs.pointer[p + 1] - start
                            if tables[count] == nil { tables[count] = Table(levels: levels, count: count) }
                            tables[count]!.evaluate(
                                sorted: vals.pointer + start, precision: precision, into: out.pointer + p,
                                outputStride: pixels)
                            reads.didRead(values: start..<(start + count))
                        }
                    }
                }
            }
        }
    }

    /// The pooled curves of the groups of one class: [Q, G] thresholds and, per group, its
    /// number of scores and of images with at least one score.
    package struct PooledCurves: Sendable {
        /// [Q, G]: the threshold of group g at level k.
        package var curves: Tensor
        /// Per group, the number of pooled scores (target pixels over all images).
        package var sampleCounts: [Int]
        /// Per group, n_g: the images with at least one target pixel of the class in the group.
        package var imageCounts: [Int]
    }

    /// The pooled curves of the groups of class `c` under `rule`.
    ///
    /// `labels` is [H, W] with values in 0..<`groupCount`; group g pools the scores of class c
    /// of every image at every pixel labelled g.
    /// - `conformal`: the weighted rule of ``QuantileRule/conformal``, each score weighted by
    ///   1/m, m the number of the group's target pixels in its image; +∞ where a group cannot
    ///   reach a level.
    /// - `linear`: the NaN-aware linear quantiles of each pool (NaN for a group without
    ///   scores), as the original.
    ///
    /// Large pools are summarised by a histogram of their Float16 bit patterns (order
    /// statistics are read off the cumulative counts or weights, which is exact because every
    /// stored score is a Float16 in [0, 1]); small pools are gathered and sorted.
    ///
    /// - Precondition: `labels` is [H, W] and every label is in 0..<groupCount.
    /// - Complexity: O(N · H · W + G · 2¹⁵ + G · Q · log 2¹⁵) time, O(N + largest small pool + 2¹⁵)
    ///   scratch per worker.
    package func pooledCurves(
        ofClass c: Int, labels: ShapedArray<Int32>, groupCount: Int,
        levels: [Double], rule: QuantileRule
    ) -> PooledCurves {
        precondition(c >= 0 && c < classCount, "class \(c) is out of range for \(classCount) classes")
        precondition(
            labels.shape == [height, width],
            "labels of shape \(labels.shape) do not match the image shape \([height, width])")
        precondition(groupCount >= 1, "at least one group is needed, got \(groupCount)")
        let pixels = pixelCount
        // Pixels of each group, by a counting sort of the labels.
        var groupStarts = [Int](repeating: 0, count: groupCount + 1)
        var sampleCounts = [Int](repeating: 0, count: groupCount)
        let memberPixels: [Int] = labels.withUnsafeBufferPointer { l in
            offsets.withUnsafeBufferPointer { o in
                for p in 0..<pixels {
                    let g = Int(l[p])
                    precondition(g >= 0 && g < groupCount, "label \(g) at pixel \(p) is outside 0..<\(groupCount)")
                    groupStarts[g + 1] += 1
                    sampleCounts[g] += o[c * pixels + p + 1] - o[c * pixels + p]
                }
                for g in 0..<groupCount { groupStarts[g + 1] += groupStarts[g] }
                var cursor = groupStarts
                var members = [Int](repeating: 0, count: pixels)
                for p in 0..<pixels {
                    let g = Int(l[p])
                    members[cursor[g]] = p
                    cursor[g] += 1
                }
                return members
            }
        }
        let precision = self.precision
        let imageCount = self.imageCount
        let mapping = self.mapping
        let imageCounts = ScratchBuffer<Int>(count: groupCount)
        let curves = Tensor(shape: [levels.count, groupCount]) { output in
            let out = UncheckedPointer(output.baseAddress!)
            offsets.withUnsafeBufferPointer { o in
                values.withUnsafeBufferPointer { v in
                    imageIndices.withUnsafeBufferPointer { ids in
                        let offs = UncheckedPointer(o.baseAddress! + c * pixels)
                        let vals = UncheckedPointer(v.baseAddress ?? UnsafePointer(bitPattern: 2)!)
                        let imgs = UncheckedPointer(ids.baseAddress ?? UnsafePointer(bitPattern: 4)!)
                        let imageCountsOut = imageCounts.shared
                        parallelFor(0..<groupCount) { groups in
                            var perImage = [Int32](repeating: 0, count: imageCount)
                            for g in groups {
                                let members = memberPixels[groupStarts[g]..<groupStarts[g + 1]]
                                let pool = PooledScores(
                                    members: members, offsets: offs, values: vals, images: imgs,
                                    count: sampleCounts[g], mapping: mapping)
                                switch rule {
                                case .linear:
                                    imageCountsOut.pointer[g] = pool.imageCount(scratch: &perImage)
                                    pool.linearQuantiles(
                                        levels: levels, precision: precision,
                                        into: out.pointer + g, outputStride: groupCount)
                                case .conformal:
                                    imageCountsOut.pointer[g] = pool.conformalThresholds(
                                        levels: levels, scratch: &perImage,
                                        into: out.pointer + g, outputStride: groupCount)
                                }
                            }
                        }
                    }
                }
            }
        }
        return PooledCurves(
            curves: curves, sampleCounts: sampleCounts, imageCounts: (0..<groupCount).map { imageCounts[$0] })
    }
}

/// The scores of one group of one class: the rows of its member pixels.
struct PooledScores {
    let members: ArraySlice<Int>
    let offsets: UncheckedPointer<Int>
    let values: UncheckedPointer<Float16>
    let images: UncheckedPointer<UInt32>
    /// The number of scores.
    let count: Int
    /// The map of a disk-backed store, told of every row read.
    let mapping: MappedScores?

    /// Calls `body` with each member row's range of score positions.
    @inline(__always)
    func forEachRow(_ body: (Range<Int>) -> Void) {
        var reads = MappedReads(mapping)
        for p in members {
            let row = offsets.pointer[p]..<offsets.pointer[p + 1]
            body(row)
            reads.didRead(scoresAndImages: row)
        }
    }

    /// Counts each image's scores into `perImage` (all zero on entry), returning the number of
    /// images with at least one.
    func countImages(into perImage: inout [Int32]) -> Int {
        var images = 0
        perImage.withUnsafeMutableBufferPointer { m in
            forEachRow { row in
                for i in row {
                    let image = Int(self.images.pointer[i])
                    if m[image] == 0 { images += 1 }
                    m[image] += 1
                }
            }
        }
        return images
    }

    /// Zeroes the entries `countImages` set.
    func clearImages(_ perImage: inout [Int32]) {
        perImage.withUnsafeMutableBufferPointer { m in
            forEachRow { row in for i in row { m[Int(self.images.pointer[i])] = 0 } }
        }
    }

    /// The number of images with at least one score (`scratch` is all zero on entry and exit).
    func imageCount(scratch: inout [Int32]) -> Int {
        let images = countImages(into: &scratch)
        clearImages(&scratch)
        return images
    }

    /// numpy-linear quantiles of the pool at ascending `levels` (NaN for an empty pool).
    func linearQuantiles(
        levels: [Double], precision: ScorePrecision, into output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        if count >= PooledQuantiles.histogramThreshold {
            var histogram = PooledQuantiles.Histogram()
            forEachRow { row in
                histogram.add(UnsafeBufferPointer(start: values.pointer + row.lowerBound, count: row.count))
            }
            histogram.quantiles(levels: levels, precision: precision, into: output, outputStride: outputStride)
            return
        }
        let scratch = UnsafeMutablePointer<UInt16>.allocate(capacity: max(count, 1))
        defer { scratch.deallocate() }
        var filled = 0
        forEachRow { row in
            for i in row {
                scratch[filled] = values.pointer[i].bitPattern
                filled += 1
            }
        }
        var buffer = UnsafeMutableBufferPointer(start: scratch, count: count)
        buffer.sort()
        UnsafeMutableRawPointer(scratch).withMemoryRebound(to: Float16.self, capacity: max(count, 1)) { sorted in
            LinearQuantile.Table(levels: levels, count: count)
                .evaluate(sorted: sorted, precision: precision, into: output, outputStride: outputStride)
        }
    }

    /// The conformal thresholds of the pool at `levels` (see ``ConformalQuantile``), returning
    /// n, the number of images in the pool (`scratch` is all zero on entry and exit).
    func conformalThresholds(
        levels: [Double], scratch perImage: inout [Int32],
        into output: UnsafeMutablePointer<Float>, outputStride: Int
    ) -> Int {
        let imageCount = countImages(into: &perImage)
        var descending: [Float] = []
        var weights: [Double] = []
        // 1/m_i per image (0 for images without a score in the pool).
        let imageWeights = perImage.map { $0 > 0 ? 1 / Double($0) : 0 }
        imageWeights.withUnsafeBufferPointer { m in
            if count >= PooledQuantiles.histogramThreshold {
                // Weight per Float16 bit pattern, read from the top.
                var binWeights = [Double](repeating: 0, count: PooledQuantiles.Histogram.binCount)
                binWeights.withUnsafeMutableBufferPointer { bins in
                    forEachRow { row in
                        for i in row { bins[Int(values.pointer[i].bitPattern & 0x7FFF)] += m[Int(images.pointer[i])] }
                    }
                }
                for bin in binWeights.indices.reversed() where binWeights[bin] > 0 {
                    descending.append(Float(Float16(bitPattern: UInt16(bin))))
                    weights.append(binWeights[bin])
                }
            } else {
                // (bits << 32 | image) keys sort by score; equal scores are then merged.
                var keys: [UInt64] = []
                keys.reserveCapacity(count)
                forEachRow { row in
                    for i in row {
                        keys.append(UInt64(values.pointer[i].bitPattern & 0x7FFF) << 32 | UInt64(images.pointer[i]))
                    }
                }
                keys.sort(by: >)
                var previous: UInt64 = .max
                for key in keys {
                    let bits = key >> 32
                    let weight = m[Int(UInt32(truncatingIfNeeded: key))]
                    if bits == previous {
                        weights[weights.count - 1] += weight
                    } else {
                        descending.append(Float(Float16(bitPattern: UInt16(bits))))
                        weights.append(weight)
                        previous = bits
                    }
                }
            }
        }
        clearImages(&perImage)
        ConformalQuantile.thresholds(
            descending: descending, weights: weights, imageCount: imageCount, levels: levels,
            into: output, outputStride: outputStride)
        return imageCount
    }
}

/// Exact quantiles of large pools of Float16 scores from a histogram of their bit patterns.
enum PooledQuantiles {
    /// Pools at least this large use a histogram; smaller ones are sorted.
    static let histogramThreshold = 1 << 15

    /// Counts of each non-negative finite Float16 bit pattern (positive Float16 values order as
    /// their bit patterns do).
    struct Histogram {
        static let binCount = Int(Float16.infinity.bitPattern)
        var counts = [Int](repeating: 0, count: binCount)
        var total = 0

        mutating func add(_ scores: UnsafeBufferPointer<Float16>) {
            counts.withUnsafeMutableBufferPointer { c in
                for s in scores {
                    // -0 (bit 15 set, all others clear) is counted as +0.
                    c[Int(s.bitPattern & 0x7FFF)] += 1
                }
            }
            total += scores.count
        }

        /// numpy-linear quantiles of the counted values at ascending `levels`.
        func quantiles(
            levels: [Double], precision: ScorePrecision,
            into output: UnsafeMutablePointer<Float>, outputStride: Int
        ) {
            guard total > 0 else {
                for k in levels.indices { output[k * outputStride] = .nan }
                return
            }
            var bin = 0
            var below = 0  // `below` = number of values in bins < `bin`
            func orderStatistic(_ rank: Int) -> Float {
                while below + counts[bin] <= rank {
                    below += counts[bin]
                    bin += 1
                }
                return Float(Float16(bitPattern: UInt16(bin)))
            }
            for (k, q) in levels.enumerated() {
                let (lower, upper, t) = LinearQuantile.indices(level: q, count: total)
                let a = orderStatistic(lower)
                let b = orderStatistic(upper)
                output[k * outputStride] = LinearQuantile.interpolate(a, b, t, precision: precision)
            }
        }
    }
}

/// The thresholds at Q levels of any n ascending scores, prepared for one n.
protocol PixelQuantileTable {
    /// The table of n = `count` scores at `levels`.
    init(levels: [Double], count: Int)

    /// The thresholds of n ascending scores, one per level, `outputStride` apart, rounded as
    /// scores of `precision` are.
    func evaluate(
        sorted values: UnsafePointer<Float16>, precision: ScorePrecision,
        into output: UnsafeMutablePointer<Float>, outputStride: Int)
}

extension ConformalQuantile.RankTable: PixelQuantileTable {}

/// numpy's default ("linear", Hyndman–Fan type 7) quantile interpolation.
enum LinearQuantile {
    /// The order statistics below and above level q among m sorted values, and the weight t of
    /// the upper one: virtual index g = (m − 1)·q, lower = ⌊g⌋, t = g − ⌊g⌋.
    static func indices(level q: Double, count m: Int) -> (Int, Int, Double) {
        let virtual = Double(m - 1) * q
        let lower = Int(virtual.rounded(.down))
        if lower >= m - 1 { return (m - 1, m - 1, virtual - Double(lower)) }
        return (lower, lower + 1, virtual - Double(lower))
    }

    /// The interpolation indices and weights of Q levels for one count of values.
    struct Table: PixelQuantileTable {
        var lower: [Int32]
        var upper: [Int32]
        var weight: [Double]
        let levelCount: Int
        let isEmpty: Bool

        init(levels: [Double], count m: Int) {
            lower = []
            upper = []
            weight = []
            levelCount = levels.count
            isEmpty = m == 0
            guard m > 0 else { return }
            for q in levels {
                let (a, b, t) = LinearQuantile.indices(level: q, count: m)
                lower.append(Int32(a))
                upper.append(Int32(b))
                weight.append(t)
            }
        }

        /// The quantiles of m ascending values (NaN when m = 0).
        func evaluate(
            sorted values: UnsafePointer<Float16>, precision: ScorePrecision,
            into output: UnsafeMutablePointer<Float>, outputStride: Int
        ) {
            if isEmpty {
                for k in 0..<levelCount { output[k * outputStride] = .nan }
                return
            }
            for k in lower.indices {
                output[k * outputStride] = LinearQuantile.interpolate(
                    Float(values[Int(lower[k])]), Float(values[Int(upper[k])]),
                    weight[k], precision: precision)
            }
        }
    }

    /// a + (b − a)·t for t < 0.5, b − (b − a)·(1 − t) otherwise, with b − a rounded to the data's
    /// precision first, as numpy evaluates it.
    static func interpolate(_ a: Float, _ b: Float, _ t: Double, precision: ScorePrecision) -> Float {
        let difference: Double =
            switch precision {
            case .float: Double(b - a)
            case .halfProbabilities: Double(Float16(b - a))
            }
        return Float(t < 0.5 ? Double(a) + difference * t : Double(b) - difference * (1 - t))
    }
}
