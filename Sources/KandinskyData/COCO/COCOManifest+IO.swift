import Foundation
import KandinskyCore

extension COCOManifest {
    /// Reads and validates a manifest (see `validate(file:)`).
    public static func read(contentsOf url: URL) throws(DataError) -> COCOManifest {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw DataError(
                .missingFile, file: url.path,
                problem:
                    "cannot read the manifest (\(FileManager.default.fileExists(atPath: url.path) ? "unreadable" : "no such file"))"
            )
        }
        let manifest = try decode(data, file: url.path)
        try manifest.validate(file: url.path)
        return manifest
    }

    /// Decodes manifest JSON without validating it; `file` names it in errors. Malformed JSON
    /// is reported with its line and column and what was found there; JSON that is not a COCO
    /// manifest with the JSON path of the offending value, what was expected and what was found
    /// (the line and column of the document's value when it is the whole document).
    ///
    /// ``FastManifestReader`` reads the manifests it can; when it gives up, the document is parsed
    /// by ``JSONReader`` and read by ``ManifestSchema``, which accepts the same manifests and a few
    /// more (`"annotations": null`, whole numbers written `640.0`) and names the problem.
    package static func decode(_ data: Data, file: String) throws(DataError) -> COCOManifest {
        if let manifest = FastManifestReader.read(data) { return manifest }
        let document = try parse(data, file: file)
        do throws(SchemaMismatch) {
            return try ManifestSchema.manifest(document)
        } catch {
            // An empty path is the document itself: name where its value starts.
            let path = error.path
            let location =
                path.isEmpty
                ? data.withUnsafeBytes { bytes in
                    lineAndColumn(of: bytes.firstIndex { !" \n\r\t".utf8.contains($0) } ?? 0, in: bytes)
                } : path
            throw DataError(.malformedJSON, file: file, location: location, problem: error.problem)
        }
    }

    /// The JSON document in `data`, parsed by ``JSONReader`` (a repeated key keeps its last value);
    /// throws a ``DataError`` naming the line, column and byte of the first syntax error, or of a
    /// number beyond the largest `Double`.
    static func parse(_ data: Data, file: String) throws(DataError) -> JSONValue {
        let result = data.withUnsafeBytes { bytes -> Result<JSONValue, DataError> in
            var reader = JSONReader(bytes: bytes, maximumDepth: maximumJSONDepth)
            do throws(JSONSyntaxError) {
                return .success(try reader.document { reader throws(JSONSyntaxError) in try reader.value() })
            } catch {
                return .failure(
                    DataError(
                        .malformedJSON, file: file, location: lineAndColumn(of: error.offset, in: bytes),
                        problem: "invalid JSON: \(error.reason) (byte \(error.offset))"))
            }
        }
        return try result.get()
    }

    /// `line L, column C` of byte `offset` of `bytes`.
    private static func lineAndColumn(of offset: Int, in bytes: UnsafeRawBufferPointer) -> String {
        let (line, column) = JSONSyntax.lineAndColumn(of: offset, in: bytes)
        return "line \(line), column \(column)"
    }

    /// The deepest nesting of arrays and objects a manifest may have: far beyond COCO's 4 levels,
    /// and shallow enough for the recursive readers' stack.
    static let maximumJSONDepth = 512

    /// The manifest as compact JSON with sorted keys, so the same manifest always gives the same
    /// bytes (see `FastManifestWriter`).
    package func encoded() -> Data {
        Data(FastManifestWriter.encode(self))
    }

    /// Writes the manifest as JSON, atomically.
    public func write(to url: URL) throws(DataError) {
        do {
            try AtomicFile.write(encoded(), to: url)
        } catch {
            throw DataError(.missingFile, file: url.path, problem: error.problem)
        }
    }

    /// Checks what decoding cannot: image ids are unique; image sizes are positive with at most
    /// ``ImageLimits/maximumPixelCount`` pixels (so no mask or image buffer is ever sized by an
    /// unchecked number); every annotation names a listed image and category; polygons have at
    /// least 3 points (an even number of finite coordinates below 10⁹ in magnitude) and a boundary
    /// of at most ``ImageLimits/maximumPolygonBoundarySteps``; RLEs are well formed, sized like
    /// their image, and their counts are non-negative and sum to height · width. An empty
    /// segmentation (`"segmentation": []`, which real COCO exports contain) is valid: it covers no
    /// pixel, and ``emptySegmentationAnnotationIDs`` lists such annotations so that callers can
    /// warn. Errors name `file`, the JSON path of the offending value and the annotation id.
    /// - Complexity: O(images + annotations + polygon and RLE lengths).
    package func validate(file: String) throws(DataError) {
        var imageSizes: [Int: (height: Int, width: Int)] = [:]
        for (index, image) in images.enumerated() {
            guard imageSizes[image.id] == nil else {
                throw DataError(
                    .malformedJSON, file: file, location: "images[\(index)].id",
                    problem: "image id \(image.id) is listed twice")
            }
            guard image.width > 0, image.height > 0 else {
                throw DataError(
                    .malformedJSON, file: file, location: "images[\(index)]",
                    problem:
                        "image \(image.id): expected a positive width and height, got \(image.width)×\(image.height)")
            }
            guard ImageLimits.checkedPixelCount(width: image.width, height: image.height) != nil else {
                throw DataError(
                    .exceedsLimit, file: file, location: "images[\(index)]",
                    problem:
                        "image \(image.id): \(image.width)×\(image.height) is more than the \(ImageLimits.maximumPixelCount) pixels Kandinsky accepts (ImageLimits.maximumPixelCount)"
                )
            }
            imageSizes[image.id] = (image.height, image.width)
        }
        let categoryIDs = Set(categories.map(\.id))
        for (index, annotation) in annotations.enumerated() {
            let path = "annotations[\(index)]"
            guard let size = imageSizes[annotation.imageID] else {
                throw DataError(
                    .unknownImage, file: file, location: "\(path).image_id",
                    problem:
                        "annotation \(annotation.id) refers to image \(annotation.imageID), which the manifest does not list"
                )
            }
            guard categoryIDs.contains(annotation.categoryID) else {
                throw DataError(
                    .unknownCategory, file: file, location: "\(path).category_id",
                    problem:
                        "annotation \(annotation.id) refers to category \(annotation.categoryID), which the manifest does not list"
                )
            }
            _ = try annotation.runLengthEncodings(
                height: size.height, width: size.width, file: file, path: "\(path).segmentation", validateOnly: true)
        }
    }

    /// The ids of annotations whose segmentation is an empty polygon list, in manifest order.
    /// They cover no pixel (pycocotools-based loaders skip them); commands say how many there are.
    var emptySegmentationAnnotationIDs: [Int] {
        annotations.filter(\.hasEmptySegmentation).map(\.id)
    }

    /// The categories chosen by `selection`, in the order given.
    package func categories(_ selection: CategorySelection, file: String) throws(DataError) -> [Category] {
        switch selection {
        case .names(let names):
            return try names.map { (name) throws(DataError) -> Category in
                guard let category = categories.first(where: { $0.name == name }) else {
                    throw DataError(
                        .unknownCategory, file: file, location: "categories",
                        problem: "no category named \"\(name)\" (\(availableCategories { "\"\($0.name)\"" }))")
                }
                return category
            }
        case .ids(let ids):
            return try ids.map { (id) throws(DataError) -> Category in
                guard let category = categories.first(where: { $0.id == id }) else {
                    throw DataError(
                        .unknownCategory, file: file, location: "categories",
                        problem: "no category with id \(id) (\(availableCategories { String($0.id) }))")
                }
                return category
            }
        }
    }

    /// `the manifest has "a", "b"`, or `the manifest has no categories`.
    private func availableCategories(_ describe: (Category) -> String) -> String {
        categories.isEmpty
            ? "the manifest has no categories" : "the manifest has \(categories.map(describe).joined(separator: ", "))"
    }
}

