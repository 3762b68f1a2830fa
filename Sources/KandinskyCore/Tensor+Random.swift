// Tensors of random values, drawn in row-major order from any generator (``SeededGenerator``
// for reproducible ones).

extension Tensor {
    /// A tensor of independent uniform values in `range`.
    public static func uniform(
        _ shape: [Int], in range: ClosedRange<Float> = 0...1,
        using generator: inout some RandomNumberGenerator
    ) -> Tensor {
        Tensor(shape: shape) { buffer in
            for i in 0..<buffer.count {
                buffer[i] = range.lowerBound + (range.upperBound - range.lowerBound) * generator.nextUnitFloat()
            }
        }
    }

    /// A tensor of independent normal values with the given mean and standard deviation.
    public static func normal(
        _ shape: [Int], mean: Float = 0, standardDeviation: Float = 1,
        using generator: inout some RandomNumberGenerator
    ) -> Tensor {
        Tensor(shape: shape) { buffer in
            for i in 0..<buffer.count {
                buffer[i] = mean + standardDeviation * Float(generator.nextNormal())
            }
        }
    }
}
