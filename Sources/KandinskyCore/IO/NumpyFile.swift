import Foundation

/// NumPy's `.npy` format, versions 1.0 to 3.0, little-endian, C order.
///
/// Layout: the magic `\x93NUMPY`, a major and minor version byte, the header length (2 bytes
/// little-endian in version 1.0, 4 bytes in 2.0 and 3.0), a Python-literal dictionary with the
/// keys `descr`, `fortran_order` and `shape` (Latin-1 in 1.0 and 2.0, UTF-8 in 3.0) padded with
/// spaces and a newline, then the elements in row-major order.
///
/// Supported `descr`s: `<f4 <f2 <f8 |u1 |b1 <i4 <i8`. Fortran-order and big-endian files are
/// rejected with an error rather than reinterpreted.
public enum NumpyFile {
    /// The parsed header of a `.npy` file.
    package struct Header: Sendable, Equatable {
        /// The element type.
        package var elementType: ElementType
        /// The shape, outermost axis first.
        package var shape: [Int]
        /// The format version (major, minor).
        package var version: (major: UInt8, minor: UInt8)
        /// The byte offset at which the elements start.
        package var dataOffset: Int

        /// Headers are equal when type, shape, version and data offset agree (the version tuple is not `Equatable` by
        /// itself).
        package static func == (lhs: Header, rhs: Header) -> Bool {
            lhs.elementType == rhs.elementType && lhs.shape == rhs.shape
                && lhs.version == rhs.version && lhs.dataOffset == rhs.dataOffset
        }
    }

    /// Reads an array from a `.npy` file.
    ///
    /// The elements are read straight into the array's storage (one copy, from the kernel).
    ///
    /// - Throws: ``FileFormatError`` naming the field that is malformed or unsupported.
    public static func read(contentsOf url: URL) throws(FileFormatError) -> AnyShapedArray {
        let file = try ReadableFile(url: url)
        let header = try readHeader(of: file)
        return try AnyShapedArray.make(header.elementType, shape: header.shape) { (bytes) throws(FileFormatError) in
            guard bytes.count > 0 else { return }
            try file.read(into: bytes.baseAddress!, count: bytes.count, at: header.dataOffset)
            if header.elementType == .bool, let bad = firstInvalidBoolByte(UnsafeRawBufferPointer(bytes)) {
                throw FileFormatError(
                    file: url.path, field: "data",
                    problem: "boolean element \(bad) is byte \(bytes[bad]), expected 0 or 1")
            }
        }
    }

    /// Reads and validates the header of a `.npy` file (including that the data length matches
    /// the shape) without reading the elements.
    package static func readHeader(contentsOf url: URL) throws(FileFormatError) -> Header {
        try readHeader(of: ReadableFile(url: url))
    }

    /// Writes an array to a `.npy` file (version 1.0 when the header fits, else 2.0), atomically.
    ///
    /// The header is laid out byte for byte as `numpy.save` lays it out, so the elements start at
    /// a multiple of 64 bytes.
    public static func write(_ array: AnyShapedArray, to url: URL) throws(FileFormatError) {
        do {
            try write(array.elementType, shape: array.shape, to: url) { parts in try parts.append(array) }
        } catch let error as FileFormatError {
            throw error
        } catch {
            preconditionFailure("appending an array fails only as a FileFormatError: \(error)")
        }
    }

