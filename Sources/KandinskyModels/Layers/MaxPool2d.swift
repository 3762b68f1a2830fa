import KandinskyCore

/// 2 × 2 max pooling with stride 2: `y[n, c, i, j] = max of x[n, c, 2i ..< 2i + 2, 2j ..< 2j + 2]`,
/// as PyTorch's `F.max_pool2d(x, 2)`. The gradient goes to the first maximal element of each
/// window in row-major order (PyTorch's choice on ties).
///
/// Shapes: [N, C, H, W] → [N, C, ⌊H/2⌋, ⌊W/2⌋]; a trailing odd row or column is ignored.
///
/// - Complexity: O(N·C·H·W).
public struct MaxPool2d: Layer {
    private var output = Tensor.empty
    private var inputGradient = Tensor.empty
    /// Per output element, which of the four window positions held the maximum (0…3).
    private var winners: [UInt8] = []
    private var inputShape: [Int] = []

    /// The layer has no parameters.
    public init() {}

    /// [N, C, H, W] → [N, C, ⌊H/2⌋, ⌊W/2⌋], remembering each window's winner.
    public mutating func forward(_ input: Tensor, training: Bool) -> Tensor {
        let (n, c, h, w) = imageDimensions(input, "MaxPool2d")
        let oh = h / 2
        let ow = w / 2
        let planes = n * c
        inputShape = input.shape
        var result = Tensor.reusing(&output, shape: [n, c, oh, ow])
        if winners.count != result.count { winners = Array(repeating: 0, count: result.count) }
        input.withUnsafeBufferPointer { x in
            result.withUnsafeMutableBufferPointer { y in
                winners.withUnsafeMutableBufferPointer { winner in
                    parallelFor(0..<planes) { range in
                        for plane in range {
                            let source = x.baseAddress! + plane * h * w
                            let base = plane * oh * ow
                            for i in 0..<oh {
                                let top = source + 2 * i * w
                                let bottom = top + w
                                for j in 0..<ow {
                                    var best = top[2 * j]
                                    var index: UInt8 = 0
                                    if top[2 * j + 1] > best {
                                        best = top[2 * j + 1]
                                        index = 1
                                    }
                                    if bottom[2 * j] > best {
                                        best = bottom[2 * j]
                                        index = 2
                                    }
                                    if bottom[2 * j + 1] > best {
                                        best = bottom[2 * j + 1]
                                        index = 3
                                    }
                                    y[base + i * ow + j] = best
                                    winner[base + i * ow + j] = index
                                }
                            }
                        }
                    }
                }
            }
        }
        output = result
        return result
    }

    /// Routes each output gradient to its window's winner; other inputs get 0.
    public mutating func backward(_ outputGradient: Tensor) -> Tensor {
        backward(outputGradient, adding: nil)
    }

    /// ``backward(_:)`` plus channels `firstChannel ..< firstChannel + C` of `addend` ([N, ≥ C, H, W]),
    /// in one pass: the UNet adds the skip connection's gradient to the pooled path's this way.
    mutating func backward(_ outputGradient: Tensor, adding addend: Tensor?, fromChannel firstChannel: Int = 0)
        -> Tensor
    {
        if let addend {
            let (an, ac, ah, aw) = imageDimensions(addend, "MaxPool2d")
            precondition(
                an == inputShape[0] && ac >= firstChannel + inputShape[1] && ah == inputShape[2] && aw == inputShape[3],
                "MaxPool2d.backward cannot add channels from \(firstChannel) of \(addend.shape) to a gradient of shape \(inputShape)"
            )
        }
        let addendImageStride = (addend?.shape[1] ?? 0) * inputShape[2] * inputShape[3]
        precondition(
            outputGradient.shape == output.shape,
            "MaxPool2d.backward got a gradient of shape \(outputGradient.shape) for an output of shape \(output.shape)")
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let oh = h / 2
        let ow = w / 2
        let planes = n * c
        var result = Tensor.reusing(&inputGradient, shape: inputShape)
        outputGradient.withUnsafeBufferPointer { dy in
            result.withUnsafeMutableBufferPointer { dx in
                winners.withUnsafeBufferPointer { winner in
                    parallelFor(0..<planes) { range in
                        for plane in range {
                            let destination = dx.baseAddress! + plane * h * w
                            let base = plane * oh * ow
                            if let addend {
                                addend.withUnsafeBufferPointer { a in
                                    let source =
                                        a.baseAddress! + (plane / c) * addendImageStride + (firstChannel + plane % c)
                                        * h * w
                                    destination.update(from: source, count: h * w)
                                }
                            } else {
                                destination.update(repeating: 0, count: h * w)
                            }
                            for i in 0..<oh {
                                for j in 0..<ow {
                                    let index = Int(winner[base + i * ow + j])
                                    destination[(2 * i + index / 2) * w + 2 * j + index % 2] += dy[base + i * ow + j]
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
