import Foundation

/// The safetensors format: an 8-byte little-endian header length, a JSON header mapping tensor
/// names to dtype, shape and data offsets (and an optional `__metadata__` string map), then the
/// tensor bytes.
public struct SafetensorsFile: Sendable {
    /// The tensors, in the order they are written (sorted by name when read, as the format has
    /// no order of its own).
    public var tensors: [(name: String, array: AnyShapedArray)]
    /// The `__metadata__` string map.
    public var metadata: [String: String]

    /// A file's contents: named tensors in order (names must be unique) and the `__metadata__` map.
    public init(tensors: [(name: String, array: AnyShapedArray)] = [], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor called `name`, if present.
    public subscript(name: String) -> AnyShapedArray? {
        get { tensors.first { $0.name == name }?.array }
        set {
            if let index = tensors.firstIndex(where: { $0.name == name }) {
                if let newValue { tensors[index].array = newValue } else { tensors.remove(at: index) }
            } else if let newValue {
                tensors.append((name, newValue))
            }
        }
    }

    /// Reads a file; tensor data is memory-mapped rather than copied.
    ///
    /// The file is mapped privately (copy-on-write) and each tensor whose offset is aligned for
    /// its element type borrows the mapping; misaligned tensors are copied. The header is
    /// validated as the reference implementation validates it: a header length of at most
    /// 100 MB that fits in the file, valid JSON, known dtypes, offsets with begin ≤ end inside
    /// the data section, byte counts equal to shape × dtype size, and tensors that tile the data
    /// section without overlaps or gaps.
    ///
    /// - Throws: ``FileFormatError`` naming the tensor and field that is malformed.
    public static func read(contentsOf url: URL) throws(FileFormatError) -> SafetensorsFile {
        let file = try ReadableFile(url: url)
        func failure(_ field: String, _ problem: String) -> FileFormatError {
            FileFormatError(file: url.path, field: field, problem: problem)
        }
        guard file.size >= 8 else {
            throw failure("header length", "file is \(file.size) bytes, too short for the 8-byte header length")
        }
        let map = try MemoryMap(file: file)
        let headerLength = UInt64(littleEndian: map.base.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(maximumHeaderLength) else {
            throw failure(
                "header length",
                "\(headerLength) bytes exceeds the \(maximumHeaderLength)-byte limit (not a safetensors file?)")
        }
        guard headerLength <= UInt64(file.size - 8) else {
            throw failure(
                "header length", "a header of \(headerLength) bytes extends past the end of the \(file.size)-byte file")
        }
        let header = try Header(UnsafeRawBufferPointer(start: map.base + 8, count: Int(headerLength)), failure: failure)
        let dataStart = 8 + Int(headerLength)
        let (entries, metadata) = try header.entries(dataSize: file.size - dataStart, failure: failure)
        try checkTiling(entries, dataSize: file.size - dataStart, failure: failure)

        var tensors: [(name: String, array: AnyShapedArray)] = []
        for entry in entries.sorted(by: { $0.name < $1.name }) {
            let base = map.base + dataStart + entry.begin
            let bytes = UnsafeRawBufferPointer(start: base, count: entry.end - entry.begin)
            if entry.type == .bool, let bad = firstInvalidBoolByte(bytes) {
                throw failure("\(entry.name)", "boolean element \(bad) is byte \(bytes[bad]), expected 0 or 1")
            }
            let array: AnyShapedArray
            if Int(bitPattern: base) % entry.type.alignment == 0 {
                array = AnyShapedArray.borrowing(entry.type, shape: entry.shape, base: base, owner: map)
            } else {
                array = try AnyShapedArray.make(entry.type, shape: entry.shape) { destination in
                    destination.copyMemory(from: bytes)
                }
            }
            tensors.append((entry.name, array))
        }
        return SafetensorsFile(tensors: tensors, metadata: metadata)
    }

    /// A tensor as the header describes it: bytes `[begin, end)` of the data section.
    private typealias Entry = (name: String, type: ElementType, shape: [Int], begin: Int, end: Int)

    /// The header JSON, parsed whole before any of it is checked (so a syntax error anywhere is
    /// the error reported): its members in file order, `__metadata__`'s too when it is an object.
    private struct Header {
        enum Member {
            case tensor(JSONValue)
            case metadata([(key: String, value: JSONValue)])
        }
        var members: [(name: String, value: Member)] = []

        init(_ bytes: UnsafeRawBufferPointer, failure: (String, String) -> FileFormatError) throws(FileFormatError) {
            guard bytes.first == UInt8(ascii: "{") else {
                throw failure("header", "expected a JSON object starting with '{'")
            }
            var reader = JSONReader(bytes: bytes, maximumDepth: 64, rejectsDuplicateKeys: true)
            do throws(JSONSyntaxError) {
                try reader.document { reader throws(JSONSyntaxError) in
                    try reader.object { reader, name throws(JSONSyntaxError) in
                        if name == "__metadata__", reader.current == UInt8(ascii: "{") {
                            var pairs: [(key: String, value: JSONValue)] = []
                            try reader.object { reader, key throws(JSONSyntaxError) in
                                pairs.append((key, try reader.value()))
                            }
                            members.append((name, .metadata(pairs)))
                        } else {
                            members.append((name, .tensor(try reader.value())))
                        }
                    }
                }
            } catch {
                throw failure("header", "invalid JSON: \(error.message)")
            }
        }

        /// The tensors' entries in file order, each checked against its dtype and the
        /// `dataSize`-byte data section, and the `__metadata__` string map.
        func entries(dataSize: Int, failure: (String, String) -> FileFormatError) throws(FileFormatError)
            -> (entries: [Entry], metadata: [String: String])
        {
            var metadata: [String: String] = [:]
            var entries: [Entry] = []
            for (name, member) in members {
                switch member {
                case .metadata(let pairs):
                    for (key, item) in pairs {
                        guard case .string(let text) = item else {
                            throw failure(
                                "__metadata__",
                                "value of \(JSONWriter.quoted(key)) is \(item.kindName), expected a string")
                        }
                        metadata[key] = text
                    }
                case .tensor(let value) where name == "__metadata__":
                    throw failure("__metadata__", "expected an object of strings, found \(value.kindName)")
                case .tensor(let value):
                    entries.append(try Self.entry(name, value, dataSize: dataSize, failure: failure))
                }
            }
            return (entries, metadata)
        }

        private static func entry(
            _ name: String, _ value: JSONValue, dataSize: Int,
            failure: (String, String) -> FileFormatError
        ) throws(FileFormatError) -> Entry {
            guard case .object(let fields) = value else {
                throw failure(name, "expected an object with dtype, shape and data_offsets, found \(value.kindName)")
            }
            func field(_ key: String) throws(FileFormatError) -> JSONValue {
                guard let found = fields[key] else { throw failure("\(name).\(key)", "missing") }
                return found
            }
            guard case .string(let dtype) = try field("dtype") else {
                throw failure("\(name).dtype", "expected a string")
            }
            guard let type = ElementType(rawValue: dtype) else {
                throw failure(
                    "\(name).dtype",
                    "unsupported dtype \(JSONWriter.quoted(dtype)) (expected one of \(ElementType.allCases.map(\.rawValue).joined(separator: " ")))"
                )
            }
            guard case .array(let extents) = try field("shape") else {
                throw failure("\(name).shape", "expected an array of non-negative integers")
            }
            var shape: [Int] = []
            for extent in extents {
                guard case .integer(let value) = extent, value >= 0 else {
                    throw failure(
                        "\(name).shape",
                        "expected non-negative integers, found \(extent.kindName == "a number" ? "a negative or fractional number" : extent.kindName)"
                    )
                }
                shape.append(value)
            }
            guard case .array(let offsets) = try field("data_offsets"), offsets.count == 2,
                case .integer(let begin) = offsets[0], case .integer(let end) = offsets[1], begin >= 0, end >= 0
            else {
                throw failure("\(name).data_offsets", "expected two non-negative integers [begin, end]")
            }
            guard begin <= end else {
                throw failure("\(name).data_offsets", "begin \(begin) is after end \(end)")
            }
            guard end <= dataSize else {
                throw failure("\(name).data_offsets", "end \(end) is past the end of the \(dataSize)-byte data section")
            }
            guard let byteCount = checkedByteCount(shape: shape, elementSize: type.byteSize), byteCount == end - begin
            else {
                throw failure(
                    "\(name).data_offsets",
                    "[\(begin), \(end)) holds \(end - begin) bytes, but shape \(shape) of \(dtype) needs \(checkedByteCount(shape: shape, elementSize: type.byteSize).map(String.init) ?? "too many")"
                )
            }
            return (name, type, shape, begin, end)
        }
    }

    /// Throws unless the tensors tile the data section exactly: no overlaps, no gaps, nothing after.
    private static func checkTiling(
        _ entries: [Entry], dataSize: Int,
        failure: (String, String) -> FileFormatError
    ) throws(FileFormatError) {
        let byOffset = entries.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var covered = 0
        var previousName: String?
        for entry in byOffset {
            if entry.begin < covered {
                throw failure(
                    "\(entry.name).data_offsets",
                    "[\(entry.begin), \(entry.end)) overlaps tensor \(JSONWriter.quoted(previousName!)), which ends at \(covered)"
                )
            }
            if entry.begin > covered {
                throw failure(
                    "\(entry.name).data_offsets",
                    "bytes [\(covered), \(entry.begin)) of the data section before it belong to no tensor")
            }
            covered = entry.end
            previousName = entry.name
        }
        if covered != dataSize {
            throw failure("data", "bytes [\(covered), \(dataSize)) of the data section belong to no tensor")
        }
    }

    /// The largest header the reference implementation accepts (100 MB).
    static let maximumHeaderLength = 100_000_000

    /// Writes the file atomically, laid out as the reference `safetensors` writer lays it out:
    /// tensors ordered by dtype (I64, F64, F32, I32, F16, U8, BOOL) then by name, the header JSON
    /// compact with `__metadata__` first (its keys sorted), padded with spaces to a multiple of
    /// 8 bytes. Files with at most one metadata key are byte-identical to the reference writer's.
    ///
    /// - Throws: ``FileFormatError`` for duplicate names or a tensor named `__metadata__`.
    public func write(to url: URL) throws(FileFormatError) {
        let header = try headerBytes(file: url.path)
        let ordered = layoutOrder()
        try AtomicFile.write(to: url) { handle in
            var length = UInt64(header.count).littleEndian
            try handle.write(contentsOf: Data(bytes: &length, count: 8))
            try handle.write(contentsOf: header)
            for index in ordered {
                try tensors[index].array.withUnsafeBytes { bytes in
                    guard let base = bytes.baseAddress, bytes.count > 0 else { return }
                    try handle.write(
                        contentsOf: Data(
                            bytesNoCopy: UnsafeMutableRawPointer(mutating: base),
                            count: bytes.count, deallocator: .none))
                }
            }
        }
    }

    /// Indices of `tensors` in data-section order.
    private func layoutOrder() -> [Int] {
        tensors.indices.sorted { a, b in
            let (left, right) = (tensors[a], tensors[b])
            if left.array.elementType != right.array.elementType {
                return left.array.elementType.safetensorsLayoutRank > right.array.elementType.safetensorsLayoutRank
            }
            return Array(left.name.utf8).lexicographicallyPrecedes(Array(right.name.utf8))
        }
    }

    /// The padded header JSON.
    func headerBytes(file: String) throws(FileFormatError) -> [UInt8] {
        var seen = Set<String>()
        for (name, _) in tensors {
            guard name != "__metadata__" else {
                throw FileFormatError(file: file, field: name, problem: "a tensor cannot be named __metadata__")
            }
            guard seen.insert(name).inserted else {
                throw FileFormatError(file: file, field: name, problem: "two tensors have this name")
            }
        }
        var parts: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(JSONWriter.quoted($0)):\(JSONWriter.quoted(metadata[$0]!))" }
            parts.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for index in layoutOrder() {
            let (name, array) = tensors[index]
            let byteCount = array.shape.reduce(array.elementType.byteSize, *)
            parts.append(
                "\(JSONWriter.quoted(name)):{\"dtype\":\"\(array.elementType.rawValue)\",\"shape\":[\(array.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + byteCount)]}"
            )
            offset += byteCount
        }
        var bytes = Array(("{" + parts.joined(separator: ",") + "}").utf8)
        bytes += [UInt8](repeating: 0x20, count: (8 - bytes.count % 8) % 8)
        return bytes
    }
}
