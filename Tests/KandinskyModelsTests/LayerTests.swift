import CKandinskyKernels
import KandinskyCore
import KandinskyTestSupport
import Testing

@testable import KandinskyModels

@Suite struct LayerTests {
    // MARK: Hand-derived values

    @Test func convolutionWithAOnesKernelSumsNeighbourhoods() {
        var generator = SeededGenerator(seed: 3)
        var conv = Conv2d(inputChannels: 1, outputChannels: 1, kernelSize: 3, padding: 1, using: &generator)
        conv.weight.value = Tensor(shape: [1, 1, 3, 3], repeating: 1)
        conv.bias.value = Tensor(shape: [1], scalars: [0.5])
        let x = Tensor(shape: [1, 1, 3, 3], scalars: [1, 2, 3, 4, 5, 6, 7, 8, 9])
        let y = conv.forward(x, training: false)
        // Each output is 0.5 plus the sum of the (zero-padded) 3 × 3 neighbourhood.
        #expect(y.scalars == [12.5, 21.5, 16.5, 27.5, 45.5, 33.5, 24.5, 39.5, 28.5])
    }

    @Test func convolutionIsCrossCorrelationOverChannels() {
        var generator = SeededGenerator(seed: 3)
        var conv = Conv2d(inputChannels: 2, outputChannels: 1, kernelSize: 2, padding: 0, using: &generator)
        // w[0, 0] picks the top-left pixel, w[0, 1] the bottom-right one of the second channel.
        conv.weight.value = Tensor(shape: [1, 2, 2, 2], scalars: [1, 0, 0, 0, 0, 0, 0, 10])
        conv.bias.value = Tensor(shape: [1], scalars: [0])
        let x = Tensor(shape: [1, 2, 2, 3], scalars: [1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60])
        let y = conv.forward(x, training: false)
        #expect(y.shape == [1, 1, 1, 2])
        #expect(y.scalars == [1 + 500, 2 + 600])
    }

    @Test func instanceNormUsesTheBiasedVariance() {
        var norm = InstanceNorm2d()
        let x = Tensor(shape: [1, 2, 1, 4], scalars: [1, 2, 3, 4, 10, 10, 10, 10])
        let y = norm.forward(x, training: false)
        let s = 1 / (1.25 + 1e-5 as Double).squareRoot()  // mean 2.5, biased variance 1.25
        expectClose(
            Tensor(shape: [4], scalars: Array(y.scalars[0..<4])),
            Tensor(shape: [4], scalars: [-1.5, -0.5, 0.5, 1.5].map { Float($0 * s) }), tolerance: 1e-6)
        #expect(y.scalars[4..<8].allSatisfy { $0 == 0 })  // a constant plane normalises to 0
    }

    @Test func maxPoolTakesWindowMaximaAndRoutesTiesToTheFirst() {
        var pool = MaxPool2d()
        let x = Tensor(shape: [1, 1, 2, 4], scalars: [1, 5, 7, 7, 3, 2, 7, 0])
        let y = pool.forward(x, training: true)
        #expect(y.scalars == [5, 7])
        let dx = pool.backward(Tensor(shape: [1, 1, 1, 2], scalars: [1, 2]))
        #expect(dx.scalars == [0, 1, 2, 0, 0, 0, 0, 0])
    }

    @Test func bilinearUpsamplingMatchesAlignCornersFalse() {
        var upsample = BilinearUpsample2d()
        let y = upsample.forward(Tensor(shape: [1, 1, 2, 2], scalars: [1, 2, 3, 4]), training: false)
        // Along an axis [a, b] becomes [a, ¾a + ¼b, ¼a + ¾b, b]; the 2-D result is separable.
        let expected: [Float] = [
            1, 1.25, 1.75, 2,
            1.5, 1.75, 2.25, 2.5,
            2.5, 2.75, 3.25, 3.5,
            3, 3.25, 3.75, 4,
        ]
        #expect(y.shape == [1, 1, 4, 4])
        expectClose(y, Tensor(shape: [1, 1, 4, 4], scalars: expected), tolerance: 1e-7)
    }

