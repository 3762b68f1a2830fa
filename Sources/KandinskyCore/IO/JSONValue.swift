/// A parsed JSON value, as the safetensors header needs it: integers stay exact (offsets can
/// exceed 2⁵³), objects keep their key order, and malformed input is reported with its byte
/// offset.
enum JSONValue: Equatable {
    case object([(key: String, value: JSONValue)])
    case array([JSONValue])
    case string(String)
    case integer(Int)
    /// A number with a fraction or exponent, or an integer too large for `Int`.
    case number(Double)
    case bool(Bool)
    case null

    static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case let (.object(a), .object(b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case let (.array(a), .array(b)): a == b
        case let (.string(a), .string(b)): a == b
        case let (.integer(a), .integer(b)): a == b
        case let (.number(a), .number(b)): a == b
        case let (.bool(a), .bool(b)): a == b
        case (.null, .null): true
        default: false
        }
    }

    /// A short name of the value's kind, for error messages.
    var kindName: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .integer, .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }

    /// Parses one JSON value spanning all of `bytes` (surrounding whitespace allowed).
    ///
    /// - Throws: a message naming the byte offset of the first problem.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONSyntaxError) -> JSONValue {
        var parser = JSONParser(bytes: bytes, maximumDepth: JSONParser.safetensorsDepth, keepsValues: true)
        return try parser.parseDocument()
    }

    /// Serialises a string as serde_json does: `"` `\` and control characters escaped
    /// (`\n \r \t \b \f`, else `\u00XX`), everything else (including non-ASCII) verbatim.
    static func quoted(_ string: String) -> String {
        var result = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\u{08}": result += "\\b"
            case "\u{0C}": result += "\\f"
            case let c where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}

/// Checking that bytes are one well-formed JSON value (RFC 8259), for readers whose fast path
/// does not say where a document is broken.
package enum JSONSyntax {
    /// Checks that `bytes` hold exactly one JSON value (surrounding whitespace allowed), nested
    /// at most `maximumDepth` deep (deeper is an error rather than a risk to the stack), without
    /// building it: memory stays proportional to the longest string.
    ///
    /// - Throws: ``JSONSyntaxError`` with the byte offset of the first problem and what was found
    ///   there. `NaN`, `Infinity` and `-Infinity` (which Python's `json.dump` writes by default)
    ///   get a message of their own.
    /// - Complexity: O(bytes).
    package static func check(_ bytes: UnsafeRawBufferPointer, maximumDepth: Int) throws(JSONSyntaxError) {
        var parser = JSONParser(bytes: bytes, maximumDepth: maximumDepth, keepsValues: false)
        _ = try parser.parseDocument()
    }

    /// The 1-based line and column (in bytes) of byte `offset` of `bytes`; lines end at `\n`.
    package static func lineAndColumn(of offset: Int, in bytes: UnsafeRawBufferPointer) -> (line: Int, column: Int) {
        let end = min(max(offset, 0), bytes.count)
        var line = 1, lineStart = 0
        for index in 0..<end where bytes[index] == 0x0A {
            line += 1
            lineStart = index + 1
        }
        return (line, end - lineStart + 1)
    }
}

/// Malformed JSON: what is wrong and at which byte.
package struct JSONSyntaxError: Error, Sendable, Equatable {
    /// What is wrong, and what was found (`expected ',' or ']', found 'x'`), without the position.
    package let reason: String
    /// The offset of the first byte that is wrong (the end of input for a truncated document).
    package let offset: Int

    /// `REASON at byte OFFSET`.
    package var message: String { "\(reason) at byte \(offset)" }

    /// The 1-based line and column (in bytes) of ``offset`` in `bytes`, the document it was found
    /// in; lines end at `\n`.
    package func lineAndColumn(in bytes: UnsafeRawBufferPointer) -> (line: Int, column: Int) {
        JSONSyntax.lineAndColumn(of: offset, in: bytes)
    }
}

private struct JSONParser {
    let bytes: UnsafeRawBufferPointer
    var position = 0
    /// Deeper nesting is rejected rather than risking the stack.
    let maximumDepth: Int
    /// Whether arrays and objects collect their elements; a syntax check leaves them empty.
    let keepsValues: Bool
    /// Deeper nesting than any safetensors header needs.
    static let safetensorsDepth = 64

