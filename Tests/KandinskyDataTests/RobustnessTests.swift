import Foundation
import KandinskyData
import KandinskyTestSupport
import Testing

/// Hostile manifests and images: sizes and counts that would overflow or allocate without bound,
/// malformed JSON, and the empty segmentations real COCO exports contain.
@Suite("Hostile data: sizes, counts, JSON positions, empty segmentations")
struct RobustnessTests {
    static let image = #"{"id": 1, "file_name": "a.jpg", "width": 8, "height": 6}"#
    static let person = #"{"id": 1, "name": "person"}"#

    func manifest(images: String = Self.image, annotations: String) -> String {
        #"{"images": [\#(images)], "categories": [\#(Self.person)], "annotations": [\#(annotations)]}"#
    }

    /// The error of reading `json` as a manifest (decoding and validation).
    func readError(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) -> DataError? {
        #expect(throws: DataError.self, sourceLocation: sourceLocation) {
            let manifest = try COCOManifest.decode(Data(json.utf8), file: "m.json")
            try manifest.validate(file: "m.json")
        }
    }

    func rle(_ segmentation: String, id: Int = 5) -> String {
        #"{"id": \#(id), "image_id": 1, "category_id": 1, "iscrowd": 1, "segmentation": \#(segmentation)}"#
    }

    @Test("RLE counts of 2^62 (which overflowed the running sum) are an error naming the run")
    func rleCountOverflow() {
        let error = readError(
            manifest(annotations: rle(#"{"size": [6, 8], "counts": [4611686018427387904, 4611686018427387904]}"#)))
        #expect(error?.kind == .invalidRLE)
        #expect(error?.location == "annotations[0].segmentation.counts[0]")
        #expect(
            error?.problem
                == "annotation 5: run lengths up to run 0 already sum to 4611686018427387904, more than height · width = 48"
        )
    }

    @Test("a running sum that would pass Int.max is reported as such")
    func rleSumBeyondInt() {
        let error = readError(manifest(annotations: rle(#"{"size": [6, 8], "counts": [1, 9223372036854775807]}"#)))
        #expect(error?.kind == .invalidRLE && error?.location == "annotations[0].segmentation.counts[1]")
        #expect(error?.problem.contains("sum to more than any integer, expected a sum of height · width = 48") == true)
    }

    @Test("negative and short counts, zero and huge sizes")
    func rleCountsAndSizes() {
        let negative = readError(manifest(annotations: rle(#"{"size": [6, 8], "counts": [-1, 49]}"#)))
        #expect(negative?.kind == .invalidRLE && negative?.location == "annotations[0].segmentation.counts[0]")
        let short = readError(manifest(annotations: rle(#"{"size": [6, 8], "counts": [10, 20]}"#)))
        #expect(
            short?.location == "annotations[0].segmentation.counts"
                && short?.problem == "annotation 5: run lengths sum to 30, expected height · width = 48")
        let zero = readError(manifest(annotations: rle(#"{"size": [0, 8], "counts": []}"#)))
        #expect(zero?.kind == .invalidRLE && zero?.location == "annotations[0].segmentation.size")
        #expect(zero?.problem.contains("two positive integers, got [0, 8]") == true)
        let huge = readError(manifest(annotations: rle(#"{"size": [4611686018427387904, 4], "counts": [1]}"#)))
        #expect(huge?.kind == .exceedsLimit && huge?.location == "annotations[0].segmentation.size")
        #expect(huge?.problem.contains("268435456") == true)
    }

    @Test("compressed counts whose numbers or deltas do not fit an Int")
    func compressedOverflow() {
        // Twelve continuation characters ('P' = 48 + 32) need more than 60 bits.
        let long = readError(manifest(annotations: rle(#"{"size": [6, 8], "counts": "PPPPPPPPPPPPP0"}"#)))
        #expect(long?.kind == .invalidRLE && long?.problem.contains("too large for a run length at offset 12") == true)
        // 'n' (48 + 62) is a group of 30 with "more" set; eleven of them and a final '?'
        // (48 + 15) give counts near 2^59; from the fourth on each is added to the count two
        // back, so after some thirty of them the sum passes Int.max.
        let big = String(repeating: String(repeating: "n", count: 11) + "?", count: 60)
        let deltas = readError(manifest(annotations: rle(#"{"size": [6, 8], "counts": "\#(big)"}"#)))
        #expect(deltas?.kind == .invalidRLE && deltas?.problem.contains("too large for a run length") == true)
    }

    @Test("image entries larger than ImageLimits.maximumPixelCount, including ones whose product overflows")
    func imageSizeLimit() {
        for (width, height) in [(1 << 15, 1 << 14), (4_611_686_018_427_387_904, 4)] {
            let error = readError(
                manifest(
                    images: #"{"id": 1, "file_name": "a.jpg", "width": \#(width), "height": \#(height)}"#,
                    annotations: ""))
            #expect(error?.kind == .exceedsLimit && error?.location == "images[0]")
            #expect(
                error?.problem.contains("\(width)×\(height)") == true && error?.problem.contains("268435456") == true)
        }
        #expect(ImageLimits.maximumPixelCount == 268_435_456)
        #expect(ImageLimits.checkedPixelCount(width: 1 << 14, height: 1 << 14) == 1 << 28)
        #expect(ImageLimits.checkedPixelCount(width: (1 << 14) + 1, height: 1 << 14) == nil)
    }

    @Test("polygons far outside the image, whose boundary walk would allocate without bound")
    func polygonLimits() {
        let long = readError(
            manifest(
                annotations:
                    #"{"id": 5, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 900000000, 0, 0, 900000000]]}"#
            ))
        #expect(long?.kind == .exceedsLimit && long?.location == "annotations[0].segmentation[0]")
        let huge = readError(
            manifest(
                annotations: #"{"id": 5, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 1e10, 0, 0, 1]]}"#))
        #expect(huge?.kind == .degeneratePolygon && huge?.location == "annotations[0].segmentation[0][2]")
        #expect(huge?.problem.contains("got 10000000000.0") == true)
    }

    @Test("an empty segmentation is skipped and counted, not an error")
    func emptySegmentation() throws {
        try TemporaryCOCORoot.with(count: 2) { coco in
            coco.manifest.annotations.append(.init(id: 22, imageID: 1, categoryID: 1, segmentation: .polygons([])))
            try coco.manifest.write(to: coco.root.appendingPathComponent("labels.json"))
            let dataset = try coco.dataset()
            #expect(dataset.emptySegmentationAnnotationIDs == [22])
            #expect(
                dataset.emptySegmentationWarning
                    == "warning: \(coco.root.appendingPathComponent("labels.json").path): skipped 1 annotation with an empty segmentation (id 22)"
            )
            // The other annotation of image 1 still makes its target: the 4 × 3 rectangle of TemporaryCOCORoot.
            let target = try dataset.rawTarget(0)
            #expect(target.scalars[48...].reduce(0) { $0 + Int($1) } == 12)
            let mask = try COCOManifest.instanceMask(
                of: coco.manifest.annotations.last!, height: 6, width: 8, file: "m.json")
            #expect(mask.allSatisfy { $0 == 0 })
        }
    }

    @Test("a manifest without categories says so")
    func noCategories() throws {
        let manifest = try COCOManifest.decode(Data(#"{"images": [], "categories": []}"#.utf8), file: "m.json")
        let byName = #expect(throws: DataError.self) { try manifest.categories(.person, file: "m.json") }
        #expect(byName?.problem == #"no category named "person" (the manifest has no categories)"#)
        let byID = #expect(throws: DataError.self) { try manifest.categories(.ids([3]), file: "m.json") }
        #expect(byID?.problem == "no category with id 3 (the manifest has no categories)")
    }

    @Test("malformed JSON is reported with its line, column and what was found")
    func jsonPositions() {
        let comma = readError(#"{"images": [,]}"#)
        #expect(comma?.kind == .malformedJSON && comma?.location == "line 1, column 13")
        #expect(comma?.problem == "invalid JSON: expected a value, found ',' (byte 12)")
        let lines = readError("{\n  \"images\": [\n    1 2]}")
        #expect(
            lines?.location == "line 3, column 7"
                && lines?.problem == "invalid JSON: expected ',' or ']' in an array, found '2' (byte 22)")
        let truncated = readError(#"{"images": [{"id": 1"#)
        #expect(truncated?.location == "line 1, column 21" && truncated?.problem.contains("end of input") == true)
    }

    @Test("valid JSON that is not a manifest names the place and the kinds expected and found")
    func notAManifest() {
        let fraction = readError(
            "{\"images\": [{\"id\": 1, \"file_name\": \"a.jpg\",\n \"width\": 8.5, \"height\": 6}], \"categories\": []}"
        )
        #expect(fraction?.kind == .malformedJSON && fraction?.location == "images[0].width")
        #expect(fraction?.problem == "expected an integer that fits in 64 bits, found 8.5")
        let string = readError(
            #"{"images": [{"id": 1, "file_name": "a.jpg", "width": "8", "height": 6}], "categories": []}"#)
        #expect(string?.location == "images[0].width" && string?.problem == "expected an integer, found a string")
        let polygon = readError(
            manifest(annotations: #"{"id": 5, "image_id": 1, "category_id": 1, "segmentation": [[1, 2, "x"]]}"#))
        #expect(
            polygon?.location == "annotations[0].segmentation[0][2]"
                && polygon?.problem == "expected a number, found a string")
        let array = readError("[]")
        #expect(array?.location == "line 1, column 1" && array?.problem == "expected an object, found an array")
    }

    @Test("NaN and Infinity, as Python's json.dump writes them, get a message of their own")
    func nonFiniteNumbers() {
        for word in ["NaN", "Infinity", "-Infinity"] {
            let error = readError(#"{"images": [], "categories": [], "info": {"score": \#(word)}}"#)
            #expect(error?.location == "line 1, column 52")
            #expect(
                error?.problem
                    == "invalid JSON: \(word) is not valid JSON; write it with allow_nan=False or replace it (e.g. with null) (byte 51)"
            )
        }
    }

    @Test("nesting deeper than the reader allows is an error, not a stack overflow")
    func deepNesting() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let error = readError(#"{"images": [], "categories": [], "info": \#(deep)}"#)
        #expect(error?.kind == .malformedJSON && error?.problem.contains("nesting deeper than 512 levels") == true)
    }

    @Test("kept numbers with a fraction keep it through a write and read (found by the fuzz suite)")
    func keptNumbersKeepTheirKind() throws {
        let text = #"{"images": [], "categories": [], "info": {"a": 300.0, "b": -0.0, "c": 1e20, "d": 2.5, "e": 7}}"#
        let manifest = try COCOManifest.decode(Data(text.utf8), file: "m.json")
        let written = String(decoding: manifest.encoded(), as: UTF8.self)
        #expect(
            written.contains(#""a":300.0"#) && written.contains(#""b":-0.0"#) && written.contains(#""c":1e+20"#)
                && written.contains(#""e":7"#))
        #expect(try COCOManifest.decode(manifest.encoded(), file: "again.json") == manifest)
    }

    @Test(
        "19-digit integers in kept fields stay integers through a write and read (found by the fuzz campaign)"
    )
    func keptLongIntegers() throws {
        let text =
            #"{"images": [], "categories": [], "info": {"max": 9223372036854775807, "min": -9223372036854775808, "beyond": 9223372036854775808}}"#
        let manifest = try COCOManifest.decode(Data(text.utf8), file: "m.json")
        #expect(
            manifest.extra["info"]
                == .object(["max": .integer(.max), "min": .integer(.min), "beyond": .number(9_223_372_036_854_775_808)])
        )
        #expect(try COCOManifest.decode(manifest.encoded(), file: "again.json") == manifest)
    }

    @Test("numbers outside JSON's grammar are refused by the fast reader too, with their position")
    func strictNumbers() {
        // The value starts at column 42; "1." is wrong where a digit should follow the point.
        for (literal, reason, column) in [
            ("01", "number has a leading zero", 42), (".5", "expected a value, found '.'", 42),
            ("1.", "invalid number: no digits after '.'", 44), ("+1", "expected a value, found '+'", 42),
        ] {
            let error = readError(#"{"images": [], "categories": [], "info": \#(literal)}"#)
            #expect(error?.location == "line 1, column \(column)", "\(literal)")
            #expect(
                error?.problem.hasPrefix("invalid JSON: \(reason)") == true, "\(literal): \(String(describing: error))")
        }
    }

    // MARK: Image headers

    /// The two compressed formats, whose headers state the image's size.
    enum HeaderFormat: String, Sendable {
        case jpeg = "JPEG"
        case png = "PNG"

        var fileExtension: String { self == .jpeg ? "jpg" : "png" }

        /// A 5 × 3 image whose header (the JPEG's frame header, the PNG's IHDR with a valid CRC)
        /// claims `width × height`.
        func claiming(width: Int, height: Int) -> Data {
            let pixels = [UInt8](repeating: 90, count: 45)
            switch self {
            case .jpeg:
                var bytes = Array(JPEGImage.encode(rgb8: pixels, width: 5, height: 3))
                #expect(JPEGMarkers.setSize(&bytes, width: UInt16(width), height: UInt16(height)))
                return Data(bytes)
            case .png:
                var bytes = Array(PNGImage.encode(rgb8: pixels, width: 5, height: 3))
                PNGChunks.setSize(&bytes, width: UInt32(width), height: UInt32(height))
                return Data(bytes)
            }
        }
    }

    @Test(
        "a header claiming another size than the manifest's is refused before decoding",
        arguments: [HeaderFormat.jpeg, .png])
    func headerAgainstManifest(format: HeaderFormat) {
        let expected = ImageSize(width: 170, height: 113)
        let file = "bomb.\(format.fileExtension)"
        let error = #expect(throws: DataError.self) {
            try RGBImage(decoding: format.claiming(width: 30000, height: 30000), file: file, expectedSize: expected)
        }
        #expect(error?.kind == .imageSizeMismatch && error?.file == file)
        #expect(error?.problem == "the \(format.rawValue) header gives 30000×30000 pixels, expected 170×113")
        // The true size decodes.
        #expect(throws: Never.self) {
            try RGBImage(
                decoding: format.claiming(width: 5, height: 3), file: "ok.\(format.fileExtension)",
                expectedSize: ImageSize(width: 5, height: 3))
        }
    }

    @Test(
        "without a manifest, headers beyond ImageLimits.maximumPixelCount are refused",
        arguments: [(HeaderFormat.jpeg, 45000), (.png, 30000)])
    func headerAgainstLimit(format: HeaderFormat, side: Int) {
        let error = #expect(throws: DataError.self) {
            try RGBImage(decoding: format.claiming(width: side, height: side), file: "bomb.\(format.fileExtension)")
        }
        #expect(
            error?.kind == .exceedsLimit
                && error?.problem
                    == "the \(format.rawValue) header gives \(side)×\(side) pixels, more than the 268435456 Kandinsky decodes (ImageLimits.maximumPixelCount)"
        )
    }

    @Test("a dataset image whose header disagrees with the manifest names the image and the manifest")
    func datasetHeaderMismatch() throws {
        try TemporaryCOCORoot.with(count: 1) { coco in
            var bytes = Array(try Data(contentsOf: coco.root.appendingPathComponent("data/1.jpg")))
            #expect(JPEGMarkers.setSize(&bytes, width: 30000, height: 30000))
            try coco.corrupt("1.jpg", with: Data(bytes))
            let error = #expect(throws: DataError.self) { try coco.dataset().rawImage(0) }
            #expect(
                error?.kind == .imageSizeMismatch && error?.location == "image 1"
                    && error?.file.hasSuffix("data/1.jpg") == true)
            #expect(
                error?.problem
                    == "the JPEG header gives 30000×30000 pixels, expected 8×6 as \(coco.root.appendingPathComponent("labels.json").path) gives"
            )
        }
    }
}
