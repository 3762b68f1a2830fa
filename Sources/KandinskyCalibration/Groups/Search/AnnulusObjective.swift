import CKandinskyKernels
import KandinskyCore

/// Concentric annuli over the image: the geometry of the `gen-ann` strategy.
///
/// θ = (cx, cy, r1, r2, r3). Pixel (row, col) has coordinates x = col − ⌊W/2⌋,
/// y = ⌊H/2⌋ − row relative to the image centre and d² = (x − cx)² + (y − cy)². Its group is
/// 0 if d² ≤ r1², 1 if d² ≤ r2², 2 if d² ≤ r3², else 3 (the first that holds), which for
/// ascending radii is the disc, two rings and the outside.
package enum AnnulusGeometry {
    /// The number of groups: three radii make four regions.
    package static let groupCount = 4

    /// The group of a point at squared distance `d2` for radii r1, r2, r3.
    @inlinable
    package static func group(squaredDistance d2: Double, theta: [Double]) -> Int {
        if d2 <= theta[2] * theta[2] { return 0 }
        if d2 <= theta[3] * theta[3] { return 1 }
        if d2 <= theta[4] * theta[4] { return 2 }
        return 3
    }

    /// The centred coordinates (x, y) of pixel p = row·W + col.
    @inlinable
    package static func coordinates(pixel p: Int, height: Int, width: Int) -> (x: Double, y: Double) {
        (Double(p % width - width / 2), Double(height / 2 - p / width))
    }

    /// The group of every pixel: [H, W] Int32 in 0..<4.
    ///
    /// - Precondition: θ has 5 components.
    package static func labels(height: Int, width: Int, theta: [Double]) -> ShapedArray<Int32> {
        precondition(theta.count == 5, "θ must be (cx, cy, r1, r2, r3), got \(theta)")
        return ShapedArray(shape: [height, width]) { out in
            for p in 0..<(height * width) {
                let (x, y) = coordinates(pixel: p, height: height, width: width)
                let dx = x - theta[0]
                let dy = y - theta[1]
                out[p] = Int32(group(squaredDistance: dx * dx + dy * dy, theta: theta))
            }
        }
    }
}

