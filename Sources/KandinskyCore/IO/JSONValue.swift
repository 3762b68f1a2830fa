/// Any JSON value: what `JSONReader.value()` builds, and how readers keep fields they do not
/// interpret (a COCO manifest's `info`, `licenses`, `coco_url`, …) so that a read and write
/// loses nothing.
///
/// Integers that fit an `Int` stay exact (safetensors offsets can exceed 2⁵³); other numbers are
/// `Double`s.
public enum JSONValue: Codable, Sendable, Equatable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A whole number that fits an `Int`.
    case integer(Int)
    /// Any other number: one with a fraction or exponent, or an integer too large for `Int`.
    case number(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object (key order is not kept).
    case object([String: JSONValue])

    /// Decodes any JSON value; integers that fit an `Int` stay integers, other numbers become `number`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Encodes the value as the same JSON.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// A short name of the value's kind, for error messages.
    package var kindName: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .integer, .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }

    /// Parses one JSON value spanning all of `bytes` (surrounding whitespace allowed), nested at
    /// most 64 deep, rejecting an object that names a key twice.
    ///
    /// - Throws: the first problem and its byte offset.
    package static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONSyntaxError) -> JSONValue {
        var reader = JSONReader(bytes: bytes, maximumDepth: 64, rejectsDuplicateKeys: true)
        return try reader.document { reader throws(JSONSyntaxError) in try reader.value() }
    }

    /// The value of a JSON text as ``parse(_:)`` reads it; nil when the text is not one JSON value.
    package init?(parsing text: String) {
        var text = text
        guard let value = text.withUTF8({ try? Self.parse(UnsafeRawBufferPointer($0)) }) else { return nil }
        self = value
    }

    /// An integer or a number as `Double`; nil for another kind.
    package var numberValue: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .number(let value): value
        default: nil
        }
    }
}
