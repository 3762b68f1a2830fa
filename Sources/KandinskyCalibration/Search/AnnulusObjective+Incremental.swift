import KandinskyCore
import Synchronization

extension AnnulusObjective {
    /// Exact J for θ near a reference θ, updating the reference's per-group pair sums with only
    /// the pixels that change group.
    ///
    /// With U(X) = Σ_{i<j ∈ X} ‖f_i − f_j‖ and D(X, Y) = Σ_{i ∈ X, j ∈ Y} ‖f_i − f_j‖, a group G
    /// that loses R ⊆ G and gains A (disjoint from G) has
    /// U((G ∖ R) ∪ A) = U(G) − D(R, G) + U(R) + D(A, G) − D(A, R) + U(A),
    /// which costs O((|R| + |A|)·|G| + (|R| + |A|)²) instead of O(|G|²). When many pixels move
    /// (more than a quarter), the evaluator recomputes from scratch instead.
    final class Incremental {
        let objective: AnnulusObjective
        private(set) var theta: [Double]
        private(set) var value: Double
        /// U of each group of the reference θ.
        private var sums: [Double]
        /// The group of each pixel under the reference θ.
        private var groupOf: [UInt8]
        /// Features sorted by reference group, dimension-major with stride n.
        private var sorted: [Float]
        private var starts: [Int]

        init(_ objective: AnnulusObjective, theta: [Double]) {
            self.objective = objective
            self.theta = theta
            (groupOf, starts, sorted) = objective.partition(theta: theta)
            sums = (0..<AnnulusGeometry.groupCount).map { _ in 0 }
            value = 0
            sums = groupSums()
            value = objective.normalised(sums.reduce(0, +))
        }

        private func groupSums() -> [Double] {
            let n = objective.pixelCount
            return sorted.withUnsafeBufferPointer { buffer in
                (0..<AnnulusGeometry.groupCount).map { g in
                    starts[g + 1] - starts[g] < 2 ? 0
                        : PairDistanceSum.unorderedSum(buffer.baseAddress!, stride: n, dimension: objective.dimension,
                                                       range: starts[g]..<starts[g + 1], parallel: true)
                }
            }
        }

        /// Exact J(θ′) and its per-group sums.
        func evaluate(_ candidate: [Double]) -> (value: Double, sums: [Double]) {
            let n = objective.pixelCount, m = objective.dimension, groups = AnnulusGeometry.groupCount
            let newGroup = objective.groups(theta: candidate)
            var removed = [[Int]](repeating: [], count: groups), added = [[Int]](repeating: [], count: groups)
            var moved = 0
            for i in 0..<n where newGroup[i] != groupOf[i] {
                removed[Int(groupOf[i])].append(i)
                added[Int(newGroup[i])].append(i)
                moved += 1
            }
            if moved == 0 { return (value, sums) }
            if moved * 4 > n {
                let fresh = Incremental(objective, theta: candidate)
                return (fresh.value, fresh.sums)
            }
            var newSums = sums
            sorted.withUnsafeBufferPointer { buffer in
                let base = buffer.baseAddress!
                for g in 0..<groups where !removed[g].isEmpty || !added[g].isEmpty {
                    let group = starts[g]..<starts[g + 1]
                    let r = objective.gather(removed[g]), a = objective.gather(added[g])
                    var total = sums[g]
                    total -= PairDistanceSum.crossSum(points: r, count: removed[g].count, dimension: m,
                                                      against: base, stride: n, range: group)
                    total += PairDistanceSum.crossSum(points: a, count: added[g].count, dimension: m,
                                                      against: base, stride: n, range: group)
                    total += PairDistanceSum.unorderedSum(gatheredPoints: r, count: removed[g].count, dimension: m)
                    total += PairDistanceSum.unorderedSum(gatheredPoints: a, count: added[g].count, dimension: m)
                    total -= r.withUnsafeBufferPointer { rb in
                        PairDistanceSum.crossSum(points: a, count: added[g].count, dimension: m,
                                                 against: rb.baseAddress!, stride: removed[g].count, range: 0..<removed[g].count)
                    }
                    newSums[g] = max(total, 0)
                }
            }
            return (objective.normalised(newSums.reduce(0, +)), newSums)
        }

