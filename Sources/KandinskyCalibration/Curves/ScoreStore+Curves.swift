import KandinskyCore

extension ScoreStore {
    /// The pixelwise non-conformity curves of class `c`: [Q, H, W] Float32, where
    /// curve[k, h, w] is the NaN-aware linear quantile (numpy's default) at `levels[k]` of the
    /// scores of class c at (h, w), and NaN where the pixel has no score.
    ///
    /// - Complexity: O(N · H · W · log Q), split across cores.
    public func pixelwiseCurves(ofClass c: Int, levels: [Double]) -> Tensor {
        precondition(c >= 0 && c < classCount, "class \(c) is out of range for \(classCount) classes")
        let pixels = pixelCount
        let precision = self.precision
        let imageCount = self.imageCount
        return Tensor(shape: [levels.count, height, width]) { output in
            let out = UncheckedPointer(output.baseAddress!)
            offsets.withUnsafeBufferPointer { o in
                values.withUnsafeBufferPointer { v in
                    let offs = UncheckedPointer(o.baseAddress! + c * pixels)
                    let vals = UncheckedPointer(v.baseAddress ?? UnsafePointer(bitPattern: 2)!)
                    parallelFor(0..<pixels, chunkCount: 4 * availableCoreCount) { range in
                        // Interpolation indices depend only on the number of scores.
                        var tables = [LinearQuantile.Table?](repeating: nil, count: imageCount + 1)
                        for p in range {
                            let start = offs.pointer[p], count = offs.pointer[p + 1] - start
                            if tables[count] == nil { tables[count] = LinearQuantile.Table(levels: levels, count: count) }
                            tables[count]!.evaluate(sorted: vals.pointer + start, precision: precision,
                                                    into: out.pointer + p, outputStride: pixels)
                        }
                    }
                }
            }
        }
    }

    /// The pooled curves of the groups of class `c`.
    ///
    /// `labels` is [H, W] with values in 0..<`groupCount`; group g pools the scores of class c
    /// of every image at every pixel labelled g. The result's `curves` is [Q, G]: the
    /// NaN-aware linear quantiles of each pool at `levels` (NaN for a group without scores);
    /// `sampleCounts[g]` is the size of pool g.
    ///
    /// Large pools are summarised by a histogram of their Float16 bit patterns (order
    /// statistics are read off the cumulative counts, which is exact because every stored score
    /// is a Float16 in [0, 1]); small pools are gathered and partially sorted.
    ///
    /// - Precondition: `labels` is [H, W] and every label is in 0..<groupCount.
    /// - Complexity: O(N · H · W + G · 2¹⁵) time, O(largest small pool + 2¹⁵) scratch.
    public func pooledCurves(ofClass c: Int, labels: ShapedArray<Int32>, groupCount: Int,
                             levels: [Double]) -> (curves: Tensor, sampleCounts: [Int]) {
        precondition(c >= 0 && c < classCount, "class \(c) is out of range for \(classCount) classes")
        precondition(labels.shape == [height, width], "labels of shape \(labels.shape) do not match the image shape \([height, width])")
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
        let curves = Tensor(shape: [levels.count, groupCount]) { output in
            let out = UncheckedPointer(output.baseAddress!)
            offsets.withUnsafeBufferPointer { o in
                values.withUnsafeBufferPointer { v in
                    let offs = UncheckedPointer(o.baseAddress! + c * pixels)
                    let vals = UncheckedPointer(v.baseAddress ?? UnsafePointer(bitPattern: 2)!)
                    parallelFor(0..<groupCount) { groups in
                        for g in groups {
                            let members = memberPixels[groupStarts[g]..<groupStarts[g + 1]]
                            let m = sampleCounts[g]
                            if m >= PooledQuantiles.histogramThreshold {
                                var histogram = PooledQuantiles.Histogram()
                                for p in members {
                                    histogram.add(UnsafeBufferPointer(start: vals.pointer + offs.pointer[p],
                                                                      count: offs.pointer[p + 1] - offs.pointer[p]))
                                }
                                histogram.quantiles(levels: levels, precision: precision,
                                                    into: out.pointer + g, outputStride: groupCount)
                            } else {
                                let scratch = UnsafeMutablePointer<UInt16>.allocate(capacity: max(m, 1))
                                defer { scratch.deallocate() }
                                var filled = 0
                                for p in members {
                                    for i in offs.pointer[p]..<offs.pointer[p + 1] {
                                        scratch[filled] = vals.pointer[i].bitPattern
                                        filled += 1
                                    }
                                }
                                var buffer = UnsafeMutableBufferPointer(start: scratch, count: m)
                                buffer.sort()
                                UnsafeMutableRawPointer(scratch).withMemoryRebound(to: Float16.self, capacity: max(m, 1)) { sorted in
                                    LinearQuantile.Table(levels: levels, count: m)
                                        .evaluate(sorted: sorted, precision: precision, into: out.pointer + g, outputStride: groupCount)
                                }
                            }
                        }
                    }
                }
            }
        }
        return (curves, sampleCounts)
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
        func quantiles(levels: [Double], precision: ScorePrecision,
                       into output: UnsafeMutablePointer<Float>, outputStride: Int) {
            guard total > 0 else {
                for k in levels.indices { output[k * outputStride] = .nan }
                return
            }
            var bin = 0, below = 0  // `below` = number of values in bins < `bin`
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

    /// a + (b − a)·t for t < 0.5, b − (b − a)·(1 − t) otherwise, with b − a rounded to the data's
    /// precision first, as numpy evaluates it.
    /// The interpolation indices and weights of Q levels for one count of values.
    struct Table {
        var lower: [Int32]
        var upper: [Int32]
        var weight: [Double]
        let levelCount: Int
        let isEmpty: Bool

        init(levels: [Double], count m: Int) {
            lower = []; upper = []; weight = []
            levelCount = levels.count
            isEmpty = m == 0
            guard m > 0 else { return }
            for q in levels {
                let (a, b, t) = LinearQuantile.indices(level: q, count: m)
                lower.append(Int32(a)); upper.append(Int32(b)); weight.append(t)
            }
        }

        /// The quantiles of m ascending values (NaN when m = 0).
        func evaluate(sorted values: UnsafePointer<Float16>, precision: ScorePrecision,
                      into output: UnsafeMutablePointer<Float>, outputStride: Int) {
            if isEmpty {
                for k in 0..<levelCount { output[k * outputStride] = .nan }
                return
            }
            for k in lower.indices {
                output[k * outputStride] = LinearQuantile.interpolate(Float(values[Int(lower[k])]), Float(values[Int(upper[k])]),
                                                                      weight[k], precision: precision)
            }
        }
    }

    static func interpolate(_ a: Float, _ b: Float, _ t: Double, precision: ScorePrecision) -> Float {
        let difference: Double = switch precision {
        case .float: Double(b - a)
        case .halfProbabilities: Double(Float16(b - a))
        }
        return Float(t < 0.5 ? Double(a) + difference * t : Double(b) - difference * (1 - t))
    }
}
