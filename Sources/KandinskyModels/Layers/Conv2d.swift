import CKandinskyKernels
import KandinskyCore

/// A 2-D convolution (PyTorch's cross-correlation) with a square kernel, stride 1, zero padding
/// and a bias: `y[n, o, i, j] = b[o] + Σ_c Σ_u Σ_v w[o, c, u, v] · x[n, c, i + u − p, j + v − p]`.
///
/// Shapes: input [N, Cin, H, W] → output [N, Cout, H + 2p − k + 1, W + 2p − k + 1]; `weight`
/// [Cout, Cin, k, k], `bias` [Cout], named `weight` and `bias` as in PyTorch.
///
/// Implementation: the output is computed in tiles of pixels; each tile's receptive fields are
/// unrolled into a [Cin·k·k, tile] column matrix (im2col) that is multiplied by the weight matrix
/// [Cout, Cin·k·k] with one GEMM (1 × 1 kernels multiply the input directly). Tiles bound the
/// column memory per thread to 2 Mi floats (8 MiB); the layers of a ``UNet`` share these buffers. 3 × 3 kernels
/// with padding 1 and 16 or more input channels use a padded copy of the input instead: direct
/// 3 × 3 kernels (AVX2 + FMA where the CPU has it) for the convolutions and for ∂W up to
/// 128 × 128 channels, shifted-window GEMMs beyond, and Winograd F(4 × 4, 3 × 3) for the
/// convolutions from 128 input channels on large images (the choice depends on the shape only).
/// Work is spread over the cores with one OpenBLAS thread each; a backward pass over fewer
/// images than cores instead runs serially with all OpenBLAS threads.
///
/// - Complexity: 2·N·H·W·Cout·Cin·k² flops forward, twice that backward; Winograd does a
///   quarter of the forward and ∂x multiplications, plus O((Cin + Cout)·N·H·W) for transforms.
public struct Conv2d: Layer {
    /// [Cout, Cin, k, k].
    public var weight: Parameter
    /// [Cout].
    public var bias: Parameter
    /// Cin.
    public let inputChannels: Int
    /// Cout.
    public let outputChannels: Int
    /// k, the side of the square kernel.
    public let kernelSize: Int
    /// p, the zero padding on every side.
    public let padding: Int
    /// Per-thread buffers, shared by the layers of one network (see `ConvolutionScratch`).
    package var scratch: ConvolutionScratch

    /// How the convolution is computed.
    enum Strategy {
        /// im2col tiles and one GEMM per tile: any kernel, best for few input channels.
        case columns
        /// Convolutions of a padded copy, direct for up to 128 × 128 channels and by nine
        /// shifted-window GEMMs beyond, forward, for ∂x and for ∂W (3 × 3, padding 1; see
        /// `Conv2d+ShiftedWindows.swift`): no im2col, best for 16 or more input channels.
        case shiftedWindows
        /// Winograd F(4 × 4, 3 × 3) (3 × 3, padding 1; see `Conv2d+Winograd.swift`): 4× fewer
        /// multiplications for the forward pass and ∂x, ∂W by shifted windows; best for many
        /// channels on large images. Shapes where it does not pay (``ConvolutionGeometry/winogradPays``)
        /// use shifted windows.
        case winograd
    }

    /// From this many input channels on, 3 × 3 convolutions with padding 1 use shifted windows:
    /// their k = 16 GEMMs run below OpenBLAS's peak, but im2col's 9× copy costs more (measured
    /// about 8 % on the forward pass of a UNet of 16 channels, more with col2im in training).
    static let shiftedWindowMinimumChannels = 16
    /// From this many input channels on, 3 × 3 convolutions with padding 1 use Winograd. With
    /// fewer, its transforms, which move (Cin + Cout)·36/16 floats per pixel through memory,
    /// cost about what the saved multiplications do: UNets of 16 channels measured no faster
    /// with Winograd from 16 or 64 input channels on than with shifted windows.
    static let winogradMinimumChannels = 128

    /// The strategy of inference-mode forward passes.
    var strategy: Strategy
    /// The strategy of training-mode forward passes and of backward passes; the same as
    /// ``strategy`` unless a test sets them apart.
    var trainingStrategy: Strategy
    /// The variant the C kernels run (settable so tests cover both).
    var kernelVariant = bestKernelVariant
    // Buffers kept between calls (the strategies' extensions reuse them).
    var savedInput: Tensor?
    var output = Tensor.empty
    var inputGradient = Tensor.empty
    var padded = Tensor.empty
    var taps = Tensor.empty

    /// A convolution initialised as PyTorch initialises `nn.Conv2d`: weights and biases uniform
    /// in ±1/√(Cin·k²).
    public init(
        inputChannels: Int, outputChannels: Int, kernelSize: Int, padding: Int,
        using generator: inout some RandomNumberGenerator
    ) {
        self.init(
            inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernelSize,
            padding: padding, scratch: ConvolutionScratch(), using: &generator)
    }

