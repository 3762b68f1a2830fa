import CKandinskyKernels
import KandinskyCore
import Testing

@testable import KandinskyModels

/// The C direct 3 × 3 convolution over padded rows, in both compiled variants, against the sum
/// of its definition evaluated in Double.
@Suite struct DirectConvolutionKernelTests {
    /// Runs the kernel on rows `firstRow ..< firstRow + rows` of a random padded image and
    /// compares every written output with the Double sum; checks that nothing else is written.
    func check(
        inputs: Int, outputs: Int, height: Int, width: Int, firstRow: Int, rows: Int, withBias: Bool,
        variant: kandinsky_kernel_variant, seed: UInt64
    ) {
        var generator = SeededGenerator(seed: seed)
        let wp = width + 2
        let plane = (height + 2) * wp
        let padded = Tensor.normal([inputs * plane + 2], using: &generator).scalars
        let taps = Tensor.normal([9 * outputs * inputs], using: &generator).scalars
        let bias = Tensor.normal([outputs], using: &generator).scalars
        let outputPlane = height * width
        var y = [Float](repeating: .nan, count: outputs * outputPlane)
        padded.withUnsafeBufferPointer { p in
            taps.withUnsafeBufferPointer { t in
                bias.withUnsafeBufferPointer { b in
                    y.withUnsafeMutableBufferPointer { out in
                        kandinsky_direct_conv3x3_rows(
                            p.baseAddress! + firstRow * wp, inputs, wp, plane, t.baseAddress!,
                            withBias ? b.baseAddress! : nil, outputs, rows, width,
                            out.baseAddress! + firstRow * width, outputPlane, variant)
                    }
                }
            }
        }
        var worst = 0.0
        var scale = 0.0
        var untouched = true
        for o in 0..<outputs {
            for i in 0..<height {
                for j in 0..<width {
                    let value = y[o * outputPlane + i * width + j]
                    guard i >= firstRow && i < firstRow + rows else {
                        untouched = untouched && value.isNaN
                        continue
                    }
                    var sum = withBias ? Double(bias[o]) : 0
                    for u in 0..<3 {
                        for v in 0..<3 {
                            for c in 0..<inputs {
                                sum +=
                                    Double(taps[((u * 3 + v) * outputs + o) * inputs + c])
                                    * Double(padded[c * plane + (i + u) * wp + j + v])
                            }
                        }
                    }
                    worst = max(worst, abs(Double(value) - sum))
                    scale = max(scale, abs(sum))
                }
            }
        }
        #expect(untouched, "rows outside the band were written")
        #expect(scale > 0)
        #expect(worst <= 1e-5 * scale, "max difference \(worst) exceeds 1e-5 × \(scale)")
    }

    /// One call of the kernel: channel counts, image size and band chosen to reach its code paths.
    struct Band: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var inputs: Int, outputs: Int, height: Int, width: Int, firstRow: Int, rows: Int
        var withBias = true
        var seed: UInt64
    }

    static let bands = [
        // Width 45 = two 16-column blocks, one of 8 and a last partial vector of 5 columns; 6
        // outputs = one block of 4 channels and two single ones; rows 2 ..< 6 of 7 with a bias.
        Band(
            testDescription: "blocks, tails and band offsets", inputs: 5, outputs: 6, height: 7, width: 45, firstRow: 2,
            rows: 4, seed: 61),
        // 15 outputs: on the 8-column block and the last partial vector (width 45), one block of
        // 12 channels and three single ones; on the 16-column blocks, three blocks of 4 and three
        // single ones.
        Band(
            testDescription: "wide channel blocks", inputs: 7, outputs: 15, height: 5, width: 45, firstRow: 1, rows: 3,
            seed: 64),
        // 100 inputs put 12 output channels in a group (their taps fill 32 KiB): 30 outputs sweep
        // the rows in groups of 12, 12 and 6; width 21 = one 16-column block and a partial vector.
        Band(
            testDescription: "output channel groups", inputs: 100, outputs: 30, height: 3, width: 21, firstRow: 0,
            rows: 3, seed: 65),
        // Width 5 is narrower than a vector, so every column runs one at a time; no bias (∂x).
        Band(
            testDescription: "narrow images without bias", inputs: 3, outputs: 4, height: 4, width: 5, firstRow: 0,
            rows: 4, withBias: false, seed: 62),
        // Channel counts of a UNet of 16 channels at a row width of 16 columns.
        Band(
            testDescription: "sixteen channels", inputs: 16, outputs: 16, height: 3, width: 16, firstRow: 1, rows: 2,
            seed: 63),
    ]

    @Test(arguments: bands, WinogradTests.variants)
    func matchesTheDefinition(band: Band, variant: kandinsky_kernel_variant) {
        check(
            inputs: band.inputs, outputs: band.outputs, height: band.height, width: band.width, firstRow: band.firstRow,
            rows: band.rows, withBias: band.withBias, variant: variant, seed: band.seed)
    }
}
