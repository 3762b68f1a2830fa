import Foundation

/// A direct, byte-level reader of COCO manifests, about ten times faster than `JSONDecoder` on
/// large files (COCO's person subset is hundreds of megabytes of polygon coordinates).
///
/// It accepts only well-formed manifests and gives up (returns `nil`) at the first thing it does
/// not expect; the caller then decodes with `JSONDecoder`, which reports the problem with its JSON
/// path. So for valid input both give the same manifest, and errors are unchanged.
struct FastManifestReader {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0
    /// How many objects and arrays enclose the current position.
    private var depth = 0
    /// Where the last number or string began: when the reader gives up on a value that is valid
    /// JSON (a fraction where an id belongs), this is the value it gave up on.
    private var lastValueStart = 0
    /// Deeper nesting is left to the slow path (which reports it) instead of risking the stack.
    static let maximumDepth = COCOManifest.maximumJSONDepth

    private init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// The manifest in `data`, or the byte offset of the last number or string the fast path
    /// read before it gave up (see ``lastValueStart``).
    static func attempt(_ data: Data) -> Result<COCOManifest, GaveUp> {
        data.withUnsafeBytes { raw in
            var reader = FastManifestReader(raw.bindMemory(to: UInt8.self))
            guard let manifest = reader.manifest() else { return .failure(GaveUp(offset: reader.lastValueStart)) }
            reader.skipWhitespace()
            return reader.position == reader.bytes.count ? .success(manifest) : .failure(GaveUp(offset: reader.position))
        }
    }

    /// The manifest in `data`, or nil when the fast path cannot read it.
    static func read(_ data: Data) -> COCOManifest? {
        try? attempt(data).get()
    }

    /// Where the fast path gave up.
    struct GaveUp: Error {
        /// The byte offset of the value it could not use.
        let offset: Int
    }

    // MARK: Manifest structure

    private mutating func manifest() -> COCOManifest? {
        var images: [COCOManifest.Image]?, annotations: [COCOManifest.Annotation] = [], categories: [COCOManifest.Category]?
        var extra: [String: JSONValue] = [:]
        let ok = object { reader, key in
            switch key {
            case "images": images = reader.array { $0.image() }
                return images != nil
            case "annotations":
                guard let list = reader.array({ $0.annotation() }) else { return false }
                annotations = list
                return true
            case "categories": categories = reader.array { $0.category() }
                return categories != nil
            default:
                guard let value = reader.value() else { return false }
                extra[key] = value
                return true
            }
        }
        guard ok, let images, let categories else { return nil }
        return COCOManifest(images: images, annotations: annotations, categories: categories, extra: extra)
    }

    private mutating func image() -> COCOManifest.Image? {
        var id: Int?, fileName: String?, width: Int?, height: Int?
        var extra: [String: JSONValue] = [:]
        let ok = object { reader, key in
            switch key {
            case "id": id = reader.integer(); return id != nil
            case "file_name": fileName = reader.string(); return fileName != nil
            case "width": width = reader.integer(); return width != nil
            case "height": height = reader.integer(); return height != nil
            default:
                guard let value = reader.value() else { return false }
                extra[key] = value
                return true
            }
        }
        guard ok, let id, let fileName, let width, let height else { return nil }
        return COCOManifest.Image(id: id, fileName: fileName, width: width, height: height, extra: extra)
    }

    private mutating func category() -> COCOManifest.Category? {
        var id: Int?, name: String?
        var extra: [String: JSONValue] = [:]
        let ok = object { reader, key in
            switch key {
            case "id": id = reader.integer(); return id != nil
            case "name": name = reader.string(); return name != nil
            default:
                guard let value = reader.value() else { return false }
                extra[key] = value
                return true
            }
        }
        guard ok, let id, let name else { return nil }
        return COCOManifest.Category(id: id, name: name, extra: extra)
    }

