import Foundation
import Testing

@testable import KandinskyData

/// The slow path of manifest decoding: the document parsed, then walked over the COCO schema.
/// Every mismatch names its JSON path, what was expected and what was found.
@Suite("Manifests the fast reader gives up on: the schema walk names the path of each mismatch")
struct ManifestSchemaTests {
    static let image = #"{"id": 1, "file_name": "a.jpg", "width": 8, "height": 6}"#
    static let person = #"{"id": 1, "name": "person"}"#

    func manifest(images: String = Self.image, annotations: String = "", categories: String = Self.person) -> String {
        #"{"images": [\#(images)], "annotations": [\#(annotations)], "categories": [\#(categories)]}"#
    }

    func annotation(segmentation: String = "[[0, 0, 4, 0, 4, 4]]", _ more: String = "") -> String {
        #"{"id": 5, "image_id": 1, "category_id": 1, "segmentation": \#(segmentation)\#(more)}"#
    }

    /// Expects decoding `json` to fail with a malformed-JSON error at `location` saying `problem`.
    func expectMismatch(
        _ json: String, at location: String, _ problem: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(FastManifestReader.read(Data(json.utf8)) == nil, "\(json)", sourceLocation: sourceLocation)
        let error = #expect(throws: DataError.self, "\(json)", sourceLocation: sourceLocation) {
            try COCOManifest.decode(Data(json.utf8), file: "m.json")
        }
        #expect(error?.kind == .malformedJSON, "\(json)", sourceLocation: sourceLocation)
        #expect(error?.file == "m.json", sourceLocation: sourceLocation)
        #expect(error?.location == location, "\(json)", sourceLocation: sourceLocation)
        #expect(error?.problem == problem, "\(json)", sourceLocation: sourceLocation)
    }

    @Test("a missing field is named by its path")
    func missingFields() {
        expectMismatch(#"{"images": []}"#, at: "categories", #"missing field "categories""#)
        expectMismatch(#"{"categories": []}"#, at: "images", #"missing field "images""#)
        expectMismatch(
            manifest(images: #"{"id": 1, "file_name": "a.jpg", "width": 8}"#), at: "images[0].height",
            #"missing field "height""#)
        expectMismatch(
            manifest(images: Self.image + #", {"file_name": "b.jpg", "width": 8, "height": 6}"#), at: "images[1].id",
            #"missing field "id""#)
        expectMismatch(manifest(categories: #"{"id": 1}"#), at: "categories[0].name", #"missing field "name""#)
        expectMismatch(
            manifest(annotations: #"{"id": 5, "image_id": 1, "category_id": 1}"#), at: "annotations[0].segmentation",
            #"missing field "segmentation""#)
        expectMismatch(
            manifest(annotations: annotation(segmentation: #"{"size": [6, 8]}"#)),
            at: "annotations[0].segmentation.counts", #"missing field "counts""#)
    }

    @Test("a value of the wrong kind names its path, the kind expected and the kind found")
    func wrongKinds() {
        expectMismatch("\n  \"labels\"", at: "line 2, column 3", "expected an object, found a string")
        expectMismatch(
            #"{"images": {}, "categories": []}"#, at: "images", "expected an array, found an object")
        expectMismatch(manifest(images: "7"), at: "images[0]", "expected an object, found a number")
        expectMismatch(
            manifest(images: #"{"id": 1, "file_name": 7, "width": 8, "height": 6}"#), at: "images[0].file_name",
            "expected a string, found a number")
        expectMismatch(
            manifest(categories: #"{"id": null, "name": "person"}"#), at: "categories[0].id",
            "expected an integer, found null")
        expectMismatch(
            manifest(annotations: annotation(#", "area": true"#)), at: "annotations[0].area",
            "expected a number, found a boolean")
        expectMismatch(
            manifest(annotations: annotation(#", "bbox": "x""#)), at: "annotations[0].bbox",
            "expected an array, found a string")
        expectMismatch(
            manifest(annotations: annotation(#", "bbox": [1, 2, null, 4]"#)), at: "annotations[0].bbox[2]",
            "expected a number, found null")
        expectMismatch(
            #"{"images": [], "annotations": {}, "categories": []}"#, at: "annotations",
            "expected an array, found an object")
    }

    @Test("a number where an integer belongs that is not one, or does not fit in 64 bits")
    func integersThatDoNotFit() {
        expectMismatch(
            manifest(annotations: #"{"id": 1e30, "image_id": 1, "category_id": 1, "segmentation": []}"#),
            at: "annotations[0].id", "expected an integer that fits in 64 bits, found 1e+30")
        expectMismatch(
            manifest(images: #"{"id": 1, "file_name": "a.jpg", "width": 9223372036854775808, "height": 6}"#),
            at: "images[0].width", "expected an integer that fits in 64 bits, found 9.223372036854776e+18")
        expectMismatch(
            manifest(annotations: annotation(#", "iscrowd": 0.5"#)), at: "annotations[0].iscrowd",
            "expected an integer that fits in 64 bits, found 0.5")
        expectMismatch(
            manifest(categories: #"{"id": 1e18, "name": "person"}"#), at: "categories[0].id",
            "expected an integer that fits in 64 bits, found 1e+18 (with a fraction or an exponent, whole numbers are exact only up to 2^53)"
        )
        expectMismatch(
            manifest(annotations: annotation(segmentation: #"{"size": [6.5, 8], "counts": [48]}"#)),
            at: "annotations[0].segmentation.size[0]", "expected an integer that fits in 64 bits, found 6.5")
        expectMismatch(
            manifest(annotations: annotation(segmentation: #"{"size": [6, 8], "counts": [1, 2.5]}"#)),
            at: "annotations[0].segmentation.counts[1]", "expected an integer that fits in 64 bits, found 2.5")
    }

    @Test("a segmentation that is neither polygons nor an RLE, or holds the wrong kind inside")
    func segmentations() {
        expectMismatch(
            manifest(annotations: annotation(segmentation: "[1, 2, 3]")), at: "annotations[0].segmentation[0]",
            "expected an array, found a number")
        expectMismatch(
            manifest(annotations: annotation() + ", " + annotation(segmentation: "[[0, 0, 4, 0, 4, 4], [1, {}]]")),
            at: "annotations[1].segmentation[1][1]", "expected a number, found an object")
        expectMismatch(
            manifest(annotations: annotation(segmentation: #""abc""#)), at: "annotations[0].segmentation",
            "expected polygons (an array) or an RLE (an object), found a string")
        expectMismatch(
            manifest(annotations: annotation(segmentation: "null")), at: "annotations[0].segmentation",
            "expected polygons (an array) or an RLE (an object), found null")
        expectMismatch(
            manifest(annotations: annotation(segmentation: #"{"size": [6, 8], "counts": 5}"#)),
            at: "annotations[0].segmentation.counts",
            "expected a compressed string or an array of run lengths, found a number")
        expectMismatch(
            manifest(annotations: annotation(segmentation: #"{"size": [6, "8"], "counts": [48]}"#)),
            at: "annotations[0].segmentation.size[1]", "expected an integer, found a string")
    }

    @Test("a number beyond the largest Double is named by its line, column and byte")
    func numberOutOfRange() {
        let error = #expect(throws: DataError.self) {
            try COCOManifest.decode(Data(#"{"images": [], "categories": [], "info": 1e400}"#.utf8), file: "m.json")
        }
        #expect(error?.kind == .malformedJSON && error?.location == "line 1, column 42")
        #expect(error?.problem == "invalid JSON: number out of range (byte 41)")
    }

    @Test("what the fast reader gives up on but a manifest allows: no annotations, whole numbers with a fraction")
    func acceptedBySlowPath() throws {
        let texts = [
            #"{"images": [\#(Self.image)], "annotations": null, "categories": [\#(Self.person)]}"#,
            #"{"images": [{"id": 1, "file_name": "a.jpg", "width": 8.0, "height": 6e0}], "categories": [{"id": 1, "name": "person"}]}"#,
            // A repeated key keeps its last value, as in the fast reader.
            #"{"images": [], "images": [\#(Self.image)], "annotations": null, "categories": [\#(Self.person)]}"#,
        ]
        let expected = COCOManifest(
            images: [.init(id: 1, fileName: "a.jpg", width: 8, height: 6)], annotations: [],
            categories: [.init(id: 1, name: "person")])
        for text in texts {
            #expect(FastManifestReader.read(Data(text.utf8)) == nil, "\(text)")
            #expect(try COCOManifest.decode(Data(text.utf8), file: "m.json") == expected, "\(text)")
        }
        let crowd = manifest(annotations: annotation(#", "iscrowd": 1.0, "area": 12, "bbox": null"#))
        let read = try COCOManifest.decode(Data(crowd.utf8), file: "m.json")
        #expect(
            read.annotations == [
                COCOManifest.Annotation(
                    id: 5, imageID: 1, categoryID: 1, segmentation: .polygons([[0, 0, 4, 0, 4, 4]]), isCrowd: 1,
                    area: 12)
            ])
    }
}
