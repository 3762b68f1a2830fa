import KandinskyCore

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
                    starts[g + 1] - starts[g] < 2
                        ? 0
                        : PairDistanceSum.within(
                            buffer.baseAddress!, stride: n, dimension: objective.dimension,
                            range: starts[g]..<starts[g + 1], parallel: true)
                }
            }
        }

        /// Exact J(θ′) and its per-group sums.
        func evaluate(_ candidate: [Double]) -> (value: Double, sums: [Double]) {
            let n = objective.pixelCount
            let m = objective.dimension
            let groups = AnnulusGeometry.groupCount
            let newGroup = objective.groups(theta: candidate)
            var removed = [[Int]](repeating: [], count: groups)
            var added = [[Int]](repeating: [], count: groups)
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
                    let r = objective.gather(removed[g])
                    let a = objective.gather(added[g])
                    let rCount = removed[g].count
                    let aCount = added[g].count
                    var total = sums[g]
                    r.withUnsafeBufferPointer { rb in
                        a.withUnsafeBufferPointer { ab in
                            let r = rb.baseAddress!
                            let a = ab.baseAddress!
                            total -= PairDistanceSum.cross(
                                r, stride: rCount, range: 0..<rCount, base, stride: n, range: group,
                                dimension: m, parallel: true)
                            total += PairDistanceSum.cross(
                                a, stride: aCount, range: 0..<aCount, base, stride: n, range: group,
                                dimension: m, parallel: true)
                            total += PairDistanceSum.within(
                                r, stride: rCount, dimension: m, range: 0..<rCount, parallel: true)
                            total += PairDistanceSum.within(
                                a, stride: aCount, dimension: m, range: 0..<aCount, parallel: true)
                            total -= PairDistanceSum.cross(
                                a, stride: aCount, range: 0..<aCount, r, stride: rCount, range: 0..<rCount,
                                dimension: m, parallel: true)
                        }
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
            let dx = x - theta[0]
            let dy = y - theta[1]
            return UInt8(AnnulusGeometry.group(squaredDistance: dx * dx + dy * dy, theta: theta))
        }
    }

    /// Groups, group starts and features sorted by group (dimension-major, stride n).
    func partition(theta: [Double]) -> (groupOf: [UInt8], starts: [Int], sorted: [Float]) {
        let n = pixelCount
        let m = dimension
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
        let n = pixelCount
        let k = indices.count
        var out = [Float](repeating: 0, count: k * dimension)
        for t in 0..<dimension { for (j, i) in indices.enumerated() { out[t * k + j] = features[t * n + i] } }
        return out
    }

    /// J from a sum over unordered pairs: both orders, scaled, over H·W.
    func normalised(_ unorderedSum: Double) -> Double {
        2 * unorderedSum * scale / Double(height * width)
    }
}
