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

    /// The layer has no parameters.
    public init() {}

    /// The source rows and the weight of the second for output row o of an axis of length n
    /// (the same rule applies to columns).
    @inline(__always)
    static func rowTaps(_ o: Int, inputLength n: Int) -> (first: Int, second: Int, weight: Float) {
        // (o + ½)/2 − ½ is ¼ below or above an input index: o = 2i → i − ¼, o = 2i + 1 → i + ¼.
        let i = o / 2
        if o % 2 == 0 {
            return i == 0 ? (0, 0, 0) : (i - 1, i, 0.75)
        }
        return (i, min(i + 1, n - 1), 0.25)
    }

    /// out[0 ..< 2w] = the ×2 interpolation of row[0 ..< w] (¼–¾ weights, edges repeated).
    @inline(__always)
    static func widen(_ row: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, width w: Int) {
        out[0] = row[0]
        for j in 0..<(w - 1) {
            out[2 * j + 1] = 0.75 * row[j] + 0.25 * row[j + 1]
            out[2 * j + 2] = 0.25 * row[j] + 0.75 * row[j + 1]
        }
        out[2 * w - 1] = row[w - 1]
    }

    /// [N, C, H, W] → [N, C, 2H, 2W] (see the type's description for the weights).
    public mutating func forward(_ input: Tensor, training: Bool) -> Tensor {
        let (n, c, h, w) = imageDimensions(input, "BilinearUpsample2d")
        var result = Tensor.reusing(&output, shape: [n, c, 2 * h, 2 * w])
        upsample(input, into: &result)
        output = result
        return result
    }

    /// `torch.cat([upsample(input), skip], 1)` written straight into `joined`, without the
    /// intermediate upsampled tensor. Backward: ``backward(leadingChannelsOf:)`` and the skip's
    /// channels of the same gradient.
    mutating func forward(_ input: Tensor, concatenatedWith skip: Tensor, into joined: inout Tensor) {
        let (n, c, h, w) = imageDimensions(input, "BilinearUpsample2d")
        let (ns, cs, hs, ws) = imageDimensions(skip, "BilinearUpsample2d")
        precondition(
            ns == n && hs == 2 * h && ws == 2 * w,
            "cannot concatenate the upsampled \(input.shape) with a skip connection of shape \(skip.shape)")
        joined.prepareBuffer(shape: [n, c + cs, hs, ws])
        upsample(input, into: &joined)
        let upsampledSize = c * hs * ws
        let skipSize = cs * hs * ws
        skip.withUnsafeBufferPointer { z in
            joined.withUnsafeMutableBufferPointer { y in
                for image in 0..<n {
                    (y.baseAddress! + image * (upsampledSize + skipSize) + upsampledSize)
                        .update(from: z.baseAddress! + image * skipSize, count: skipSize)
                }
            }
        }
        output = .empty
    }

    /// Runs `body(plane, row)` for planes 0..<count, split over the cores, each worker with its
    /// own scratch row of `rowLength` floats.
    private static func forEachPlane(
        _ count: Int, rowLength: Int,
        _ body: (_ plane: Int, _ row: UnsafeMutablePointer<Float>) -> Void
    ) {
        parallelFor(0..<count) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: rowLength) { buffer in
                for plane in range { body(plane, buffer.baseAddress!) }
            }
        }
    }

    /// Upsamples `input` into the leading channels of each image of `result`.
    private mutating func upsample(_ input: Tensor, into result: inout Tensor) {
        let (n, c, h, w) = imageDimensions(input, "BilinearUpsample2d")
        inputShape = input.shape
        let oh = 2 * h
        let ow = 2 * w
        let imageStride = result.shape[1] * oh * ow
        input.withUnsafeBufferPointer { x in
            result.withUnsafeMutableBufferPointer { y in
                // Rows are mixed vertically first, then widened: the filter is separable.
                Self.forEachPlane(n * c, rowLength: w) { plane, mixed in
                    let source = x.baseAddress! + plane * h * w
                    let destination = y.baseAddress! + (plane / c) * imageStride + (plane % c) * oh * ow
                    for i in 0..<oh {
                        let (r0, r1, ly) = Self.rowTaps(i, inputLength: h)
                        let top = source + r0 * w
                        let bottom = source + r1 * w
                        for j in 0..<w { mixed[j] = (1 - ly) * top[j] + ly * bottom[j] }
                        Self.widen(mixed, into: destination + i * ow, width: w)
                    }
                }
            }
        }
    }

    /// The adjoint of the upsampling: [N, C, 2H, 2W] → [N, C, H, W].
    public mutating func backward(_ outputGradient: Tensor) -> Tensor {
        precondition(
            outputGradient.shape == output.shape,
            "BilinearUpsample2d.backward got a gradient of shape \(outputGradient.shape) for an output of shape \(output.shape)"
        )
        return backward(leadingChannelsOf: outputGradient)
    }

    /// The backward pass of ``forward(_:concatenatedWith:into:)``: reads the gradient of the
    /// upsampled channels from the leading channels of each image of `outputGradient`.
    mutating func backward(leadingChannelsOf outputGradient: Tensor) -> Tensor {
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let oh = 2 * h
        let ow = 2 * w
        let (gn, gc, gh, gw) = imageDimensions(outputGradient, "BilinearUpsample2d")
        precondition(
            gn == n && gc >= c && gh == oh && gw == ow,
            "BilinearUpsample2d.backward got a gradient of shape \(outputGradient.shape) for an output of shape \([n, c, oh, ow])"
        )
        let imageStride = gc * oh * ow
        var result = Tensor.reusing(&inputGradient, shape: inputShape)
        outputGradient.withUnsafeBufferPointer { dy in
            result.withUnsafeMutableBufferPointer { dx in
                Self.forEachPlane(n * c, rowLength: w) { plane, narrowed in
                    let destination = dx.baseAddress! + plane * h * w
                    destination.initialize(repeating: 0, count: h * w)
                    let source = dy.baseAddress! + (plane / c) * imageStride + (plane % c) * oh * ow
                    for i in 0..<oh {
                        // The adjoint of widen, then of the vertical mix.
                        let g = source + i * ow
                        for j in 0..<w { narrowed[j] = 0 }
                        narrowed[0] += g[0]
                        for j in 0..<(w - 1) {
                            narrowed[j] += 0.75 * g[2 * j + 1] + 0.25 * g[2 * j + 2]
                            narrowed[j + 1] += 0.25 * g[2 * j + 1] + 0.75 * g[2 * j + 2]
                        }
                        narrowed[w - 1] += g[2 * w - 1]
                        let (r0, r1, ly) = Self.rowTaps(i, inputLength: h)
                        let top = destination + r0 * w
                        let bottom = destination + r1 * w
                        for j in 0..<w {
                            top[j] += (1 - ly) * narrowed[j]
                            bottom[j] += ly * narrowed[j]
                        }
                    }
                }
            }
        }
        inputGradient = result
        return result
    }
}
