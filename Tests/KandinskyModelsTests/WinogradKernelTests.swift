import CKandinskyKernels
import KandinskyCore
import Testing

@testable import KandinskyModels

/// The C transforms of Winograd F(4 × 4, 3 × 3) one by one, against the textbook matrix
/// products Bᵀ d B, Aᵀ m A and G g Gᵀ evaluated in Double.
@Suite struct WinogradKernelTests {
    static let bTransposed: [[Double]] = [
        [4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
        [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1],
    ]
    static let aTransposed: [[Double]] = [
        [1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1],
    ]
    static let g: [[Double]] = [
        [1.0 / 4, 0, 0], [-1.0 / 6, -1.0 / 6, -1.0 / 6], [-1.0 / 6, 1.0 / 6, -1.0 / 6],
        [1.0 / 24, 1.0 / 12, 1.0 / 6], [1.0 / 24, -1.0 / 12, 1.0 / 6], [0, 0, 1],
    ]

    /// left · middle · rightᵀ.
    static func sandwich(_ left: [[Double]], _ middle: [[Double]], _ right: [[Double]]) -> [[Double]] {
        left.map { l in
            right.map { r in
                var sum = 0.0
                for i in l.indices { for j in r.indices { sum += l[i] * middle[i][j] * r[j] } }
                return sum
            }
        }
    }

    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        return Tensor.normal([count], using: &generator).scalars
    }

    // Two images of 7 × 9 pixels: 2 × 3 tiles each, the last row and column of tiles partial.
    // The block is global tile rows 1 ..< 3: image 0's second tile row and image 1's first.
    static let (images, channels, height, width, firstRow, rows, tilesWide) = (2, 3, 7, 9, 1, 2, 3)

    /// Where tile `t` of the block lies: its image, its tile row `i` in that image (two tile rows an image) and its
    /// tile column `j`.
    static func position(ofTile t: Int) -> (image: Int, i: Int, j: Int) {
        let global = firstRow + t / tilesWide
        return (global / 2, global % 2, t % tilesWide)
    }

    @Test(arguments: WinogradTests.variants)
    func inputTransformIsBTransposedDB(variant: kandinsky_kernel_variant) {
        let x = Self.random(Self.images * Self.channels * Self.height * Self.width, seed: 41)
        let tiles = Self.rows * Self.tilesWide
        var transformed = [Float](repeating: .nan, count: 36 * Self.channels * tiles)
        var workspace = [Float](repeating: 0, count: kandinsky_winograd_f4x3_workspace_count(Self.width))
        kandinsky_winograd_f4x3_input_transform(
            x, Self.channels, Self.height, Self.width, Self.firstRow, Self.rows,
            &transformed, &workspace, variant)
        var worst = 0.0
        var scale = 0.0
        for t in 0..<tiles {
            let (image, i, j) = Self.position(ofTile: t)
            for c in 0..<Self.channels {
                let d: [[Double]] = (0..<6).map { u in
                    (0..<6).map { v in
                        let (r, s) = (4 * i - 1 + u, 4 * j - 1 + v)
                        guard r >= 0, r < Self.height, s >= 0, s < Self.width else { return 0 }
                        return Double(x[((image * Self.channels + c) * Self.height + r) * Self.width + s])
                    }
                }
                let expected = Self.sandwich(Self.bTransposed, d, Self.bTransposed)
                for point in 0..<36 {
                    let actual = Double(transformed[(point * Self.channels + c) * tiles + t])
                    worst = max(worst, abs(actual - expected[point / 6][point % 6]))
                    scale = max(scale, abs(expected[point / 6][point % 6]))
                }
            }
        }
        #expect(worst <= 1e-6 * scale, "max difference \(worst) against a scale of \(scale)")
    }

    @Test(arguments: WinogradTests.variants)
    func outputTransformIsATransposedMAPlusBias(variant: kandinsky_kernel_variant) {
        let tiles = Self.rows * Self.tilesWide
        let m = Self.random(36 * Self.channels * tiles, seed: 42)
        let bias: [Float] = [0.5, -1, 2]
        let sentinel: Float = 1234
        var y = [Float](repeating: sentinel, count: Self.images * Self.channels * Self.height * Self.width)
        var workspace = [Float](repeating: 0, count: kandinsky_winograd_f4x3_workspace_count(Self.width))
        kandinsky_winograd_f4x3_output_transform(
            m, bias, Self.channels, Self.height, Self.width, Self.firstRow, Self.rows,
            &y, &workspace, variant)
        var expected = [Double](repeating: Double(sentinel), count: y.count)
        for t in 0..<tiles {
            let (image, i, j) = Self.position(ofTile: t)
            for c in 0..<Self.channels {
                let tile: [[Double]] = (0..<6).map { k in
                    (0..<6).map { l in Double(m[((6 * k + l) * Self.channels + c) * tiles + t]) }
                }
                let out = Self.sandwich(Self.aTransposed, tile, Self.aTransposed)
                for p in 0..<4 {
                    for q in 0..<4 where 4 * i + p < Self.height && 4 * j + q < Self.width {
                        expected[((image * Self.channels + c) * Self.height + 4 * i + p) * Self.width + 4 * j + q] =
                            Double(bias[c]) + out[p][q]
                    }
                }
            }
        }
        // Pixels of other tile rows keep the sentinel: the transform writes only its block.
        #expect(y.filter { $0 == sentinel }.count == expected.filter { $0 == Double(sentinel) }.count)
        let scale = expected.map(abs).max()!
        let worst = zip(y, expected).map { abs(Double($0) - $1) }.max()!
        #expect(worst <= 1e-6 * scale, "max difference \(worst) against a scale of \(scale)")
    }

    @Test(arguments: WinogradTests.variants.flatMap { variant in [(variant, false), (variant, true)] })
    func weightTransformIsGgGTransposed(variant: kandinsky_kernel_variant, flipTransposed: Bool) {
        // 70 inputs run past one 64-kernel run; rows 1 ..< 3 of the result are computed.
        let (outputs, inputs) = flipTransposed ? (70, 4) : (4, 70)
        let w = Self.random(outputs * inputs * 9, seed: 43)
        let sentinel: Float = 1234
        var transformed = [Float](repeating: sentinel, count: 36 * outputs * inputs)
        kandinsky_winograd_f4x3_weight_transform(
            w, outputs, inputs, 1, 2, flipTransposed ? 1 : 0, &transformed, variant)
        var worst = 0.0
        for o in 0..<outputs {
            for c in 0..<inputs {
                let row = flipTransposed ? c : o
                let kernel: [[Double]] = (0..<3).map { u in
                    (0..<3).map { v in
                        let (a, b) = flipTransposed ? (2 - u, 2 - v) : (u, v)
                        return Double(w[((o * inputs + c) * 3 + a) * 3 + b])
                    }
                }
                let expected = Self.sandwich(Self.g, kernel, Self.g)
                for point in 0..<36 {
                    let index = point * outputs * inputs + (flipTransposed ? c * outputs + o : o * inputs + c)
                    if (1..<3).contains(row) {
                        worst = max(worst, abs(Double(transformed[index]) - expected[point / 6][point % 6]))
                    } else {
                        #expect(transformed[index] == sentinel, "row \(row) was written")
                    }
                }
            }
        }
        #expect(worst <= 1e-6, "max difference \(worst)")
    }
}
