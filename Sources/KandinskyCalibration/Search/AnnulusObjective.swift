import KandinskyCore
import Synchronization

/// Concentric annuli over the image: the geometry of the `gen-ann` strategy.
///
/// θ = (cx, cy, r1, r2, r3). Pixel (row, col) has coordinates x = col − ⌊W/2⌋,
/// y = ⌊H/2⌋ − row relative to the image centre and d² = (x − cx)² + (y − cy)². Its group is
/// 0 if d² ≤ r1², 1 if d² ≤ r2², 2 if d² ≤ r3², else 3 (the first that holds), which for
/// ascending radii is the disc, two rings and the outside.
public enum AnnulusGeometry {
    /// The number of groups: three radii make four regions.
    public static let groupCount = 4

    /// The group of a point at squared distance `d2` for radii r1, r2, r3.
    @inlinable
    public static func group(squaredDistance d2: Double, theta: [Double]) -> Int {
        if d2 <= theta[2] * theta[2] { return 0 }
        if d2 <= theta[3] * theta[3] { return 1 }
        if d2 <= theta[4] * theta[4] { return 2 }
        return 3
    }

    /// The centred coordinates (x, y) of pixel p = row·W + col.
    @inlinable
    public static func coordinates(pixel p: Int, height: Int, width: Int) -> (x: Double, y: Double) {
        (Double(p % width - width / 2), Double(height / 2 - p / width))
    }

