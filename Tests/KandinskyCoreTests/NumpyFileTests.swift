import Foundation
import KandinskyTestSupport
import Testing

@testable import KandinskyCore

/// One entry of `npy/expected.json`.
struct NumpyExpectation: Decodable, Sendable {
    let descr: String
    let shape: [Int]
    let version: [Int]
    let data_hex: String
}

@Suite struct NumpyFileTests {
    static let expected = try! fixtures.decode([String: NumpyExpectation].self, from: "npy/expected.json")

    @Test(arguments: expected.keys.sorted())
    func readsFilesWrittenByNumpy(name: String) throws {
        let entry = Self.expected[name]!
        let url = fixtures.url("npy/\(name)")
        let array = try NumpyFile.read(contentsOf: url)
        #expect(array.elementType.numpyDescriptor == entry.descr)
        #expect(array.shape == entry.shape)
        #expect(rawBytes(array) == bytes(hex: entry.data_hex))
        let header = try NumpyFile.readHeader(contentsOf: url)
        #expect([Int(header.version.major), Int(header.version.minor)] == entry.version)
        #expect(header.shape == array.shape)
    }

    @Test func decodedValuesMatchNumpy() throws {
        guard case .float32(let f4) = try NumpyFile.read(contentsOf: fixtures.url("npy/f4.npy")) else {
            Issue.record("f4.npy is not float32")
            return
        }
        #expect(f4.shape == [2, 4])
        #expect(f4[0, 2] == 1.5)
        #expect(f4[0, 1] == 0 && f4[0, 1].sign == .minus)
        #expect(f4[0, 3].isNaN)
        #expect(f4[1, 0] == .infinity)
        guard case .int64(let i8) = try NumpyFile.read(contentsOf: fixtures.url("npy/i8.npy")) else {
            Issue.record("i8.npy is not int64")
            return
        }
        #expect(i8.scalars == [.min, -1, 0, 9_007_199_254_740_993, .max])
        guard case .bool(let b1) = try NumpyFile.read(contentsOf: fixtures.url("npy/b1.npy")) else {
            Issue.record("b1.npy is not bool")
            return
        }
        #expect(b1.scalars == [true, false, false, true, true])
        guard case .float32(let scalar) = try NumpyFile.read(contentsOf: fixtures.url("npy/scalar_f4.npy")) else {
            Issue.record("scalar_f4.npy is not float32")
            return
        }
        #expect(scalar.shape == [] && scalar.scalars == [2.5])
    }

    /// Kandinsky's writer reproduces numpy's files byte for byte (header padding included).
    @Test(arguments: expected.keys.sorted().filter { expected[$0]!.version == [1, 0] })
    func writesTheSameBytesAsNumpy(name: String) throws {
        try withScratchDirectory("core") { directory in
            let array = try NumpyFile.read(contentsOf: fixtures.url("npy/\(name)"))
            let output = directory.appendingPathComponent(name)
            try NumpyFile.write(array, to: output)
            #expect(try Data(contentsOf: output) == Data(contentsOf: fixtures.url("npy/\(name)")))
        }
    }

    @Test func roundTripsEveryElementType() throws {
        try withScratchDirectory("core") { directory in
            let arrays: [AnyShapedArray] = [
                .float32(Tensor(shape: [2, 3], scalars: [1, -2, .nan, .infinity, 0, 3.25])),
                .float16(HalfTensor(shape: [3], scalars: [1, -0.5, 65504])),
                .float64(ShapedArray<Double>(shape: [1, 2], scalars: [.pi, -1e-300])),
                .uint8(ShapedArray<UInt8>(shape: [4], scalars: [0, 1, 128, 255])),
                .bool(ShapedArray<Bool>(shape: [2, 2], scalars: [true, false, false, true])),
                .int32(ShapedArray<Int32>(shape: [2], scalars: [.min, .max])),
                .int64(ShapedArray<Int64>(shape: [1, 1, 2], scalars: [.min, .max])),
                .float32(Tensor(shape: [0, 5], scalars: [])),
                .int32(ShapedArray<Int32>(shape: [], scalars: [7])),
            ]
            #expect(Set(arrays.map(\.elementType)) == Set(ElementType.allCases))
            for (index, array) in arrays.enumerated() {
                let url = directory.appendingPathComponent("a\(index).npy")
                try NumpyFile.write(array, to: url)
                let back = try NumpyFile.read(contentsOf: url)
                #expect(back.elementType == array.elementType)
                #expect(back.shape == array.shape)
                #expect(rawBytes(back) == rawBytes(array))
                let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as! Int
                #expect((size - rawBytes(array).count) % 64 == 0, "data must start at a multiple of 64")
            }
        }
    }

