import CKandinskyKernels
import KandinskyCore
import Testing

@testable import KandinskyModels

/// Winograd F(4 × 4, 3 × 3) convolutions against plain Double-precision loops, in both compiled
/// variants of the C transforms.
@Suite struct WinogradTests {
    /// The baseline variant always, the AVX2 + FMA one where the CPU runs it.
    static let variants =
        [kandinsky_kernel_baseline]
        + (bestKernelVariant == kandinsky_kernel_avx2_fma ? [kandinsky_kernel_avx2_fma] : [])

    /// y[n, o, i, j] = b[o] + Σ w[o, c, u, v] · x[n, c, i + u − 1, j + v − 1] in Double.
    static func referenceForward(_ x: Tensor, _ w: Tensor, _ b: Tensor) -> [Double] {
        let (n, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let cout = w.shape[0]
        let xs = x.scalars
        let ws = w.scalars
        let bs = b.scalars
        var y = [Double](repeating: 0, count: n * cout * h * wd)
        for image in 0..<n {
            for o in 0..<cout {
                for i in 0..<h {
                    for j in 0..<wd {
                        var sum = Double(bs[o])
                        for c in 0..<cin {
                            for u in 0..<3 {
                                for v in 0..<3 {
                                    let (r, s) = (i + u - 1, j + v - 1)
                                    guard r >= 0, r < h, s >= 0, s < wd else { continue }
                                    sum +=
                                        Double(ws[((o * cin + c) * 3 + u) * 3 + v])
                                        * Double(xs[((image * cin + c) * h + r) * wd + s])
                                }
                            }
                        }
                        y[((image * cout + o) * h + i) * wd + j] = sum
                    }
                }
            }
        }
        return y
    }

    /// (∂x, ∂w, ∂b) of L = Σ dy · y in Double: ∂x scatters each output's gradient back through
    /// the kernel, ∂w correlates dy with x.
    static func referenceBackward(_ x: Tensor, _ w: Tensor, _ dy: Tensor) -> ([Double], [Double], [Double]) {
        let (n, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let cout = w.shape[0]
        let xs = x.scalars
        let ws = w.scalars
        let gs = dy.scalars
        var dx = [Double](repeating: 0, count: xs.count)
        var dw = [Double](repeating: 0, count: ws.count)
        var db = [Double](repeating: 0, count: cout)
        for image in 0..<n {
            for o in 0..<cout {
                for i in 0..<h {
                    for j in 0..<wd {
                        let g = Double(gs[((image * cout + o) * h + i) * wd + j])
                        db[o] += g
                        for c in 0..<cin {
                            for u in 0..<3 {
                                for v in 0..<3 {
                                    let (r, s) = (i + u - 1, j + v - 1)
                                    guard r >= 0, r < h, s >= 0, s < wd else { continue }
                                    let xi = ((image * cin + c) * h + r) * wd + s
                                    let wi = ((o * cin + c) * 3 + u) * 3 + v
                                    dx[xi] += g * Double(ws[wi])
                                    dw[wi] += g * Double(xs[xi])
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dx, dw, db)
    }

    /// Whether a convolution of `conv`'s channels takes the Winograd path for input of `shape`.
    static func runsWinograd(_ conv: Conv2d, _ shape: [Int]) -> Bool {
        ConvolutionGeometry(
            images: shape[0], inputChannels: conv.inputChannels, outputChannels: conv.outputChannels,
            height: shape[2], width: shape[3], kernel: 3, padding: 1,
            columnBudget: conv.scratch.columnBudget, threads: availableCoreCount
        ).winogradPays
    }

    /// max |actual − expected| ≤ tolerance · max |expected|.
    static func expectNear(
        _ actual: Tensor, _ expected: [Double], _ tolerance: Double, _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let a = actual.scalars
        #expect(a.count == expected.count, sourceLocation: sourceLocation)
        let scale = expected.map(abs).max() ?? 0
        let worst = zip(a, expected).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(
            worst <= tolerance * scale, "\(what): max difference \(worst) exceeds \(tolerance) × \(scale)",
            sourceLocation: sourceLocation)
    }

    @Test(arguments: variants)
    func forwardAndBackwardMatchDoublePrecision(variant: kandinsky_kernel_variant) {
        var generator = SeededGenerator(seed: 31)
        // 35 × 30 pixels leave partial tiles at the bottom and the right (9 × 8 tiles of 4 × 4).
        // A 15 840-float budget holds 40 tiles of 36·(5 + 6) floats, five tile rows, so the 18
        // tile rows of 2 images make blocks of 5, 5, 5 and 3 rows, the second one crossing from
        // one image into the next, two per thread.
        var conv = Conv2d(
            inputChannels: 5, outputChannels: 6, kernelSize: 3, padding: 1,
            scratch: ConvolutionScratch(columnBudget: 15_840), using: &generator)
        #expect(Self.runsWinograd(conv, [2, 5, 35, 30]))
        conv.strategy = .winograd
        conv.trainingStrategy = .winograd
        conv.kernelVariant = variant
        let x = Tensor.normal([2, 5, 35, 30], using: &generator)
        let expected = Self.referenceForward(x, conv.weight.value, conv.bias.value)
        Self.expectNear(conv.forward(x, training: false), expected, 1e-5, "inference forward")
        Self.expectNear(conv.forward(x, training: true), expected, 1e-5, "training forward")
        let dy = Tensor.normal([2, 6, 35, 30], using: &generator)
        let (dx, dw, db) = Self.referenceBackward(x, conv.weight.value, dy)
        Self.expectNear(conv.backward(dy), dx, 1e-5, "∂x")
        Self.expectNear(conv.weight.gradient, dw, 1e-5, "∂w")
        Self.expectNear(conv.bias.gradient, db, 1e-5, "∂b")
    }

    @Test(arguments: variants)
    func partialTilesAtTheBottomAndRight(variant: kandinsky_kernel_variant) {
        var generator = SeededGenerator(seed: 32)
        // 33 × 29 pixels: the last tile row and column hold one image row and column.
        var conv = Conv2d(inputChannels: 32, outputChannels: 24, kernelSize: 3, padding: 1, using: &generator)
        conv.strategy = .winograd
        conv.trainingStrategy = .winograd
        #expect(Self.runsWinograd(conv, [1, 32, 33, 29]))
        conv.kernelVariant = variant
        let x = Tensor.normal([1, 32, 33, 29], using: &generator)
        Self.expectNear(
            conv.forward(x, training: true), Self.referenceForward(x, conv.weight.value, conv.bias.value),
            1e-5, "forward")
        let dy = Tensor.normal([1, 24, 33, 29], using: &generator)
        let (dx, dw, _) = Self.referenceBackward(x, conv.weight.value, dy)
        Self.expectNear(conv.backward(dy), dx, 1e-5, "∂x")
        Self.expectNear(conv.weight.gradient, dw, 1e-5, "∂w")
    }

    @Test func imagesOfFewerThan64TilesFallBackToShiftedWindows() {
        func pays(_ n: Int, _ h: Int, _ w: Int) -> Bool {
            ConvolutionGeometry(
                images: n, inputChannels: 16, outputChannels: 16, height: h, width: w, kernel: 3,
                padding: 1, columnBudget: 1 << 21, threads: 2
            ).winogradPays
        }
        // 64 tiles per image: 29 × 32 pixels make 8 × 8 tiles, 28 × 32 only 7 × 8.
        #expect(pays(1, 29, 32) && pays(4, 32, 29))
        #expect(!pays(16, 28, 32) && !pays(64, 8, 8))
        // The fallback still convolves: 6 × 8 images through a Winograd-strategy layer.
        var generator = SeededGenerator(seed: 36)
        var conv = Conv2d(inputChannels: 128, outputChannels: 3, kernelSize: 3, padding: 1, using: &generator)
        #expect(conv.strategy == .winograd)
        let x = Tensor.normal([1, 128, 6, 8], using: &generator)
        Self.expectNear(
            conv.forward(x, training: false), Self.referenceForward(x, conv.weight.value, conv.bias.value),
            1e-5, "forward")
    }

    @Test func gradientsMatchFiniteDifferences() {
        var generator = SeededGenerator(seed: 33)
        var conv = Conv2d(inputChannels: 3, outputChannels: 4, kernelSize: 3, padding: 1, using: &generator)
        conv.trainingStrategy = .winograd
        #expect(Self.runsWinograd(conv, [1, 3, 32, 32]))
        checkGradients(conv, input: .normal([1, 3, 32, 32], using: &generator))
    }

    @Test func choosesWinogradFrom128InputChannels() {
        var generator = SeededGenerator(seed: 34)
        let narrow = Conv2d(inputChannels: 127, outputChannels: 8, kernelSize: 3, padding: 1, using: &generator)
        #expect(narrow.strategy == .shiftedWindows && narrow.trainingStrategy == .shiftedWindows)
        let wide = Conv2d(inputChannels: 128, outputChannels: 8, kernelSize: 3, padding: 1, using: &generator)
        #expect(wide.strategy == .winograd && wide.trainingStrategy == .winograd)
        let pointwise = Conv2d(inputChannels: 64, outputChannels: 8, kernelSize: 1, padding: 0, using: &generator)
        #expect(pointwise.strategy == .columns && pointwise.trainingStrategy == .columns)
    }

    @Test func repeatedRunsGiveTheSameBytes() {
        var generator = SeededGenerator(seed: 35)
        var conv = Conv2d(
            inputChannels: 16, outputChannels: 16, kernelSize: 3, padding: 1,
            scratch: ConvolutionScratch(columnBudget: 20_000), using: &generator)
        conv.trainingStrategy = .winograd
        #expect(Self.runsWinograd(conv, [2, 16, 33, 29]))
        let x = Tensor.normal([2, 16, 33, 29], using: &generator)
        let dy = Tensor.normal([2, 16, 33, 29], using: &generator)
        var first = conv
        let y = first.forward(x, training: true)
        let dx = first.backward(dy)
        for _ in 0..<3 {
            var again = conv
            #expect(again.forward(x, training: true).scalars == y.scalars)
            #expect(again.backward(dy).scalars == dx.scalars)
            #expect(again.weight.gradient.scalars == first.weight.gradient.scalars)
        }
    }
}