    /// Writes a `.npy` file of `elementType` and `shape` atomically from consecutive parts, so
    /// that an array never has to be whole in memory: the header is written first (as
    /// ``write(_:to:)`` writes it), then `body` appends the parts, arrays whose elements follow
    /// one another in row-major order (for parts [n_k, …] of [Σ n_k, …], the concatenation
    /// along the first axis), and the file is renamed into place once `body` returns. The bytes
    /// equal those of ``write(_:to:)`` given the whole array.
    ///
    /// - Throws: what `body` throws, unchanged, or a ``FileFormatError`` when writing fails;
    ///   either way the destination is left untouched.
    /// - Precondition: the parts have `elementType` and together exactly the elements of `shape`.
    /// - Complexity: O(header + elements); memory holds only what `body` holds.
    package static func write(
        _ elementType: ElementType, shape: [Int], to url: URL, parts body: (inout PartWriter) throws -> Void
    ) throws {
        var bodyError: (any Error)?
        do {
            try AtomicFile.write(to: url) { handle in
                try handle.write(contentsOf: headerBytes(elementType: elementType, shape: shape))
                var parts = PartWriter(
                    handle: handle, elementType: elementType,
                    remainingBytes: shape.reduce(1, *) * elementType.byteSize)
                do {
                    try body(&parts)
                } catch let failure as PartWriter.WriteFailure {
                    throw failure.underlying
                } catch {
                    bodyError = error
                    throw error
                }
                precondition(parts.remainingBytes == 0, "the parts end \(parts.remainingBytes) bytes short of \(shape)")
            }
        } catch {
            throw bodyError ?? error
        }
    }

    /// Appends the parts of a `write(_:shape:to:parts:)` to its temporary file.
    package struct PartWriter {
        /// A failure of the file handle, told apart from the errors of the caller's body.
        fileprivate struct WriteFailure: Error {
            let underlying: any Error
        }

        fileprivate let handle: FileHandle
        fileprivate let elementType: ElementType
        fileprivate var remainingBytes: Int

        /// Writes the elements of `part` after those written so far (no copy of the storage).
        ///
        /// - Precondition: `part` has the file's element type and fits in what remains of its shape.
        package mutating func append(_ part: AnyShapedArray) throws {
            precondition(part.elementType == elementType, "a \(part.elementType) part in a \(elementType) file")
            try part.withUnsafeBytes { bytes in
                precondition(bytes.count <= remainingBytes, "a part of \(part.shape) overruns the file's shape")
                remainingBytes -= bytes.count
                guard let base = bytes.baseAddress, bytes.count > 0 else { return }
                do {
                    // Wraps the storage without copying it; the handle writes it out synchronously.
                    try handle.write(
                        contentsOf: Data(
                            bytesNoCopy: UnsafeMutableRawPointer(mutating: base),
                            count: bytes.count, deallocator: .none))
                } catch {
                    throw WriteFailure(underlying: error)
                }
            }
        }
    }

    /// The magic, version, header length and padded header dictionary that `numpy.save` writes
    /// for an array of this type and shape.
    static func headerBytes(elementType: ElementType, shape: [Int]) -> [UInt8] {
        let shapeText: String =
            switch shape.count {
            case 0: "()"
            case 1: "(\(shape[0]),)"
            default: "(" + shape.map(String.init).joined(separator: ", ") + ")"
            }
        var dictionary = "{'descr': '\(elementType.numpyDescriptor)', 'fortran_order': False, 'shape': \(shapeText), }"
        // numpy leaves room for the leading extent to grow to 21 digits, so files can be appended to in place.
        if let leading = shape.first { dictionary += String(repeating: " ", count: max(21 - String(leading).count, 0)) }
        let text = Array(dictionary.utf8)
        let terminatedLength = text.count + 1
        for (major, lengthFieldSize) in [(UInt8(1), 2), (UInt8(2), 4)] {
            let preambleLength = 8 + lengthFieldSize
            let padding = 64 - (preambleLength + terminatedLength) % 64
            let headerLength = terminatedLength + padding
            if lengthFieldSize == 2 && headerLength > Int(UInt16.max) { continue }
            var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [major, 0]
            for i in 0..<lengthFieldSize { bytes.append(UInt8(truncatingIfNeeded: headerLength >> (8 * i))) }
            bytes += text
            bytes += [UInt8](repeating: 0x20, count: padding)
            bytes.append(0x0A)
            return bytes
        }
        preconditionFailure("a .npy header for shape \(shape) does not fit in version 2.0")
    }

