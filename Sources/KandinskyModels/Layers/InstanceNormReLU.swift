import KandinskyCore

/// ``InstanceNorm2d`` followed by ``ReLU`` in one layer: `r = max((x − μ) / √(σ² + ε), 0)` per
/// [H, W] plane, with μ the plane's mean and σ² its biased variance.
///
/// Fusing saves whole passes over memory, which is what these layers cost: the forward pass
/// writes only `r`, and the backward pass recomputes the normalised `y` from the kept input and
/// the plane's statistics instead of storing it. With `g = ∂r · [y > 0]`,
/// `∂x = (g − mean(g) − y · mean(g · y)) / √(σ² + ε)` per plane.
///
/// The input is held only from a training forward pass to the following backward pass, so the
/// buffer of the layer that produced it is unshared again by its next forward pass.
///
/// - Complexity: three passes over N·C·H·W floats forward, three backward; planes spread over the
///   cores, each thread taking the next plane when it is done with one.
struct InstanceNormReLU: Layer {
    let epsilon: Float
    private var savedInput: Tensor?
    private var output = Tensor.empty
    private var inputGradient = Tensor.empty
    private var means: [Float] = []
    private var inverseDeviations: [Float] = []

    init(epsilon: Float = 1e-5) {
        self.epsilon = epsilon
    }

    mutating func forward(_ input: Tensor, training: Bool) -> Tensor {
        let (n, c, h, w) = imageDimensions(input, "InstanceNormReLU")
        let planes = n * c
        let size = h * w
        var result = Tensor.reusing(&output, shape: input.shape)
        if means.count != planes {
            means = Array(repeating: 0, count: planes)
            inverseDeviations = Array(repeating: 0, count: planes)
        }
        let epsilon = Double(self.epsilon)
        input.withUnsafeBufferPointer { x in
            result.withUnsafeMutableBufferPointer { r in
                means.withUnsafeMutableBufferPointer { meanOf in
                    inverseDeviations.withUnsafeMutableBufferPointer { inverse in
                        parallelForEach(0..<planes) { plane, _ in
                            let source = x.baseAddress! + plane * size
                            let destination = r.baseAddress! + plane * size
                            let mean = PlaneReduction.sum(source, count: size) / Double(size)
                            let squares = PlaneReduction.sumOfSquares(source, count: size, shift: Float(mean))
                            let m = Float(mean)
                            let s = Float(1 / (squares / Double(size) + epsilon).squareRoot())
                            meanOf[plane] = m
                            inverse[plane] = s
                            for i in 0..<size { destination[i] = max((source[i] - m) * s, 0) }
                        }
                    }
                }
            }
        }
        savedInput = training ? input : nil
        output = result
        return result
    }

    mutating func backward(_ outputGradient: Tensor) -> Tensor {
        guard let input = savedInput else {
            preconditionFailure("InstanceNormReLU.backward needs a training forward pass first")
        }
        precondition(
            outputGradient.shape == input.shape,
            "InstanceNormReLU.backward got a gradient of shape \(outputGradient.shape) for an output of shape \(input.shape)"
        )
        savedInput = nil
        let (n, c, h, w) = imageDimensions(input, "InstanceNormReLU")
        let planes = n * c
        let size = h * w
        var result = Tensor.reusing(&inputGradient, shape: input.shape)
        input.withUnsafeBufferPointer { x in
            outputGradient.withUnsafeBufferPointer { dr in
                result.withUnsafeMutableBufferPointer { dx in
                    means.withUnsafeBufferPointer { meanOf in
                        inverseDeviations.withUnsafeBufferPointer { inverse in
                            parallelForEach(0..<planes) { plane, _ in
                                let offset = plane * size
                                let source = x.baseAddress! + offset
                                let gradient = dr.baseAddress! + offset
                                let m = meanOf[plane]
                                let s = inverse[plane]
                                let (sum, dot) = Self.maskedSums(source, gradient, mean: m, scale: s, count: size)
                                let meanGradient = Float(sum / Double(size))
                                let meanDot = Float(dot / Double(size))
                                Self.normalisedGradient(
                                    source, gradient, into: dx.baseAddress! + offset, mean: m, scale: s,
                                    meanGradient: meanGradient, meanDot: meanDot, count: size)
                            }
                        }
                    }
                }
            }
        }
        inputGradient = result
        return result
    }

    /// ∂x[i] = (g[i] − meanGradient − y[i]·meanDot)·scale with y and g as in ``maskedSums``.
    /// Explicit SIMD: written as a scalar loop, the mask compiles to a branch that mispredicts
    /// on every other pixel and runs about 20× slower.
    @inline(__always)
    private static func normalisedGradient(
        _ x: UnsafePointer<Float>, _ dr: UnsafePointer<Float>,
        into dx: UnsafeMutablePointer<Float>, mean: Float, scale: Float,
        meanGradient: Float, meanDot: Float, count: Int
    ) {
        let means = SIMD8<Float>(repeating: mean)
        let scales = SIMD8<Float>(repeating: scale)
        let meanGradients = SIMD8<Float>(repeating: meanGradient)
        let meanDots = SIMD8<Float>(repeating: meanDot)
        var i = 0
        while i + 8 <= count {
            let y = (UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) - means) * scales
            let g = UnsafeRawPointer(dr + i).loadUnaligned(as: SIMD8<Float>.self).replacing(with: 0, where: y .<= 0)
            UnsafeMutableRawPointer(dx + i).storeBytes(
                of: (g - meanGradients - y * meanDots) * scales, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            let y = (x[i] - mean) * scale
            dx[i] = ((y > 0 ? dr[i] : 0) - meanGradient - y * meanDot) * scale
            i += 1
        }
    }

    /// (Σ g[i], Σ g[i]·y[i]) with y = (x − mean)·scale and g = y > 0 ? ∂r : 0, in blocks as
    /// ``PlaneReduction`` sums.
    @inline(__always)
    private static func maskedSums(
        _ x: UnsafePointer<Float>, _ dr: UnsafePointer<Float>,
        mean: Float, scale: Float, count: Int
    ) -> (Double, Double) {
        var sum: Double = 0
        var dot: Double = 0
        var start = 0
        let means = SIMD8<Float>(repeating: mean)
        let scales = SIMD8<Float>(repeating: scale)
        while start < count {
            let end = min(count, start + 1024)
            var sums = SIMD8<Float>()
            var dots = SIMD8<Float>()
            var i = start
            while i + 8 <= end {
                let y = (UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) - means) * scales
                let g = UnsafeRawPointer(dr + i).loadUnaligned(as: SIMD8<Float>.self)
                    .replacing(with: 0, where: y .<= 0)
                sums += g
                dots += g * y
                i += 8
            }
            var partialSum = sums.sum()
            var partialDot = dots.sum()
            while i < end {
                let y = (x[i] - mean) * scale
                let g = y > 0 ? dr[i] : 0
                partialSum += g
                partialDot += g * y
                i += 1
            }
            sum += Double(partialSum)
            dot += Double(partialDot)
            start = end
        }
        return (sum, dot)
    }
}
