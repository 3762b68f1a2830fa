import CKandinskyKernels
import KandinskyCore

// The shifted-window strategy of ``Conv2d`` (3 × 3, padding 1): the layer's side, which pads its
// input and hands the bands and images to the kernels of `PaddedConvolution.swift`.

extension Conv2d {
    mutating func convolveShifted(_ input: Tensor, training: Bool, geometry g: ConvolutionGeometry) -> Tensor {
        var result = Tensor.reusing(&output, shape: [g.images, outputChannels, g.height, g.width])
        taps.prepareBuffer(shape: [9, outputChannels, inputChannels])
        let weight = self.weight.value
        weight.withUnsafeBufferPointer { w in
            taps.withUnsafeMutableBufferPointer { t in
                rearrangeTaps(g, w: w.baseAddress!, flipTransposed: false, taps: t.baseAddress!)
            }
        }
        // Training keeps the padded copy for the backward pass; inference pads into shared scratch.
        keepPaddedInput(input, training: training, geometry: g)
        if training {
            padded.withUnsafeBufferPointer { p in convolvePadded(p.baseAddress!, into: &result, geometry: g) }
        } else {
            let copy = scratch.shared(count: g.images * g.paddedImageSize)
            padBatch(input, into: copy, geometry: g)
            convolvePadded(copy, into: &result, geometry: g)
        }
        savedInput = training ? input : nil
        output = result
        return result
    }

    /// Runs the bands of every image of the padded input over the cores.
    func convolvePadded(_ padded: UnsafePointer<Float>, into result: inout Tensor, geometry g: ConvolutionGeometry) {
        let threads = availableCoreCount
        let rowsPerBand = g.rowsPerBand
        let bands = g.bandCount
        let variant = kernelVariant
        let scratch = self.scratch
        result.withUnsafeMutableBufferPointer { y in
            taps.withUnsafeBufferPointer { t in
                bias.value.withUnsafeBufferPointer { b in
                    let convolution = PaddedConvolution(
                        inputs: inputChannels, outputs: outputChannels,
                        taps: t.baseAddress!, bias: b.baseAddress!, variant: variant)
                    scratch.reserve(
                        threads: threads, columnCount: convolution.bandSize(g, rows: rowsPerBand), partialCount: 0)
                    let items = g.images * bands
                    let workers = min(threads, items)
                    setLinearAlgebraThreadCount(workers > 1 ? 1 : threads)
                    parallelForEach(0..<items, workers: workers) { item, thread in
                        let image = item / bands
                        let firstRow = (item % bands) * rowsPerBand
                        ModelProfiler.measure(.convolutionGEMM) {
                            convolution.convolve(
                                g, padded: padded + image * g.paddedImageSize,
                                y: y.baseAddress! + image * g.outputImageSize, firstRow: firstRow,
                                rows: min(rowsPerBand, g.height - firstRow),
                                band: scratch.columns(thread: thread))
                        }
                    }
                }
            }
        }
    }

    mutating func backpropagateShifted(
        _ outputGradient: Tensor, input: Tensor, geometry g: ConvolutionGeometry,
        needsInputGradient: Bool
    ) -> Tensor? {
        var buffer = Tensor.empty
        swap(&buffer, &inputGradient)
        let result = withInputGradient(&buffer, shape: input.shape, needed: needsInputGradient) { dx in
            accumulateShiftedGradients(outputGradient, geometry: g, inputGradient: dx)
        }
        inputGradient = buffer
        savedInput = nil
        return result
    }