        /// Makes `candidate` the reference, with its sums from ``evaluate(_:)``.
        func rebase(to candidate: [Double], value: Double, sums: [Double]) {
            theta = candidate
            self.value = value
            self.sums = sums
            (groupOf, starts, sorted) = objective.partition(theta: candidate)
        }
    }

    /// The group of every feature pixel.
    func groups(theta: [Double]) -> [UInt8] {
        (0..<pixelCount).map { i in
            let (x, y) = AnnulusGeometry.coordinates(pixel: pixels[i], height: height, width: width)
            let dx = x - theta[0], dy = y - theta[1]
            return UInt8(AnnulusGeometry.group(squaredDistance: dx * dx + dy * dy, theta: theta))
        }
    }

    /// Groups, group starts and features sorted by group (dimension-major, stride n).
    func partition(theta: [Double]) -> (groupOf: [UInt8], starts: [Int], sorted: [Float]) {
        let n = pixelCount, m = dimension
        let groupOf = groups(theta: theta)
        var starts = [Int](repeating: 0, count: AnnulusGeometry.groupCount + 1)
        for g in groupOf { starts[Int(g) + 1] += 1 }
        for g in 0..<AnnulusGeometry.groupCount { starts[g + 1] += starts[g] }
        var sorted = [Float](repeating: 0, count: n * m)
        var cursor = starts
        for i in 0..<n {
            let g = Int(groupOf[i])
            for t in 0..<m { sorted[t * n + cursor[g]] = features[t * n + i] }
            cursor[g] += 1
        }
        return (groupOf, starts, sorted)
    }

    /// The features of some pixels, dimension-major with stride `indices.count`.
    func gather(_ indices: [Int]) -> [Float] {
        let n = pixelCount, k = indices.count
        var out = [Float](repeating: 0, count: k * dimension)
        for t in 0..<dimension { for (j, i) in indices.enumerated() { out[t * k + j] = features[t * n + i] } }
        return out
    }

    /// J from a sum over unordered pairs: both orders, scaled, over H·W.
    func normalised(_ unorderedSum: Double) -> Double {
        2 * unorderedSum * scale / Double(height * width)
    }
}

extension PairDistanceSum {
    /// Σ_{x ∈ points} Σ_{j ∈ range} ‖f_x − f_j‖ for points stored dimension-major with stride
    /// `count`, against features stored dimension-major with stride `stride`.
    static func crossSum(points: [Float], count: Int, dimension m: Int,
                         against f: UnsafePointer<Float>, stride: Int, range: Range<Int>) -> Double {
        guard count > 0, !range.isEmpty else { return 0 }
        let base = UncheckedPointer(f)
        return points.withUnsafeBufferPointer { pb in
            let p = UncheckedPointer(pb.baseAddress!)
            let total = Mutex(0.0)
            parallelFor(0..<count, chunkCount: min(count, 4 * availableCoreCount)) { chunk in
                var sum = 0.0
                var point = [Float](repeating: 0, count: m)
                for x in chunk {
                    for t in 0..<m { point[t] = p.pointer[t * count + x] }
                    sum += point.withUnsafeBufferPointer { rowSum(point: $0.baseAddress!, base.pointer, stride: stride, dimension: m,
                                                                  range: range) }
                }
                total.withLock { $0 += sum }
            }
            return total.withLock { $0 }
        }
    }

    /// Σ over unordered pairs of a small gathered set (dimension-major, stride `count`).
    static func unorderedSum(gatheredPoints points: [Float], count: Int, dimension m: Int) -> Double {
        guard count >= 2 else { return 0 }
        return points.withUnsafeBufferPointer { unorderedSum($0.baseAddress!, stride: count, dimension: m, range: 0..<count, parallel: true) }
    }

    /// Σ_{j ∈ range} ‖point − f_j‖.
    static func rowSum(point: UnsafePointer<Float>, _ f: UnsafeMutablePointer<Float>, stride: Int, dimension m: Int,
                       range: Range<Int>) -> Double {
        if m == 4 {
            return rowSum4(f, stride: stride, a0: point[0], a1: point[1], a2: point[2], a3: point[3],
                           from: range.lowerBound, end: range.upperBound)
        }
        var total = 0.0
        for v in range {
            var squared: Float = 0
            for t in 0..<m {
                let delta = f[t * stride + v] - point[t]
                squared += delta * delta
            }
            total += Double(squared.squareRoot())
        }
        return total
    }
}
