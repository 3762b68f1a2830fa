import Foundation
import KandinskyTestSupport
import Testing

@testable import KandinskyCore

/// One file of `safetensors/expected.json`.
struct SafetensorsExpectation: Decodable, Sendable {
    struct Entry: Decodable, Sendable {
        let dtype: String
        let shape: [Int]
        let data_hex: String
    }
    let metadata: [String: String]
    let tensors: [String: Entry]
}

@Suite struct SafetensorsFileTests {
    static let expected = try! fixtures.decode([String: SafetensorsExpectation].self, from: "safetensors/expected.json")

    @Test(arguments: expected.keys.sorted())
    func readsFilesWrittenByThePythonPackage(name: String) throws {
        let entry = Self.expected[name]!
        let file = try SafetensorsFile.read(contentsOf: fixtures.url("safetensors/\(name)"))
        #expect(file.metadata == entry.metadata)
        #expect(file.tensors.map(\.name) == entry.tensors.keys.sorted())
        for (tensorName, tensor) in entry.tensors {
            guard let array = file[tensorName] else {
                Issue.record("missing tensor \(tensorName)")
                continue
            }
            #expect(array.elementType.rawValue == tensor.dtype, "\(tensorName)")
            #expect(array.shape == tensor.shape, "\(tensorName)")
            #expect(rawBytes(array) == bytes(hex: tensor.data_hex), "\(tensorName)")
        }
    }

    @Test func writesTheSameBytesAsThePythonPackage() throws {
        try withScratchDirectory("core") { directory in
            let reference = fixtures.url("safetensors/python_one_key.safetensors")
            let output = directory.appendingPathComponent("copy.safetensors")
            try SafetensorsFile.read(contentsOf: reference).write(to: output)
            #expect(try Data(contentsOf: output) == Data(contentsOf: reference))
        }
    }

    @Test func roundTripsEveryElementTypeAndTheMetadata() throws {
        try withScratchDirectory("core") { directory in
            let url = directory.appendingPathComponent("all.safetensors")
            var file = SafetensorsFile(metadata: ["quote": "a \"b\" \\ c\n\u{01}", "unicode": "é ∑ 🎨", "empty": ""])
            file["f32"] = .float32(Tensor(shape: [2, 2], scalars: [1, .nan, -.infinity, -0.0]))
            file["f16"] = .float16(HalfTensor(shape: [3], scalars: [0.5, -2, 65504]))
            file["f64"] = .float64(ShapedArray<Double>(shape: [1], scalars: [.pi]))
            file["u8"] = .uint8(ShapedArray<UInt8>(shape: [3], scalars: [0, 128, 255]))
            file["bool"] = .bool(ShapedArray<Bool>(shape: [2], scalars: [true, false]))
            file["i32"] = .int32(ShapedArray<Int32>(shape: [2], scalars: [.min, .max]))
            file["i64"] = .int64(ShapedArray<Int64>(shape: [2, 1], scalars: [.min, .max]))
            file["empty"] = .float32(Tensor(shape: [0, 4], scalars: []))
            file["scalar"] = .int64(ShapedArray<Int64>(shape: [], scalars: [42]))
            try file.write(to: url)
            let back = try SafetensorsFile.read(contentsOf: url)
            #expect(back.metadata == file.metadata)
            #expect(back.tensors.map(\.name) == file.tensors.map(\.name).sorted())
            for (name, array) in file.tensors {
                #expect(back[name]?.elementType == array.elementType, "\(name)")
                #expect(back[name]?.shape == array.shape, "\(name)")
                #expect(back[name].map(rawBytes) == rawBytes(array), "\(name)")
            }
            let data = try Data(contentsOf: url)
            let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            #expect(headerLength % 8 == 0)
        }
    }

