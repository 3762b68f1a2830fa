import Foundation
import KandinskyCore
import KandinskyData
import KandinskyTestSupport
import Testing

@Suite("Synthetic dataset and splits")
struct SyntheticDatasetTests {
    static let small = SyntheticDataset(
        trainCount: 5, validationCount: 2, calibrationCount: 7, testCount: 3, width: 48, height: 36, seed: 7)

    /// Every file `dataset` writes, keyed by its path under the root it is written to (a scratch
    /// directory, removed again).
    static func writtenFiles(_ dataset: SyntheticDataset) throws -> [String: Data] {
        try withScratchDirectory("data") { root in
            try dataset.write(to: root)
            var files: [String: Data] = [:]
            let enumerator = try #require(FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil))
            for case let url as URL in enumerator where !url.hasDirectoryPath {
                files[String(url.path.dropFirst(root.path.count))] = try Data(contentsOf: url)
            }
            return files
        }
    }

    /// The files of `dataset` written twice, then once with seed 8, each time to a root of its
    /// own, keyed by their paths under it.
    static func twiceAndReseeded(_ dataset: SyntheticDataset) throws -> (
        first: [String: Data], second: [String: Data], reseeded: [String: Data]
    ) {
        var other = dataset
        other.seed = 8
        return (try writtenFiles(dataset), try writtenFiles(dataset), try writtenFiles(other))
    }

    @Test("the same seed gives byte-identical files; another seed differs")
    func determinism() throws {
        let (a, b, c) = try Self.twiceAndReseeded(Self.small)
        #expect(a.count == 14 + 3 + 5)
        #expect(a == b)
        #expect(a["/trainval/labels.json"] != c["/trainval/labels.json"])
    }

    @Test("the output is valid COCO: layout, sizes, non-empty masks, polygons and compressed RLE, varied aspect ratios")
    func validity() throws {
        try withScratchDirectory("data") { root in
            var dataset = Self.small
            dataset.trainCount = 20
            dataset.calibrationCount = 10
            try dataset.write(to: root)
            let trainval = try COCOManifest.read(contentsOf: root.appendingPathComponent("trainval/labels.json"))
            let test = try COCOManifest.read(contentsOf: root.appendingPathComponent("test/labels.json"))
            #expect(trainval.images.count == 32 && test.images.count == 3)
            #expect(trainval.categories.map(\.name) == ["person", "clutter"])
            var kinds = Set<String>()
            var aspects = Set<Int>()
            var extensions = Set<String>()
            for (part, manifest) in [("trainval", trainval), ("test", test)] {
                let byImage = manifest.annotationsByImage()
                for image in manifest.images {
                    let decoded = try RGBImage(
                        contentsOf: root.appendingPathComponent("\(part)/data/\(image.fileName)"))
                    #expect(decoded.width == image.width && decoded.height == image.height)
                    aspects.insert(image.width * 100 / image.height)
                    extensions.insert(URL(fileURLWithPath: image.fileName).pathExtension)
                    let annotations = byImage[image.id] ?? []
                    #expect(annotations.contains { $0.categoryID == 1 }, "image \(image.id) has no person")
                    for annotation in annotations {
                        let mask = try COCOManifest.instanceMask(
                            of: annotation, height: image.height, width: image.width, file: "labels.json")
                        let area = mask.reduce(0) { $0 + Int($1) }
                        #expect(area > 0 && Double(area) == annotation.area, "annotation \(annotation.id)")
                        switch annotation.segmentation {
                        case .polygons: kinds.insert("polygons")
                        case .rle(let stored):
                            if case .compressed = stored.counts { kinds.insert("compressed RLE") }
                        }
                    }
                }
            }
            #expect(kinds == ["polygons", "compressed RLE"])
            #expect(aspects.count >= 4)
            #expect(extensions == ["jpg", "png"])
        }
    }

    @Test("splits are disjoint, cover the manifest, keep annotations and categories, and depend only on the seed")
    func split() throws {
        let manifest = try COCOManifest.read(contentsOf: fixtures.url("labels.json"))
        var big = manifest
        big.images = (1...40).map { COCOManifest.Image(id: $0 * 3, fileName: "\($0).jpg", width: 10, height: 10) }
        big.annotations = (1...40).map {
            COCOManifest.Annotation(
                id: $0, imageID: $0 * 3, categoryID: 1, segmentation: .polygons([[0, 0, 5, 0, 5, 5]]))
        }
        for seed in [0, 1, 42] as [UInt64] {
            var generator = SeededGenerator(seed: seed)
            let split = try big.split(trainCount: 10, validationCount: 5, using: &generator)
            let parts = [split.train, split.validation, split.calibration]
            #expect(parts.map(\.images.count) == [10, 5, 25])
            let ids = parts.map { Set($0.images.map(\.id)) }
            #expect(
                ids[0].isDisjoint(with: ids[1]) && ids[0].isDisjoint(with: ids[2]) && ids[1].isDisjoint(with: ids[2]))
            #expect(ids[0].union(ids[1]).union(ids[2]) == Set(big.images.map(\.id)))
            for part in parts {
                #expect(part.categories == big.categories)
                #expect(
                    part.annotations.allSatisfy { annotation in part.images.contains { $0.id == annotation.imageID } })
                #expect(part.annotations.count == part.images.count)
            }
            var again = SeededGenerator(seed: seed)
            #expect(try big.split(trainCount: 10, validationCount: 5, using: &again).train == split.train)
        }
        var a = SeededGenerator(seed: 1)
        var b = SeededGenerator(seed: 2)
        #expect(
            try big.split(trainCount: 10, validationCount: 5, using: &a).train
                != big.split(trainCount: 10, validationCount: 5, using: &b).train)
        var generator = SeededGenerator(seed: 0)
        let error = #expect(throws: DataError.self) {
            try big.split(trainCount: 30, validationCount: 11, using: &generator)
        }
        #expect(error?.kind == .invalidRequest)
    }

    @Test("a manifest survives a write and read unchanged, unknown fields included")
    func roundTrip() throws {
        let data = Data(
            #"{"info": {"year": 2017}, "licenses": [{"id": 1}], "images": [{"id": 4, "file_name": "x.jpg", "width": 3, "height": 2, "coco_url": "u"}], "annotations": [{"id": 9, "image_id": 4, "category_id": 1, "iscrowd": 0, "segmentation": [[0, 0, 2.5, 0, 2, 1.75]], "area": 2.0, "bbox": [0, 0, 2.5, 1.75]}], "categories": [{"id": 1, "name": "person", "supercategory": "person"}]}"#
                .utf8)
        let manifest = try COCOManifest.decode(data, file: "m.json")
        #expect(manifest.extra["licenses"] == .array([.object(["id": .integer(1)])]))
        #expect(manifest.images[0].extra["coco_url"] == .string("u"))
        #expect(try COCOManifest.decode(manifest.encoded(), file: "m.json") == manifest)
    }
}
