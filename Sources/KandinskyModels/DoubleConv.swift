import KandinskyCore

/// The UNet's convolution block, FastMRI's `ConvBlock`: (3 × 3 convolution → InstanceNorm2d →
/// ReLU → Dropout2d) twice. [N, Cin, H, W] → [N, Cout, H, W].
///
/// Parameter names follow PyTorch's `nn.Sequential` numbering of those eight modules: the
/// convolutions are `layers.0` and `layers.4`.
///
/// - Complexity: 2·N·H·W·9·Cout·(Cin + Cout) flops forward.
public struct DoubleConv: Layer {
    /// `layers.0`: 3 × 3 convolution Cin → Cout, padding 1.
    public var firstConvolution: Conv2d
    /// `layers.4`: 3 × 3 convolution Cout → Cout, padding 1.
    public var secondConvolution: Conv2d
    private var firstNorm = InstanceNormReLU(), secondNorm = InstanceNormReLU()
    private var firstDropout: Dropout2d, secondDropout: Dropout2d

    /// A block with PyTorch's default initialisation drawn from `generator`, which also seeds the
    /// two dropout layers; its two convolutions share their scratch memory.
    public init(
        inputChannels: Int, outputChannels: Int, dropout: Float,
        using generator: inout some RandomNumberGenerator
    ) {
        self.init(
            inputChannels: inputChannels, outputChannels: outputChannels, dropout: dropout,
            scratch: ConvolutionScratch(), using: &generator)
    }

    /// The same, with convolutions that share `scratch` with other layers (a network's).
    package init(
        inputChannels: Int, outputChannels: Int, dropout: Float, scratch: ConvolutionScratch,
        using generator: inout some RandomNumberGenerator
    ) {
        firstConvolution = Conv2d(
            inputChannels: inputChannels, outputChannels: outputChannels,
            kernelSize: 3, padding: 1, scratch: scratch, using: &generator)
        secondConvolution = Conv2d(
            inputChannels: outputChannels, outputChannels: outputChannels,
            kernelSize: 3, padding: 1, scratch: scratch, using: &generator)
        firstDropout = Dropout2d(probability: dropout, seed: generator.next())
        secondDropout = Dropout2d(probability: dropout, seed: generator.next())
    }

    /// [N, Cin, H, W] → [N, Cout, H, W] through both halves; dropout only when `training`.
    public mutating func forward(_ input: Tensor, training: Bool) -> Tensor {
        var x = firstConvolution.forward(input, training: training)
        x = ModelProfiler.measure(.normalisation) { firstNorm.forward(x, training: training) }
        x = ModelProfiler.measure(.elementwise) { firstDropout.forward(x, training: training) }
        x = secondConvolution.forward(x, training: training)
        x = ModelProfiler.measure(.normalisation) { secondNorm.forward(x, training: training) }
        return ModelProfiler.measure(.elementwise) { secondDropout.forward(x, training: training) }
    }

    /// Backpropagates through the eight modules in reverse, accumulating both convolutions' gradients.
    public mutating func backward(_ outputGradient: Tensor) -> Tensor {
        let g = backpropagateToFirstConvolution(outputGradient)
        return firstConvolution.backward(g)
    }

    /// Accumulates both convolutions' gradients as ``backward(_:)`` does, without computing
    /// ∂loss/∂input: for a network's first block, whose input gradient nobody reads.
    public mutating func accumulateParameterGradients(_ outputGradient: Tensor) {
        let g = backpropagateToFirstConvolution(outputGradient)
        firstConvolution.accumulateParameterGradients(g)
    }

    /// ∂loss/∂(first convolution's output), accumulating the second convolution's gradients.
    private mutating func backpropagateToFirstConvolution(_ outputGradient: Tensor) -> Tensor {
        var g = ModelProfiler.measure(.elementwise) { secondDropout.backward(outputGradient) }
        g = ModelProfiler.measure(.normalisation) { secondNorm.backward(g) }
        g = secondConvolution.backward(g)
        g = ModelProfiler.measure(.elementwise) { firstDropout.backward(g) }
        return ModelProfiler.measure(.normalisation) { firstNorm.backward(g) }
    }

    /// Visits `layers.0.weight`, `layers.0.bias`, `layers.4.weight` and `layers.4.bias`.
    public mutating func visitParameters(_ body: (String, inout Parameter) throws -> Void) rethrows {
        try firstConvolution.visitParameters { name, parameter in try body("layers.0." + name, &parameter) }
        try secondConvolution.visitParameters { name, parameter in try body("layers.4." + name, &parameter) }
    }
}
