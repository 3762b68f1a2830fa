import KandinskyCore

/// The COCO schema as a walk over a parsed document (a ``JSONValue``): the slow path of
/// ``COCOManifest/decode(_:file:)``, taken only when ``FastManifestReader`` gives up. It accepts
/// what the fast reader accepts, and also `"annotations": null` (no annotations) and whole
/// numbers written with a fraction or an exponent where integers belong (see ``integer(_:)``),
/// and names the JSON path of the first value that does not fit, with what was expected and
/// what was found.
///
/// Fields are checked in schema order (`images`, `annotations`, `categories`; in an image `id`,
/// `file_name`, `width`, `height`), so the first mismatch reported does not depend on key order.
/// - Complexity: O(values in the document).
enum ManifestSchema {
    static func manifest(_ value: JSONValue) throws(SchemaMismatch) -> COCOManifest {
        let fields = try Fields(value)
        return COCOManifest(
            images: try fields.required("images") { value throws(SchemaMismatch) in try array(value, image) },
            annotations: try fields.optional("annotations") { value throws(SchemaMismatch) in
                try array(value, annotation)
            } ?? [],
            categories: try fields.required("categories") { value throws(SchemaMismatch) in
                try array(value, category)
            },
            extra: fields.others(excluding: ["images", "annotations", "categories"]))
    }

    static func image(_ value: JSONValue) throws(SchemaMismatch) -> COCOManifest.Image {
        let fields = try Fields(value)
        return COCOManifest.Image(
            id: try fields.required("id", integer), fileName: try fields.required("file_name", string),
            width: try fields.required("width", integer), height: try fields.required("height", integer),
            extra: fields.others(excluding: ["id", "file_name", "width", "height"]))
    }

    static func category(_ value: JSONValue) throws(SchemaMismatch) -> COCOManifest.Category {
        let fields = try Fields(value)
        return COCOManifest.Category(
            id: try fields.required("id", integer), name: try fields.required("name", string),
            extra: fields.others(excluding: ["id", "name"]))
    }

    /// An annotation; `iscrowd`, `area` and `bbox` may be absent or null, other fields are ignored.
    static func annotation(_ value: JSONValue) throws(SchemaMismatch) -> COCOManifest.Annotation {
        let fields = try Fields(value)
        return COCOManifest.Annotation(
            id: try fields.required("id", integer), imageID: try fields.required("image_id", integer),
            categoryID: try fields.required("category_id", integer),
            segmentation: try fields.required("segmentation", segmentation),
            isCrowd: try fields.optional("iscrowd", integer) ?? 0, area: try fields.optional("area", number),
            bbox: try fields.optional("bbox") { value throws(SchemaMismatch) in try array(value, number) })
    }

    /// Polygons (an array of arrays of numbers) or an RLE (an object with `size` and `counts`,
    /// other fields ignored).
    static func segmentation(_ value: JSONValue) throws(SchemaMismatch) -> COCOManifest.Segmentation {
        switch value {
        case .array:
            return .polygons(try array(value) { polygon throws(SchemaMismatch) in try array(polygon, number) })
        case .object:
            let fields = try Fields(value)
            let size = try fields.required("size") { value throws(SchemaMismatch) in try array(value, integer) }
            let counts = try fields.required("counts") {
                value throws(SchemaMismatch) -> RunLengthEncoding.Stored.Counts in
                switch value {
                case .string(let compressed): return .compressed(compressed)
                case .array: return .uncompressed(try array(value, integer))
                default:
                    throw SchemaMismatch(expected: "a compressed string or an array of run lengths", found: value)
                }
            }
            return .rle(RunLengthEncoding.Stored(size: size, counts: counts))
        default:
            throw SchemaMismatch(expected: "polygons (an array) or an RLE (an object)", found: value)
        }
    }

    // MARK: Values

    /// An integer that fits an `Int`: an integer literal, or a whole number written with a
    /// fraction or an exponent (`640.0`, `1e2`, as exporters that go through floats write sizes)
    /// up to 2⁵³ in magnitude, where its `Double` is exact.
    static func integer(_ value: JSONValue) throws(SchemaMismatch) -> Int {
        switch value {
        case .integer(let integer): return integer
        case .number(let number):
            if number.magnitude <= 0x1p53, let integer = Int(exactly: number) { return integer }
            // An integer literal that fits an Int is `.integer`, so this one has a fraction or an exponent.
            let written =
                number.rounded() == number && number.magnitude < 0x1p63
                ? " (with a fraction or an exponent, whole numbers are exact only up to 2^53)" : ""
            throw SchemaMismatch(problem: "expected an integer that fits in 64 bits, found \(number)\(written)")
        default: throw SchemaMismatch(expected: "an integer", found: value)
        }
    }

