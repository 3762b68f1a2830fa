import KandinskyCore

/// Instance normalisation without affine parameters or running statistics, as PyTorch's
/// `nn.InstanceNorm2d(C)` by default: each [H, W] plane of each image is normalised on its own,
/// `y = (x − μ) / √(σ² + ε)` with μ the plane's mean and σ² its biased variance (divided by H·W).
///
/// Backward: `∂x = (∂y − mean(∂y) − y · mean(∂y · y)) / √(σ² + ε)` per plane.
///
/// - Complexity: O(N·C·H·W), planes spread over the cores.
public struct InstanceNorm2d: Layer {
    /// ε, 1e-5 as in PyTorch.
    public let epsilon: Float
    private var output = Tensor.empty
    private var inputGradient = Tensor.empty
    private var inverseDeviations: [Float] = []

    /// A normalisation with `epsilon` added to the variance (PyTorch's default 1e-5).
    public init(epsilon: Float = 1e-5) {
        self.epsilon = epsilon
    }

    /// Normalises each [H, W] plane to mean 0 and variance 1 (up to ε); same shape.
    public mutating func forward(_ input: Tensor, training: Bool) -> Tensor {
        let (n, c, h, w) = imageDimensions(input, "InstanceNorm2d")
        let planes = n * c
        let size = h * w
        var result = Tensor.reusing(&output, shape: input.shape)
        if inverseDeviations.count != planes { inverseDeviations = Array(repeating: 0, count: planes) }
        let epsilon = Double(self.epsilon)
        input.withUnsafeBufferPointer { x in
            result.withUnsafeMutableBufferPointer { y in
                inverseDeviations.withUnsafeMutableBufferPointer { inverse in
                    parallelFor(0..<planes) { range in
                        for plane in range {
                            let source = x.baseAddress! + plane * size
                            let destination = y.baseAddress! + plane * size
                            let mean = PlaneReduction.sum(source, count: size) / Double(size)
                            let squares = PlaneReduction.sumOfSquares(source, count: size, shift: Float(mean))
                            let scale = 1 / (squares / Double(size) + epsilon).squareRoot()
                            inverse[plane] = Float(scale)
                            let m = Float(mean)
                            let s = Float(scale)
                            for i in 0..<size { destination[i] = (source[i] - m) * s }
                        }
                    }
                }
            }
        }
        output = result
        return result
    }

    /// The gradient per plane, as in the type's description.
    public mutating func backward(_ outputGradient: Tensor) -> Tensor {
        precondition(
            outputGradient.shape == output.shape,
            "InstanceNorm2d.backward got a gradient of shape \(outputGradient.shape) for an output of shape \(output.shape)"
        )
        let (n, c, h, w) = imageDimensions(output, "InstanceNorm2d")
        let planes = n * c
        let size = h * w
        var result = Tensor.reusing(&inputGradient, shape: output.shape)
        let output = self.output
        output.withUnsafeBufferPointer { y in
            outputGradient.withUnsafeBufferPointer { dy in
                result.withUnsafeMutableBufferPointer { dx in
                    inverseDeviations.withUnsafeBufferPointer { inverse in
                        parallelFor(0..<planes) { range in
                            for plane in range {
                                let offset = plane * size
                                let (sum, dot) = PlaneReduction.sumAndDot(
                                    dy.baseAddress! + offset, y.baseAddress! + offset, count: size)
                                let meanGradient = Float(sum / Double(size))
                                let meanDot = Float(dot / Double(size))
                                let s = inverse[plane]
                                for i in offset..<(offset + size) {
                                    dx[i] = (dy[i] - meanGradient - y[i] * meanDot) * s
                                }
                            }
                        }
                    }
                }
            }
        }
        inputGradient = result
        return result
    }
}
