import KandinskyCore

/// The FastMRI-style UNet of the Kandinsky paper's code, trainable on the CPU.
///
/// Architecture, for `channels = c` and `depth = d`:
/// - down path: `down_sample_layers.0` = ``DoubleConv``(inChannels → c), then
///   `down_sample_layers.i` = DoubleConv(c·2^(i−1) → c·2^i) for i in 1 ..< d, each followed by a
///   2 × 2 max-pool (the block's output before pooling is kept as the skip connection);
/// - bottleneck `conv` = DoubleConv(c·2^(d−1) → c·2^(d−1));
/// - up path: `up_sample_layers.i` for i in 0 ..< d upsamples ×2 (bilinear, `align_corners =
///   false`), concatenates [upsampled, skip] on the channel axis and applies DoubleConv(2·ch → ch/2),
///   the last one DoubleConv(2·c → c);
/// - head `conv2` = three 1 × 1 convolutions c → c/2 → outChannels → outChannels.
///
/// Input [N, inChannels, H, W] with H and W divisible by 2^depth; output logits
/// [N, outChannels, H, W]. Probabilities are the independent sigmoid of each logit
/// (``probabilities(_:batchSize:)``).
///
/// Parameters are named exactly as PyTorch's `state_dict()` of that architecture names them, so
/// weights move between the two through safetensors files (see `UNet+StateDict.swift`).
///
/// - Complexity: for c = 16, d = 4 about 0.74 GFLOP per 96 × 128 image forward, 3× that for a
///   training step. Every layer keeps its output (and, after a backward pass, its input
///   gradient) buffer between calls, so memory is a few times the sum of the activations: a
///   training step of c = 16 on 8 × 3 × 96 × 128 peaks at about 0.6 GiB of resident memory.
public struct UNet: Layer {
    /// The hyperparameters that fix the shapes of the parameters.
    public struct Architecture: Sendable, Equatable, CustomStringConvertible {
        /// Channels of the input images (3 for RGB).
        public var inputChannels: Int
        /// Channels of the output: one logit per class (background included).
        public var outputChannels: Int
        /// Channels of the first block; each level down doubles them.
        public var channels: Int
        /// Number of pooling levels.
        public var depth: Int
        /// Dropout2d probability after each ReLU (training only).
        public var dropout: Float

        /// An architecture; ``UNet/init(_:using:)`` checks it.
        public init(inputChannels: Int, outputChannels: Int, channels: Int, depth: Int, dropout: Float = 0) {
            self.inputChannels = inputChannels
            self.outputChannels = outputChannels
            self.channels = channels
            self.depth = depth
            self.dropout = dropout
        }

        /// `UNet(in …, out …, channels …, depth …, dropout …)`.
        public var description: String {
            "UNet(in \(inputChannels), out \(outputChannels), channels \(channels), depth \(depth), dropout \(dropout))"
        }
    }

    /// The hyperparameters this network was built with.
    public let architecture: Architecture
    var downBlocks: [DoubleConv]
    var pools: [MaxPool2d]
    var bottleneck: DoubleConv
    var upsamplers: [BilinearUpsample2d]
    var upBlocks: [DoubleConv]
    var head: [Conv2d]

    private var skips: [Tensor]
    private var concatenations: [Tensor]
    private var skipGradients: [Tensor]

    /// A network with PyTorch's default initialisation drawn from `generator`, which also seeds
    /// the dropout layers.
    ///
    /// - Precondition: positive channel counts, `depth ≥ 1`, `channels` divisible by 2 (the head
    ///   halves it), 0 ≤ dropout < 1.
    public init(
        inputChannels: Int, outputChannels: Int, channels: Int, depth: Int, dropout: Float = 0,
        using generator: inout some RandomNumberGenerator
    ) {
        self.init(
            Architecture(
                inputChannels: inputChannels, outputChannels: outputChannels,
                channels: channels, depth: depth, dropout: dropout), using: &generator)
    }