/// The annulus objective J(θ) = (1/(H·W)) Σ_groups Σ_{i, j in the group} ‖f_i − f_j‖₂ over
/// ordered pairs, where f_i is the curve feature vector of pixel i.
///
/// Only pixels with features take part: pixels whose pixelwise curve is NaN (no score) are left
/// out of J (they still belong to a group, but contribute no distance), while the normalisation
/// stays 1/(H·W) over all pixels.
///
/// Evaluation is exact: pixels are sorted into their groups and every within-group pair is
/// summed by the pair-distance kernels (AVX2 + FMA where the CPU has them): Float32 distances,
/// partial sums flushed to Double every 256 terms per lane so rounding stays near Float32's
/// unit roundoff relative to J. The sum's tiling and order depend only on the group sizes, so
/// J is the same bit for bit on one core or several (the sums are tiled by group size alone).
///
/// A subsampled objective (see ``subsampled(count:using:)``) keeps a regular grid of M pixels
/// and scales its pair sum by n(n − 1)/(M(M − 1)), an estimate of J that costs (M/n)² of the
/// exact one.
///
/// - Complexity: O(n + Σ_g n_g²·m) time for n pixels with m features in groups of n_g pixels,
///   O(n·m) scratch.
package struct AnnulusObjective: Sendable {
    /// H of the image.
    package let height: Int
    /// W of the image.
    package let width: Int
    /// The number of pixels with features.
    package var pixelCount: Int { pixels.count }
    /// The pixels with features (p = row·W + col).
    let pixels: [Int]
    /// Features dimension-major: `features[t · n + i]`.
    let features: [Float]
    let dimension: Int
    /// Multiplies the pair sum: 1 for the exact objective.
    let scale: Double

    /// The exact objective for features [n, m] of the pixels `pixels` of an H × W image.
    ///
    /// - Precondition: features has one row per pixel and no NaN.
    package init(features: Tensor, pixels: [Int], height: Int, width: Int) {
        precondition(
            features.rank == 2 && features.shape[0] == pixels.count,
            "features \(features.shape) do not match \(pixels.count) pixels")
        let n = pixels.count
        let m = features.shape[1]
        var dimensionMajor = [Float](repeating: 0, count: n * m)
        features.withUnsafeBufferPointer { f in
            precondition(!f.contains { $0.isNaN }, "features must not contain NaN")
            for i in 0..<n { for t in 0..<m { dimensionMajor[t * n + i] = f[i * m + t] } }
        }
        self.init(pixels: pixels, features: dimensionMajor, dimension: m, height: height, width: width, scale: 1)
    }

    init(pixels: [Int], features: [Float], dimension: Int, height: Int, width: Int, scale: Double) {
        self.pixels = pixels
        self.features = features
        self.dimension = dimension
        self.height = height
        self.width = width
        self.scale = scale
    }

    /// An estimate from about `count` pixels (itself when count ≥ n): the pixels on a regular
    /// grid of stride s = ⌈√(n/count)⌉ in both directions, starting at a random offset, with the
    /// pair sum scaled by n(n − 1)/(M(M − 1)) for the M pixels kept. A regular grid keeps each
    /// annulus's share of pixels close to its share of the image, so the estimate changes
    /// smoothly with θ, which matters more to the search than unbiasedness.
    package func subsampled(count: Int, using generator: inout some RandomNumberGenerator) -> AnnulusObjective {
        let n = pixelCount
        guard count < n, count >= 2 else { return self }
        let stride = Swift.max(1, Int((Double(n) / Double(count)).squareRoot().rounded(.up)))
        let rowOffset = Int.random(in: 0..<stride, using: &generator)
        let colOffset = Int.random(in: 0..<stride, using: &generator)
        let subset = (0..<n).filter {
            let pixel = pixels[$0]
            return (pixel / width) % stride == rowOffset && (pixel % width) % stride == colOffset
        }
        let kept = subset.count
        guard kept >= 2 else { return self }
        var sampled = [Float](repeating: 0, count: kept * dimension)
        for t in 0..<dimension { for (j, i) in subset.enumerated() { sampled[t * kept + j] = features[t * n + i] } }
        let scale = Double(n) * Double(n - 1) / (Double(kept) * Double(kept - 1))
        return AnnulusObjective(
            pixels: subset.map { pixels[$0] }, features: sampled, dimension: dimension,
            height: height, width: width, scale: scale)
    }

    /// J(θ), spreading the pair sums over the cores.
    package func value(theta: [Double]) -> Double {
        value(theta: theta, parallel: true)
    }

    /// J for a batch of θ, one θ per core at a time.
    package func values(thetas: [[Double]]) -> [Double] {
        var results = [Double](repeating: 0, count: thetas.count)
        results.withUnsafeMutableBufferPointer { out in
            let o = UncheckedPointer(out.baseAddress!)
            parallelFor(0..<thetas.count, chunkCount: thetas.count) { range in
                for i in range { o.pointer[i] = value(theta: thetas[i], parallel: false) }
            }
        }
        return results
    }

    func value(theta: [Double], parallel: Bool) -> Double {
        precondition(theta.count == 5, "θ must be (cx, cy, r1, r2, r3), got \(theta)")
        let n = pixelCount
        let m = dimension
        guard n >= 2 else { return 0 }
        let (_, starts, sorted) = partition(theta: theta)
        var total = 0.0
        sorted.withUnsafeBufferPointer { buffer in
            for g in 0..<AnnulusGeometry.groupCount where starts[g + 1] - starts[g] >= 2 {
                total += PairDistanceSum.within(
                    buffer.baseAddress!, stride: n, dimension: m,
                    range: starts[g]..<starts[g + 1], parallel: parallel)
            }
        }
        return normalised(total)
    }
}

