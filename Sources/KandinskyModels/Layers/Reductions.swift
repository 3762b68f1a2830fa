/// Sums for per-plane statistics: eight-lane Float partial sums over blocks of 1024 elements
/// (vectorised), the block totals added in Double, so a plane of any size keeps about Float
/// precision relative to the sum of magnitudes.
enum PlaneReduction {
    private static let block = 1024

    /// Σ x[i] over `count` elements.
    @inline(__always)
    static func sum(_ x: UnsafePointer<Float>, count: Int) -> Double {
        var total: Double = 0
        var start = 0
        while start < count {
            let end = min(count, start + block)
            var lanes = SIMD8<Float>()
            var i = start
            while i + 8 <= end {
                lanes += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
                i += 8
            }
            var partial = lanes.sum()
            while i < end {
                partial += x[i]
                i += 1
            }
            total += Double(partial)
            start = end
        }
        return total
    }

    /// Σ (x[i] − shift)² over `count` elements.
    @inline(__always)
    static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int, shift: Float) -> Double {
        var total: Double = 0
        var start = 0
        let shifts = SIMD8<Float>(repeating: shift)
        while start < count {
            let end = min(count, start + block)
            var lanes = SIMD8<Float>()
            var i = start
            while i + 8 <= end {
                let d = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) - shifts
                lanes += d * d
                i += 8
            }
            var partial = lanes.sum()
            while i < end {
                partial += (x[i] - shift) * (x[i] - shift)
                i += 1
            }
            total += Double(partial)
            start = end
        }
        return total
    }

    /// (Σ a[i], Σ a[i]·b[i]) over `count` elements.
    @inline(__always)
    static func sumAndDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> (Double, Double) {
        var sum: Double = 0
        var dot: Double = 0
        var start = 0
        while start < count {
            let end = min(count, start + block)
            var sums = SIMD8<Float>()
            var dots = SIMD8<Float>()
            var i = start
            while i + 8 <= end {
                let u = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
                sums += u
                dots += u * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
                i += 8
            }
            var partialSum = sums.sum()
            var partialDot = dots.sum()
            while i < end {
                partialSum += a[i]
                partialDot += a[i] * b[i]
                i += 1
            }
            sum += Double(partialSum)
            dot += Double(partialDot)
            start = end
        }
        return (sum, dot)
    }
}