    /// The group of every pixel: [H, W] Int32 in 0..<4.
    ///
    /// - Precondition: θ has 5 components.
    public static func labels(height: Int, width: Int, theta: [Double]) -> ShapedArray<Int32> {
        precondition(theta.count == 5, "θ must be (cx, cy, r1, r2, r3), got \(theta)")
        return ShapedArray(shape: [height, width]) { out in
            for p in 0..<(height * width) {
                let (x, y) = coordinates(pixel: p, height: height, width: width)
                let dx = x - theta[0], dy = y - theta[1]
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
/// summed, with SIMD lanes over the partner pixel and partial sums flushed to Double every few
/// hundred terms so rounding stays near Float32's unit roundoff relative to J.
///
/// A subsampled objective (see ``subsampled(count:using:)``) keeps a regular grid of M pixels
/// and scales its pair sum by n(n − 1)/(M(M − 1)), an estimate of J that costs (M/n)² of the
/// exact one.
///
/// - Complexity: O(n + Σ_g n_g²·m) time for n pixels with m features in groups of n_g pixels,
///   O(n·m) scratch.
public struct AnnulusObjective: Sendable {
    /// H of the image.
    public let height: Int
    /// W of the image.
    public let width: Int
    /// The number of pixels with features.
    public var pixelCount: Int { pixels.count }
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
    public init(features: Tensor, pixels: [Int], height: Int, width: Int) {
        precondition(features.rank == 2 && features.shape[0] == pixels.count,
                     "features \(features.shape) do not match \(pixels.count) pixels")
        let n = pixels.count, m = features.shape[1]
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
    public func subsampled(count: Int, using generator: inout some RandomNumberGenerator) -> AnnulusObjective {
        let n = pixelCount
        guard count < n, count >= 2 else { return self }
        let stride = Swift.max(1, Int((Double(n) / Double(count)).squareRoot().rounded(.up)))
        let rowOffset = Int.random(in: 0..<stride, using: &generator), colOffset = Int.random(in: 0..<stride, using: &generator)
        let subset = (0..<n).filter {
            let pixel = pixels[$0]
            return (pixel / width) % stride == rowOffset && (pixel % width) % stride == colOffset
        }
        let kept = subset.count
        guard kept >= 2 else { return self }
        var sampled = [Float](repeating: 0, count: kept * dimension)
        for t in 0..<dimension { for (j, i) in subset.enumerated() { sampled[t * kept + j] = features[t * n + i] } }
        let scale = Double(n) * Double(n - 1) / (Double(kept) * Double(kept - 1))
        return AnnulusObjective(pixels: subset.map { pixels[$0] }, features: sampled, dimension: dimension,
                                height: height, width: width, scale: scale)
    }

    /// J(θ), spreading the pair sums over the cores.
    public func value(theta: [Double]) -> Double {
        value(theta: theta, parallel: true)
    }

    /// J for a batch of θ, one θ per core at a time.
    public func values(thetas: [[Double]]) -> [Double] {
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
        let n = pixelCount, m = dimension
        guard n >= 2 else { return 0 }
        // Counting sort of the pixels by group, copying their features group after group.
        var groupOf = [UInt8](repeating: 0, count: n)
        var starts = [Int](repeating: 0, count: AnnulusGeometry.groupCount + 1)
        for i in 0..<n {
            let (x, y) = AnnulusGeometry.coordinates(pixel: pixels[i], height: height, width: width)
            let dx = x - theta[0], dy = y - theta[1]
            let g = AnnulusGeometry.group(squaredDistance: dx * dx + dy * dy, theta: theta)
            groupOf[i] = UInt8(g)
            starts[g + 1] += 1
        }
        for g in 0..<AnnulusGeometry.groupCount { starts[g + 1] += starts[g] }
        var sorted = [Float](repeating: 0, count: n * m)
        var cursor = starts
        for i in 0..<n {
            let g = Int(groupOf[i])
            for t in 0..<m { sorted[t * n + cursor[g]] = features[t * n + i] }
            cursor[g] += 1
        }
        var total = 0.0
        sorted.withUnsafeBufferPointer { buffer in
            for g in 0..<AnnulusGeometry.groupCount where starts[g + 1] - starts[g] >= 2 {
                total += PairDistanceSum.unorderedSum(buffer.baseAddress!, stride: n, dimension: m,
                                                      range: starts[g]..<starts[g + 1], parallel: parallel)
            }
        }
        return 2 * total * scale / Double(height * width)
    }
}

/// Σ over unordered pairs u < v of ‖f_u − f_v‖₂ for feature vectors stored dimension-major.
enum PairDistanceSum {
    static func unorderedSum(_ f: UnsafePointer<Float>, stride: Int, dimension m: Int,
                             range: Range<Int>, parallel: Bool) -> Double {
        let size = range.count
        // Rows r and size − 1 − r together have size − 1 partners, so chunks are balanced.
        let pairRows = (size + 1) / 2
        let base = UncheckedPointer(f)
        let body: @Sendable (Range<Int>) -> Double = { chunk in
            var sum = 0.0
            for r in chunk {
                sum += rowSum(base.pointer, stride: stride, dimension: m, row: range.lowerBound + r, end: range.upperBound)
                let mirror = size - 1 - r
                if mirror != r {
                    sum += rowSum(base.pointer, stride: stride, dimension: m, row: range.lowerBound + mirror, end: range.upperBound)
                }
            }
            return sum
        }
        guard parallel, size >= 512 else { return body(0..<pairRows) }
        let total = Mutex(0.0)
        parallelFor(0..<pairRows, chunkCount: 8 * availableCoreCount) { chunk in
            let partial = body(chunk)
            total.withLock { $0 += partial }
        }
        return total.withLock { $0 }
    }

    /// Σ_{v = row+1}^{end−1} ‖f_row − f_v‖₂.
    @inline(__always)
    static func rowSum(_ f: UnsafeMutablePointer<Float>, stride: Int, dimension m: Int, row u: Int, end: Int) -> Double {
        if m == 4 { return rowSum4(f, stride: stride, row: u, end: end) }
        var total = 0.0
        for v in (u + 1)..<end {
            var squared: Float = 0
            for t in 0..<m {
                let delta = f[t * stride + v] - f[t * stride + u]
                squared += delta * delta
            }
            total += Double(squared.squareRoot())
        }
        return total
    }

    /// The four-feature case.
    @inline(__always)
    static func rowSum4(_ f: UnsafeMutablePointer<Float>, stride: Int, row u: Int, end: Int) -> Double {
        rowSum4(f, stride: stride, a0: f[u], a1: f[stride + u], a2: f[2 * stride + u], a3: f[3 * stride + u], from: u + 1, end: end)
    }

    /// Σ_{v ∈ from..<end} ‖(a0, a1, a2, a3) − f_v‖, eight partners per step in one SIMD
    /// accumulator flushed to Double every 2048 partners. (Measured: a second accumulator or
    /// four-lane vectors make this loop several times slower.)
    @inline(__always)
    static func rowSum4(_ f: UnsafeMutablePointer<Float>, stride: Int, a0 x0: Float, a1 x1: Float, a2 x2: Float, a3 x3: Float,
                        from start: Int, end: Int) -> Double {
        let p0 = f, p1 = f + stride, p2 = f + 2 * stride, p3 = f + 3 * stride
        let a0 = SIMD8<Float>(repeating: x0), a1 = SIMD8<Float>(repeating: x1)
        let a2 = SIMD8<Float>(repeating: x2), a3 = SIMD8<Float>(repeating: x3)
        var total = 0.0
        var accumulator = SIMD8<Float>()
        var v = start
        var steps = 0
        while v + 8 <= end {
            let d0 = UnsafeRawPointer(p0 + v).loadUnaligned(as: SIMD8<Float>.self) - a0
            let d1 = UnsafeRawPointer(p1 + v).loadUnaligned(as: SIMD8<Float>.self) - a1
            let d2 = UnsafeRawPointer(p2 + v).loadUnaligned(as: SIMD8<Float>.self) - a2
            let d3 = UnsafeRawPointer(p3 + v).loadUnaligned(as: SIMD8<Float>.self) - a3
            accumulator += (d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3).squareRoot()
            v += 8
            steps += 1
            if steps == 256 {
                total += Double(accumulator.sum())
                accumulator = SIMD8()
                steps = 0
            }
        }
        total += Double(accumulator.sum())
        while v < end {
            let d0 = p0[v] - x0, d1 = p1[v] - x1, d2 = p2[v] - x2, d3 = p3[v] - x3
            total += Double((d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3).squareRoot())
            v += 1
        }
        return total
    }
}