    private static func readHeader(of file: ReadableFile) throws(FileFormatError) -> Header {
        func failure(_ field: String, _ problem: String) -> FileFormatError {
            FileFormatError(file: file.path, field: field, problem: problem)
        }
        let preamble = try readPreamble(of: file, failure: failure)
        let values = try readDictionary(of: file, preamble, failure: failure)
        let (elementType, descriptor, shape) = try fields(values, failure: failure)
        let dataOffset = preamble.headerStart + preamble.headerLength
        guard let byteCount = checkedByteCount(shape: shape, elementSize: elementType.byteSize) else {
            throw failure("shape", "shape \(shape) of \(descriptor) has too many elements")
        }
        let available = file.size - dataOffset
        if available < byteCount {
            throw failure(
                "data", "truncated: shape \(shape) of \(descriptor) needs \(byteCount) bytes, the file has \(available)"
            )
        }
        if available > byteCount {
            throw failure(
                "data",
                "\(available - byteCount) unexpected bytes after the \(byteCount) bytes of shape \(shape) of \(descriptor)"
            )
        }
        return Header(elementType: elementType, shape: shape, version: preamble.version, dataOffset: dataOffset)
    }

    /// The version and where the header dictionary lies: the magic, `major minor`, then the
    /// little-endian header length (2 bytes in version 1.0, 4 after).
    private static func readPreamble(
        of file: ReadableFile, failure: (String, String) -> FileFormatError
    ) throws(FileFormatError) -> (version: (major: UInt8, minor: UInt8), headerStart: Int, headerLength: Int) {
        guard file.size >= 10 else {
            throw failure("magic", "file is \(file.size) bytes, too short for a .npy preamble (at least 10)")
        }
        let start = try file.readBytes(count: min(file.size, 12), at: 0)
        guard start[0] == 0x93, Array(start[1..<6]) == Array("NUMPY".utf8) else {
            throw failure(
                "magic",
                "expected \\x93NUMPY, found \(start[0..<6].map { String(format: "%02x", $0) }.joined(separator: " ")) (not a .npy file)"
            )
        }
        let major = start[6]
        let minor = start[7]
        guard (1...3).contains(major), minor == 0 else {
            throw failure("version", "format version \(major).\(minor) is not supported (expected 1.0, 2.0 or 3.0)")
        }
        let lengthFieldSize = major == 1 ? 2 : 4
        guard file.size >= 8 + lengthFieldSize else {
            throw failure("header length", "file ends inside the header length field")
        }
        var headerLength = 0
        for i in 0..<lengthFieldSize { headerLength |= Int(start[8 + i]) << (8 * i) }
        let headerStart = 8 + lengthFieldSize
        guard headerStart + headerLength <= file.size else {
            throw failure(
                "header length",
                "a header of \(headerLength) bytes starting at byte \(headerStart) extends past the end of the \(file.size)-byte file"
            )
        }
        return ((major, minor), headerStart, headerLength)
    }

    /// The header dictionary's values by key, which must be exactly `descr`, `fortran_order`
    /// and `shape`; the text is Latin-1 before version 3.0 and UTF-8 from it.
    private static func readDictionary(
        of file: ReadableFile, _ preamble: (version: (major: UInt8, minor: UInt8), headerStart: Int, headerLength: Int),
        failure: (String, String) -> FileFormatError
    ) throws(FileFormatError) -> [String: PythonLiteral] {
        let headerBytes = try file.readBytes(count: preamble.headerLength, at: preamble.headerStart)
        let text: String
        if preamble.version.major == 3 {
            guard let decoded = String(validating: headerBytes, as: UTF8.self) else {
                throw failure("header", "version 3.0 header is not valid UTF-8")
            }
            text = decoded
        } else {
            text = String(headerBytes.map { Character(Unicode.Scalar($0)) })  // Latin-1
        }
        let literal: PythonLiteral
        do throws(PythonLiteral.SyntaxError) {
            literal = try PythonLiteral.parse(text)
        } catch {
            throw failure("header", "invalid dictionary literal: \(error.message)")
        }
        guard case .dictionary(let dictionary) = literal else {
            throw failure("header", "expected a dictionary, found \(literal)")
        }
        let keys = dictionary.map(\.key).sorted()
        guard keys == ["descr", "fortran_order", "shape"] else {
            throw failure(
                "header",
                "expected exactly the keys 'descr', 'fortran_order' and 'shape', found \(keys.map { "'\($0)'" }.joined(separator: ", "))"
            )
        }
        return Dictionary(uniqueKeysWithValues: dictionary.map { ($0.key, $0.value) })
    }

