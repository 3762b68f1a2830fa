import Foundation

/// The package's one JSON writer: compact JSON appended to a byte buffer, for the files whose
/// bytes Kandinsky lays out itself (the safetensors header, COCO manifests). Codable values
/// (summaries, metadata) go through ``JSONOutput/encoder(_:)`` instead.
///
/// Strings keep every non-ASCII character verbatim and escape `"`, `\` and the control
/// characters; object members are written in the order given (``writeObject(sortingKeys:_:)``
/// sorts them by key, as `JSONEncoder`'s `.sortedKeys` does).
package struct JSONWriter {
    /// How control characters other than `\n`, `\r` and `\t` are escaped.
    package enum ControlEscapes {
        /// `\b` and `\f` by name, the others as `\u00XX`: serde_json's (and the safetensors
        /// reference's) output.
        case serde
        /// All as `\u00XX`: the COCO manifest writer's output since its first version.
        case unicode
    }

    /// The JSON written so far.
    package var bytes: [UInt8] = []
    /// How strings escape control characters.
    package let controlEscapes: ControlEscapes

    /// An empty writer; `capacity` bytes are reserved.
    package init(controlEscapes: ControlEscapes, capacity: Int = 0) {
        self.controlEscapes = controlEscapes
        bytes.reserveCapacity(capacity)
    }

    /// Appends raw bytes (a literal or punctuation that the caller knows is valid JSON).
    @inlinable
    package mutating func writeRaw(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// `{"key":value,…}`, each value written by its closure; with `sortingKeys`, members in
    /// increasing key order.
    package mutating func writeObject(sortingKeys: Bool, _ members: [(String, (inout JSONWriter) -> Void)]) {
        bytes.append(UInt8(ascii: "{"))
        let ordered = sortingKeys ? members.sorted { $0.0 < $1.0 } : members
        for (index, member) in ordered.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            write(member.0)
            bytes.append(UInt8(ascii: ":"))
            member.1(&self)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// `[element,…]` of `count` elements, element `i` written by `element(&writer, i)`.
    ///
    /// Not generic, so that a writer in another module runs specialised code (see
    /// ``writeArray(_:_:)``).
    @inlinable
    package mutating func writeArray(count: Int, _ element: (inout JSONWriter, Int) -> Void) {
        bytes.append(UInt8(ascii: "["))
        for index in 0..<count {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            element(&self, index)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// `[element,…]`, each element written by `element`.
    @inlinable
    package mutating func writeArray<T>(_ elements: [T], _ element: (inout JSONWriter, T) -> Void) {
        writeArray(count: elements.count) { writer, index in element(&writer, elements[index]) }
    }

    /// An integer in decimal.
    @inlinable
    package mutating func write(_ integer: Int) {
        bytes.append(contentsOf: String(integer).utf8)
    }

    /// A finite number in Swift's shortest round-trip form (`0.1`, `300.0`, `1e-07`), so
    /// reading it back gives the same `Double`.
    @inlinable
    package mutating func write(_ number: Double) {
        precondition(number.isFinite, "JSON has no representation for \(number)")
        bytes.append(contentsOf: number.description.utf8)
    }

    /// Any value; objects with their keys sorted, numbers as ``write(_:)-(Double)`` writes them.
    package mutating func write(_ value: JSONValue) {
        switch value {
        case .null: writeRaw("null")
        case .bool(let flag): writeRaw(flag ? "true" : "false")
        case .integer(let integer): write(integer)
        case .number(let number): write(number)
        case .string(let string): write(string)
        case .array(let values): writeArray(values) { $0.write($1) }
        case .object(let members):
            writeObject(sortingKeys: true, members.map { key, value in (key, { $0.write(value) }) })
        }
    }

    /// A string in quotes, escaped.
    @inlinable
    package mutating func write(_ string: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): bytes.append(contentsOf: #"\\"#.utf8)
            case 0x0A: bytes.append(contentsOf: #"\n"#.utf8)
            case 0x0D: bytes.append(contentsOf: #"\r"#.utf8)
            case 0x09: bytes.append(contentsOf: #"\t"#.utf8)
            case 0x08 where controlEscapes == .serde: bytes.append(contentsOf: #"\b"#.utf8)
            case 0x0C where controlEscapes == .serde: bytes.append(contentsOf: #"\f"#.utf8)
            case ..<0x20:
                let hex: StaticString = "0123456789abcdef"
                bytes.append(contentsOf: #"\u00"#.utf8)
                bytes.append(hex.utf8Start[Int(byte >> 4)])
                bytes.append(hex.utf8Start[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// `string` quoted as serde_json quotes it, for headers and error messages.
    package static func quoted(_ string: String) -> String {
        var writer = JSONWriter(controlEscapes: .serde)
        writer.write(string)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}

/// The one configuration of Foundation's `JSONEncoder` for the Codable values Kandinsky writes.
package enum JSONOutput {
    /// How a document is laid out.
    package enum Layout {
        /// One line, keys sorted: values embedded in other files (safetensors metadata).
        case compact
        /// Indented, keys sorted: the `summary.json` files people read and diff.
        case pretty
    }

    /// An encoder with sorted keys (the same value always gives the same bytes) and `layout`.
    package static func encoder(_ layout: Layout) -> JSONEncoder {
        let encoder = JSONEncoder()
        switch layout {
        case .compact:
            encoder.outputFormatting = [.sortedKeys]
        case .pretty:
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        }
        return encoder
    }

    /// `value` encoded with ``encoder(_:)``.
    package static func encode(_ value: some Encodable, _ layout: Layout) throws -> Data {
        try encoder(layout).encode(value)
    }
}
