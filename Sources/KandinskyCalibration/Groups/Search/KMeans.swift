import KandinskyCore

/// k-means clustering (squared Euclidean distance) with k-means++ seeding, Lloyd iterations
/// and several restarts.
///
/// Each restart seeds with k-means++ (first centre uniform, each next centre drawn with
/// probability proportional to the squared distance to the nearest chosen centre) and then
/// alternates assignment (nearest centre, ties to the lower index) and update (centre = mean of
/// its points; an empty cluster keeps its centre) until no assignment changes, the centres move
/// by less than `tolerance` (Σ_j ‖Δc_j‖² ≤ tolerance × the mean per-coordinate variance of the
/// points, scikit-learn's rule), or `maxIterations` is reached. The restart with the lowest inertia (sum of squared
/// distances to
/// the assigned centres) wins, the earlier one on ties. Clusters are then renumbered by the
/// ascending sum of their centre's coordinates, so labels do not depend on seeding order.
///
/// - Complexity: O(restarts · iterations · n · k · d); restarts run in parallel.
package struct KMeans: Sendable {
    /// k.
    package var clusterCount: Int
    /// Independent seedings; the best is kept.
    package var restarts: Int
    /// The most Lloyd iterations per restart.
    package var maxIterations: Int
    /// Relative centre movement below which the iterations stop.
    package var tolerance: Double

    /// - Precondition: k ≥ 1, restarts ≥ 1, maxIterations ≥ 1.
    package init(clusterCount: Int, restarts: Int = 10, maxIterations: Int = 300, tolerance: Double = 1e-4) {
        precondition(
            clusterCount >= 1 && restarts >= 1 && maxIterations >= 1,
            "k-means needs k ≥ 1, restarts ≥ 1 and maxIterations ≥ 1, got \(clusterCount), \(restarts), \(maxIterations)"
        )
        self.clusterCount = clusterCount
        self.restarts = restarts
        self.maxIterations = maxIterations
        self.tolerance = tolerance
    }

    /// A clustering.
    package struct Result: Sendable, Equatable {
        /// The cluster of each point, in 0..<k.
        package var labels: [Int32]
        /// k centres of d coordinates.
        package var centroids: [[Double]]
        /// Σ over points of the squared distance to their centre.
        package var inertia: Double

        /// Checks a clustering of n points in d coordinates into k clusters (built with
        /// `KANDINSKY_INTERNAL_CHECKS`, see Package.swift): n labels in 0..<k, k centres of d
        /// coordinates whose sums ascend, a non-negative inertia.
        ///
        /// - Complexity: O(n + k·d).
        func _checkInvariants(pointCount n: Int, dimension d: Int, clusterCount k: Int) {
            precondition(labels.count == n && labels.allSatisfy { $0 >= 0 && $0 < k }, "labels outside 0..<\(k)")
            precondition(centroids.count == k && centroids.allSatisfy { $0.count == d }, "centres are not \(k) × \(d)")
            let sums = centroids.map { $0.reduce(0, +) }
            precondition(
                zip(sums, sums.dropFirst()).allSatisfy { $0 <= $1 }, "clusters are not numbered by their centre's sum")
            precondition(inertia >= 0, "negative inertia \(inertia)")
        }
    }

    /// Clusters the rows of `points` ([n, d], no NaN).
    ///
    /// - Precondition: n ≥ 1.
    package func fit(_ points: Tensor, using generator: inout some RandomNumberGenerator) -> Result {
        precondition(points.rank == 2 && points.shape[0] >= 1, "points must be [n, d] with n ≥ 1, got \(points.shape)")
        let seeds = (0..<restarts).map { _ in generator.next() }
        var results = [Result?](repeating: nil, count: restarts)
        results.withUnsafeMutableBufferPointer { out in
            let o = UncheckedPointer(out.baseAddress!)
            parallelFor(0..<restarts, chunkCount: restarts) { range in
                for r in range {
                    var restartGenerator = SeededGenerator(seed: seeds[r])
                    o.pointer[r] = run(points, using: &restartGenerator)
                }
            }
        }
        var best = results[0]!
        for result in results.dropFirst() where result!.inertia < best.inertia { best = result! }
        let result = Self.renumbered(best)
        #if KANDINSKY_INTERNAL_CHECKS
            result._checkInvariants(pointCount: points.shape[0], dimension: points.shape[1], clusterCount: clusterCount)
        #endif
        return result
    }

    /// One restart: k-means++ seeding, then Lloyd iterations until the assignment settles.
    private func run(_ points: Tensor, using generator: inout SeededGenerator) -> Result {
        let n = points.shape[0]
        let d = points.shape[1]
        let k = clusterCount
        return points.withUnsafeBufferPointer { x in
            var centres = Self.seededCentres(x, count: n, dimension: d, clusterCount: k, using: &generator)
            // scikit-learn's stopping threshold: tolerance × mean per-coordinate variance.
            let threshold = tolerance * Self.summedVariance(x, count: n, dimension: d) / Double(d)
            return iterate(x, count: n, dimension: d, centres: &centres, threshold: threshold)
        }
    }

    /// k-means++ seeding: the first centre uniform, each next one drawn with probability
    /// proportional to the squared distance to the nearest centre chosen so far (uniform again
    /// when every point sits on a centre). Returns k·d coordinates, centre after centre.
    private static func seededCentres(
        _ x: UnsafeBufferPointer<Float>, count n: Int, dimension d: Int,
        clusterCount k: Int, using generator: inout SeededGenerator
    ) -> [Double] {
        var centres = [Double](repeating: 0, count: k * d)
        var nearest = [Double](repeating: .infinity, count: n)
        var chosen = Int.random(in: 0..<n, using: &generator)
        for j in 0..<k {
            if j > 0 {
                let total = nearest.reduce(0, +)
                if total > 0 {
                    var target = generator.nextUnitDouble() * total
                    chosen = n - 1
                    for i in 0..<n {
                        target -= nearest[i]
                        if target < 0 && nearest[i] > 0 {
                            chosen = i
                            break
                        }
                    }
                } else {
                    chosen = Int.random(in: 0..<n, using: &generator)
                }
            }
            for t in 0..<d { centres[j * d + t] = Double(x[chosen * d + t]) }
            for i in 0..<n {
                var distance = 0.0
                for t in 0..<d {
                    let delta = Double(x[i * d + t]) - centres[j * d + t]
                    distance += delta * delta
                }
                nearest[i] = min(nearest[i], distance)
            }
        }
        return centres
    }

    /// Σ over coordinates of the points' (population) variance, each clipped at 0.
    private static func summedVariance(_ x: UnsafeBufferPointer<Float>, count n: Int, dimension d: Int) -> Double {
        var variance = 0.0
        for t in 0..<d {
            var sum = 0.0
            var squares = 0.0
            for i in 0..<n {
                let v = Double(x[i * d + t])
                sum += v
                squares += v * v
            }
            variance += max(squares / Double(n) - (sum / Double(n)) * (sum / Double(n)), 0)
        }
        return variance
    }

    /// Lloyd iterations from `centres`, over raw buffers (this loop is the whole cost): assign,
    /// stop if nothing changed or the centres had settled, else move the centres; they settle
    /// when they move by at most `threshold` (one last assignment follows).
    private func iterate(
        _ x: UnsafeBufferPointer<Float>, count n: Int, dimension d: Int, centres: inout [Double],
        threshold: Double
    ) -> Result {
        let k = clusterCount
        var labels = [Int32](repeating: -1, count: n)
        var inertia = 0.0
        let sums = UnsafeMutablePointer<Double>.allocate(capacity: k * d)
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: k)
        defer {
            sums.deallocate()
            counts.deallocate()
        }
        var settled = false  // centres stopped moving: one last assignment, then stop
        for _ in 0..<maxIterations {
            sums.initialize(repeating: 0, count: k * d)
            counts.initialize(repeating: 0, count: k)
            let (changed, passInertia) = centres.withUnsafeBufferPointer { centre in
                labels.withUnsafeMutableBufferPointer { label in
                    Self.assign(
                        x, count: n, dimension: d, clusterCount: k, centres: centre, labels: label,
                        sums: sums, counts: counts)
                }
            }
            inertia = passInertia
            if !changed || settled { break }
            var shift = 0.0
            for j in 0..<k where counts[j] > 0 {
                for t in 0..<d {
                    let updated = sums[j * d + t] / Double(counts[j])
                    shift += (updated - centres[j * d + t]) * (updated - centres[j * d + t])
                    centres[j * d + t] = updated
                }
            }
            if shift <= threshold { settled = true }
        }
        return Result(
            labels: labels, centroids: (0..<k).map { Array(centres[($0 * d)..<($0 * d + d)]) },
            inertia: inertia)
    }

    /// The assignment step: each point's nearest centre (ties to the lower index) into `labels`,
    /// its coordinates added to that centre's `sums` and `counts`. Returns whether a label
    /// changed and the inertia Σ of the squared distances, summed in point order.
    private static func assign(
        _ x: UnsafeBufferPointer<Float>, count n: Int, dimension d: Int, clusterCount k: Int,
        centres centre: UnsafeBufferPointer<Double>,
        labels label: UnsafeMutableBufferPointer<Int32>,
        sums: UnsafeMutablePointer<Double>, counts: UnsafeMutablePointer<Int>
    ) -> (Bool, Double) {
        var changed = false
        var inertia = 0.0
        for i in 0..<n {
            let point = x.baseAddress! + i * d
            var bestCluster = 0
            var bestDistance = Double.infinity
            if d == 4 {
                // The Kandinsky features: four curve values, unrolled.
                let q0 = Double(point[0])
                let q1 = Double(point[1])
                let q2 = Double(point[2])
                let q3 = Double(point[3])
                for j in 0..<k {
                    let c = centre.baseAddress! + j * 4
                    let e0 = q0 - c[0]
                    let e1 = q1 - c[1]
                    let e2 = q2 - c[2]
                    let e3 = q3 - c[3]
                    let distance = e0 * e0 + e1 * e1 + e2 * e2 + e3 * e3
                    if distance < bestDistance {
                        bestDistance = distance
                        bestCluster = j
                    }
                }
                let sum = sums + bestCluster * 4
                sum[0] += q0
                sum[1] += q1
                sum[2] += q2
                sum[3] += q3
            } else {
                for j in 0..<k {
                    var distance = 0.0
                    for t in 0..<d {
                        let delta = Double(point[t]) - centre[j * d + t]
                        distance += delta * delta
                    }
                    if distance < bestDistance {
                        bestDistance = distance
                        bestCluster = j
                    }
                }
                for t in 0..<d { sums[bestCluster * d + t] += Double(point[t]) }
            }
            if label[i] != Int32(bestCluster) {
                label[i] = Int32(bestCluster)
                changed = true
            }
            inertia += bestDistance
            counts[bestCluster] += 1
        }
        return (changed, inertia)
    }

    /// Renumbers clusters by ascending coordinate sum of their centres.
    static func renumbered(_ result: Result) -> Result {
        let order = result.centroids.indices.sorted {
            let a = result.centroids[$0].reduce(0, +)
            let b = result.centroids[$1].reduce(0, +)
            return a != b ? a < b : $0 < $1
        }
        var newLabel = [Int32](repeating: 0, count: order.count)
        for (position, old) in order.enumerated() { newLabel[old] = Int32(position) }
        return Result(
            labels: result.labels.map { newLabel[Int($0)] }, centroids: order.map { result.centroids[$0] },
            inertia: result.inertia)
    }
}