    /// The element type (with its descriptor as written) and shape the header's fields give.
    private static func fields(
        _ values: [String: PythonLiteral], failure: (String, String) -> FileFormatError
    ) throws(FileFormatError) -> (elementType: ElementType, descriptor: String, shape: [Int]) {
        guard case .string(let descriptor) = values["descr"]! else {
            throw failure("descr", "structured or non-string dtype \(values["descr"]!) is not supported")
        }
        guard let elementType = ElementType(numpyDescriptor: descriptor) else {
            if descriptor.hasPrefix(">"), ElementType(numpyDescriptor: "<" + descriptor.dropFirst()) != nil {
                throw failure(
                    "descr",
                    "big-endian dtype '\(descriptor)' is not supported; save the array as little-endian (a.astype('<\(descriptor.dropFirst())'))"
                )
            }
            throw failure(
                "descr",
                "unsupported dtype '\(descriptor)' (expected one of \(ElementType.allCases.map(\.numpyDescriptor).joined(separator: " ")))"
            )
        }
        guard case .bool(let fortranOrder) = values["fortran_order"]! else {
            throw failure("fortran_order", "expected True or False, found \(values["fortran_order"]!)")
        }
        guard !fortranOrder else {
            throw failure(
                "fortran_order",
                "Fortran-order (column-major) arrays are not supported; save np.ascontiguousarray(a) instead")
        }
        guard case .tuple(let extents) = values["shape"]! else {
            throw failure("shape", "expected a tuple of integers, found \(values["shape"]!)")
        }
        var shape: [Int] = []
        for extent in extents {
            guard case .integer(let value) = extent, value >= 0 else {
                throw failure("shape", "expected non-negative integers, found \(extent)")
            }
            shape.append(value)
        }
        return (elementType, descriptor, shape)
    }
}

extension ElementType {
    /// The numpy `descr` of this type in a `.npy` header (`<f4`, `|u1`, …).
    package var numpyDescriptor: String {
        switch self {
        case .float32: "<f4"
        case .float16: "<f2"
        case .float64: "<f8"
        case .uint8: "|u1"
        case .bool: "|b1"
        case .int32: "<i4"
        case .int64: "<i8"
        }
    }

    /// The type whose numpy `descr` is `descriptor`, if supported.
    package init?(numpyDescriptor descriptor: String) {
        guard let match = ElementType.allCases.first(where: { $0.numpyDescriptor == descriptor }) else { return nil }
        self = match
    }
}

/// The subset of Python literals a `.npy` header uses: a dictionary of strings, booleans,
/// integers and tuples (lists are parsed so that structured dtypes get a clear error).
enum PythonLiteral: CustomStringConvertible {
    case dictionary([(key: String, value: PythonLiteral)])
    case tuple([PythonLiteral])
    case list([PythonLiteral])
    case string(String)
    case integer(Int)
    case bool(Bool)
    case none

    struct SyntaxError: Error {
        let message: String
    }

    var description: String {
        switch self {
        case .dictionary(let entries): "{" + entries.map { "'\($0.key)': \($0.value)" }.joined(separator: ", ") + "}"
        case .tuple(let items): "(" + items.map(\.description).joined(separator: ", ") + (items.count == 1 ? ",)" : ")")
        case .list(let items): "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .string(let s): "'\(s)'"
        case .integer(let i): "\(i)"
        case .bool(let b): b ? "True" : "False"
        case .none: "None"
        }
    }

