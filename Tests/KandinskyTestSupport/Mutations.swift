import Foundation

// Seeded mutations of file contents for fuzz tests: every parser's suite (and the config and
// calibrated-model suites of other test targets) draws its inputs from these, so that a
// mutation strategy is written once. All randomness comes from the generator passed in, so a
// seed and an iteration number reproduce an input exactly.

/// Numbers that sit on the edges parsers get wrong: zero and one, signs, powers of two around
/// `Int32` and `Int`, values just past `Int.max`, huge and tiny doubles. As JSON literals.
public let extremeNumberLiterals: [String] = [
    "0", "1", "-1", "2", "255", "256", "65535", "65536", "2147483647", "2147483648", "-2147483649",
    "4294967296", "4611686018427387904", "9223372036854775807", "-9223372036854775808",
    "9223372036854775808", "18446744073709551616", "1e308", "1e400", "-1e400", "1e-400", "0.5",
    "-0.0", "3.0e2", "1E+2", "123456789012345678901234567890",
]

/// One byte-level mutation of a file's contents.
public enum ByteMutation: String, CaseIterable, Sendable {
    /// Flips one to eight random bits.
    case flipBits
    /// Cuts the bytes at a random length (possibly zero).
    case truncate
    /// Inserts one to 64 random bytes at a random offset.
    case insertBytes
    /// Deletes a random range of up to 64 bytes.
    case deleteBytes
    /// Overwrites up to 8 bytes with edge values (0x00, 0x7F, 0x80, 0xFF).
    case overwriteWithEdgeBytes
    /// Overwrites 2, 4 or 8 bytes at a random offset with an extreme integer (little- or big-endian).
    case overwriteWithExtremeInteger
    /// Copies a random range of the input over another place.
    case copyRange

    /// Applies this mutation to `bytes`.
    public func apply(to bytes: inout [UInt8], using generator: inout some RandomNumberGenerator) {
        switch self {
        case .flipBits:
            guard !bytes.isEmpty else { return }
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                bytes[Int.random(in: bytes.indices, using: &generator)] ^=
                    1 << UInt8.random(in: 0..<8, using: &generator)
            }
        case .truncate:
            bytes.removeLast(Int.random(in: 0...bytes.count, using: &generator))
        case .insertBytes:
            let offset = Int.random(in: 0...bytes.count, using: &generator)
            let inserted = (0..<Int.random(in: 1...64, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            }
            bytes.insert(contentsOf: inserted, at: offset)
        case .deleteBytes:
            guard !bytes.isEmpty else { return }
            let start = Int.random(in: bytes.indices, using: &generator)
            bytes.removeSubrange(start..<min(bytes.count, start + Int.random(in: 1...64, using: &generator)))
        case .overwriteWithEdgeBytes:
            guard !bytes.isEmpty else { return }
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                bytes[Int.random(in: bytes.indices, using: &generator)] = [0x00, 0x7F, 0x80, 0xFF].randomElement(
                    using: &generator)!
            }
        case .overwriteWithExtremeInteger:
            let width = [2, 4, 8].randomElement(using: &generator)!
            guard bytes.count >= width else { return }
            let value: UInt64 = [0, 1, .max, .max >> 1, 1 << 63, 1 << 31, (1 << 32) - 1, 1 << 16, 0xFFFF, 1 << 62]
                .randomElement(using: &generator)!
            let offset = Int.random(in: 0...(bytes.count - width), using: &generator)
            let bigEndian = Bool.random(using: &generator)
            for i in 0..<width {
                let shift = UInt64(8 * (bigEndian ? width - 1 - i : i))
                bytes[offset + i] = UInt8(truncatingIfNeeded: value >> shift)
            }
        case .copyRange:
            guard bytes.count >= 2 else { return }
            let length = Int.random(in: 1...min(64, bytes.count - 1), using: &generator)
            let from = Int.random(in: 0...(bytes.count - length), using: &generator)
            let to = Int.random(in: 0...(bytes.count - length), using: &generator)
            let piece = Array(bytes[from..<(from + length)])
            bytes.replaceSubrange(to..<(to + length), with: piece)
        }
    }
}

/// Applies one to `maximumCount` random ``ByteMutation``s to `bytes`; returns their names, in
/// order, to describe the input.
@discardableResult
public func mutateBytes(
    _ bytes: inout [UInt8], maximumCount: Int = 3, using generator: inout some RandomNumberGenerator
) -> [String] {
    (0..<Int.random(in: 1...maximumCount, using: &generator)).map { _ in
        let mutation = ByteMutation.allCases.randomElement(using: &generator)!
        mutation.apply(to: &bytes, using: &generator)
        return mutation.rawValue
    }
}

// MARK: - JSON

/// A JSON text cut into tokens (strings with their quotes, numbers, literals, punctuation and
/// the whitespace between), so that mutations can edit its structure rather than its bytes.
/// Text that is not JSON is still cut, byte by byte where nothing else fits.
public struct JSONTokens: Sendable {
    /// The tokens; joined they give the text back.
    public var tokens: [String]