    /// Adds ∂W and ∂b to the parameters' gradients and, when `dx` is given, writes ∂x there,
    /// all from the padded input kept by the training forward pass.
    mutating func accumulateShiftedGradients(
        _ outputGradient: Tensor, geometry g: ConvolutionGeometry,
        inputGradient dx: UnsafeMutablePointer<Float>?
    ) {
        let workers = min(availableCoreCount, g.images)
        let tapCount = 9 * outputChannels * inputChannels
        let partialCount = tapCount + outputChannels
        // ∂x is a convolution Cout → Cin of the padded ∂y; its GEMM bands hold Cin rows.
        let transposed = ConvolutionGeometry(
            images: g.images, inputChannels: outputChannels, outputChannels: inputChannels,
            height: g.height, width: g.width, kernel: 3, padding: 1,
            columnBudget: g.columnBudget, threads: g.threads)
        let flippedTaps = scratch.shared(count: tapCount)
        let inputConvolution = PaddedConvolution(
            inputs: outputChannels, outputs: inputChannels, taps: flippedTaps,
            bias: nil, variant: kernelVariant)
        let bandSize = dx == nil ? 0 : inputConvolution.bandSize(g, rows: transposed.rowsPerBand)
        // After the padded ∂y, one region serves ∂W's scratch and then ∂x's bands.
        scratch.reserve(
            threads: workers, columnCount: g.paddedOutputImageSize + max(bandSize, g.weightGradientScratchSize),
            partialCount: partialCount)
        if dx != nil {
            weight.value.withUnsafeBufferPointer { w in
                rearrangeTaps(g, w: w.baseAddress!, flipTransposed: true, taps: flippedTaps)
            }
        }
        let scratch = self.scratch
        let paddedImages = self.padded
        let variant = kernelVariant
        paddedImages.withUnsafeBufferPointer { p in
            outputGradient.withUnsafeBufferPointer { dy in
                forEachImage(images: g.images, workers: workers, partialCount: partialCount) { image, thread, partial in
                    let inputGradient = dx.map {
                        ShiftedInputGradient(
                            convolution: inputConvolution, dx: $0 + image * g.inputImageSize,
                            band: scratch.columns(thread: thread) + g.paddedOutputImageSize,
                            rowsPerBand: transposed.rowsPerBand)
                    }
                    backpropagateImageShifted(
                        g, padded: p.baseAddress! + image * g.paddedImageSize,
                        dy: dy.baseAddress! + image * g.outputImageSize,
                        dTaps: partial, db: partial + tapCount,
                        paddedGradient: scratch.columns(thread: thread),
                        weightGradientScratch: scratch.columns(thread: thread) + g.paddedOutputImageSize,
                        variant: variant, inputGradient: inputGradient)
                }
            }
        }
        let (cin, cout) = (inputChannels, outputChannels)
        weight.gradient.withUnsafeMutableBufferPointer { dw in
            bias.gradient.withUnsafeMutableBufferPointer { db in
                for thread in 0..<workers {
                    let partial = scratch.partial(thread: thread)
                    for o in 0..<cout {
                        for c in 0..<cin {
                            for tap in 0..<9 { dw[(o * cin + c) * 9 + tap] += partial[(tap * cout + o) * cin + c] }
                        }
                        db[o] += partial[tapCount + o]
                    }
                }
            }
        }
    }

    /// In training, pads `input` into the layer's own buffer, from which the backward pass
    /// computes ∂W (``accumulateShiftedGradients(_:geometry:inputGradient:)``); otherwise
    /// releases that buffer.
    mutating func keepPaddedInput(_ input: Tensor, training: Bool, geometry g: ConvolutionGeometry) {
        guard training else {
            padded = .empty
            return
        }
        var copy = Tensor.empty
        swap(&copy, &padded)
        copy.prepareBuffer(shape: [g.images, g.paddedImageSize])
        copy.withUnsafeMutableBufferPointer { p in padBatch(input, into: p.baseAddress!, geometry: g) }
        padded = copy
    }

    /// Copies every image of `input` into its zero-padded form (``padImage(_:channels:x:padded:)``).
    func padBatch(_ input: Tensor, into padded: UnsafeMutablePointer<Float>, geometry g: ConvolutionGeometry) {
        input.withUnsafeBufferPointer { x in
            parallelFor(0..<g.images) { range in
                ModelProfiler.measure(.im2col) {
                    for image in range {
                        padImage(
                            g, channels: g.inputChannels, x: x.baseAddress! + image * g.inputImageSize,
                            padded: padded + image * g.paddedImageSize)
                    }
                }
            }
        }
    }
}