    static func parse(_ text: String) throws(SyntaxError) -> PythonLiteral {
        var parser = Parser(characters: Array(text.unicodeScalars))
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == parser.characters.count else {
            throw parser.error("unexpected text after the literal")
        }
        return value
    }

    private struct Parser {
        let characters: [Unicode.Scalar]
        var position = 0

        func error(_ message: String) -> SyntaxError {
            SyntaxError(message: "\(message) at character \(position)")
        }

        var current: Unicode.Scalar? { position < characters.count ? characters[position] : nil }

        mutating func skipWhitespace() {
            while let c = current, c == " " || c == "\t" || c == "\n" || c == "\r" { position += 1 }
        }

        mutating func expect(_ c: Unicode.Scalar) throws(SyntaxError) {
            guard current == c else {
                throw error("expected '\(c)', found \(current.map { "'\($0)'" } ?? "end of header")")
            }
            position += 1
        }

        mutating func parseValue(depth: Int) throws(SyntaxError) -> PythonLiteral {
            guard depth < 16 else { throw error("nested too deeply") }
            guard let c = current else { throw error("expected a value, found end of header") }
            switch c {
            case "{": return try parseDictionary(depth: depth)
            case "(": return .tuple(try parseSequence(open: "(", close: ")", depth: depth))
            case "[": return .list(try parseSequence(open: "[", close: "]", depth: depth))
            case "'", "\"": return .string(try parseString())
            case "0"..."9", "-": return try parseInteger()
            default:
                for (word, value) in [("True", PythonLiteral.bool(true)), ("False", .bool(false)), ("None", .none)]
                where characters[position...].starts(with: word.unicodeScalars) {
                    position += word.unicodeScalars.count
                    return value
                }
                throw error("unexpected '\(c)'")
            }
        }

        mutating func parseDictionary(depth: Int) throws(SyntaxError) -> PythonLiteral {
            try expect("{")
            var entries: [(key: String, value: PythonLiteral)] = []
            while true {
                skipWhitespace()
                if current == "}" {
                    position += 1
                    return .dictionary(entries)
                }
                guard current == "'" || current == "\"" else { throw error("expected a string key") }
                let key = try parseString()
                guard !entries.contains(where: { $0.key == key }) else { throw error("duplicate key '\(key)'") }
                skipWhitespace()
                try expect(":")
                skipWhitespace()
                entries.append((key, try parseValue(depth: depth + 1)))
                skipWhitespace()
                if current == "," {
                    position += 1
                    continue
                }
                try expect("}")
                return .dictionary(entries)
            }
        }

        mutating func parseSequence(open: Unicode.Scalar, close: Unicode.Scalar, depth: Int) throws(SyntaxError)
            -> [PythonLiteral]
        {
            try expect(open)
            var items: [PythonLiteral] = []
            while true {
                skipWhitespace()
                if current == close {
                    position += 1
                    return items
                }
                items.append(try parseValue(depth: depth + 1))
                skipWhitespace()
                if current == "," {
                    position += 1
                    continue
                }
                try expect(close)
                return items
            }
        }

        mutating func parseString() throws(SyntaxError) -> String {
            let quote = current!
            position += 1
            var result = String.UnicodeScalarView()
            while true {
                guard let c = current else { throw error("unterminated string") }
                position += 1
                if c == quote { return String(result) }
                if c == "\\" {
                    guard let escaped = current else { throw error("unterminated string") }
                    position += 1
                    result.append(escaped)
                } else {
                    result.append(c)
                }
            }
        }

        mutating func parseInteger() throws(SyntaxError) -> PythonLiteral {
            let start = position
            if current == "-" { position += 1 }
            while let c = current, ("0"..."9").contains(c) { position += 1 }
            let text = String(String.UnicodeScalarView(characters[start..<position]))
            // Files written by Python 2 may mark long integers with an `L` suffix.
            if current == "L" { position += 1 }
            guard let value = Int(text) else { throw error("invalid integer '\(text)'") }
            return .integer(value)
        }
    }
}
