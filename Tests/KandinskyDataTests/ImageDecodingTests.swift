import Foundation
import KandinskyData
import Testing

@Suite("Image decoding matches Pillow")
struct ImageDecodingTests {
    struct Expected: Decodable {
        let width: Int
        let height: Int
        let rgb: Data
    }

    static let expectations = try! fixtures.decode([String: Expected].self, from: "images.json")
    static let pngNames = expectations.keys.filter { $0.hasSuffix(".png") }.sorted()
    static let jpegNames = expectations.keys.filter { $0.hasSuffix(".jpg") }.sorted()

    @Test("every PNG colour type and bit depth decodes exactly as Pillow's convert(\"RGB\")", arguments: pngNames)
    func png(name: String) throws {
        let expected = try #require(Self.expectations[name])
        let image = try RGBImage(contentsOf: fixtures.url("images/\(name)"))
        #expect(image.width == expected.width && image.height == expected.height)
        expectBytes(image.pixels, [UInt8](expected.rgb), name)
    }

    @Test("JPEGs (RGB, greyscale, CMYK) decode within 1/255 of Pillow", arguments: jpegNames)
    func jpeg(name: String) throws {
        let expected = try #require(Self.expectations[name])
        let image = try RGBImage(contentsOf: fixtures.url("images/\(name)"))
        #expect(image.width == expected.width && image.height == expected.height)
        expectBytes(image.pixels, [UInt8](expected.rgb), tolerance: 1, name)
    }

    @Test("the planar tensor is [3, H, W] with pixel / 255")
    func planarTensor() {
        let image = RGBImage(width: 2, height: 1, pixels: [255, 0, 51, 0, 102, 255])
        let tensor = image.planarTensor()
        #expect(tensor.shape == [3, 1, 2])
        #expect(tensor.scalars == [1, 0, 0, 0.4, 0.2, 1])
    }

    @Test("PNG writing round-trips RGB and greyscale exactly")
    func pngRoundTrip() throws {
        let pixels: [UInt8] = (0..<(5 * 3 * 3)).map { UInt8(($0 * 37) % 256) }
        let rgb = try RGBImage(decoding: PNGImage.encode(rgb8: pixels, width: 5, height: 3), file: "memory")
        #expect(rgb == RGBImage(width: 5, height: 3, pixels: pixels))
        let grey: [UInt8] = [0, 17, 200, 255, 3, 9]
        let decodedGrey = try RGBImage(decoding: PNGImage.encode(grey8: grey, width: 3, height: 2), file: "memory")
        #expect(decodedGrey.pixels == grey.flatMap { [$0, $0, $0] })
    }

    @Test("JPEG encoding is deterministic and decodes close to its input")
    func jpegRoundTrip() throws {
        var pixels: [UInt8] = []
        for i in 0..<(16 * 16) {
            pixels += [UInt8(i % 16 * 8), UInt8(i / 16 * 8), 128]
        }
        let first = JPEGImage.encode(rgb8: pixels, width: 16, height: 16, quality: 95)
        #expect(first == JPEGImage.encode(rgb8: pixels, width: 16, height: 16, quality: 95))
        let decoded = try RGBImage(decoding: first, file: "memory")
        expectBytes(decoded.pixels, pixels, tolerance: 12, "JPEG round trip")
    }
}