    @Test func alignedTensorsBorrowTheMappingAndWritesStayPrivate() throws {
        try withScratchDirectory("core") { directory in
            let url = directory.appendingPathComponent("mapped.safetensors")
            try SafetensorsFile(tensors: [("x", .float32(Tensor(shape: [4], scalars: [1, 2, 3, 4])))]).write(to: url)
            guard case .float32(var x) = try SafetensorsFile.read(contentsOf: url)["x"] else {
                Issue.record("x is not float32")
                return
            }
            #expect(x.storage.isBorrowed)
            x[0] = 100
            #expect(!x.storage.isBorrowed)
            guard case .float32(let again) = try SafetensorsFile.read(contentsOf: url)["x"] else {
                Issue.record("x is not float32")
                return
            }
            #expect(again.scalars == [1, 2, 3, 4])
        }
    }

    @Test func misalignedTensorsAreCopied() throws {
        // A one-byte U8 tensor first puts the F32 tensor at data offset 1.
        let data: [UInt8] =
            [7] + withUnsafeBytes(of: Float(1.5)) { Array($0) } + withUnsafeBytes(of: Float(-2)) { Array($0) }
        try Self.withFile(
            header:
                #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}}"#,
            data: data
        ) { url in
            guard case .float32(let b) = try SafetensorsFile.read(contentsOf: url)["b"] else {
                Issue.record("b is not float32")
                return
            }
            #expect(b.scalars == [1.5, -2])
            #expect(!b.storage.isBorrowed)
        }
    }

    @Test func ignoresUnknownEntryKeysAndHeaderPadding() throws {
        try Self.withFile(header: #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"extra":1}}   "#, data: [3, 4])
        {
            url in
            guard case .uint8(let a) = try SafetensorsFile.read(contentsOf: url)["a"] else {
                Issue.record("a is not uint8")
                return
            }
            #expect(a.scalars == [3, 4])
        }
    }

    // MARK: Malformed files

    /// Runs `body` with a fresh temporary file holding `length ‖ header ‖ data` (its directory
    /// is removed afterwards).
    static func withFile(header: String, data: [UInt8], length: UInt64? = nil, _ body: (URL) throws -> Void) throws {
        try withScratchDirectory("core") { directory in
            let url = directory.appendingPathComponent("bad.safetensors")
            let headerBytes = Array(header.utf8)
            let prefix = withUnsafeBytes(of: (length ?? UInt64(headerBytes.count)).littleEndian) { Array($0) }
            try Data(prefix + headerBytes + data).write(to: url)
            try body(url)
        }
    }

    static let twoBytes = #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#

    /// One malformed file: its header and data (and its length field, when that lies rather than
    /// giving the header's length), and the field and problem its error must name.
    struct Malformed: Sendable, CustomTestStringConvertible {
        let testDescription: String
        let header: String
        let data: [UInt8]
        var length: UInt64? = nil
        let field: String
        let problemMentions: String
    }

    static let malformed: [Malformed] = [
        Malformed(
            testDescription: "truncated data", header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
            data: [0, 0, 0, 0, 0], field: "a.data_offsets", problemMentions: "past the end of the 5-byte data section"),
        Malformed(
            testDescription: "header length past the end of the file", header: twoBytes, data: [0, 0], length: 4096,
            field: "header length", problemMentions: "extends past the end"),
        Malformed(
            testDescription: "absurd header length", header: twoBytes, data: [0, 0], length: UInt64.max - 3,
            field: "header length", problemMentions: "limit"),
        Malformed(
            testDescription: "overlapping offsets",
            header:
                #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}"#,
            data: [0, 0, 0], field: "b.data_offsets", problemMentions: "overlaps tensor \"a\""),
        Malformed(
            testDescription: "gaps between tensors",
            header:
                #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}}"#,
            data: [0, 0, 0, 0, 0], field: "b.data_offsets", problemMentions: "[2, 3)"),
        Malformed(
            testDescription: "uncovered trailing bytes", header: twoBytes, data: [0, 0, 9], field: "data",
            problemMentions: "[2, 3)"),
        Malformed(
            testDescription: "unknown dtype", header: #"{"a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}"#,
            data: [0, 0], field: "a.dtype", problemMentions: "unsupported dtype \"BF16\""),
        Malformed(
            testDescription: "shape that disagrees with the byte count",
            header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8),
            field: "a.data_offsets", problemMentions: "needs 12"),
        Malformed(
            testDescription: "begin after end", header: #"{"a":{"dtype":"U8","shape":[0],"data_offsets":[2,0]}}"#,
            data: [0, 0], field: "a.data_offsets", problemMentions: "begin 2 is after end 0"),
        Malformed(
            testDescription: "invalid JSON", header: #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}"#,
            data: [0, 0], field: "header", problemMentions: "invalid JSON"),
        Malformed(
            testDescription: "non-string metadata",
            header: #"{"__metadata__":{"epochs":3},"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#,
            data: [0, 0], field: "__metadata__", problemMentions: "\"epochs\" is a number"),
        Malformed(
            testDescription: "missing fields", header: #"{"a":{"dtype":"U8","data_offsets":[0,2]}}"#, data: [0, 0],
            field: "a.shape", problemMentions: "missing"),
        Malformed(
            testDescription: "invalid boolean bytes",
            header: #"{"a":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}"#,
            data: [1, 5], field: "a", problemMentions: "element 1 is byte 5"),
    ]