    /// A network of the given architecture, initialised as in
    /// ``init(inputChannels:outputChannels:channels:depth:dropout:using:)``.
    public init(_ architecture: Architecture, using generator: inout some RandomNumberGenerator) {
        let a = architecture
        precondition(
            a.inputChannels > 0 && a.outputChannels > 0 && a.channels >= 2 && a.channels % 2 == 0 && a.depth >= 1,
            "UNet needs positive channel counts, an even channels ≥ 2 and depth ≥ 1, got \(a)")
        self.architecture = a
        let scratch = ConvolutionScratch()
        var ch = a.channels
        downBlocks = [
            DoubleConv(
                inputChannels: a.inputChannels, outputChannels: ch, dropout: a.dropout,
                scratch: scratch, using: &generator)
        ]
        for _ in 1..<a.depth {
            downBlocks.append(
                DoubleConv(
                    inputChannels: ch, outputChannels: 2 * ch, dropout: a.dropout,
                    scratch: scratch, using: &generator))
            ch *= 2
        }
        bottleneck = DoubleConv(
            inputChannels: ch, outputChannels: ch, dropout: a.dropout, scratch: scratch, using: &generator)
        upBlocks = []
        for _ in 1..<a.depth {
            upBlocks.append(
                DoubleConv(
                    inputChannels: 2 * ch, outputChannels: ch / 2, dropout: a.dropout,
                    scratch: scratch, using: &generator))
            ch /= 2
        }
        upBlocks.append(
            DoubleConv(
                inputChannels: 2 * ch, outputChannels: ch, dropout: a.dropout,
                scratch: scratch, using: &generator))
        head = [
            Conv2d(
                inputChannels: ch, outputChannels: ch / 2, kernelSize: 1, padding: 0, scratch: scratch,
                using: &generator),
            Conv2d(
                inputChannels: ch / 2, outputChannels: a.outputChannels, kernelSize: 1, padding: 0, scratch: scratch,
                using: &generator),
            Conv2d(
                inputChannels: a.outputChannels, outputChannels: a.outputChannels, kernelSize: 1, padding: 0,
                scratch: scratch, using: &generator),
        ]
        pools = Array(repeating: MaxPool2d(), count: a.depth)
        upsamplers = Array(repeating: BilinearUpsample2d(), count: a.depth)
        skips = Array(repeating: .empty, count: a.depth)
        concatenations = Array(repeating: .empty, count: a.depth)
        skipGradients = Array(repeating: .empty, count: a.depth)
    }

    /// Checks that `shape` is [N, inChannels, H, W] with H and W divisible by 2^depth and N ≥ 1.
    public func validate(inputShape shape: [Int]) throws(ModelError) {
        let step = 1 << architecture.depth
        guard shape.count == 4, shape[0] >= 1, shape[1] == architecture.inputChannels,
            shape[2] >= step, shape[3] >= step, shape[2] % step == 0, shape[3] % step == 0
        else {
            throw .unsupportedSize(shape, inputChannels: architecture.inputChannels, depth: architecture.depth)
        }
    }

    /// Logits [N, outChannels, H, W] for images [N, inChannels, H, W].
    ///
    /// - Precondition: the shape passes ``validate(inputShape:)`` (call it first for input that
    ///   comes from outside).
    public mutating func forward(_ input: Tensor, training: Bool) -> Tensor {
        do { try validate(inputShape: input.shape) } catch { preconditionFailure(error.description) }
        var x = input
        for level in 0..<architecture.depth {
            x = downBlocks[level].forward(x, training: training)
            skips[level] = x
            x = ModelProfiler.measure(.elementwise) { pools[level].forward(x, training: training) }
        }
        x = bottleneck.forward(x, training: training)
        for step in 0..<architecture.depth {
            let level = architecture.depth - 1 - step
            var joined = Tensor.empty
            swap(&joined, &concatenations[step])
            ModelProfiler.measure(.elementwise) {
                upsamplers[step].forward(x, concatenatedWith: skips[level], into: &joined)
                x = .empty
            }
            concatenations[step] = joined
            if !training { skips[level] = .empty }
            x = upBlocks[step].forward(joined, training: training)
        }
        for index in head.indices {
            x = head[index].forward(x, training: training)
        }
        return x
    }

