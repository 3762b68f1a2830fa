import CKandinskyKernels
import KandinskyCore
import Testing

@testable import KandinskyCalibration

/// The pair-distance kernels against Double-precision double loops, for every variant this CPU
/// executes.
@Suite struct PairDistanceKernelTests {
    /// The baseline always; AVX2 + FMA where the CPU has it.
    static let variants: [kandinsky_kernel_variant] =
        [kandinsky_kernel_baseline] + (kandinsky_cpu_has_avx2_fma() != 0 ? [kandinsky_kernel_avx2_fma] : [])

    /// `count` points of `dimension` uniform coordinates stored dimension-major with `stride`;
    /// the padding between dimensions is NaN, so reading it would poison a sum.
    static func points(count: Int, dimension: Int, stride: Int, seed: UInt64) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        var values = [Float](repeating: .nan, count: max(dimension * stride, 1))
        for t in 0..<dimension { for i in 0..<count { values[t * stride + i] = generator.nextUnitFloat() } }
        return values
    }

    static func distance(_ a: [Float], _ i: Int, aStride: Int, _ b: [Float], _ j: Int, bStride: Int, dimension: Int)
        -> Double
    {
        var squared = 0.0
        for t in 0..<dimension {
            let delta = Double(a[t * aStride + i]) - Double(b[t * bStride + j])
            squared += delta * delta
        }
        return squared.squareRoot()
    }

    /// Tolerance: each distance rounds at a few Float32 unit roundoffs (6e-8) and lanes add at
    /// most 256 of them in Float32, which stays well inside 1e-6 relative; one missing or
    /// doubled pair among the largest sets below changes the sum by more than 2e-6.
    static let relativeTolerance = 1e-6

    @Test(arguments: variants, [4, 3, 1, 6])
    func withinSumsMatchADoubleLoop(variant: kandinsky_kernel_variant, dimension: Int) {
        for count in [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100, 291, 560] {
            let stride = count + 5
            let p = Self.points(
                count: count, dimension: dimension, stride: stride, seed: UInt64(count * 10 + dimension))
            var expected = 0.0
            for i in 0..<count {
                for j in (i + 1)..<max(count, i + 1) {
                    expected += Self.distance(p, i, aStride: stride, p, j, bStride: stride, dimension: dimension)
                }
            }
            let sum = p.withUnsafeBufferPointer {
                kandinsky_pair_distances_within(variant, $0.baseAddress!, stride, count, dimension)
            }
            if count < 2 {
                #expect(sum == 0)
            } else {
                #expect(abs(sum - expected) <= Self.relativeTolerance * expected, "n = \(count): \(sum) vs \(expected)")
            }
        }
    }

    @Test(arguments: variants, [4, 3, 1, 6])
    func crossSumsMatchADoubleLoop(variant: kandinsky_kernel_variant, dimension: Int) {
        let sizes = [
            (0, 5), (5, 0), (1, 1), (1, 2), (2, 1), (3, 17), (17, 3), (8, 16), (40, 23), (23, 40), (300, 270), (1, 700),
        ]
        for (aCount, bCount) in sizes {
            let aStride = aCount + 3
            let bStride = bCount + 11
            let a = Self.points(count: aCount, dimension: dimension, stride: aStride, seed: UInt64(aCount))
            let b = Self.points(count: bCount, dimension: dimension, stride: bStride, seed: UInt64(1000 + bCount))
            var expected = 0.0
            for i in 0..<aCount {
                for j in 0..<bCount {
                    expected += Self.distance(a, i, aStride: aStride, b, j, bStride: bStride, dimension: dimension)
                }
            }
            let sum = a.withUnsafeBufferPointer { ab in
                b.withUnsafeBufferPointer { bb in
                    kandinsky_pair_distances_cross(
                        variant, ab.baseAddress!, aStride, aCount, bb.baseAddress!, bStride, bCount, dimension)
                }
            }
            if aCount == 0 || bCount == 0 {
                #expect(sum == 0)
            } else {
                #expect(
                    abs(sum - expected) <= Self.relativeTolerance * expected,
                    "\(aCount) × \(bCount): \(sum) vs \(expected)")
            }
        }
    }

    @Test func theObjectiveRunsTheFastestVariantTheCPUExecutes() {
        let expected = kandinsky_cpu_has_avx2_fma() != 0 ? kandinsky_kernel_avx2_fma : kandinsky_kernel_baseline
        #expect(PairDistanceSum.variant == expected)
    }

    @Test(arguments: variants)
    func twoPointsGiveTheirDistance(variant: kandinsky_kernel_variant) {
        // (0, 0, 0, 0) and (1, 2, 2, 4): distance 5, exact in Float32.
        let p: [Float] = [0, 1, 0, 2, 0, 2, 0, 4]
        let sum = p.withUnsafeBufferPointer { kandinsky_pair_distances_within(variant, $0.baseAddress!, 2, 2, 4) }
        #expect(sum == 5)
        let cross = p.withUnsafeBufferPointer {
            kandinsky_pair_distances_cross(variant, $0.baseAddress!, 2, 1, $0.baseAddress! + 1, 2, 1, 4)
        }
        #expect(cross == 5)
    }

    /// The tiled sums (several tiles, the last one shorter) against a Double loop, and the same
    /// bits on one core or several.
    @Test func tiledSumsMatchADoubleLoopAndDoNotDependOnParallelism() {
        let (count, tileSize, dimension) = (700, 128, 4)
        let p = Self.points(count: count, dimension: dimension, stride: count, seed: 77)
        var expected = 0.0
        for i in 0..<count {
            for j in (i + 1)..<count {
                expected += Self.distance(p, i, aStride: count, p, j, bStride: count, dimension: dimension)
            }
        }
        p.withUnsafeBufferPointer { buffer in
            let f = buffer.baseAddress!
            let serial = PairDistanceSum.within(
                f, stride: count, dimension: dimension, range: 0..<count, parallel: false, tileSize: tileSize)
            let parallel = PairDistanceSum.within(
                f, stride: count, dimension: dimension, range: 0..<count, parallel: true, tileSize: tileSize)
            #expect(serial == parallel)
            #expect(abs(serial - expected) <= Self.relativeTolerance * expected, "\(serial) vs \(expected)")
            // Splitting the set in two: U(all) = U(first) + U(rest) + D(first, rest).
            let split = 300
            let first = PairDistanceSum.within(
                f, stride: count, dimension: dimension, range: 0..<split, parallel: true, tileSize: tileSize)
            let rest = PairDistanceSum.within(
                f, stride: count, dimension: dimension, range: split..<count, parallel: true, tileSize: tileSize)
            let between = PairDistanceSum.cross(
                f, stride: count, range: 0..<split, f, stride: count, range: split..<count,
                dimension: dimension, parallel: true, tileSize: tileSize)
            #expect(abs(first + rest + between - expected) <= Self.relativeTolerance * expected)
        }
    }
}
