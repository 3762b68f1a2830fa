import CKandinskyKernels
import KandinskyCore
import Testing

@testable import KandinskyModels

/// The C ∂W kernel of 3 × 3 convolutions over padded images, in both compiled variants, against
/// the sum of its definition evaluated in Double.
@Suite struct WeightGradientKernelTests {
    /// Adds ∂W of a random image and window to random initial taps and compares every tap with
    /// the initial value plus the Double sum, within 1e-5 of the sum of the terms' magnitudes.
    func check(inputs: Int, outputs: Int, height: Int, width: Int, variant: kandinsky_kernel_variant, seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        let wp = width + 2
        let plane = (height + 2) * wp
        let pixels = height * wp
        // Random borders too: the kernel's sum is defined for any values there.
        let padded = Tensor.normal([inputs * plane + 2], using: &generator).scalars
        let window = Tensor.normal([outputs * plane], using: &generator).scalars
        let initial = Tensor.normal([9 * outputs * inputs], using: &generator).scalars
        var taps = initial
        let scratchSize = kandinsky_conv3x3_weight_gradient_scratch_size(outputs, inputs, wp, pixels)
        var scratch = [Float](repeating: .nan, count: scratchSize)
        padded.withUnsafeBufferPointer { x in
            window.withUnsafeBufferPointer { g in
                taps.withUnsafeMutableBufferPointer { t in
                    scratch.withUnsafeMutableBufferPointer { s in
                        kandinsky_conv3x3_weight_gradient(
                            g.baseAddress!, outputs, x.baseAddress!, inputs, wp, plane,
                            pixels, t.baseAddress!, s.baseAddress!, variant)
                    }
                }
            }
        }
        var worstRatio = 0.0
        var largest = 0.0
        for tap in 0..<9 {
            let shift = (tap / 3) * wp + tap % 3
            for o in 0..<outputs {
                for c in 0..<inputs {
                    var sum = 0.0
                    var magnitude = 0.0
                    for p in 0..<pixels {
                        let term = Double(window[o * plane + p]) * Double(padded[c * plane + p + shift])
                        sum += term
                        magnitude += abs(term)
                    }
                    let index = (tap * outputs + o) * inputs + c
                    let expected = Double(initial[index]) + sum
                    worstRatio = max(
                        worstRatio, abs(Double(taps[index]) - expected) / (magnitude + abs(Double(initial[index]))))
                    largest = max(largest, abs(sum))
                }
            }
        }
        #expect(largest > 1, "the sums should not vanish")
        #expect(worstRatio <= 1e-5, "max difference \(worstRatio) of the terms' magnitudes exceeds 1e-5")
    }

    // 5 inputs fill part of one 8-channel slice; 3 outputs are one block of 3; odd height and
    // width. The pixel loop runs in steps of 3; 105, 2091 = 1046 + 1045, 55 and 8 pixels leave
    // every remainder.
    @Test(arguments: WinogradTests.variants)
    func partialSliceAndOneBlock(variant: kandinsky_kernel_variant) {
        check(inputs: 5, outputs: 3, height: 7, width: 13, variant: variant, seed: 71)
    }

    // 17 inputs = two full slices and one of a single channel; 7 outputs = one block of 3 and
    // two of 2; 41 × 49 pixels (41 · 51 = 2091) span two chunks of at most 2048.
    @Test(arguments: WinogradTests.variants)
    func remaindersAndChunks(variant: kandinsky_kernel_variant) {
        // The scratch holds one chunk plus the 2·51 + 2 rows beyond it, in 24 channels and 8 floats of alignment.
        #expect(kandinsky_conv3x3_weight_gradient_scratch_size(7, 17, 51, 2091) < 24 * (2091 + 104) + 8)
        check(inputs: 17, outputs: 7, height: 41, width: 49, variant: variant, seed: 72)
    }

    // 5 outputs = a block of 3 and one of 2; a single output is a block of its own; 16 channels
    // are two full slices; a 2 × 2 image is shorter than one chunk's extra rows.
    @Test(arguments: WinogradTests.variants)
    func fewOutputs(variant: kandinsky_kernel_variant) {
        check(inputs: 16, outputs: 5, height: 5, width: 9, variant: variant, seed: 73)
        check(inputs: 3, outputs: 1, height: 2, width: 2, variant: variant, seed: 74)
    }
}