    private mutating func annotation() -> COCOManifest.Annotation? {
        var id: Int?, imageID: Int?, categoryID: Int?, segmentation: COCOManifest.Segmentation?
        var isCrowd = 0, area: Double?, bbox: [Double]?
        let ok = object { reader, key in
            switch key {
            case "id": id = reader.integer(); return id != nil
            case "image_id": imageID = reader.integer(); return imageID != nil
            case "category_id": categoryID = reader.integer(); return categoryID != nil
            case "segmentation": segmentation = reader.segmentation(); return segmentation != nil
            case "iscrowd":
                if reader.null() { return true }
                guard let value = reader.integer() else { return false }
                isCrowd = value
                return true
            case "area":
                if reader.null() { return true }
                area = reader.double()
                return area != nil
            case "bbox":
                if reader.null() { return true }
                bbox = reader.array { $0.double() }
                return bbox != nil
            default:
                return reader.value() != nil
            }
        }
        guard ok, let id, let imageID, let categoryID, let segmentation else { return nil }
        return COCOManifest.Annotation(id: id, imageID: imageID, categoryID: categoryID, segmentation: segmentation, isCrowd: isCrowd, area: area, bbox: bbox)
    }

    private mutating func segmentation() -> COCOManifest.Segmentation? {
        skipWhitespace()
        guard position < bytes.count else { return nil }
        if bytes[position] == UInt8(ascii: "[") {
            return array { $0.array { $0.double() } }.map { .polygons($0) }
        }
        var size: [Int]?, counts: RunLengthEncoding.Stored.Counts?
        let ok = object { reader, key in
            switch key {
            case "size": size = reader.array { $0.integer() }; return size != nil
            case "counts":
                reader.skipWhitespace()
                guard reader.position < reader.bytes.count else { return false }
                if reader.bytes[reader.position] == UInt8(ascii: "\"") {
                    counts = reader.string().map { .compressed($0) }
                } else {
                    counts = reader.array { $0.integer() }.map { .uncompressed($0) }
                }
                return counts != nil
            default: return reader.value() != nil
            }
        }
        guard ok, let size, let counts else { return nil }
        return .rle(RunLengthEncoding.Stored(size: size, counts: counts))
    }

    // MARK: JSON grammar

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    /// Reads `{ "key": value, … }`, calling `member` with the reader positioned at each value.
    private mutating func object(_ member: (inout FastManifestReader, String) -> Bool) -> Bool {
        guard depth < Self.maximumDepth, consume(UInt8(ascii: "{")) else { return false }
        depth += 1
        defer { depth -= 1 }
        if consume(UInt8(ascii: "}")) { return true }
        repeat {
            skipWhitespace()
            guard let key = string(), consume(UInt8(ascii: ":")), member(&self, key) else { return false }
        } while consume(UInt8(ascii: ","))
        return consume(UInt8(ascii: "}"))
    }

    /// Reads `[ element, … ]`.
    private mutating func array<T>(_ element: (inout FastManifestReader) -> T?) -> [T]? {
        guard depth < Self.maximumDepth, consume(UInt8(ascii: "[")) else { return nil }
        depth += 1
        defer { depth -= 1 }
        var result: [T] = []
        if consume(UInt8(ascii: "]")) { return result }
        repeat {
            guard let value = element(&self) else { return nil }
            result.append(value)
        } while consume(UInt8(ascii: ","))
        return consume(UInt8(ascii: "]")) ? result : nil
    }

    private mutating func null() -> Bool {
        skipWhitespace()
        guard bytes.count - position >= 4, bytes[position] == UInt8(ascii: "n"), bytes[position + 1] == UInt8(ascii: "u"),
              bytes[position + 2] == UInt8(ascii: "l"), bytes[position + 3] == UInt8(ascii: "l") else { return false }
        position += 4
        return true
    }