    /// ∂loss/∂images given ∂loss/∂logits of the last training forward pass; accumulates every
    /// parameter's gradient.
    public mutating func backward(_ outputGradient: Tensor) -> Tensor {
        let g = backpropagateToFirstBlock(outputGradient)
        return downBlocks[0].backward(g)
    }

    /// Accumulates every parameter's gradient as ``backward(_:)`` does, without computing
    /// ∂loss/∂images (the first convolution's input gradient, which training does not need).
    public mutating func accumulateParameterGradients(_ outputGradient: Tensor) {
        let g = backpropagateToFirstBlock(outputGradient)
        downBlocks[0].accumulateParameterGradients(g)
    }

    /// ∂loss/∂(first block's output), accumulating the gradients of every later layer.
    private mutating func backpropagateToFirstBlock(_ outputGradient: Tensor) -> Tensor {
        var g = outputGradient
        for index in head.indices.reversed() {
            g = head[index].backward(g)
        }
        for step in (0..<architecture.depth).reversed() {
            let level = architecture.depth - 1 - step
            g = upBlocks[step].backward(g)
            // The skip connection's channels of this gradient are read by the pooling's backward below.
            skipGradients[level] = g
            ModelProfiler.measure(.elementwise) { g = upsamplers[step].backward(leadingChannelsOf: g) }
        }
        g = bottleneck.backward(g)
        for level in (0..<architecture.depth).reversed() {
            let skipChannel = skipGradients[level].shape[1] - skips[level].shape[1]
            ModelProfiler.measure(.elementwise) {
                g = pools[level].backward(g, adding: skipGradients[level], fromChannel: skipChannel)
            }
            skipGradients[level] = .empty
            skips[level] = .empty
            if level > 0 { g = downBlocks[level].backward(g) }
        }
        return g
    }

    /// Visits the parameters with their PyTorch `state_dict()` names, in PyTorch's order.
    public mutating func visitParameters(_ body: (String, inout Parameter) throws -> Void) rethrows {
        for index in downBlocks.indices {
            try downBlocks[index].visitParameters { name, p in try body("down_sample_layers.\(index).\(name)", &p) }
        }
        try bottleneck.visitParameters { name, p in try body("conv.\(name)", &p) }
        for index in upBlocks.indices {
            try upBlocks[index].visitParameters { name, p in try body("up_sample_layers.\(index).\(name)", &p) }
        }
        for index in head.indices {
            try head[index].visitParameters { name, p in try body("conv2.\(index).\(name)", &p) }
        }
    }

    /// Sigmoid probabilities [N, outChannels, H, W] for images [N, inChannels, H, W], computed in
    /// batches of at most `batchSize` images.
    public mutating func probabilities(_ images: Tensor, batchSize: Int = 8) throws(ModelError) -> Tensor {
        try validate(inputShape: images.shape)
        precondition(batchSize >= 1, "batch size must be at least 1, got \(batchSize)")
        let n = images.shape[0]
        let h = images.shape[2]
        let w = images.shape[3]
        let planeCount = architecture.outputChannels * h * w
        var result = Tensor(shape: [n, architecture.outputChannels, h, w], repeating: 0)
        var start = 0
        while start < n {
            let end = min(n, start + batchSize)
            let logits = forward(images[leading: start..<end], training: false)
            logits.withUnsafeBufferPointer { x in
                result.withUnsafeMutableBufferPointer { y in
                    for i in 0..<x.count { y[start * planeCount + i] = Tensor.sigmoid(x[i]) }
                }
            }
            start = end
        }
        return result
    }
}