/// Sums of pair distances over feature vectors stored dimension-major (coordinate t of point i
/// at `f[t · stride + i]`), computed by the C kernels of `annulus_pair_distances.h`.
///
/// A set of points is cut into tiles of ``defaultTileSize`` consecutive points and every pair of tiles
/// is one task; the tasks' sums are added in task order. The tiling depends only on the counts,
/// so a sum is the same bit for bit whether its tasks run on one core or several.
enum PairDistanceSum {
    /// The kernel variant the running CPU executes.
    static let variant = kandinsky_kernel_best_variant()
    /// Points per tile: 2048 points of four Float32 features are 32 KB, so the rows of a task
    /// stay in L1 while its columns stream past.
    static let defaultTileSize = 2048

    /// Σ_{u < v, both in range} ‖f_u − f_v‖₂: n(n − 1)/2 distances for n = range.count.
    ///
    /// - Complexity: O(n²·m) time, O((n / tileSize)²) scratch.
    static func within(
        _ f: UnsafePointer<Float>, stride: Int, dimension m: Int, range: Range<Int>, parallel: Bool,
        tileSize: Int = defaultTileSize
    ) -> Double {
        let tiles = tiled(range, tileSize: tileSize)
        let tasks = tiles.indices.flatMap { i in (i..<tiles.count).map { j in (i, j) } }
        return sumInOrder(taskCount: tasks.count, parallel: parallel) { task in
            let (rows, columns) = (tiles[tasks[task].0], tiles[tasks[task].1])
            return rows == columns
                ? kandinsky_pair_distances_within(variant, f + rows.lowerBound, stride, rows.count, m)
                : kandinsky_pair_distances_cross(
                    variant, f + rows.lowerBound, stride, rows.count,
                    f + columns.lowerBound, stride, columns.count, m)
        }
    }

    /// Σ_{u ∈ aRange} Σ_{v ∈ bRange} ‖a_u − b_v‖₂ for two sets with their own strides.
    ///
    /// - Complexity: O(|aRange|·|bRange|·m) time.
    static func cross(
        _ a: UnsafePointer<Float>, stride aStride: Int, range aRange: Range<Int>,
        _ b: UnsafePointer<Float>, stride bStride: Int, range bRange: Range<Int>,
        dimension m: Int, parallel: Bool, tileSize: Int = defaultTileSize
    ) -> Double {
        let aTiles = tiled(aRange, tileSize: tileSize)
        let bTiles = tiled(bRange, tileSize: tileSize)
        return sumInOrder(taskCount: aTiles.count * bTiles.count, parallel: parallel) { task in
            let (rows, columns) = (aTiles[task / bTiles.count], bTiles[task % bTiles.count])
            return kandinsky_pair_distances_cross(
                variant, a + rows.lowerBound, aStride, rows.count,
                b + columns.lowerBound, bStride, columns.count, m)
        }
    }

    /// `range` cut into consecutive tiles of `tileSize` points (the last one shorter).
    static func tiled(_ range: Range<Int>, tileSize: Int) -> [Range<Int>] {
        Swift.stride(from: range.lowerBound, to: range.upperBound, by: tileSize).map {
            $0..<min($0 + tileSize, range.upperBound)
        }
    }

    /// Σ_task body(task), the tasks spread over the cores when `parallel` and the sum taken in
    /// task order.
    static func sumInOrder(taskCount: Int, parallel: Bool, _ body: (Int) -> Double) -> Double {
        guard parallel, taskCount > 1 else { return (0..<taskCount).reduce(0) { $0 + body($1) } }
        var partials = [Double](repeating: 0, count: taskCount)
        partials.withUnsafeMutableBufferPointer { out in
            let results = UncheckedPointer(out.baseAddress!)
            parallelFor(0..<taskCount, chunkCount: taskCount) { tasks in
                for task in tasks { results.pointer[task] = body(task) }
            }
        }
        return partials.reduce(0, +)
    }
}