    /// The same, with buffers shared with other layers (a network's) or a test's column budget.
    package init(
        inputChannels: Int, outputChannels: Int, kernelSize: Int, padding: Int,
        scratch: ConvolutionScratch, using generator: inout some RandomNumberGenerator
    ) {
        precondition(
            inputChannels > 0 && outputChannels > 0 && kernelSize > 0 && padding >= 0,
            "Conv2d needs positive channel counts and kernel size, got \(inputChannels) → \(outputChannels), k \(kernelSize), padding \(padding)"
        )
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelSize = kernelSize
        self.padding = padding
        self.scratch = scratch
        if kernelSize != 3 || padding != 1 {
            strategy = .columns
        } else if inputChannels >= Self.winogradMinimumChannels {
            strategy = .winograd
        } else {
            strategy = inputChannels >= Self.shiftedWindowMinimumChannels ? .shiftedWindows : .columns
        }
        trainingStrategy = strategy
        let bound = 1 / Float(inputChannels * kernelSize * kernelSize).squareRoot()
        weight = Parameter(
            .uniform(
                [outputChannels, inputChannels, kernelSize, kernelSize],
                in: -bound...bound, using: &generator))
        bias = Parameter(.uniform([outputChannels], in: -bound...bound, using: &generator))
    }

    private var patchSize: Int { inputChannels * kernelSize * kernelSize }
    private var isPointwise: Bool { kernelSize == 1 && padding == 0 }

    private func geometry(_ input: Tensor) -> ConvolutionGeometry {
        let (n, c, h, w) = imageDimensions(input, "Conv2d")
        precondition(c == inputChannels, "Conv2d expects \(inputChannels) input channels, got shape \(input.shape)")
        let g = ConvolutionGeometry(
            images: n, inputChannels: c, outputChannels: outputChannels,
            height: h, width: w, kernel: kernelSize, padding: padding,
            columnBudget: scratch.columnBudget, threads: availableCoreCount)
        precondition(
            g.outputHeight > 0 && g.outputWidth > 0,
            "Conv2d with kernel \(kernelSize) and padding \(padding) cannot take input of shape \(input.shape)")
        return g
    }

    /// [N, Cin, H, W] → [N, Cout, H + 2p − k + 1, W + 2p − k + 1]; keeps the input for `backward` when `training`.
    public mutating func forward(_ input: Tensor, training: Bool) -> Tensor {
        ModelProfiler.measure(.convolution) { convolve(input, training: training) }
    }

    /// ∂loss/∂input [N, Cin, H, W]; adds ∂loss/∂weight and ∂loss/∂bias to the parameters' gradients.
    public mutating func backward(_ outputGradient: Tensor) -> Tensor {
        ModelProfiler.measure(.convolution) { backpropagate(outputGradient, needsInputGradient: true)! }
    }

    /// Adds ∂loss/∂weight and ∂loss/∂bias to the parameters' gradients, as ``backward(_:)``
    /// does, without computing ∂loss/∂input: for a network's first layer, whose input gradient
    /// nobody reads.
    public mutating func accumulateParameterGradients(_ outputGradient: Tensor) {
        ModelProfiler.measure(.convolution) { _ = backpropagate(outputGradient, needsInputGradient: false) }
    }

    /// The strategy for input of geometry `g`: Winograd gives way to shifted windows where it does not pay.
    private func strategy(training: Bool, _ g: ConvolutionGeometry) -> Strategy {
        let chosen = training ? trainingStrategy : strategy
        return chosen == .winograd && !g.winogradPays ? .shiftedWindows : chosen
    }

    private mutating func convolve(_ input: Tensor, training: Bool) -> Tensor {
        let g = geometry(input)
        switch strategy(training: training, g) {
        case .columns: break
        case .shiftedWindows: return convolveShifted(input, training: training, geometry: g)
        case .winograd: return convolveWinograd(input, training: training, geometry: g)
        }
        let threads = availableCoreCount
        let tile = g.tileSize
        let tiles = g.tileCount
        scratch.reserve(threads: threads, columnCount: isPointwise ? 0 : g.patchSize * tile, partialCount: 0)
        var result = Tensor.reusing(&output, shape: [g.images, outputChannels, g.outputHeight, g.outputWidth])
        let scratch = self.scratch
        let pointwise = isPointwise
        let weight = self.weight.value
        let bias = self.bias.value
        result.withUnsafeMutableBufferPointer { y in
            input.withUnsafeBufferPointer { x in
                weight.withUnsafeBufferPointer { w in
                    bias.withUnsafeBufferPointer { b in
                        let items = g.images * tiles
                        let workers = min(threads, items)
                        if workers > 1 { setLinearAlgebraThreadCount(1) } else { setLinearAlgebraThreadCount(threads) }
                        parallelForEach(0..<items, workers: workers) { item, thread in
                            let image = item / tiles
                            let first = (item % tiles) * tile
                            let count = min(tile, g.outputPixels - first)
                            convolveTile(
                                g, x: x.baseAddress! + image * g.inputImageSize,
                                w: w.baseAddress!, b: b.baseAddress!,
                                y: y.baseAddress! + image * g.outputImageSize,
                                first: first, count: count, pointwise: pointwise,
                                columns: scratch.columns(thread: thread))
                        }
                    }
                }
            }
        }
        savedInput = training ? input : nil
        output = result
        return result
    }

