import KandinskyCore

/// Bilinear ×2 upsampling with PyTorch's `align_corners = False` convention, as
/// `F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)`.
///
/// Output pixel o along an axis of input length n reads the source coordinate
/// `s = max((o + ½)/2 − ½, 0)` and interpolates between `⌊s⌋` and `min(⌊s⌋ + 1, n − 1)` with weight
/// `s − ⌊s⌋` on the second: so even outputs mix ¼ of the previous and ¾ of the current input,
/// odd outputs ¾ of the current and ¼ of the next, and the borders repeat the edge value.
///
/// Shapes: [N, C, H, W] → [N, C, 2H, 2W]. Backward is the adjoint (each output gradient is
/// spread back over its four source pixels with the same weights).
///
/// - Complexity: O(N·C·H·W).
public struct BilinearUpsample2d: Layer {
    private var output = Tensor.empty
    private var inputGradient = Tensor.empty
    private var inputShape: [Int] = []

    public init() {}

    /// The two source indices and the weight of the second, for each output index of an axis.
    static func axisTaps(inputLength n: Int) -> [(first: Int, second: Int, weight: Float)] {
        (0..<(2 * n)).map { o in
            let source = max((Float(o) + 0.5) * 0.5 - 0.5, 0)
            let first = Int(source)
            return (first, min(first + 1, n - 1), source - Float(first))
        }
    }

    public mutating func forward(_ input: Tensor, training: Bool) -> Tensor {
        let (n, c, h, w) = imageDimensions(input, "BilinearUpsample2d")
        inputShape = input.shape
        let rows = Self.axisTaps(inputLength: h), columns = Self.axisTaps(inputLength: w)
        let oh = 2 * h, ow = 2 * w
        var result = Tensor.empty
        swap(&result, &output)
        result.prepareBuffer(shape: [n, c, oh, ow])
        input.withUnsafeBufferPointer { x in
            result.withUnsafeMutableBufferPointer { y in
                parallelFor(0..<(n * c)) { range in
                    for plane in range {
                        let source = x.baseAddress! + plane * h * w
                        let destination = y.baseAddress! + plane * oh * ow
                        for i in 0..<oh {
                            let (r0, r1, ly) = rows[i]
                            let top = source + r0 * w, bottom = source + r1 * w
                            let out = destination + i * ow
                            for j in 0..<ow {
                                let (c0, c1, lx) = columns[j]
                                out[j] = (1 - ly) * ((1 - lx) * top[c0] + lx * top[c1])
                                    + ly * ((1 - lx) * bottom[c0] + lx * bottom[c1])
                            }
                        }
                    }
                }
            }
        }
        output = result
        return result
    }

    public mutating func backward(_ outputGradient: Tensor) -> Tensor {
        precondition(outputGradient.shape == output.shape,
                     "BilinearUpsample2d.backward got a gradient of shape \(outputGradient.shape) for an output of shape \(output.shape)")
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let rows = Self.axisTaps(inputLength: h), columns = Self.axisTaps(inputLength: w)
        let oh = 2 * h, ow = 2 * w
        var result = Tensor.empty
        swap(&result, &inputGradient)
        result.prepareBuffer(shape: inputShape)
        outputGradient.withUnsafeBufferPointer { dy in
            result.withUnsafeMutableBufferPointer { dx in
                parallelFor(0..<(n * c)) { range in
                    for plane in range {
                        let destination = dx.baseAddress! + plane * h * w
                        destination.initialize(repeating: 0, count: h * w)
                        let source = dy.baseAddress! + plane * oh * ow
                        for i in 0..<oh {
                            let (r0, r1, ly) = rows[i]
                            let top = destination + r0 * w, bottom = destination + r1 * w
                            let gradientRow = source + i * ow
                            for j in 0..<ow {
                                let (c0, c1, lx) = columns[j]
                                let g = gradientRow[j]
                                top[c0] += (1 - ly) * (1 - lx) * g
                                top[c1] += (1 - ly) * lx * g
                                bottom[c0] += ly * (1 - lx) * g
                                bottom[c1] += ly * lx * g
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