    @Test func dropoutZeroesOrScalesWholeChannelsOnlyInTraining() {
        var dropout = Dropout2d(probability: 0.5, seed: 9)
        let x = Tensor(shape: [4, 8, 3, 3], repeating: 1)
        #expect(dropout.forward(x, training: false) == x)
        let y = dropout.forward(x, training: true)
        var dropped = 0
        for plane in 0..<32 {
            let values = Set(y.scalars[(plane * 9)..<((plane + 1) * 9)])
            #expect(values == [0] || values == [2])
            if values == [0] { dropped += 1 }
        }
        #expect(dropped > 4 && dropped < 28)  // p = 0.5 over 32 planes; the seed fixes the count
        var again = Dropout2d(probability: 0.5, seed: 9)
        #expect(again.forward(x, training: true) == y)
    }

    @Test func concatenationAndSplitAreInverse() {
        let a = Tensor(shape: [2, 1, 1, 2], scalars: [1, 2, 3, 4])
        let b = Tensor(shape: [2, 2, 1, 2], scalars: [5, 6, 7, 8, 9, 10, 11, 12])
        var joined = Tensor(shape: [0], repeating: 0)
        concatenateChannels(a, b, into: &joined)
        #expect(joined.shape == [2, 3, 1, 2])
        #expect(joined.scalars == [1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12])
        var first = Tensor(shape: [0], repeating: 0)
        var second = first
        splitChannels(joined, at: 1, into: &first, &second)
        #expect(first == a)
        #expect(second == b)
    }

    // MARK: Finite-difference gradient checks

    @Test(arguments: [(3, 1), (1, 0), (3, 0), (5, 2)])
    func convolutionGradients(kernel: Int, padding: Int) {
        var generator = SeededGenerator(seed: UInt64(kernel * 10 + padding))
        let conv = Conv2d(inputChannels: 3, outputChannels: 4, kernelSize: kernel, padding: padding, using: &generator)
        checkGradients(conv, input: .normal([2, 3, 7, 6], using: &generator))
    }

    @Test func shiftedWindowConvolutionMatchesColumnsAndFiniteDifferences() {
        var generator = SeededGenerator(seed: 14)
        // 32 input channels select shifted windows; a 200-float budget makes bands of 3 rows of
        // width 9 + 2 for 5 output channels, so 8 rows span three bands, the last one partial.
        let shifted = Conv2d(
            inputChannels: 32, outputChannels: 5, kernelSize: 3, padding: 1,
            scratch: ConvolutionScratch(columnBudget: 200), using: &generator)
        #expect(shifted.strategy == .shiftedWindows && shifted.trainingStrategy == .shiftedWindows)
        let sixteen = Conv2d(inputChannels: 16, outputChannels: 5, kernelSize: 3, padding: 1, using: &generator)
        #expect(sixteen.strategy == .shiftedWindows && sixteen.trainingStrategy == .shiftedWindows)
        let narrow = Conv2d(inputChannels: 15, outputChannels: 5, kernelSize: 3, padding: 1, using: &generator)
        #expect(narrow.strategy == .columns && narrow.trainingStrategy == .columns)
        checkGradients(shifted, input: .normal([3, 32, 8, 9], using: &generator), samples: 12)
        var columns = shifted
        var windows = shifted
        columns.strategy = .columns
        columns.trainingStrategy = .columns
        let x = Tensor.normal([2, 32, 8, 9], using: &generator)
        // Inference pads into shared scratch, training into the layer's own buffer.
        expectClose(windows.forward(x, training: false), columns.forward(x, training: false), tolerance: 1e-5)
        expectClose(windows.forward(x, training: true), columns.forward(x, training: true), tolerance: 1e-5)
        let r = Tensor.normal([2, 5, 8, 9], using: &generator)
        expectClose(windows.backward(r), columns.backward(r), tolerance: 1e-5)
        expectClose(windows.weight.gradient, columns.weight.gradient, tolerance: 1e-5)
        expectClose(windows.bias.gradient, columns.bias.gradient, tolerance: 1e-5)
    }

