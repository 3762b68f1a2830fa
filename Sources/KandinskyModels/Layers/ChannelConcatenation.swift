import KandinskyCore

/// Concatenation of two [N, C, H, W] tensors along the channel axis, as `torch.cat([a, b], 1)`,
/// into a reusable buffer; its backward pass is ``splitChannels(_:at:into:_:)``.
///
/// - Complexity: O(N·(Ca + Cb)·H·W) copies.
public func concatenateChannels(_ a: Tensor, _ b: Tensor, into result: inout Tensor) {
    let (n, ca, h, w) = imageDimensions(a, "concatenateChannels")
    let (nb, cb, hb, wb) = imageDimensions(b, "concatenateChannels")
    precondition(
        n == nb && h == hb && w == wb,
        "concatenateChannels needs equal N, H and W, got shapes \(a.shape) and \(b.shape)")
    result.prepareBuffer(shape: [n, ca + cb, h, w])
    let sizeA = ca * h * w
    let sizeB = cb * h * w
    a.withUnsafeBufferPointer { x in
        b.withUnsafeBufferPointer { z in
            result.withUnsafeMutableBufferPointer { y in
                for image in 0..<n {
                    let out = y.baseAddress! + image * (sizeA + sizeB)
                    out.update(from: x.baseAddress! + image * sizeA, count: sizeA)
                    (out + sizeA).update(from: z.baseAddress! + image * sizeB, count: sizeB)
                }
            }
        }
    }
}

/// Splits [N, C, H, W] into its first `channels` channels and the rest, the adjoint of
/// ``concatenateChannels(_:_:into:)``.
public func splitChannels(_ tensor: Tensor, at channels: Int, into first: inout Tensor, _ second: inout Tensor) {
    let (n, c, h, w) = imageDimensions(tensor, "splitChannels")
    precondition(channels >= 0 && channels <= c, "cannot split \(tensor.shape) at channel \(channels)")
    first.prepareBuffer(shape: [n, channels, h, w])
    second.prepareBuffer(shape: [n, c - channels, h, w])
    let sizeA = channels * h * w
    let sizeB = (c - channels) * h * w
    tensor.withUnsafeBufferPointer { y in
        first.withUnsafeMutableBufferPointer { x in
            second.withUnsafeMutableBufferPointer { z in
                for image in 0..<n {
                    let source = y.baseAddress! + image * (sizeA + sizeB)
                    (x.baseAddress! + image * sizeA).update(from: source, count: sizeA)
                    (z.baseAddress! + image * sizeB).update(from: source + sizeA, count: sizeB)
                }
            }
        }
    }
}