    /// Cuts `text` into tokens.
    public init(_ text: String) {
        var tokens: [String] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let start = i
            switch bytes[i] {
            case UInt8(ascii: "\""):
                i += 1
                while i < bytes.count, bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
                i = min(i + 1, bytes.count)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                i += 1
                while i < bytes.count, "0123456789.eE+-".utf8.contains(bytes[i]) { i += 1 }
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"):
                while i < bytes.count, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[i] | 0x20) { i += 1 }
            case 0x20, 0x09, 0x0A, 0x0D:
                while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
            default:
                i += 1
            }
            tokens.append(String(decoding: bytes[start..<i], as: UTF8.self))
        }
        self.tokens = tokens
    }

    /// The tokens joined.
    public var text: String { tokens.joined() }

    /// Indices of tokens that are numbers.
    public var numberIndices: [Int] {
        tokens.indices.filter { tokens[$0].first.map { $0 == "-" || $0.isNumber } ?? false }
    }
    /// Indices of tokens that are values (numbers, strings, literals) or open a container.
    public var valueIndices: [Int] {
        tokens.indices.filter { index in
            guard let first = tokens[index].first else { return false }
            return first == "-" || first.isNumber || first.isLetter || first == "\"" || first == "[" || first == "{"
        }
    }
}

/// One structural mutation of a JSON text.
public enum JSONMutation: String, CaseIterable, Sendable {
    /// Replaces a number with one of ``extremeNumberLiterals``.
    case extremeNumber
    /// Replaces a number with `NaN`, `Infinity` or `-Infinity`, as Python's `json.dump` writes them.
    case nonFiniteNumber
    /// Replaces a value with a value of another kind (`[]`, `{}`, `""`, `null`, `true`, `[[]]`, `"x"`).
    case replaceValue
    /// Deletes one token (a bracket, comma, colon, key or value).
    case deleteToken
    /// Duplicates one token.
    case duplicateToken
    /// Swaps two tokens.
    case swapTokens
    /// Inserts a bracket, brace, comma, colon or quote.
    case insertPunctuation
    /// Wraps a value in 1 to 2000 levels of `[…]`.
    case nestDeeper
    /// Negates a number.
    case negateNumber

    /// Applies this mutation to `json`.
    public func apply(to json: inout JSONTokens, using generator: inout some RandomNumberGenerator) {
        guard !json.tokens.isEmpty else { return }
        let any = Int.random(in: json.tokens.indices, using: &generator)
        let number = json.numberIndices.randomElement(using: &generator)
        let value = json.valueIndices.randomElement(using: &generator) ?? any
        switch self {
        case .extremeNumber:
            json.tokens[number ?? any] = extremeNumberLiterals.randomElement(using: &generator)!
        case .nonFiniteNumber:
            json.tokens[number ?? any] = ["NaN", "Infinity", "-Infinity"].randomElement(using: &generator)!
        case .replaceValue:
            json.tokens[value] = [
                "[]", "{}", "\"\"", "null", "true", "[[]]", "\"x\"", "[0]", "{\"size\": [1, 1], \"counts\": \"1\"}",
            ]
            .randomElement(using: &generator)!
        case .deleteToken:
            json.tokens.remove(at: any)
        case .duplicateToken:
            json.tokens.insert(json.tokens[any], at: any)
        case .swapTokens:
            json.tokens.swapAt(any, Int.random(in: json.tokens.indices, using: &generator))
        case .insertPunctuation:
            json.tokens.insert(["[", "]", "{", "}", ",", ":", "\""].randomElement(using: &generator)!, at: any)
        case .nestDeeper:
            let depth = [1, 2, 10, 600, 2000].randomElement(using: &generator)!
            json.tokens[value] =
                String(repeating: "[", count: depth) + json.tokens[value] + String(repeating: "]", count: depth)
        case .negateNumber:
            let index = number ?? any
            json.tokens[index] =
                json.tokens[index].hasPrefix("-") ? String(json.tokens[index].dropFirst()) : "-" + json.tokens[index]
        }
    }
}

/// Applies one to `maximumCount` random ``JSONMutation``s to `text`; returns their names.
@discardableResult
public func mutateJSON(_ text: inout String, maximumCount: Int = 3, using generator: inout some RandomNumberGenerator)
    -> [String]
{
    var json = JSONTokens(text)
    let names = (0..<Int.random(in: 1...maximumCount, using: &generator)).map { _ in
        let mutation = JSONMutation.allCases.randomElement(using: &generator)!
        mutation.apply(to: &json, using: &generator)
        return mutation.rawValue
    }
    text = json.text
    return names
}

// MARK: - Container formats