    /// ``Conv2d/accumulateParameterGradients(_:)`` adds the same ∂W and ∂b as ``Conv2d/backward(_:)``
    /// through each strategy (1 × 1 kernels take the columns route's GEMM-only branch).
    @Test(arguments: [(Conv2d.Strategy.columns, 3), (.columns, 1), (.shiftedWindows, 3), (.winograd, 3)])
    func parameterGradientsWithoutTheInputGradient(strategy: Conv2d.Strategy, kernel: Int) {
        var generator = SeededGenerator(seed: 15)
        var full = Conv2d(
            inputChannels: 4, outputChannels: 6, kernelSize: kernel, padding: kernel / 2, using: &generator)
        full.trainingStrategy = strategy
        var partial = full
        // 32 × 48 pixels are 96 Winograd tiles, enough for it to run.
        let x = Tensor.normal([2, 4, 32, 48], using: &generator)
        let dy = Tensor.normal([2, 6, 32, 48], using: &generator)
        _ = full.forward(x, training: true)
        _ = full.backward(dy)
        _ = partial.forward(x, training: true)
        partial.accumulateParameterGradients(dy)
        #expect(partial.weight.gradient.scalars == full.weight.gradient.scalars)
        #expect(partial.bias.gradient.scalars == full.bias.gradient.scalars)
        #expect(partial.weight.gradient.scalars.contains { $0 != 0 })
        if strategy == .winograd { #expect(WinogradTests.runsWinograd(full, x.shape)) }
    }

    /// The padded copy the shifted-window paths read, written into memory full of NaN (as a
    /// reused scratch buffer may hold anything): every float of the layout is set.
    @Test func paddingWritesTheBorderAndTheImage() {
        let (channels, h, w) = (2, 3, 4)
        let g = ConvolutionGeometry(
            images: 1, inputChannels: channels, outputChannels: 1, height: h, width: w,
            kernel: 3, padding: 1, columnBudget: 1 << 10, threads: 1)
        let x = (0..<channels * h * w).map { Float($0 + 1) }
        var padded = [Float](repeating: .nan, count: g.paddedImageSize)
        x.withUnsafeBufferPointer { source in
            padded.withUnsafeMutableBufferPointer {
                padImage(g, channels: channels, x: source.baseAddress!, padded: $0.baseAddress!)
            }
        }
        var expected = [Float](repeating: 0, count: channels * (h + 2) * (w + 2) + 2)
        for c in 0..<channels {
            for i in 0..<h {
                for j in 0..<w { expected[(c * (h + 2) + i + 1) * (w + 2) + j + 1] = x[(c * h + i) * w + j] }
            }
        }
        #expect(padded == expected)
    }

    /// Shifted windows through the direct kernel (32 → 5 channels) and through GEMM bands
    /// (160 → 104 channels, beyond the direct kernel's 128 × 128), in both compiled variants of
    /// the kernel, against Double loops. The 3432-float budget makes forward bands of 3 rows of
    /// 104 channels (width 9 + 2) and ∂x bands of 1 row of 160, so 8 rows span several bands.
    @Test(arguments: WinogradTests.variants)
    func shiftedWindowsMatchDoublePrecision(variant: kandinsky_kernel_variant) {
        #expect(PaddedConvolution.runsDirect(inputs: 32, outputs: 5))
        #expect(!PaddedConvolution.runsDirect(inputs: 160, outputs: 104))
        var generator = SeededGenerator(seed: 15)
        for (cin, cout) in [(32, 5), (160, 104)] {
            var conv = Conv2d(
                inputChannels: cin, outputChannels: cout, kernelSize: 3, padding: 1,
                scratch: ConvolutionScratch(columnBudget: 3432), using: &generator)
            // 8 × 9 pixels are too few tiles for Winograd, so 160 input channels also take shifted windows.
            #expect(conv.trainingStrategy == .shiftedWindows || !WinogradTests.runsWinograd(conv, [3, cin, 8, 9]))
            conv.kernelVariant = variant
            let x = Tensor.normal([3, cin, 8, 9], using: &generator)
            let expected = WinogradTests.referenceForward(x, conv.weight.value, conv.bias.value)
            WinogradTests.expectNear(
                conv.forward(x, training: false), expected, 1e-5, "\(cin) → \(cout) inference forward")
            WinogradTests.expectNear(
                conv.forward(x, training: true), expected, 1e-5, "\(cin) → \(cout) training forward")
            let dy = Tensor.normal([3, cout, 8, 9], using: &generator)
            let (dx, dw, db) = WinogradTests.referenceBackward(x, conv.weight.value, dy)
            WinogradTests.expectNear(conv.backward(dy), dx, 1e-5, "\(cin) → \(cout) ∂x")
            WinogradTests.expectNear(conv.weight.gradient, dw, 1e-5, "\(cin) → \(cout) ∂w")
            WinogradTests.expectNear(conv.bias.gradient, db, 1e-5, "\(cin) → \(cout) ∂b")
        }
    }

    @Test func convolutionGradientsAcrossTilesAndThreads() {
        // A 1000-float budget holds 13 pixels of 8·9 patch rows: 30 × 20 pixels span 47 tiles,
        // the last one partial, and tiles cut through rows; 3 images split over the threads.
        var generator = SeededGenerator(seed: 5)
        let scratch = ConvolutionScratch(columnBudget: 1000)
        let conv = Conv2d(
            inputChannels: 8, outputChannels: 3, kernelSize: 3, padding: 1, scratch: scratch, using: &generator)
        checkGradients(conv, input: .normal([3, 8, 30, 20], using: &generator), samples: 12)
        var untiled = conv
        untiled.scratch = ConvolutionScratch()
        let x = Tensor.normal([1, 8, 30, 20], using: &generator)
        var tiled = conv
        expectClose(tiled.forward(x, training: false), untiled.forward(x, training: false), tolerance: 1e-6)
    }

    /// Instance norm alone (seed 6) and fused with the ReLU after it (seed 10), on inputs whose
    /// mean and spread are not 0 and 1, so the normalisation has something to remove.
    @Test(arguments: [false, true])
    func instanceNormGradients(fusedWithReLU: Bool) {
        var generator = SeededGenerator(seed: fusedWithReLU ? 10 : 6)
        let input = Tensor.normal([2, 3, 5, 4], mean: 1, standardDeviation: 2, using: &generator)
        if fusedWithReLU {
            checkGradients(InstanceNormReLU(), input: input)
        } else {
            checkGradients(InstanceNorm2d(), input: input)
        }
    }

    @Test func fusedNormAndReLUMatchTheSeparateLayers() {
        var generator = SeededGenerator(seed: 9)
        let x = Tensor.normal([2, 3, 7, 5], mean: 1, standardDeviation: 2, using: &generator)
        let dr = Tensor.normal([2, 3, 7, 5], using: &generator)
        var norm = InstanceNorm2d()
        var relu = ReLU()
        var fused = InstanceNormReLU()
        let expected = relu.forward(norm.forward(x, training: true), training: true)
        expectClose(fused.forward(x, training: true), expected, tolerance: 1e-6, "forward")
        expectClose(
            fused.backward(dr), norm.backward(relu.backward(dr)), tolerance: 1e-5, scale: .largestExpected(floor: 1e-5),
            "backward")
    }

    @Test func reluGradients() {
        var generator = SeededGenerator(seed: 7)
        // Values at least 0.1 from the kink, so ±ε never crosses it.
        let x = Tensor.normal([2, 2, 4, 4], using: &generator).map { $0 >= 0 ? $0 + 0.1 : $0 - 0.1 }
        checkGradients(ReLU(), input: x)
    }

    @Test func dropoutGradients() {
        var generator = SeededGenerator(seed: 8)
        checkGradients(Dropout2d(probability: 0.3, seed: 4), input: .normal([3, 4, 3, 3], using: &generator))
    }

    @Test func maxPoolGradients() {
        var generator = SeededGenerator(seed: 9)
        // Distinct values 0.05 apart, so ±ε never changes a window's winner.
        var values = (0..<(2 * 2 * 6 * 8)).map { Float($0) * 0.05 }
        values.shuffle(using: &generator)
        checkGradients(MaxPool2d(), input: Tensor(shape: [2, 2, 6, 8], scalars: values))
    }

    @Test func upsampleGradients() {
        var generator = SeededGenerator(seed: 10)
        checkGradients(BilinearUpsample2d(), input: .normal([2, 3, 3, 5], using: &generator))
    }

    @Test func doubleConvGradients() {
        var generator = SeededGenerator(seed: 11)
        let block = DoubleConv(
            inputChannels: 2, outputChannels: 3, dropout: 0.2, scratch: ConvolutionScratch(), using: &generator)
        checkGradients(
            block, input: .normal([2, 2, 6, 6], using: &generator), epsilon: 1e-3, tolerance: 3e-2, samples: 12)
    }
}
