#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The package's one JSON reader (RFC 8259): a lexer over bytes plus object and array readers
/// that hand each member to a closure, so a format reader (the safetensors header, a COCO
/// manifest) can take the values it knows as they stream past, and ``value()`` builds a
/// ``JSONValue`` for the rest.
///
/// Every read starts at a value (surrounding whitespace is skipped by the caller or by the
/// object and array readers) and throws ``JSONSyntaxError`` with the byte offset of the first
/// problem and what was found there. Strings take a fast path while they are plain ASCII and
/// are otherwise unescaped into bytes and validated as UTF-8. Numbers follow the grammar exactly
/// (`-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?`), so no reader built on this accepts
/// `01`, `.5`, `1.` or `+1`.
///
/// The hot methods are inlinable so that a reader in another module (the COCO manifest's, which
/// reads hundreds of megabytes of polygon coordinates) runs at the speed of a hand-written one.
package struct JSONReader {
    /// The document.
    package let bytes: UnsafeRawBufferPointer
    /// The offset of the next byte to read.
    package var position = 0
    /// How many objects and arrays enclose the current position.
    package var depth = 0
    /// Deeper nesting is an error rather than a risk to the stack.
    package let maximumDepth: Int
    /// Whether an object may not name a key twice (the safetensors reference rejects that; a
    /// COCO manifest keeps the last value, as Python's `json` does).
    package let rejectsDuplicateKeys: Bool

    /// A reader at the start of `bytes`.
    @inlinable
    package init(bytes: UnsafeRawBufferPointer, maximumDepth: Int, rejectsDuplicateKeys: Bool = false) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
        self.rejectsDuplicateKeys = rejectsDuplicateKeys
    }

    /// An error at the current position.
    package func error(_ reason: String) -> JSONSyntaxError {
        JSONSyntaxError(reason: reason, offset: position)
    }

    /// The current byte, quoted (`'x'`, `byte 0x1`), or `end of input`.
    package func describeCurrent() -> String {
        guard position < bytes.count else { return "end of input" }
        let byte = bytes[position]
        guard byte >= 0x20 && byte < 0x7F else { return "byte 0x\(String(byte, radix: 16))" }
        return "'\(Character(Unicode.Scalar(byte)))'"
    }

    /// The current byte, or nil at the end of input.
    @inlinable
    package var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    // MARK: Whitespace and punctuation

    @inlinable
    package mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    /// Skips whitespace, then consumes `byte` if it comes next.
    @inlinable
    package mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    /// Consumes `byte`, which must come next.
    @inlinable
    package mutating func expect(_ byte: UInt8) throws(JSONSyntaxError) {
        guard position < bytes.count, bytes[position] == byte else {
            throw error("expected '\(Character(Unicode.Scalar(byte)))', found \(describeCurrent())")
        }
        position += 1
    }

    // MARK: Documents and containers

    /// Reads one value spanning all of the bytes with `body` (surrounding whitespace allowed).
    package mutating func document<T>(
        _ body: (inout JSONReader) throws(JSONSyntaxError) -> T
    ) throws(JSONSyntaxError) -> T {
        skipWhitespace()
        let value = try body(&self)
        skipWhitespace()
        guard position == bytes.count else {
            throw error("unexpected \(describeCurrent()) after the JSON value")
        }
        return value
    }

    /// Throws when one more level of nesting would exceed ``maximumDepth``.
    @inlinable
    package func checkDepth() throws(JSONSyntaxError) {
        guard depth < maximumDepth else { throw error("nesting deeper than \(maximumDepth) levels") }
    }

    /// Reads `{ "key": value, … }`, calling `member` with the reader at each value (whitespace
    /// skipped); `member` must read the value.
    @inlinable
    package mutating func object(
        _ member: (inout JSONReader, String) throws(JSONSyntaxError) -> Void
    ) throws(JSONSyntaxError) {
        var keys = Set<String>()
        let (open, close) = (UInt8(ascii: "{"), UInt8(ascii: "}"))
        try container(open: open, close: close, kind: "object") { reader throws(JSONSyntaxError) in
            guard reader.current == UInt8(ascii: "\"") else {
                throw reader.error("expected a string key, found \(reader.describeCurrent())")
            }
            let keyStart = reader.position
            let key = try reader.string()
            if reader.rejectsDuplicateKeys, !keys.insert(key).inserted {
                reader.position = keyStart
                throw reader.error("duplicate key \(JSONWriter.quoted(key))")
            }
            reader.skipWhitespace()
            try reader.expect(UInt8(ascii: ":"))
            reader.skipWhitespace()
            try member(&reader, key)
        }
    }

    /// Reads `[ element, … ]`, calling `element` with the reader at each element (whitespace
    /// skipped); `element` must read it.
    ///
    /// Not generic, so that a reader in another module runs specialised code: it collects the
    /// elements itself.
    @inlinable
    package mutating func forEachElement(
        _ element: (inout JSONReader) throws(JSONSyntaxError) -> Void
    ) throws(JSONSyntaxError) {
        try container(open: UInt8(ascii: "["), close: UInt8(ascii: "]"), kind: "array", element)
    }

    /// Reads `open item, … close` (an object or an array, named `kind` in errors), calling
    /// `item` at each item (whitespace skipped), one level of nesting deeper.
    @inlinable
    package mutating func container(
        open: UInt8, close: UInt8, kind: StaticString, _ item: (inout JSONReader) throws(JSONSyntaxError) -> Void
    ) throws(JSONSyntaxError) {
        try checkDepth()
        try expect(open)
        depth += 1
        defer { depth -= 1 }
        skipWhitespace()
        if position < bytes.count, bytes[position] == close {
            position += 1
            return
        }
        while true {
            skipWhitespace()
            try item(&self)
            skipWhitespace()
            guard position < bytes.count else {
                let closing = Character(Unicode.Scalar(close))
                throw error("unterminated \(kind): expected ',' or '\(closing)', found end of input")
            }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
                continue
            }
            guard bytes[position] == close else {
                let closing = Character(Unicode.Scalar(close))
                throw error("expected ',' or '\(closing)' in an \(kind), found \(describeCurrent())")
            }
            position += 1
            return
        }
    }

    // MARK: Values

    /// Any value, built: integers that fit an `Int` stay exact, other numbers are `Double`s
    /// (finite ones only), and a repeated key keeps its last value unless
    /// ``rejectsDuplicateKeys``.
    package mutating func value() throws(JSONSyntaxError) -> JSONValue {
        try checkDepth()
        switch try kindOfValue() {
        case .object:
            var members: [String: JSONValue] = [:]
            try object { reader, key throws(JSONSyntaxError) in members[key] = try reader.value() }
            return .object(members)
        case .array:
            var elements: [JSONValue] = []
            try forEachElement { reader throws(JSONSyntaxError) in elements.append(try reader.value()) }
            return .array(elements)
        case .string: return .string(try string())
        case .literal(let literal): return literal
        case .number: return try number()
        }
    }

    /// Checks one value without building it: memory stays proportional to the longest string.
    package mutating func skipValue() throws(JSONSyntaxError) {
        try checkDepth()
        switch try kindOfValue() {
        case .object: try object { reader, _ throws(JSONSyntaxError) in try reader.skipValue() }
        case .array: try forEachElement { reader throws(JSONSyntaxError) in try reader.skipValue() }
        case .string: _ = try string()
        case .literal: break
        case .number: _ = try numberLiteral()
        }
    }

    private enum Kind {
        case object, array, string, number
        case literal(JSONValue)
    }

    /// What kind of value starts here; literals are read.
    private mutating func kindOfValue() throws(JSONSyntaxError) -> Kind {
        guard position < bytes.count else { throw error("expected a value, found end of input") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"):
            try literal("true")
            return .literal(.bool(true))
        case UInt8(ascii: "f"):
            try literal("false")
            return .literal(.bool(false))
        case UInt8(ascii: "n"):
            try literal("null")
            return .literal(.null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            if let nonStandard = nonStandardNumber() { throw nonStandard }
            return .number
        default:
            if let nonStandard = nonStandardNumber() { throw nonStandard }
            throw error("expected a value, found \(describeCurrent())")
        }
    }

    /// Whether the bytes at the current position spell `word`.
    @inlinable
    package func startsWith(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard bytes.count - position >= count else { return false }
        for offset in 0..<count where bytes[position + offset] != word.utf8Start[offset] { return false }
        return true
    }

    /// The error for the non-standard numbers Python writes (`NaN`, `Infinity`, `-Infinity`),
    /// or nil when none is at the current position.
    private func nonStandardNumber() -> JSONSyntaxError? {
        for word: StaticString in ["NaN", "Infinity", "-Infinity"] where startsWith(word) {
            return error("\(word) is not valid JSON; write it with allow_nan=False or replace it (e.g. with null)")
        }
        return nil
    }

    /// Reads `word` (`true`, `false`, `null`).
    private mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        for offset in 0..<word.utf8CodeUnitCount {
            guard position < bytes.count, bytes[position] == word.utf8Start[offset] else {
                throw error("invalid literal, expected '\(word)', found \(describeCurrent())")
            }
            position += 1
        }
    }

    /// Consumes `null` if it comes next (after whitespace).
    @inlinable
    package mutating func consumeNull() -> Bool {
        skipWhitespace()
        guard startsWith("null") else { return false }
        position += 4
        return true
    }

    /// Consumes `true` or `false` if one comes next.
    @inlinable
    package mutating func bool() throws(JSONSyntaxError) -> Bool {
        if startsWith("true") {
            position += 4
            return true
        }
        if startsWith("false") {
            position += 5
            return false
        }
        throw error("expected true or false, found \(describeCurrent())")
    }

    // MARK: Strings

    /// A string (the reader at its opening quote).
    @inlinable
    package mutating func string() throws(JSONSyntaxError) -> String {
        try expect(UInt8(ascii: "\""))
        let start = position
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<(position - 1)]), as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") || byte >= 0x80 || byte < 0x20 { break }
            position += 1
        }
        position = start
        return try unescapedString()
    }

    /// The rest of a string with escapes or non-ASCII bytes, from just after its opening quote:
    /// unescaped into bytes, then validated as UTF-8.
    package mutating func unescapedString() throws(JSONSyntaxError) -> String {
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
                case UInt8(ascii: "u"): utf8.append(contentsOf: String(try unicodeEscape()).utf8)
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

    /// The scalar of a `\uXXXX` escape (the reader just after the `u`), a surrogate pair joined.
    private mutating func unicodeEscape() throws(JSONSyntaxError) -> Unicode.Scalar {
        var code = try hex4()
        if (0xD800..<0xDC00).contains(code) {
            guard startsWith("\\u") else { throw error("unpaired surrogate in \\u escape") }
            position += 2
            let low = try hex4()
            guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate in \\u escape") }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(code) else { throw error("invalid \\u escape") }
        return scalar
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
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

    // MARK: Numbers

    /// The extent of the number here, and whether it is an integer literal (no fraction, no
    /// exponent).
    @inlinable
    package mutating func numberLiteral() throws(JSONSyntaxError) -> (range: Range<Int>, isInteger: Bool) {
        let start = position
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
        let integerStart = position
        let integerDigits = skipDigits()
        guard integerDigits > 0 else { throw error("invalid number") }
        guard integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else {
            position = start
            throw error("number has a leading zero")
        }
        var isInteger = true
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard skipDigits() > 0 else { throw error("invalid number: no digits after '.'") }
        }
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            isInteger = false
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard skipDigits() > 0 else { throw error("invalid number: no digits in the exponent") }
        }
        return (start..<position, isInteger)
    }

    /// Skips decimal digits; how many there were.
    @inlinable @inline(__always)
    package mutating func skipDigits() -> Int {
        let first = position
        while position < bytes.count, bytes[position] &- UInt8(ascii: "0") < 10 { position += 1 }
        return position - first
    }

    /// The integer literal `range` as an `Int`, or nil when it does not fit.
    @inlinable
    package func integerValue(_ range: Range<Int>) -> Int? {
        guard range.count <= 20 else { return nil }
        var value = 0
        var index = range.lowerBound
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        while index < range.upperBound {
            // Accumulated with the literal's sign, so that Int.min fits too.
            let digit = Int(bytes[index] &- UInt8(ascii: "0"))
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
            let (next, carry) =
                negative
                ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
            guard !overflow, !carry else { return nil }
            value = next
            index += 1
        }
        return value
    }

    /// An integer literal that fits an `Int`.
    @inlinable
    package mutating func integer() throws(JSONSyntaxError) -> Int {
        let literal = try numberLiteral()
        guard literal.isInteger, let value = integerValue(literal.range) else {
            position = literal.range.lowerBound
            throw error("expected an integer that fits in 64 bits")
        }
        return value
    }

    /// A finite number, correctly rounded.
    @inlinable
    package mutating func double() throws(JSONSyntaxError) -> Double {
        let literal = try numberLiteral()
        // Integers below 10^15 are exact in a Double, so no decimal conversion is needed.
        if literal.isInteger, literal.range.count <= 15, let value = integerValue(literal.range) {
            return Double(value)
        }
        return try decimalValue(literal.range)
    }

    /// The number literal `range` converted by the C library (correctly rounded); an error
    /// when it is beyond the largest `Double`.
    @inlinable
    package func decimalValue(_ range: Range<Int>) throws(JSONSyntaxError) -> Double {
        func convert(_ buffer: UnsafeMutableBufferPointer<CChar>) -> Double? {
            for offset in 0..<range.count { buffer[offset] = CChar(bitPattern: bytes[range.lowerBound + offset]) }
            buffer[range.count] = 0
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(buffer.baseAddress!, &end)
            return end == buffer.baseAddress! + range.count ? value : nil
        }
        // A constant capacity stays on the stack; longer literals are rare.
        let value =
            range.count < 64
            ? withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64, convert)
            : withUnsafeTemporaryAllocation(of: CChar.self, capacity: range.count + 1, convert)
        guard let value, value.isFinite else { throw outOfRange(range) }
        return value
    }

    /// The error for a number beyond the largest `Double`.
    package func outOfRange(_ range: Range<Int>) -> JSONSyntaxError {
        JSONSyntaxError(reason: "number out of range", offset: range.lowerBound)
    }

    /// `[ number, … ]` as `Double`s (see ``double()``).
    ///
    /// Arrays of numbers are the bulk of large JSON files (a COCO manifest's polygons), so they
    /// are read in one loop here rather than element by element through ``forEachElement(_:)``:
    /// the COCO reader was 20 % slower that way, as KandinskyData calls the closure per number.
    package mutating func doubles() throws(JSONSyntaxError) -> [Double] {
        var values: [Double] = []
        try forEachElement { reader throws(JSONSyntaxError) in values.append(try reader.double()) }
        return values
    }

    /// `[ integer, … ]`, each an integer literal that fits an `Int` (see ``integer()``).
    package mutating func integers() throws(JSONSyntaxError) -> [Int] {
        var values: [Int] = []
        try forEachElement { reader throws(JSONSyntaxError) in values.append(try reader.integer()) }
        return values
    }

    /// A number as a ``JSONValue``: `.integer` when it is an integer literal that fits an `Int`,
    /// else `.number`.
    @inlinable
    package mutating func number() throws(JSONSyntaxError) -> JSONValue {
        let literal = try numberLiteral()
        if literal.isInteger, let value = integerValue(literal.range) { return .integer(value) }
        return .number(try decimalValue(literal.range))
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
        var reader = JSONReader(bytes: bytes, maximumDepth: maximumDepth)
        try reader.document { reader throws(JSONSyntaxError) in try reader.skipValue() }
    }

    /// The 1-based line and column (in bytes) of byte `offset` of `bytes`; lines end at `\n`.
    package static func lineAndColumn(of offset: Int, in bytes: UnsafeRawBufferPointer) -> (line: Int, column: Int) {
        let end = min(max(offset, 0), bytes.count)
        var line = 1
        var lineStart = 0
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
