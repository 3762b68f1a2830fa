import Foundation

/// A fast, seedable pseudo-random generator (xoshiro256**, Blackman & Vigna 2018), with its
/// state expanded from a 64-bit seed by SplitMix64.
///
/// The same seed gives the same sequence on every platform and in every release of Kandinsky:
/// every random API in the library takes a `using:` generator so results are reproducible.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Hashable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    /// Creates a generator whose sequence is determined by `seed`.
    public init(seed: UInt64) {
        var splitMix = seed
        func next() -> UInt64 {
            splitMix &+= 0x9E37_79B9_7F4A_7C15
            var z = splitMix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (next(), next(), next(), next())
    }

    /// A generator for a sub-task, derived from this one's seed and a stream index, so parallel
    /// work can draw reproducibly without sharing state.
    public static func stream(_ index: Int, of seed: UInt64) -> SeededGenerator {
        SeededGenerator(seed: seed ^ (UInt64(truncatingIfNeeded: index) &* 0xD1B5_4A32_D192_ED03))
    }

    /// The next 64 random bits (xoshiro256**: `rotl(s₁·5, 7)·9`, then the state update).
    public mutating func next() -> UInt64 {
        let result = rotate(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotate(state.3, 45)
        return result
    }

    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Generators are equal when their states are: they will produce the same sequence.
    public static func == (lhs: SeededGenerator, rhs: SeededGenerator) -> Bool {
        lhs.state == rhs.state
    }

    /// Hashes the 256-bit state.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(state.0)
        hasher.combine(state.1)
        hasher.combine(state.2)
        hasher.combine(state.3)
    }
}

extension RandomNumberGenerator {
    /// A uniform `Float` in [0, 1) with 24 random bits.
    @inlinable
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// A uniform `Double` in [0, 1) with 53 random bits.
    @inlinable
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A standard normal deviate (Box–Muller).
    @inlinable
    public mutating func nextNormal() -> Double {
        let u1 = 1 - nextUnitDouble()  // in (0, 1], so the logarithm is finite
        let u2 = nextUnitDouble()
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }
}

/// A uniformly random permutation of `0..<count` (Fisher–Yates), with its own bounded-integer
/// draw so that the same seed gives the same permutation whatever the standard library does.
package func seededPermutation(count: Int, using generator: inout some RandomNumberGenerator) -> [Int] {
    var order = Array(0..<count)
    if count < 2 { return order }
    for i in stride(from: count - 1, to: 0, by: -1) {
        order.swapAt(i, uniformIndex(below: i + 1, using: &generator))
    }
    return order
}

/// A uniform integer in `0..<bound` by Lemire's multiply-and-reject method.
package func uniformIndex(below bound: Int, using generator: inout some RandomNumberGenerator) -> Int {
    precondition(bound > 0, "bound must be positive, got \(bound)")
    let b = UInt64(bound)
    let threshold = (0 &- b) % b
    while true {
        let product = generator.next().multipliedFullWidth(by: b)
        if product.low >= threshold { return Int(product.high) }
    }
}