    /// ∂W and ∂b, and ∂x when `needsInputGradient` (nil otherwise).
    private mutating func backpropagate(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input = savedInput else { preconditionFailure("Conv2d.backward needs a training forward pass first") }
        let g = geometry(input)
        precondition(
            outputGradient.shape == [g.images, outputChannels, g.outputHeight, g.outputWidth],
            "Conv2d.backward got a gradient of shape \(outputGradient.shape) for an output of shape \([g.images, outputChannels, g.outputHeight, g.outputWidth])"
        )
        switch strategy(training: true, g) {
        case .columns: break
        case .shiftedWindows:
            return backpropagateShifted(
                outputGradient, input: input, geometry: g, needsInputGradient: needsInputGradient)
        case .winograd:
            return backpropagateWinograd(
                outputGradient, input: input, geometry: g, needsInputGradient: needsInputGradient)
        }
        let workers = min(availableCoreCount, g.images)
        let tile = g.tileSize
        let partialCount = outputChannels * patchSize + outputChannels
        scratch.reserve(threads: workers, columnCount: isPointwise ? 0 : g.patchSize * tile, partialCount: partialCount)
        let scratch = self.scratch
        let pointwise = isPointwise
        let weightValue = self.weight.value
        var buffer = Tensor.empty
        swap(&buffer, &inputGradient)
        let result = withInputGradient(&buffer, shape: input.shape, needed: needsInputGradient) { dx in
            input.withUnsafeBufferPointer { x in
                outputGradient.withUnsafeBufferPointer { dy in
                    weightValue.withUnsafeBufferPointer { w in
                        forEachImage(images: g.images, workers: workers, partialCount: partialCount) {
                            image, thread, partial in
                            backpropagateImage(
                                g, x: x.baseAddress! + image * g.inputImageSize,
                                w: w.baseAddress!,
                                dy: dy.baseAddress! + image * g.outputImageSize,
                                dx: dx.map { $0 + image * g.inputImageSize },
                                dw: partial, db: partial + g.outputChannels * g.patchSize,
                                pointwise: pointwise, columns: scratch.columns(thread: thread))
                        }
                    }
                }
            }
        }
        inputGradient = buffer
        let weightCount = outputChannels * patchSize
        weight.gradient.withUnsafeMutableBufferPointer { dw in
            bias.gradient.withUnsafeMutableBufferPointer { db in
                for thread in 0..<workers {
                    let partial = scratch.partial(thread: thread)
                    for i in 0..<weightCount { dw[i] += partial[i] }
                    for o in 0..<outputChannels { db[o] += partial[weightCount + o] }
                }
            }
        }
        savedInput = nil
        return result
    }

    /// Runs `body(image, thread, partial)` for every image of a backward pass, the images striped
    /// over `workers` threads (one OpenBLAS thread each; all of them when there is one worker).
    /// Each thread first zeroes its `partialCount` floats of partial parameter gradients, which
    /// the caller then adds up in thread order; the striping is fixed, so the sums do not depend
    /// on timing.
    func forEachImage(
        images: Int, workers: Int, partialCount: Int,
        _ body: (_ image: Int, _ thread: Int, _ partial: UnsafeMutablePointer<Float>) -> Void
    ) {
        setLinearAlgebraThreadCount(workers > 1 ? 1 : availableCoreCount)
        let scratch = self.scratch
        parallelFor(0..<workers, chunkCount: workers) { range in
            for thread in range {
                let partial = scratch.partial(thread: thread)
                partial.initialize(repeating: 0, count: partialCount)
                for image in stride(from: thread, to: images, by: workers) { body(image, thread, partial) }
            }
        }
    }

    /// Visits `weight` and `bias`.
    public mutating func visitParameters(_ body: (String, inout Parameter) throws -> Void) rethrows {
        try body("weight", &weight)
        try body("bias", &bias)
    }
}

/// Calls `body` with the storage of `buffer`, shaped `shape` (reusing its storage when it fits),
/// and returns `buffer`; or calls `body` with nil and returns nil when the gradient is not `needed`.
func withInputGradient(
    _ buffer: inout Tensor, shape: [Int], needed: Bool,
    _ body: (UnsafeMutablePointer<Float>?) -> Void
) -> Tensor? {
    guard needed else {
        body(nil)
        return nil
    }
    buffer.prepareBuffer(shape: shape)
    buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    return buffer
}

extension Tensor {
    /// A shape-[0] placeholder for buffers that have not been sized yet.
    static let empty = Tensor(shape: [0], repeating: 0)
}
