import Foundation
import KandinskyCore

/// A direct reader of COCO manifests on the package's ``JSONReader``, for large files (COCO's
/// person subset is hundreds of megabytes of polygon coordinates): it takes the fields it knows
/// as they stream past, without building the document's ``JSONValue`` tree.
///
/// It accepts only well-formed manifests and gives up at the first thing it does not expect;
/// the caller then parses the document and reads it with ``ManifestSchema``, which reports the
/// problem with its JSON path. So for valid input both give the same manifest.
enum FastManifestReader {
    /// The manifest in `data`, or nil when the fast path cannot read it.
    static func read(_ data: Data) -> COCOManifest? {
        data.withUnsafeBytes { bytes in
            var reader = JSONReader(bytes: bytes, maximumDepth: COCOManifest.maximumJSONDepth)
            return try? reader.document { reader throws(JSONSyntaxError) in try reader.manifest() }
        }
    }
}

extension JSONReader {
    /// `[ element, … ]`, collected here so that it is specialised for each element type.
    fileprivate mutating func list<T>(
        _ element: (inout JSONReader) throws(JSONSyntaxError) -> T
    ) throws(JSONSyntaxError) -> [T] {
        var elements: [T] = []
        try forEachElement { reader throws(JSONSyntaxError) in elements.append(try element(&reader)) }
        return elements
    }

    /// Gives up on well-formed JSON that is not a manifest the fast path reads.
    fileprivate func notAManifest() -> JSONSyntaxError {
        error("not a COCO manifest")
    }

    /// Reads the rest of an object with `known` for the fields a type interprets and every other
    /// field kept as read.
    fileprivate mutating func object(
        keepingOthersIn extra: inout [String: JSONValue],
        _ known: (inout JSONReader, String) throws(JSONSyntaxError) -> Bool
    ) throws(JSONSyntaxError) {
        try object { reader, key throws(JSONSyntaxError) in
            if try !known(&reader, key) { extra[key] = try reader.value() }
        }
    }

    fileprivate mutating func manifest() throws(JSONSyntaxError) -> COCOManifest {
        var images: [COCOManifest.Image]?
        var annotations: [COCOManifest.Annotation] = []
        var categories: [COCOManifest.Category]?
        var extra: [String: JSONValue] = [:]
        try object(keepingOthersIn: &extra) { reader, key throws(JSONSyntaxError) in
            switch key {
            case "images": images = try reader.list { reader throws(JSONSyntaxError) in try reader.image() }
            case "annotations":
                annotations = try reader.list { reader throws(JSONSyntaxError) in try reader.annotation() }
            case "categories": categories = try reader.list { reader throws(JSONSyntaxError) in try reader.category() }
            default: return false
            }
            return true
        }
        guard let images, let categories else { throw notAManifest() }
        return COCOManifest(images: images, annotations: annotations, categories: categories, extra: extra)
    }

    fileprivate mutating func image() throws(JSONSyntaxError) -> COCOManifest.Image {
        var id: Int?
        var fileName: String?
        var width: Int?
        var height: Int?
        var extra: [String: JSONValue] = [:]
        try object(keepingOthersIn: &extra) { reader, key throws(JSONSyntaxError) in
            switch key {
            case "id": id = try reader.integer()
            case "file_name": fileName = try reader.string()
            case "width": width = try reader.integer()
            case "height": height = try reader.integer()
            default: return false
            }
            return true
        }
        guard let id, let fileName, let width, let height else { throw notAManifest() }
        return COCOManifest.Image(id: id, fileName: fileName, width: width, height: height, extra: extra)
    }

    fileprivate mutating func category() throws(JSONSyntaxError) -> COCOManifest.Category {
        var id: Int?
        var name: String?
        var extra: [String: JSONValue] = [:]
        try object(keepingOthersIn: &extra) { reader, key throws(JSONSyntaxError) in
            switch key {
            case "id": id = try reader.integer()
            case "name": name = try reader.string()
            default: return false
            }
            return true
        }
        guard let id, let name else { throw notAManifest() }
        return COCOManifest.Category(id: id, name: name, extra: extra)
    }

    fileprivate mutating func annotation() throws(JSONSyntaxError) -> COCOManifest.Annotation {
        var id: Int?
        var imageID: Int?
        var categoryID: Int?
        var segmentation: COCOManifest.Segmentation?
        var isCrowd = 0
        var area: Double?
        var bbox: [Double]?
        try object { reader, key throws(JSONSyntaxError) in
            switch key {
            case "id": id = try reader.integer()
            case "image_id": imageID = try reader.integer()
            case "category_id": categoryID = try reader.integer()
            case "segmentation": segmentation = try reader.segmentation()
            case "iscrowd": if !reader.consumeNull() { isCrowd = try reader.integer() }
            case "area": if !reader.consumeNull() { area = try reader.double() }
            case "bbox":
                if !reader.consumeNull() { bbox = try reader.doubles() }
            default: try reader.skipValue()
            }
        }
        guard let id, let imageID, let categoryID, let segmentation else { throw notAManifest() }
        return COCOManifest.Annotation(
            id: id, imageID: imageID, categoryID: categoryID, segmentation: segmentation,
            isCrowd: isCrowd, area: area, bbox: bbox)
    }

    fileprivate mutating func segmentation() throws(JSONSyntaxError) -> COCOManifest.Segmentation {
        if current == UInt8(ascii: "[") {
            return .polygons(try list { reader throws(JSONSyntaxError) in try reader.doubles() })
        }
        var size: [Int]?
        var counts: RunLengthEncoding.Stored.Counts?
        try object { reader, key throws(JSONSyntaxError) in
            switch key {
            case "size": size = try reader.integers()
            case "counts":
                if reader.current == UInt8(ascii: "\"") {
                    counts = .compressed(try reader.string())
                } else {
                    counts = .uncompressed(try reader.integers())
                }
            default: try reader.skipValue()
            }
        }
        guard let size, let counts else { throw notAManifest() }
        return .rle(RunLengthEncoding.Stored(size: size, counts: counts))
    }
}
