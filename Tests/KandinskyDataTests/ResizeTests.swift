import Foundation
import KandinskyCore
import KandinskyData
import Testing

@Suite("Resize and pad")
struct ResizeTests {
    struct Case: Decodable {
        let width: Int
        let height: Int
        let source: Data
        let outWidth: Int
        let outHeight: Int
        let expected: Data
    }

    static let cases = try! fixtures.decode([Case].self, from: "resize.json")

    @Test("bilinear resizing matches Pillow's resize(..., BILINEAR) within 2/255 (shrinking, enlarging, mixed)")
    func pillowParity() {
        #expect(Self.cases.count == 12)
        for c in Self.cases {
            let source = RGBImage(width: c.width, height: c.height, pixels: [UInt8](c.source))
            let resized = PillowBilinear.resize(source, width: c.outWidth, height: c.outHeight)
            #expect(resized.width == c.outWidth && resized.height == c.outHeight)
            expectBytes(
                resized.pixels, [UInt8](c.expected), tolerance: 2,
                "\(c.width)×\(c.height) → \(c.outWidth)×\(c.outHeight)")
        }
    }

    @Test(
        "sizes follow the original's rule, with the overflow fixed",
        arguments: [
            // (w, h) → (newW, newH, left, top) in 320 × 240.
            ((640, 424), (320, 211, 0, 14)),
            ((640, 480), (320, 240, 0, 0)),
            ((640, 512), (300, 240, 10, 0)),  // original: 320 × 256, taller than the canvas
            ((480, 640), (180, 240, 70, 0)),
            ((500, 500), (240, 240, 40, 0)),
            ((1000, 100), (320, 32, 0, 104)),
            ((100, 1000), (24, 240, 148, 0)),
            ((427, 640), (160, 240, 80, 0)),
        ])
    func placement(source: (Int, Int), expected: (Int, Int, Int, Int)) {
        let place = ResizeAndPad().placement(sourceWidth: source.0, sourceHeight: source.1)
        #expect(place == .init(width: expected.0, height: expected.1, left: expected.2, top: expected.3))
    }

    @Test("the padded image is [3, H, W] with the resized pixels centred and zeros around")
    func paddedImage() {
        // A uniform 8 × 2 image into a 4 × 4 canvas: 4 × 1 at top ⌊3 / 2⌋ = 1.
        let image = RGBImage(
            width: 8, height: 2,
            pixels: [UInt8](repeating: 0, count: 48).enumerated().map { $0.offset % 3 == 0 ? 255 : 51 })
        let tensor = ResizeAndPad(width: 4, height: 4).image(image)
        #expect(tensor.shape == [3, 4, 4])
        for y in 0..<4 {
            for x in 0..<4 {
                #expect(tensor[0, y, x] == (y == 1 ? 1 : 0))
                #expect(tensor[1, y, x] == (y == 1 ? 0.2 : 0))
            }
        }
    }

    @Test(
        "padding is zero exactly outside the placement, for landscape and portrait images",
        arguments: [(8, 2), (2, 8), (5, 4), (7, 7)])
    func paddingBands(size: (Int, Int)) {
        let dims = ResizeAndPad(width: 6, height: 5)
        let place = dims.placement(sourceWidth: size.0, sourceHeight: size.1)
        let tensor = dims.image(
            RGBImage(width: size.0, height: size.1, pixels: [UInt8](repeating: 255, count: size.0 * size.1 * 3)))
        for c in 0..<3 {
            for y in 0..<5 {
                for x in 0..<6 {
                    let inside =
                        (place.left..<(place.left + place.width)).contains(x)
                        && (place.top..<(place.top + place.height)).contains(y)
                    #expect(tensor[c, y, x] == (inside ? 1 : 0), "\(size) at \(c), \(y), \(x)")
                }
            }
        }
    }

    @Test("nearest-neighbour source rows use PyTorch's Float32 scale (500 → 240 differs from exact arithmetic)")
    func nearestIndices() {
        // Rows where ⌊dst · Float(500/240)⌋ (PyTorch) and ⌊dst · 500 / 240⌋ (exact) disagree.
        for (dst, torch) in [(60, 124), (108, 224), (120, 249), (204, 424), (216, 449), (228, 474)] {
            #expect(ResizeAndPad.nearestSourceIndex(dst, inputCount: 500, outputCount: 240) == torch)
        }
        #expect(ResizeAndPad.nearestSourceIndex(61, inputCount: 500, outputCount: 240) == 127)
        #expect(ResizeAndPad.nearestSourceIndex(239, inputCount: 500, outputCount: 240) == 497)
        #expect(
            (0..<10).map { ResizeAndPad.nearestSourceIndex($0, inputCount: 5, outputCount: 10) } == [
                0, 0, 1, 1, 2, 2, 3, 3, 4, 4,
            ])
        #expect((0..<3).map { ResizeAndPad.nearestSourceIndex($0, inputCount: 7, outputCount: 3) } == [0, 2, 4])
    }

    @Test("targets are resized by nearest neighbour and padded with background")
    func paddedTarget() {
        // [2, 2, 4]: category pixels in column 0 and 3 of row 0; into 2 × 2 → placement 2 × 1, top 0.
        let target = ShapedArray<UInt8>(
            shape: [2, 2, 4],
            scalars: [
                0, 1, 1, 0, 1, 1, 1, 1,
                1, 0, 0, 1, 0, 0, 0, 0,
            ])
        let resized = ResizeAndPad(width: 2, height: 2).target(target)
        #expect(resized.shape == [2, 2, 2])
        // Column sources ⌊x · 2⌋ = 0, 2; row source 0; the bottom row is padding.
        #expect(
            resized.scalars == [
                0, 1, 1, 1,
                1, 0, 0, 0,
            ])
    }
}
