import KandinskyCore

// The Winograd strategy of ``Conv2d`` (3 × 3, padding 1): the layer's side; the transforms and
// GEMMs are in `WinogradConvolution.swift`.

extension Conv2d {
    /// Forward through Winograd; in training also keeps a padded copy of the input, from which
    /// the backward pass computes ∂W by shifted windows.
    mutating func convolveWinograd(_ input: Tensor, training: Bool, geometry g: ConvolutionGeometry) -> Tensor {
        var result = Tensor.reusing(&output, shape: [g.images, outputChannels, g.height, g.width])
        keepPaddedInput(input, training: training, geometry: g)
        let transformed = scratch.shared(count: 36 * outputChannels * inputChannels)
        let scratch = self.scratch
        let variant = kernelVariant
        weight.value.withUnsafeBufferPointer { w in
            transformWinogradWeights(
                w.baseAddress!, outputs: outputChannels, inputs: inputChannels,
                flipTransposed: false, into: transformed, variant: variant)
        }
        result.withUnsafeMutableBufferPointer { y in
            input.withUnsafeBufferPointer { x in
                bias.value.withUnsafeBufferPointer { b in
                    KandinskyModels.convolveWinograd(
                        g, x: x.baseAddress!, transformedWeights: transformed,
                        bias: b.baseAddress!, y: y.baseAddress!, scratch: scratch, variant: variant)
                }
            }
        }
        savedInput = training ? input : nil
        output = result
        return result
    }

    /// ∂W and ∂b from the kept padded input (``accumulateShiftedGradients(_:geometry:inputGradient:)``),
    /// then, when needed, ∂x = ∂y ⋆ rot180(W)ᵀ, a 3 × 3 convolution with Cout inputs and Cin
    /// outputs, through Winograd.
    mutating func backpropagateWinograd(
        _ outputGradient: Tensor, input: Tensor, geometry g: ConvolutionGeometry,
        needsInputGradient: Bool
    ) -> Tensor? {
        accumulateShiftedGradients(outputGradient, geometry: g, inputGradient: nil)
        savedInput = nil
        guard needsInputGradient else { return nil }
        let (cin, cout) = (inputChannels, outputChannels)
        var result = Tensor.reusing(&inputGradient, shape: input.shape)
        let transposed = ConvolutionGeometry(
            images: g.images, inputChannels: cout, outputChannels: cin,
            height: g.height, width: g.width, kernel: 3, padding: 1,
            columnBudget: g.columnBudget, threads: g.threads)
        let transformed = scratch.shared(count: 36 * cout * cin)
        let variant = kernelVariant
        weight.value.withUnsafeBufferPointer { w in
            transformWinogradWeights(
                w.baseAddress!, outputs: cout, inputs: cin, flipTransposed: true,
                into: transformed, variant: variant)
        }
        result.withUnsafeMutableBufferPointer { dx in
            outputGradient.withUnsafeBufferPointer { dy in
                KandinskyModels.convolveWinograd(
                    transposed, x: dy.baseAddress!, transformedWeights: transformed,
                    bias: nil, y: dx.baseAddress!, scratch: scratch, variant: variant)
            }
        }
        inputGradient = result
        return result
    }
}
