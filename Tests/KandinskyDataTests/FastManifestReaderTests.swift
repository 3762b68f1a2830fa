import Foundation
import KandinskyTestSupport
import Testing

@testable import KandinskyData

@Suite("The fast manifest reader agrees with the schema walk over the parsed document")
struct FastManifestReaderTests {
    /// The manifest read by the slow path: the document parsed, then walked by ``ManifestSchema``.
    static func walked(_ data: Data) throws -> COCOManifest {
        try ManifestSchema.manifest(COCOManifest.parse(data, file: "m.json"))
    }

    static let tricky = #"""
        { "info": {"description": "caf\u00e9 \ud83d\ude00 \"quoted\" \\ \/ \n", "year": 2017, "ratio": 1.5e-3, "flag": true, "none": null, "neg": -12},
          "licenses": [],
          "images": [ {"id": 7, "file_name": "Zürich/ä b.jpg", "width": 640, "height": 480, "coco_url": "http://x/7.jpg", "extra": [1, 2.25, "s", false]} ],
          "annotations": [
            {"id": 1, "image_id": 7, "category_id": 1, "segmentation": [[0.5, 1e1, 20.125, -3, 4, 5.000000000000001]], "area": null, "bbox": [1, 2, 3.5, 4], "iscrowd": 0, "unused": {"a": [null]}},
            {"id": 2, "image_id": 7, "category_id": 1, "segmentation": {"size": [480, 640], "counts": [307200]}, "iscrowd": 1},
            {"id": 3, "image_id": 7, "category_id": 1, "segmentation": {"counts": "0]`6", "size": [480, 640]}}
          ],
          "categories": [ {"id": 1, "name": "person", "supercategory": "person", "keypoints": ["nose"]} ] }
        """#

    @Test("on the fixture manifest, a synthetic one and a tricky one (escapes, Unicode, nulls, exponents, extras)")
    func agreement() throws {
        let synthetic = SyntheticDataset(
            trainCount: 3, validationCount: 1, calibrationCount: 1, testCount: 0, width: 40, height: 30, seed: 1)
        try withScratchDirectory("data") { root in
            try synthetic.write(to: root)
            let sources = [
                try Data(contentsOf: fixtures.url("labels.json")),
                try Data(contentsOf: root.appendingPathComponent("trainval/labels.json")), Data(Self.tricky.utf8),
            ]
            for (index, data) in sources.enumerated() {
                let fast = try #require(FastManifestReader.read(data), "source \(index) fell back to the slow path")
                #expect(fast == (try Self.walked(data)), "source \(index)")
            }
            let tricky = try #require(FastManifestReader.read(Data(Self.tricky.utf8)))
            #expect(tricky.images[0].fileName == "Zürich/ä b.jpg")
            #expect(
                tricky.extra["info"].flatMap { if case .object(let o) = $0 { o["description"] } else { nil } }
                    == .string("café 😀 \"quoted\" \\ / \n"))
        }
    }

    @Test("the fast writer's output reads back to the same manifest through both readers")
    func writing() throws {
        let manifest = try COCOManifest.decode(Data(Self.tricky.utf8), file: "m.json")
        var withNumbers = manifest
        withNumbers.annotations[0].segmentation = .polygons([[0.1, 1e-7, 123456789012.5, -0.0, 3, 1e20]])
        withNumbers.images[0].extra["weird"] = .string("tab\there \u{01} \"q\" back\\slash")
        for value in [manifest, withNumbers] {
            let data = value.encoded()
            #expect(try Self.walked(data) == value)
            #expect(FastManifestReader.read(data) == value)
            #expect(value.encoded() == data)
        }
    }

    @Test("malformed input is left to the slow path, which reports it")
    func fallback() {
        for text in [
            #"{"images": [,]}"#,
            #"{"images": [{"id": 1.5, "file_name": "a", "width": 1, "height": 1}], "categories": []}"#,
            #"{"images": [], "categories": []} trailing"#,
            #"{"images": [{"id": 1, "width": 1, "height": 1}], "categories": []}"#,
        ] {
            #expect(FastManifestReader.read(Data(text.utf8)) == nil, "\(text)")
            #expect(throws: DataError.self) { try COCOManifest.decode(Data(text.utf8), file: "m.json") }
        }
    }
}