    /// Parts [2, 3] and [1, 3] written one after the other give the file of the whole [3, 3];
    /// an error of the body reaches the caller unchanged and leaves nothing behind.
    @Test func writesAFileFromConsecutiveParts() throws {
        struct Stop: Error {}
        try withScratchDirectory("core") { directory in
            let scalars: [Float] = [1, -2, .nan, .infinity, 0, 3.25, 7, 8, 9]
            try NumpyFile.write(
                .float32(Tensor(shape: [3, 3], scalars: scalars)), to: directory.appendingPathComponent("whole.npy"))
            try NumpyFile.write(.float32, shape: [3, 3], to: directory.appendingPathComponent("parts.npy")) { parts in
                try parts.append(.float32(Tensor(shape: [2, 3], scalars: scalars[..<6])))
                try parts.append(.float32(Tensor(shape: [1, 3], scalars: scalars[6...])))
            }
            #expect(
                try Data(contentsOf: directory.appendingPathComponent("parts.npy"))
                    == Data(contentsOf: directory.appendingPathComponent("whole.npy")))
            #expect(throws: Stop.self) {
                try NumpyFile.write(.uint8, shape: [2], to: directory.appendingPathComponent("stopped.npy")) { parts in
                    try parts.append(.uint8(ShapedArray(shape: [1], scalars: [1])))
                    throw Stop()
                }
            }
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == [
                    "parts.npy", "whole.npy",
                ])
        }
    }

    @Test func writesVersion2WhenTheHeaderDoesNotFitVersion1() throws {
        // 22 000 axes of extent 1 make a shape literal ("1, " each) longer than 65 535 bytes.
        let header = NumpyFile.headerBytes(elementType: .uint8, shape: Array(repeating: 1, count: 22_000))
        #expect(header[6] == 2 && header[7] == 0)
        #expect(header.count % 64 == 0)
        let length = Int(header[8]) | Int(header[9]) << 8 | Int(header[10]) << 16 | Int(header[11]) << 24
        #expect(length + 12 == header.count)
        #expect(header.last == 0x0A)
    }

    // MARK: Malformed files

    @Test func rejectsFortranOrder() {
        let url = fixtures.url("npy/fortran_f4.npy")
        expectFileFormatError(file: url, field: "fortran_order", problemMentions: "Fortran") {
            _ = try NumpyFile.read(contentsOf: url)
        }
    }

    @Test func rejectsBigEndian() {
        let url = fixtures.url("npy/bigendian_f4.npy")
        expectFileFormatError(file: url, field: "descr", problemMentions: "big-endian dtype '>f4'") {
            _ = try NumpyFile.read(contentsOf: url)
        }
    }

    /// The bytes of a valid file holding a float32 [2, 3] array, for corrupting.
    static func validFile() -> [UInt8] {
        NumpyFile.headerBytes(elementType: .float32, shape: [2, 3]) + [UInt8](repeating: 0, count: 24)
    }

    static func expectRejection(
        _ bytes: [UInt8], field: String, problemMentions: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        try withScratchDirectory("core") { directory in
            let url = directory.appendingPathComponent("bad.npy")
            try Data(bytes).write(to: url)
            expectFileFormatError(
                file: url, field: field, problemMentions: problemMentions, sourceLocation: sourceLocation
            ) {
                _ = try NumpyFile.read(contentsOf: url)
            }
        }
    }

    /// Replaces the header dictionary of `validFile()` by `dictionary`, keeping the length field right.
    static func withDictionary(_ dictionary: String, data: Int = 24) -> [UInt8] {
        var text = Array(dictionary.utf8)
        text += [UInt8](repeating: 0x20, count: 63 - (10 + text.count) % 64) + [0x0A]
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(text.count & 0xFF), UInt8(text.count >> 8)] + text
            + [UInt8](repeating: 0, count: data)
    }

    @Test func rejectsTruncatedData() throws {
        try Self.expectRejection(Array(Self.validFile().dropLast(5)), field: "data", problemMentions: "truncated")
    }

    @Test func rejectsTrailingBytes() throws {
        try Self.expectRejection(Self.validFile() + [1, 2], field: "data", problemMentions: "2 unexpected bytes")
    }

    @Test func rejectsBadMagic() throws {
        var bytes = Self.validFile()
        bytes[1] = UInt8(ascii: "n")
        try Self.expectRejection(bytes, field: "magic", problemMentions: "not a .npy file")
    }

    @Test func rejectsUnknownVersion() throws {
        var bytes = Self.validFile()
        bytes[6] = 4
        try Self.expectRejection(bytes, field: "version", problemMentions: "4.0")
    }

    @Test func rejectsHeaderLengthPastEndOfFile() throws {
        var bytes = Self.validFile()
        bytes[8] = 0xFF
        bytes[9] = 0x7F
        try Self.expectRejection(bytes, field: "header length", problemMentions: "extends past the end")
    }

    /// A header dictionary that must be refused, with the count of data bytes after it, and the
    /// field and problem its error must name.
    @Test(arguments: [
        ("{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }", 12, "descr", "unsupported dtype '<i2'"),
        ("{'descr': '<f4', 'shape': (2, 3), }", 24, "header", "expected exactly the keys"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), ", 24, "header", "invalid dictionary literal"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }", 24, "shape", "non-negative"),
    ])
    func rejectsBadHeaderDictionaries(dictionary: String, dataBytes: Int, field: String, problem: String) throws {
        try Self.expectRejection(
            Self.withDictionary(dictionary, data: dataBytes), field: field, problemMentions: problem)
    }

    @Test func acceptsDoubleQuotesAndNoTrailingComma() throws {
        try withScratchDirectory("core") { directory in
            let url = directory.appendingPathComponent("quotes.npy")
            try Data(Self.withDictionary("{\"shape\": (2, 3), \"fortran_order\": False, \"descr\": \"<f4\"}")).write(
                to: url)
            #expect(try NumpyFile.read(contentsOf: url).shape == [2, 3])
        }
    }

    @Test func rejectsInvalidBooleanBytes() throws {
        var bytes = NumpyFile.headerBytes(elementType: .bool, shape: [3]) + [1, 0, 1]
        bytes[bytes.count - 2] = 2
        try Self.expectRejection(bytes, field: "data", problemMentions: "element 1 is byte 2")
    }

    @Test func reportsAMissingFile() {
        let url = URL(fileURLWithPath: "/nonexistent/kandinsky/missing.npy")
        expectFileFormatError(file: url, field: "file", problemMentions: "cannot open") {
            _ = try NumpyFile.read(contentsOf: url)
        }
    }
}