    static func number(_ value: JSONValue) throws(SchemaMismatch) -> Double {
        guard let number = value.numberValue else { throw SchemaMismatch(expected: "a number", found: value) }
        return number
    }

    static func string(_ value: JSONValue) throws(SchemaMismatch) -> String {
        guard case .string(let string) = value else { throw SchemaMismatch(expected: "a string", found: value) }
        return string
    }

    /// The elements of an array, each read by `element`; a mismatch names the element's index.
    static func array<Element>(
        _ value: JSONValue, _ element: (JSONValue) throws(SchemaMismatch) -> Element
    ) throws(SchemaMismatch) -> [Element] {
        guard case .array(let values) = value else { throw SchemaMismatch(expected: "an array", found: value) }
        var elements: [Element] = []
        elements.reserveCapacity(values.count)
        for (index, value) in values.enumerated() {
            do {
                elements.append(try element(value))
            } catch {
                throw error.inside(.index(index))
            }
        }
        return elements
    }

    /// The members of an object; a mismatch in one names its key.
    struct Fields {
        let members: [String: JSONValue]

        init(_ value: JSONValue) throws(SchemaMismatch) {
            guard case .object(let members) = value else {
                throw SchemaMismatch(expected: "an object", found: value)
            }
            self.members = members
        }

        /// The field `key` read by `read`; its absence is a mismatch.
        func required<T>(_ key: String, _ read: (JSONValue) throws(SchemaMismatch) -> T) throws(SchemaMismatch) -> T {
            guard let value = members[key] else {
                throw SchemaMismatch(problem: "missing field \"\(key)\"").inside(.key(key))
            }
            return try field(key, value, read)
        }

        /// The field `key` read by `read`, or nil when it is absent or null.
        func optional<T>(_ key: String, _ read: (JSONValue) throws(SchemaMismatch) -> T) throws(SchemaMismatch) -> T? {
            guard let value = members[key], value != .null else { return nil }
            return try field(key, value, read)
        }

        private func field<T>(
            _ key: String, _ value: JSONValue, _ read: (JSONValue) throws(SchemaMismatch) -> T
        ) throws(SchemaMismatch) -> T {
            do {
                return try read(value)
            } catch {
                throw error.inside(.key(key))
            }
        }

        /// The members other than `known`, kept as read.
        func others(excluding known: Set<String>) -> [String: JSONValue] {
            members.filter { !known.contains($0.key) }
        }
    }
}

/// A value of a well-formed JSON document that does not fit the schema being read: where it is
/// and what was expected and found.
struct SchemaMismatch: Error {
    /// One step from a value into a member or element.
    enum Step {
        case key(String)
        case index(Int)
    }

    /// The steps from the document's root to the value, innermost first: each enclosing reader
    /// appends its own as the error travels up, so nothing is built while the walk succeeds.
    private(set) var stepsInnermostFirst: [Step] = []
    /// What was expected and what was found: `expected an integer, found a string`.
    let problem: String

    init(problem: String) {
        self.problem = problem
    }

    /// `expected EXPECTED, found KIND` (`a string`, `null`, …).
    init(expected: String, found: JSONValue) {
        problem = "expected \(expected), found \(found.kindName)"
    }

    /// The mismatch seen from the value that holds this one at `step`.
    func inside(_ step: Step) -> SchemaMismatch {
        var outer = self
        outer.stepsInnermostFirst.append(step)
        return outer
    }

    /// The JSON path of the value: keys joined by `.`, indices in brackets
    /// (`annotations[12].segmentation[0][3]`); empty for the root.
    var path: String {
        var text = ""
        for step in stepsInnermostFirst.reversed() {
            switch step {
            case .index(let index): text += "[\(index)]"
            case .key(let key): text += text.isEmpty ? key : ".\(key)"
            }
        }
        return text
    }
}
