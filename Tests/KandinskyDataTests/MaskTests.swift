import Foundation
import KandinskyData
import Testing

@Suite("COCO masks match pycocotools")
struct MaskTests {
    struct Expected: Decodable {
        struct Encoding: Decodable {
            let height: Int
            let width: Int
            let bits: Data
            let counts: String
        }

        let annotations: [String: Data]
        let categories: [String: Data]
        let encodings: [Encoding]
    }

    static let expected = try! fixtures.decode(Expected.self, from: "masks.json")
    static let manifest = try! COCOManifest.read(contentsOf: fixtures.url("labels.json"))

    @Test("every annotation's mask equals annToMask (polygons incl. self-intersecting and multi-part, both RLE forms)")
    func instanceMasks() throws {
        let images = Dictionary(uniqueKeysWithValues: Self.manifest.images.map { ($0.id, $0) })
        #expect(Self.manifest.annotations.count == 38)
        for annotation in Self.manifest.annotations {
            let image = try #require(images[annotation.imageID])
            let mask = try COCOManifest.instanceMask(
                of: annotation, height: image.height, width: image.width, file: "labels.json")
            let bits = try #require(Self.expected.annotations[String(annotation.id)])
            expectBytes(mask, unpackBits(bits, count: image.height * image.width), "annotation \(annotation.id)")
        }
    }

    @Test("the target is [1 + C, H, W]: per-category unions, background where no chosen category is")
    func targets() throws {
        let byImage = Self.manifest.annotationsByImage()
        let categories = try Self.manifest.categories(.names(["person", "kite"]), file: "labels.json")
        #expect(categories.map(\.id) == [1, 7])
        for image in Self.manifest.images {
            let target = try COCOManifest.target(
                height: image.height, width: image.width, annotations: byImage[image.id] ?? [], categories: categories,
                file: "labels.json")
            #expect(target.shape == [3, image.height, image.width])
            let plane = image.height * image.width
            let scalars = target.scalars
            var union = [UInt8](repeating: 0, count: plane)
            for (channel, category) in categories.enumerated() {
                let expected = unpackBits(
                    try #require(Self.expected.categories["\(image.id)/\(category.id)"]), count: plane)
                expectBytes(
                    Array(scalars[(channel + 1) * plane..<(channel + 2) * plane]), expected,
                    "image \(image.id) category \(category.name)")
                for i in 0..<plane { union[i] |= expected[i] }
            }
            expectBytes(Array(scalars[0..<plane]), union.map { 1 - $0 }, "image \(image.id) background")
        }
    }

    @Test("categories are chosen by name or id, in the order given")
    func categorySelection() throws {
        #expect(try Self.manifest.categories(.ids([7, 1]), file: "f").map(\.name) == ["kite", "person"])
        #expect(CategorySelection(parsing: "7,1") == .ids([7, 1]))
        #expect(CategorySelection(parsing: "person, kite") == .names(["person", "kite"]))
        let error = #expect(throws: DataError.self) { try Self.manifest.categories(.names(["dog"]), file: "f") }
        #expect(error?.kind == .unknownCategory)
    }

    @Test("compressed RLE strings equal pycocotools' encode and decode back to the mask")
    func compressedRLE() throws {
        for encoding in Self.expected.encodings {
            let bits = unpackBits(encoding.bits, count: encoding.height * encoding.width)
            let rle = RunLengthEncoding(mask: bits, height: encoding.height, width: encoding.width)
            #expect(rle.compressedCounts == encoding.counts)
            let decoded = try RunLengthEncoding(
                .init(size: [encoding.height, encoding.width], counts: .compressed(encoding.counts)))
            #expect(decoded == rle)
            expectBytes(decoded.decoded(), bits, "\(encoding.height)×\(encoding.width) decode")
        }
    }

    @Test("a hand-checked RLE: runs are column-major and start with zeros")
    func handRLE() throws {
        // 2×3 mask, column-major order 0 1 | 1 1 | 0 0  → runs 1, 3, 2.
        let rle = try RunLengthEncoding(height: 2, width: 3, counts: [1, 3, 2])
        #expect(
            rle.decoded() == [
                0, 1, 0,
                1, 1, 0,
            ])
    }
}
