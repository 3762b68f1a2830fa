import KandinskyCore

/// Channel dropout, as PyTorch's `nn.Dropout2d(p)` on [N, C, H, W]: in training, each (image,
/// channel) plane is zeroed with probability p and otherwise scaled by 1/(1 − p), so the
/// expectation is unchanged; at inference, and when p = 0, it is the identity.
///
/// The layer draws from its own seeded generator, so a training run is reproducible from the
/// seed it was built with.
///
/// - Complexity: O(N·C·H·W) in training, O(1) otherwise.
public struct Dropout2d: Layer {
    /// p, the probability of dropping a channel.
    public let probability: Float
    private var generator: SeededGenerator
    private var scales: [Float] = []
    private var isIdentity = true
    private var output = Tensor.empty
    private var inputGradient = Tensor.empty

    /// - Precondition: 0 ≤ probability < 1.
    public init(probability: Float, seed: UInt64) {
        precondition(probability >= 0 && probability < 1, "Dropout2d needs 0 ≤ p < 1, got \(probability)")
        self.probability = probability
        generator = SeededGenerator(seed: seed)
    }

    /// Zeroes whole planes with probability p and scales the rest by 1/(1 − p) when `training`; the identity otherwise.
    public mutating func forward(_ input: Tensor, training: Bool) -> Tensor {
        isIdentity = !training || probability == 0
        if isIdentity { return input }
        let (n, c, h, w) = imageDimensions(input, "Dropout2d")
        let size = h * w
        let keep = 1 / (1 - probability)
        if scales.count != n * c { scales = Array(repeating: 0, count: n * c) }
        for plane in 0..<(n * c) { scales[plane] = generator.nextUnitFloat() < probability ? 0 : keep }
        var result = Tensor.reusing(&output, shape: input.shape)
        scale(input, into: &result, planeSize: size)
        output = result
        return result
    }

    /// Applies the same plane mask and scale to the gradient.
    public mutating func backward(_ outputGradient: Tensor) -> Tensor {
        if isIdentity { return outputGradient }
        let (_, _, h, w) = imageDimensions(outputGradient, "Dropout2d")
        precondition(
            outputGradient.count == scales.count * h * w,
            "Dropout2d.backward got a gradient of shape \(outputGradient.shape) for \(scales.count) planes")
        var result = Tensor.reusing(&inputGradient, shape: outputGradient.shape)
        scale(outputGradient, into: &result, planeSize: h * w)
        inputGradient = result
        return result
    }

    private func scale(_ source: Tensor, into destination: inout Tensor, planeSize: Int) {
        source.withUnsafeBufferPointer { x in
            destination.withUnsafeMutableBufferPointer { y in
                for plane in 0..<scales.count {
                    let s = scales[plane]
                    for i in (plane * planeSize)..<((plane + 1) * planeSize) { y[i] = x[i] * s }
                }
            }
        }
    }
}