/// Categories to segment, by name (`person`) or by id.
public enum CategorySelection: Sendable, Equatable {
    /// Categories by their `name` in the manifest, in the given order.
    case names([String])
    /// Categories by their `id` in the manifest, in the given order.
    case ids([Int])

    /// COCO's `person`, the original pipeline's only class.
    public static let person = CategorySelection.names(["person"])

    /// Parses a command-line value: comma-separated names, or ids when every item is a number.
    package init(parsing text: String) {
        let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let ids = items.compactMap { Int($0) }
        self = ids.count == items.count && !ids.isEmpty ? .ids(ids) : .names(items)
    }
}

extension COCOManifest.Annotation {
    /// Whether the segmentation is an empty polygon list (`"segmentation": []`).
    var hasEmptySegmentation: Bool {
        if case .polygons(let polygons) = segmentation { polygons.isEmpty } else { false }
    }

    /// The annotation's shape as RLEs (one per polygon part; none for an empty segmentation),
    /// checked against the image size (see ``COCOManifest/validate(file:)`` for the checks).
    func runLengthEncodings(height: Int, width: Int, file: String, path: String, validateOnly: Bool = false)
        throws(DataError) -> [RunLengthEncoding]
    {
        switch segmentation {
        case .polygons(let polygons):
            for (part, polygon) in polygons.enumerated() {
                guard polygon.count >= 6, polygon.count % 2 == 0 else {
                    throw DataError(
                        .degeneratePolygon, file: file, location: "\(path)[\(part)]",
                        problem:
                            "annotation \(id): a polygon needs at least 3 points as an even number of coordinates, got \(polygon.count) coordinates"
                    )
                }
                if let bad = polygon.firstIndex(where: { !($0.isFinite && abs($0) < 1e9) }) {
                    throw DataError(
                        .degeneratePolygon, file: file, location: "\(path)[\(part)][\(bad)]",
                        problem:
                            "annotation \(id): polygon coordinates must be finite numbers below 1e9 in magnitude, got \(polygon[bad])"
                    )
                }
                let steps = PolygonRasterizer.boundarySteps(polygon: polygon)
                guard steps <= ImageLimits.maximumPolygonBoundarySteps else {
                    throw DataError(
                        .exceedsLimit, file: file, location: "\(path)[\(part)]",
                        problem:
                            "annotation \(id): the polygon's boundary is \(steps / 5) pixels long, more than the \(ImageLimits.maximumPolygonBoundarySteps / 5) Kandinsky rasterises (ImageLimits.maximumPolygonBoundarySteps)"
                    )
                }
            }
            if validateOnly { return [] }
            return polygons.map { PolygonRasterizer.rle(polygon: $0, height: height, width: width) }
        case .rle(let stored):
            let rle: RunLengthEncoding
            do {
                rle = try RunLengthEncoding(stored)
            } catch {
                throw DataError(
                    error.kind, file: file, location: "\(path)\(error.pathSuffix)",
                    problem: "annotation \(id): \(error.explanation)")
            }
            guard rle.height == height, rle.width == width else {
                throw DataError(
                    .invalidRLE, file: file, location: "\(path).size",
                    problem:
                        "annotation \(id): RLE size [\(rle.height), \(rle.width)] differs from its image's [\(height), \(width)]"
                )
            }
            return [rle]
        }
    }
}