    @Test(arguments: malformed)
    func rejectsMalformedFiles(_ file: Malformed) throws {
        try Self.withFile(header: file.header, data: file.data, length: file.length) { url in
            expectFileFormatError(file: url, field: file.field, problemMentions: file.problemMentions) {
                _ = try SafetensorsFile.read(contentsOf: url)
            }
        }
    }

    @Test func rejectsFileShorterThanTheLengthField() throws {
        try withScratchDirectory("core") { directory in
            let url = directory.appendingPathComponent("short.safetensors")
            try Data([1, 2, 3]).write(to: url)
            expectFileFormatError(file: url, field: "header length", problemMentions: "too short") {
                _ = try SafetensorsFile.read(contentsOf: url)
            }
        }
    }

    @Test func refusesToWriteDuplicateNames() throws {
        try withScratchDirectory("core") { directory in
            let url = directory.appendingPathComponent("dup.safetensors")
            let x = AnyShapedArray.uint8(ShapedArray<UInt8>(shape: [1], scalars: [1]))
            expectFileFormatError(file: url, field: "x", problemMentions: "two tensors") {
                try SafetensorsFile(tensors: [("x", x), ("x", x)]).write(to: url)
            }
            #expect(!FileManager.default.fileExists(atPath: url.path))
        }
    }
}

@Suite struct JSONValueTests {
    func parse(_ text: String) throws -> JSONValue {
        try Array(text.utf8).withUnsafeBytes { bytes in try JSONValue.parse(bytes) }
    }

    @Test func parsesNestedValuesExactly() throws {
        let value = try parse(#" {"a": [1, -2, 9007199254740993, 2.5e1, true, null], "b\u00e9\n": "x\/y"} "#)
        #expect(
            value
                == .object([
                    "a": .array([
                        .integer(1), .integer(-2), .integer(9_007_199_254_740_993), .number(25), .bool(true), .null,
                    ]),
                    "bé\n": .string("x/y"),
                ]))
    }

    @Test func rejectsMalformedText() {
        for text in [#"{"a":}"#, #"{"a":1,}"#, #"[01]"#, #"{"a":1} x"#, #""\x""#, #"{"a":1,"a":2}"#, "\"\u{01}\""] {
            #expect(throws: JSONSyntaxError.self, "\(text)") { try parse(text) }
        }
    }

    @Test func quotesAsSerdeJSONDoes() {
        #expect(JSONWriter.quoted("a\"b\\c\n\t\u{01}\u{7F}é/") == #""a\"b\\c\n\t\u0001"# + "\u{7F}é/\"")
    }
}