/// CRC-32 (ISO-HDLC, as PNG and zlib use it) of `bytes`.
public func crc32(_ bytes: some Sequence<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

/// PNG files as chunks, so that mutations can edit a chunk's fields and still pass the CRC check
/// (a byte flip alone almost always stops at the CRC).
public enum PNGChunks {
    /// The byte ranges of each chunk's type and data (`start` is the type's offset, `dataCount`
    /// the length field), for a file that starts with the PNG signature; stops at the first
    /// chunk that does not fit.
    public static func chunks(in bytes: [UInt8]) -> [(start: Int, dataCount: Int)] {
        var result: [(Int, Int)] = []
        var offset = 8
        while offset + 12 <= bytes.count {
            let length =
                Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8
                | Int(bytes[offset + 3])
            guard offset + 12 + length <= bytes.count else { break }
            result.append((offset + 4, length))
            offset += 12 + length
        }
        return result
    }

    /// Recomputes the CRC of every chunk that fits.
    public static func fixCRCs(_ bytes: inout [UInt8]) {
        for (start, count) in chunks(in: bytes) {
            let crc = crc32(bytes[start..<(start + 4 + count)])
            for i in 0..<4 { bytes[start + 4 + count + i] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32(i))) }
        }
    }

    /// Sets IHDR's width and height (big-endian) and fixes the CRCs.
    public static func setSize(_ bytes: inout [UInt8], width: UInt32, height: UInt32) {
        guard let ihdr = chunks(in: bytes).first, ihdr.dataCount >= 8 else { return }
        for i in 0..<4 {
            bytes[ihdr.start + 4 + i] = UInt8(truncatingIfNeeded: width >> (24 - 8 * UInt32(i)))
            bytes[ihdr.start + 8 + i] = UInt8(truncatingIfNeeded: height >> (24 - 8 * UInt32(i)))
        }
        fixCRCs(&bytes)
    }

    /// Applies byte mutations inside one random chunk's data, or to a header field, then fixes
    /// the CRCs so that the mutated chunk reaches libpng's parser.
    public static func mutate(_ bytes: inout [UInt8], using generator: inout some RandomNumberGenerator) -> [String] {
        let chunks = chunks(in: bytes)
        guard let chunk = chunks.randomElement(using: &generator) else { return mutateBytes(&bytes, using: &generator) }
        if Bool.random(using: &generator), chunk.dataCount > 0 {
            var data = Array(bytes[(chunk.start + 4)..<(chunk.start + 4 + chunk.dataCount)])
            let names = [ByteMutation.flipBits, .overwriteWithEdgeBytes, .overwriteWithExtremeInteger, .copyRange]
                .randomElement(using: &generator)!
            names.apply(to: &data, using: &generator)
            bytes.replaceSubrange((chunk.start + 4)..<(chunk.start + 4 + chunk.dataCount), with: data)
            fixCRCs(&bytes)
            return [
                "chunk \(String(decoding: bytes[chunk.start..<(chunk.start + 4)], as: UTF8.self)) \(names.rawValue)"
            ]
        }
        let sizes: [UInt32] = [0, 1, 2, 7, 8, 255, 256, 30000, 65535, 1 << 20, 1 << 31, .max]
        setSize(&bytes, width: sizes.randomElement(using: &generator)!, height: sizes.randomElement(using: &generator)!)
        return ["IHDR size"]
    }
}

/// JPEG files as marker segments, so that mutations can edit the frame header's fields.
public enum JPEGMarkers {
    /// The offset of the first start-of-frame segment's marker (`FF C0` … `FF CF` except C4, C8,
    /// CC), or nil.
    public static func frameHeaderOffset(in bytes: [UInt8]) -> Int? {
        var offset = 2
        while offset + 4 <= bytes.count, bytes[offset] == 0xFF {
            let marker = bytes[offset + 1]
            if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) { return offset }
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            offset += 2 + length
        }
        return nil
    }

    /// Sets the frame header's width and height (16 bits each, big-endian); returns false when
    /// there is no frame header.
    @discardableResult
    public static func setSize(_ bytes: inout [UInt8], width: UInt16, height: UInt16) -> Bool {
        guard let offset = frameHeaderOffset(in: bytes), offset + 9 <= bytes.count else { return false }
        bytes[offset + 5] = UInt8(height >> 8)
        bytes[offset + 6] = UInt8(height & 0xFF)
        bytes[offset + 7] = UInt8(width >> 8)
        bytes[offset + 8] = UInt8(width & 0xFF)
        return true
    }

    /// Edits a frame-header field (size, precision, component count) or applies byte mutations.
    public static func mutate(_ bytes: inout [UInt8], using generator: inout some RandomNumberGenerator) -> [String] {
        guard Bool.random(using: &generator), let offset = frameHeaderOffset(in: bytes), offset + 10 <= bytes.count
        else {
            return mutateBytes(&bytes, using: &generator)
        }
        switch Int.random(in: 0..<3, using: &generator) {
        case 0:
            let sizes: [UInt16] = [0, 1, 7, 8, 255, 30000, 45000, .max]
            setSize(
                &bytes, width: sizes.randomElement(using: &generator)!, height: sizes.randomElement(using: &generator)!)
            return ["SOF size"]
        case 1:
            bytes[offset + 4] = [0, 1, 8, 12, 16, 255].randomElement(using: &generator)!
            return ["SOF precision"]
        default:
            bytes[offset + 9] = [0, 1, 2, 3, 4, 5, 255].randomElement(using: &generator)!
            return ["SOF components"]
        }
    }
}