extension RunLengthEncoding.Problem {
    var kind: DataError.Kind {
        if case .sizeTooLarge = self { return .exceedsLimit }
        return .invalidRLE
    }

    var pathSuffix: String {
        switch self {
        case .badSize, .sizeTooLarge: ".size"
        case .negativeCount(let index): ".counts[\(index)]"
        case .countsSum(let sum, let expected, let index): (sum ?? .max) > expected ? ".counts[\(index)]" : ".counts"
        default: ".counts"
        }
    }

    var explanation: String {
        switch self {
        case .badSize(let size): "expected size [height, width] of two positive integers, got \(size)"
        case .sizeTooLarge(let size):
            "RLE size \(size) is more than the \(ImageLimits.maximumPixelCount) pixels Kandinsky accepts (ImageLimits.maximumPixelCount)"
        case .negativeCount(let index): "run length \(index) is negative, expected counts ≥ 0"
        case .badCharacter(let offset):
            "compressed counts have an invalid character at offset \(offset) (expected characters '0' to 'o')"
        case .countTooLarge(let offset):
            "compressed counts hold a number too large for a run length at offset \(offset)"
        case .unterminated: "compressed counts end in the middle of a number"
        case .countsSum(let sum?, let expected, let index) where sum > expected:
            "run lengths up to run \(index) already sum to \(sum), more than height · width = \(expected)"
        case .countsSum(nil, let expected, let index):
            "run lengths up to run \(index) sum to more than any integer, expected a sum of height · width = \(expected)"
        case .countsSum(let sum?, let expected, _): "run lengths sum to \(sum), expected height · width = \(expected)"
        }
    }
}
