import KandinskyCore

/// The rectifier `y = max(x, 0)`; backward passes the gradient where `y > 0`.
///
/// - Complexity: O(count), split over the cores.
public struct ReLU: Layer {
    private var output = Tensor.empty
    private var inputGradient = Tensor.empty

    /// The layer has no parameters.
    public init() {}

    /// max(x, 0) elementwise; same shape.
    public mutating func forward(_ input: Tensor, training: Bool) -> Tensor {
        var result = Tensor.reusing(&output, shape: input.shape)
        input.withUnsafeBufferPointer { x in
            result.withUnsafeMutableBufferPointer { y in
                parallelFor(0..<x.count) { range in
                    for i in range { y[i] = max(x[i], 0) }
                }
            }
        }
        output = result
        return result
    }

    /// The gradient where the output was positive, 0 elsewhere.
    public mutating func backward(_ outputGradient: Tensor) -> Tensor {
        precondition(
            outputGradient.shape == output.shape,
            "ReLU.backward got a gradient of shape \(outputGradient.shape) for an output of shape \(output.shape)")
        var result = Tensor.reusing(&inputGradient, shape: output.shape)
        let output = self.output
        output.withUnsafeBufferPointer { y in
            outputGradient.withUnsafeBufferPointer { dy in
                result.withUnsafeMutableBufferPointer { dx in
                    parallelFor(0..<y.count) { range in
                        for i in range { dx[i] = y[i] > 0 ? dy[i] : 0 }
                    }
                }
            }
        }
        inputGradient = result
        return result
    }
}
