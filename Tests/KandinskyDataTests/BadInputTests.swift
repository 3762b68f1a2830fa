import Foundation
import KandinskyData
import KandinskyTestSupport
import Testing

@Suite("Bad input gives typed errors naming the file and place")
struct BadInputTests {
    static let goodImage = #"{"id": 1, "file_name": "a.jpg", "width": 8, "height": 6}"#
    static let person = #"{"id": 1, "name": "person"}"#

    func manifestError(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) -> DataError? {
        return try! withScratchDirectory("data") { root in
            let url = root.appendingPathComponent("labels.json")
            try! Data(json.utf8).write(to: url)
            let error = #expect(throws: DataError.self, sourceLocation: sourceLocation) {
                try COCOManifest.read(contentsOf: url)
            }
            #expect(error?.file == url.path, sourceLocation: sourceLocation)
            return error
        }
    }

    func annotation(_ body: String) -> String {
        #"{"images": [\#(Self.goodImage)], "categories": [\#(Self.person)], "annotations": [\#(body)]}"#
    }

    @Test("malformed JSON, and JSON that is not a manifest, with the JSON path")
    func malformed() {
        #expect(manifestError(#"{"images": [,]}"#)?.kind == .malformedJSON)
        let missing = manifestError(#"{"images": [{"id": 1, "width": 8, "height": 6}], "categories": []}"#)
        #expect(missing?.kind == .malformedJSON && missing?.location == "images[0].file_name")
    }

    @Test("an annotation for an unknown image")
    func unknownImage() {
        let error = manifestError(
            annotation(#"{"id": 5, "image_id": 9, "category_id": 1, "segmentation": [[0, 0, 4, 0, 4, 4]]}"#))
        #expect(error?.kind == .unknownImage && error?.location == "annotations[0].image_id")
    }

    @Test("an unknown category, in an annotation or in a selection")
    func unknownCategory() throws {
        let error = manifestError(
            annotation(#"{"id": 5, "image_id": 1, "category_id": 3, "segmentation": [[0, 0, 4, 0, 4, 4]]}"#))
        #expect(error?.kind == .unknownCategory && error?.location == "annotations[0].category_id")
        let manifest = try COCOManifest.decode(Data(annotation("").utf8), file: "m.json")
        let selection = #expect(throws: DataError.self) { try manifest.categories(.ids([4]), file: "m.json") }
        #expect(selection?.kind == .unknownCategory && selection?.file == "m.json")
    }

    @Test("a polygon with fewer than 3 points")
    func degeneratePolygon() {
        let error = manifestError(
            annotation(
                #"{"id": 5, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 4, 0, 4, 4], [1, 1, 2, 2]]}"#))
        #expect(error?.kind == .degeneratePolygon && error?.location == "annotations[0].segmentation[1]")
    }

    @Test("RLE counts not summing to h·w, bad compressed strings, and RLE sizes unlike the image")
    func badRLE() {
        let sum = manifestError(
            annotation(
                #"{"id": 5, "image_id": 1, "category_id": 1, "iscrowd": 1, "segmentation": {"size": [6, 8], "counts": [10, 20]}}"#
            ))
        #expect(sum?.kind == .invalidRLE && sum?.location == "annotations[0].segmentation.counts")
        let string = manifestError(
            annotation(#"{"id": 5, "image_id": 1, "category_id": 1, "segmentation": {"size": [6, 8], "counts": "0~"}}"#)
        )
        #expect(string?.kind == .invalidRLE)
        let size = manifestError(
            annotation(#"{"id": 5, "image_id": 1, "category_id": 1, "segmentation": {"size": [8, 6], "counts": [48]}}"#)
        )
        #expect(size?.kind == .invalidRLE && size?.location == "annotations[0].segmentation.size")
    }

    @Test("missing, truncated and non-image files, and images whose size disagrees with the manifest")
    func badImages() throws {
        try TemporaryCOCORoot.with { coco in
            try FileManager.default.removeItem(at: coco.root.appendingPathComponent("data/1.jpg"))
            let png = try Data(contentsOf: coco.root.appendingPathComponent("data/2.png"))
            try coco.corrupt("2.png", with: png.prefix(png.count - 20))
            let jpeg = try Data(contentsOf: coco.root.appendingPathComponent("data/3.jpg"))
            try coco.corrupt("3.jpg", with: jpeg.prefix(jpeg.count / 2))
            try coco.corrupt("4.png", with: Data("hello".utf8))
            coco.manifest.images[4].width = 9
            try coco.manifest.write(to: coco.root.appendingPathComponent("labels.json"))
            let dataset = try coco.dataset()
            let expectations: [(Int, DataError.Kind, String)] = [
                (0, .missingFile, "1.jpg"), (1, .undecodableImage, "2.png"), (2, .undecodableImage, "3.jpg"),
                (3, .undecodableImage, "4.png"), (4, .imageSizeMismatch, "5.jpg"),
            ]
            for (index, kind, file) in expectations {
                let error = #expect(throws: DataError.self) { try dataset.sample(index) }
                #expect(
                    error?.kind == kind && error?.file.hasSuffix("data/\(file)") == true,
                    "\(file): \(String(describing: error))")
            }
            let mismatch = #expect(throws: DataError.self) { try dataset.sample(4) }
            #expect(mismatch?.location == "image 5" && mismatch?.description.contains("9×6") == true)
            #expect(try dataset.sample(5).imageID == 6)
        }
    }
}