    init(bytes: UnsafeRawBufferPointer, maximumDepth: Int, keepsValues: Bool) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
        self.keepsValues = keepsValues
    }

    func error(_ reason: String) -> JSONSyntaxError {
        JSONSyntaxError(reason: reason, offset: position)
    }

    /// One value spanning all of the bytes, surrounding whitespace allowed.
    mutating func parseDocument() throws(JSONSyntaxError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue(depth: 0)
        skipWhitespace()
        guard position == bytes.count else {
            throw error("unexpected \(describeCurrent()) after the JSON value")
        }
        return value
    }

    /// Whether the bytes at the current position spell `word`.
    func startsWith(_ word: String) -> Bool {
        let utf8 = word.utf8
        guard bytes.count - position >= utf8.count else { return false }
        return utf8.enumerated().allSatisfy { bytes[position + $0.offset] == $0.element }
    }

    /// The error for the non-standard numbers Python writes (`NaN`, `Infinity`, `-Infinity`),
    /// or nil when none is at the current position.
    func nonStandardNumber() -> JSONSyntaxError? {
        for word in ["NaN", "Infinity", "-Infinity"] where startsWith(word) {
            return error("\(word) is not valid JSON; write it with allow_nan=False or replace it (e.g. with null)")
        }
        return nil
    }

    func describeCurrent() -> String {
        guard position < bytes.count else { return "end of input" }
        let byte = bytes[position]
        return byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }

    mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    mutating func expect(_ byte: UInt8) throws(JSONSyntaxError) {
        guard position < bytes.count, bytes[position] == byte else {
            throw error("expected '\(Character(Unicode.Scalar(byte)))', found \(describeCurrent())")
        }
        position += 1
    }

    mutating func parseValue(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard depth < maximumDepth else { throw error("nesting deeper than \(maximumDepth) levels") }
        guard position < bytes.count else { throw error("expected a value, found end of input") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try parseLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try parseLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try parseLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            if let nonStandard = nonStandardNumber() { throw nonStandard }
            return try parseNumber()
        default:
            if let nonStandard = nonStandardNumber() { throw nonStandard }
            throw error("expected a value, found \(describeCurrent())")
        }
    }

    mutating func parseLiteral(_ word: String) throws(JSONSyntaxError) {
        for byte in word.utf8 {
            guard position < bytes.count, bytes[position] == byte else {
                throw error("invalid literal, expected '\(word)', found \(describeCurrent())")
            }
            position += 1
        }
    }

    mutating func parseObject(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        try expect(UInt8(ascii: "{"))
        var members: [(key: String, value: JSONValue)] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                throw error("expected a string key, found \(describeCurrent())")
            }
            let keyStart = position
            let key = try parseString()
            if keepsValues, members.contains(where: { $0.key == key }) {
                position = keyStart
                throw error("duplicate key \(JSONValue.quoted(key))")
            }
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            let value = try parseValue(depth: depth + 1)
            if keepsValues { members.append((key, value)) }
            skipWhitespace()
            guard position < bytes.count else { throw error("unterminated object: expected ',' or '}', found end of input") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            guard bytes[position] == UInt8(ascii: "}") else { throw error("expected ',' or '}' in an object, found \(describeCurrent())") }
            position += 1
            return .object(members)
        }
    }

    mutating func parseArray(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        try expect(UInt8(ascii: "["))
        var elements: [JSONValue] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            let element = try parseValue(depth: depth + 1)
            if keepsValues { elements.append(element) }
            skipWhitespace()
            guard position < bytes.count else { throw error("unterminated array: expected ',' or ']', found end of input") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            guard bytes[position] == UInt8(ascii: "]") else { throw error("expected ',' or ']' in an array, found \(describeCurrent())") }
            position += 1
            return .array(elements)
        }
    }

    mutating func parseHex4() throws(JSONSyntaxError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("invalid hex digit in \\u escape")
            }
            value = value * 16 + digit
            position += 1
        }
        return value
    }

    mutating func parseString() throws(JSONSyntaxError) -> String {
        try expect(UInt8(ascii: "\""))
        var utf8: [UInt8] = []
        while true {
            guard position < bytes.count else { throw error("unterminated string") }
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                guard let string = String(validating: utf8, as: UTF8.self) else {
                    throw error("string is not valid UTF-8")
                }
                return string
            case UInt8(ascii: "\\"):
                position += 1
                guard position < bytes.count else { throw error("unterminated escape") }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "u"):
                    var code = try parseHex4()
                    if (0xD800..<0xDC00).contains(code) {
                        guard position + 2 <= bytes.count, bytes[position] == UInt8(ascii: "\\"),
                              bytes[position + 1] == UInt8(ascii: "u") else {
                            throw error("unpaired surrogate in \\u escape")
                        }
                        position += 2
                        let low = try parseHex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate in \\u escape") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw error("invalid \\u escape") }
                    utf8.append(contentsOf: String(scalar).utf8)
                default:
                    position -= 1
                    throw error("invalid escape '\\\(Character(Unicode.Scalar(escape)))'")
                }
            case 0..<0x20:
                throw error("unescaped control character in string")
            default:
                utf8.append(byte)
                position += 1
            }
        }
    }

    mutating func parseNumber() throws(JSONSyntaxError) -> JSONValue {
        let start = position
        var isInteger = true
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        func digits(_ parser: inout JSONParser) -> Int {
            let first = parser.position
            while parser.position < parser.bytes.count,
                  (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(parser.bytes[parser.position]) {
                parser.position += 1
            }
            return parser.position - first
        }
        let integerStart = position
        let integerDigits = digits(&self)
        guard integerDigits > 0 else { throw error("invalid number") }
        guard !(integerDigits > 1 && bytes[integerStart] == UInt8(ascii: "0")) else {
            position = start
            throw error("number has a leading zero")
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard digits(&self) > 0 else { throw error("invalid number: no digits after '.'") }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard digits(&self) > 0 else { throw error("invalid number: no digits in the exponent") }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        if isInteger, let value = Int(text) { return .integer(value) }
        guard let value = Double(text) else { throw error("invalid number") }
        return .number(value)
    }
}