    private mutating func string() -> String? {
        skipWhitespace()
        lastValueStart = position
        guard consume(UInt8(ascii: "\"")) else { return nil }
        let start = position
        var plain = true
        while position < bytes.count, bytes[position] != UInt8(ascii: "\"") {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\\") || byte >= 0x80 || byte < 0x20 { plain = false; break }
            position += 1
        }
        if plain {
            guard position < bytes.count else { return nil }
            defer { position += 1 }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        }
        // Escapes or non-ASCII: unescape into bytes, then validate as UTF-8.
        position = start
        var utf8: [UInt8] = []
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(validating: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard position < bytes.count else { return nil }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    guard var scalar = hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard consume(UInt8(ascii: "\\")), position < bytes.count, bytes[position] == UInt8(ascii: "u") else { return nil }
                        position += 1
                        guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { return nil }
                    utf8.append(contentsOf: Array(String(Character(unicode)).utf8))
                default: return nil
                }
            default:
                guard byte >= 0x20 else { return nil }
                utf8.append(byte)
            }
        }
        return nil
    }

    private mutating func hex4() -> UInt32? {
        guard bytes.count - position >= 4 else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            position += 1
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// The extent of a JSON number at the current position, and whether it is an integer
    /// literal: exactly RFC 8259's grammar, `-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?`,
    /// so that the fast path accepts no number the slow path refuses (`01`, `.5`, `1.`, `+1`).
    private mutating func numberLiteral() -> (range: Range<Int>, isInteger: Bool)? {
        skipWhitespace()
        let start = position
        lastValueStart = start
        func digits(_ reader: inout FastManifestReader) -> Int {
            let first = reader.position
            while reader.position < reader.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(reader.bytes[reader.position]) {
                reader.position += 1
            }
            return reader.position - first
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
        let integerStart = position
        let integerDigits = digits(&self)
        guard integerDigits > 0, integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else { return nil }
        var isInteger = true
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard digits(&self) > 0 else { return nil }
            isInteger = false
        }
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard digits(&self) > 0 else { return nil }
            isInteger = false
        }
        return (start..<position, isInteger)
    }

    /// An integer literal that fits an `Int` (as `JSONDecoder` reads one), else nil.
    private mutating func integer() -> Int? {
        guard let literal = numberLiteral(), literal.isInteger, literal.range.count <= 20 else { return nil }
        var value = 0
        var index = literal.range.lowerBound
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        while index < literal.range.upperBound {
            // Accumulated with the literal's sign, so that Int.min fits too.
            let digit = Int(bytes[index] - UInt8(ascii: "0"))
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
            let (next, carry) = negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
            guard !overflow, !carry else { return nil }
            value = next
            index += 1
        }
        return value
    }

    private mutating func double() -> Double? {
        guard let literal = numberLiteral(), literal.range.count < 64 else { return nil }
        if literal.isInteger, literal.range.count <= 15 {
            // Integers below 10^15 are exact in a Double, so no decimal conversion is needed.
            position = literal.range.lowerBound
            return integer().map(Double.init)
        }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 65) { buffer -> Double? in
            for (offset, index) in literal.range.enumerated() { buffer[offset] = CChar(bitPattern: bytes[index]) }
            buffer[literal.range.count] = 0
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(buffer.baseAddress!, &end)
            return end == buffer.baseAddress! + literal.range.count && value.isFinite ? value : nil
        }
    }

    /// Any JSON value, for fields kept as read.
    private mutating func value() -> JSONValue? {
        skipWhitespace()
        guard position < bytes.count else { return nil }
        switch bytes[position] {
        case UInt8(ascii: "{"):
            var members: [String: JSONValue] = [:]
            let ok = object { reader, key in
                guard let value = reader.value() else { return false }
                members[key] = value
                return true
            }
            return ok ? .object(members) : nil
        case UInt8(ascii: "["):
            return array { $0.value() }.map { .array($0) }
        case UInt8(ascii: "\""):
            return string().map { .string($0) }
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            for (word, result) in [("true", true), ("false", false)] where bytes.count - position >= word.utf8.count
                && word.utf8.enumerated().allSatisfy({ bytes[position + $0.offset] == $0.element }) {
                position += word.utf8.count
                return .bool(result)
            }
            return nil
        case UInt8(ascii: "n"):
            return null() ? .null : nil
        default:
            // As `JSONValue` decodes: an integer when it fits an `Int`, else a Double.
            let start = position
            guard let literal = numberLiteral() else { return nil }
            position = start
            if literal.isInteger, let integer = integer() { return .integer(integer) }
            position = start
            return double().map { .number($0) }
        }
    }
}
