import Foundation
import KandinskyCore

extension COCOManifest {
    /// Reads and validates a manifest (see ``validate(file:)``).
    public static func read(contentsOf url: URL) throws(DataError) -> COCOManifest {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw DataError(.missingFile, file: url.path, problem: "cannot read the manifest (\(FileManager.default.fileExists(atPath: url.path) ? "unreadable" : "no such file"))")
        }
        let manifest = try decode(data, file: url.path)
        try manifest.validate(file: url.path)
        return manifest
    }

    /// Decodes manifest JSON without validating it; `file` names it in errors.
    public static func decode(_ data: Data, file: String) throws(DataError) -> COCOManifest {
        if let manifest = FastManifestReader.read(data) { return manifest }
        return try decodeWithJSONDecoder(data, file: file)
    }

    /// Foundation's decoder: slower than ``FastManifestReader``, but it names the JSON path of any problem.
    static func decodeWithJSONDecoder(_ data: Data, file: String) throws(DataError) -> COCOManifest {
        do {
            return try JSONDecoder().decode(COCOManifest.self, from: data)
        } catch let error as DecodingError {
            throw DataError(.malformedJSON, file: file, location: error.jsonPath, problem: error.summary)
        } catch {
            throw DataError(.malformedJSON, file: file, problem: "not a COCO manifest: \(error)")
        }
    }

    /// The manifest as compact JSON with sorted keys, so the same manifest always gives the same
    /// bytes (see `FastManifestWriter`).
    public func encoded() -> Data {
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

    /// Checks what decoding cannot: image ids are unique and sizes positive; every annotation
    /// names a listed image and category; polygons have at least 3 points (an even number of
    /// finite coordinates); RLEs are well formed, sized like their image, and their counts sum
    /// to height · width. Errors name `file` and the JSON path of the offending value.
    /// - Complexity: O(images + annotations + RLE lengths).
    public func validate(file: String) throws(DataError) {
        var imageSizes: [Int: (height: Int, width: Int)] = [:]
        for (index, image) in images.enumerated() {
            guard imageSizes[image.id] == nil else {
                throw DataError(.malformedJSON, file: file, location: "images[\(index)].id", problem: "image id \(image.id) is listed twice")
            }
            guard image.width > 0, image.height > 0 else {
                throw DataError(.malformedJSON, file: file, location: "images[\(index)]", problem: "expected a positive width and height, got \(image.width)×\(image.height)")
            }
            imageSizes[image.id] = (image.height, image.width)
        }
        let categoryIDs = Set(categories.map(\.id))
        for (index, annotation) in annotations.enumerated() {
            let path = "annotations[\(index)]"
            guard let size = imageSizes[annotation.imageID] else {
                throw DataError(.unknownImage, file: file, location: "\(path).image_id", problem: "annotation \(annotation.id) refers to image \(annotation.imageID), which the manifest does not list")
            }
            guard categoryIDs.contains(annotation.categoryID) else {
                throw DataError(.unknownCategory, file: file, location: "\(path).category_id", problem: "annotation \(annotation.id) refers to category \(annotation.categoryID), which the manifest does not list")
            }
            _ = try annotation.runLengthEncodings(height: size.height, width: size.width, file: file, path: "\(path).segmentation", validateOnly: true)
        }
    }

    /// The categories chosen by `selection`, in the order given.
    public func categories(_ selection: CategorySelection, file: String) throws(DataError) -> [Category] {
        switch selection {
        case .names(let names):
            return try names.map { (name) throws(DataError) -> Category in
                guard let category = categories.first(where: { $0.name == name }) else {
                    throw DataError(.unknownCategory, file: file, location: "categories", problem: "no category named \"\(name)\" (the manifest has \(categories.map { "\"\($0.name)\"" }.joined(separator: ", ")))")
                }
                return category
            }
        case .ids(let ids):
            return try ids.map { (id) throws(DataError) -> Category in
                guard let category = categories.first(where: { $0.id == id }) else {
                    throw DataError(.unknownCategory, file: file, location: "categories", problem: "no category with id \(id) (the manifest has \(categories.map { String($0.id) }.joined(separator: ", ")))")
                }
                return category
            }
        }
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
    public init(parsing text: String) {
        let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let ids = items.compactMap { Int($0) }
        self = ids.count == items.count && !ids.isEmpty ? .ids(ids) : .names(items)
    }
}

extension COCOManifest.Annotation {
    /// The annotation's shape as RLEs (one per polygon part), checked against the image size.
    func runLengthEncodings(height: Int, width: Int, file: String, path: String, validateOnly: Bool = false) throws(DataError) -> [RunLengthEncoding] {
        switch segmentation {
        case .polygons(let polygons):
            guard !polygons.isEmpty else {
                throw DataError(.degeneratePolygon, file: file, location: path, problem: "annotation \(id) has an empty polygon list, expected at least one polygon of 3 or more points")
            }
            for (part, polygon) in polygons.enumerated() {
                guard polygon.count >= 6, polygon.count % 2 == 0 else {
                    throw DataError(.degeneratePolygon, file: file, location: "\(path)[\(part)]", problem: "annotation \(id): a polygon needs at least 3 points as an even number of coordinates, got \(polygon.count) coordinates")
                }
                guard polygon.allSatisfy({ $0.isFinite && abs($0) < 1e9 }) else {
                    throw DataError(.degeneratePolygon, file: file, location: "\(path)[\(part)]", problem: "annotation \(id): polygon coordinates must be finite numbers")
                }
            }
            if validateOnly { return [] }
            return polygons.map { PolygonRasterizer.rle(polygon: $0, height: height, width: width) }
        case .rle(let stored):
            let rle: RunLengthEncoding
            do {
                rle = try RunLengthEncoding(stored)
            } catch {
                throw DataError(.invalidRLE, file: file, location: "\(path)\(error.pathSuffix)", problem: "annotation \(id): \(error.explanation)")
            }
            guard rle.height == height, rle.width == width else {
                throw DataError(.invalidRLE, file: file, location: "\(path).size", problem: "annotation \(id): RLE size [\(rle.height), \(rle.width)] differs from its image's [\(height), \(width)]")
            }
            return [rle]
        }
    }
}

extension RunLengthEncoding.Problem {
    var pathSuffix: String {
        if case .badSize = self { return ".size" }
        return ".counts"
    }

    var explanation: String {
        switch self {
        case .badSize(let size): "expected size [height, width] of two non-negative integers, got \(size)"
        case .negativeCount(let index): "run length \(index) is negative"
        case .badCharacter(let offset): "compressed counts have an invalid character at offset \(offset) (expected characters '0' to 'o')"
        case .unterminated: "compressed counts end in the middle of a number"
        case .countsSum(let sum, let expected): "run lengths sum to \(sum), expected height · width = \(expected)"
        }
    }
}

extension DecodingError {
    /// The coding path as a JSON path: `annotations[12].segmentation`.
    var jsonPath: String {
        let path: [any CodingKey]
        switch self {
        case .keyNotFound(let key, let context): path = context.codingPath + [key]
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context): path = context.codingPath
        @unknown default: path = []
        }
        var text = ""
        for key in path {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return text
    }

    var summary: String {
        switch self {
        case .keyNotFound(let key, _): "missing field \"\(key.stringValue)\""
        case .typeMismatch(let type, let context): "expected \(type): \(context.debugDescription)"
        case .valueNotFound(let type, _): "expected \(type), found null"
        case .dataCorrupted(let context): context.underlyingError.map { "invalid JSON (\($0.localizedDescription))" } ?? context.debugDescription
        @unknown default: "not a COCO manifest"
        }
    }
}
