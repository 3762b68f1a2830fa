import Foundation
import KandinskyCore

/// The `.kscores` file: one ``ScoreStore``, little-endian, in four sections.
///
/// | offset | bytes | field |
/// |---|---|---|
/// | 0 | 8 | magic `KSCORES` and a zero byte |
/// | 8 | 4 | version, UInt32 = 1 |
/// | 12 | 4 | precision, UInt32: 0 `float`, 1 `half-probabilities` |
/// | 16 | 8 × 5 | N, C, H, W and S (the number of scores), UInt64 each |
/// | 56 | 4 · C·H·W | the score count of each row r = c·H·W + h·W + w, UInt32 (≤ N) |
/// | | 2 · S | the scores, Float16 bit patterns, row after row, each row ascending by (score, image) |
/// | | 0 or 2 | zero padding to a multiple of 4 bytes |
/// | | 4 · S | the image of each score, UInt32 (< N) |
///
/// So a file costs 6 bytes per score plus 4 per (class, pixel) and 56. Reading checks every
/// field against the file's length before allocating anything, then every count, score (in
/// [0, 1], not NaN) and image, and that each row is strictly ascending (so no image has two
/// scores in a row); any failure is a ``FileFormatError`` naming the field.
enum ScoreFile {
    static let magic: [UInt8] = Array("KSCORES".utf8) + [0]
    static let version: UInt32 = 1
    static let headerLength = 56
    /// The largest score, 1, as a Float16 bit pattern: every valid score's pattern is at most this.
    static let largestScoreBits = Float16(1).bitPattern

    struct Header {
        var precision: ScorePrecision
        var imageCount: Int, classCount: Int, height: Int, width: Int, scoreCount: Int
        var rowCount: Int { classCount * height * width }
        var countsOffset: Int { headerLength }
        var valuesOffset: Int { headerLength + 4 * rowCount }
        var padding: Int { (2 * scoreCount) % 4 }
        var imagesOffset: Int { valuesOffset + 2 * scoreCount + padding }
        var fileLength: Int { imagesOffset + 4 * scoreCount }

        var bytes: [UInt8] {
            var out = magic
            func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { out += $0 } }
            put(version)
            put(UInt32(precision == .float ? 0 : 1))
            for value in [imageCount, classCount, height, width, scoreCount] { put(UInt64(value)) }
            return out
        }

        /// Parses and checks a header against the file's length.
        init(_ bytes: [UInt8], fileLength: Int, path: String) throws(FileFormatError) {
            func failure(_ field: String, _ problem: String) -> FileFormatError {
                FileFormatError(file: path, field: field, problem: problem)
            }
            func load<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T {
                bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
            }
            guard Array(bytes[0..<8]) == magic else { throw failure("magic", "expected KSCORES\\0, not a score store") }
            let version = load(8, as: UInt32.self)
            guard version == ScoreFile.version else {
                throw failure("version", "expected \(ScoreFile.version), found \(version)")
            }
            switch load(12, as: UInt32.self) {
            case 0: precision = .float
            case 1: precision = .halfProbabilities
            case let other: throw failure("precision", "expected 0 (float) or 1 (half-probabilities), found \(other)")
            }
            // Every size is bounded by the file's length before any product is formed, so none overflows.
            var fields: [Int] = []
            for (k, name) in ["N", "C", "H", "W", "S"].enumerated() {
                let value = load(16 + 8 * k, as: UInt64.self)
                guard value <= UInt64(fileLength) else {
                    throw failure(name, "\(value) exceeds what a \(fileLength)-byte file can hold")
                }
                fields.append(Int(value))
            }
            (imageCount, classCount, height, width, scoreCount) = (
                fields[0], fields[1], fields[2], fields[3], fields[4]
            )
            guard imageCount >= 1 && imageCount <= Int(UInt32.max) + 1 else {
                throw failure("N", "expected 1 to 2³² images, found \(imageCount)")
            }
            for (name, value) in [("C", classCount), ("H", height), ("W", width)] where value < 1 {
                throw failure(name, "expected at least 1, found \(value)")
            }
            let (plane, o1) = height.multipliedReportingOverflow(by: width)
            let (rows, o2) = plane.multipliedReportingOverflow(by: classCount)
            guard !o1 && !o2 && rows <= (fileLength - headerLength) / 4 else {
                throw failure(
                    "C·H·W", "\(classCount)·\(height)·\(width) row counts do not fit in the \(fileLength)-byte file")
            }
            guard self.fileLength == fileLength else {
                throw failure(
                    "S",
                    "\(scoreCount) scores of \(rows) rows need a \(self.fileLength)-byte file, found \(fileLength) bytes"
                )
            }
        }

        init(of store: ScoreStore) {
            precision = store.precision
            (imageCount, classCount, height, width, scoreCount) = (
                store.imageCount, store.classCount, store.height, store.width, store.scoreCount
            )
        }

        init(precision: ScorePrecision, imageCount: Int, classCount: Int, height: Int, width: Int, scoreCount: Int) {
            self.precision = precision
            (self.imageCount, self.classCount, self.height, self.width, self.scoreCount) = (
                imageCount, classCount, height, width, scoreCount
            )
        }
    }

    /// A part opened for reading: its header checked against the file's length.
    struct Part {
        let file: ReadableFile
        let header: Header

        init(url: URL) throws(FileFormatError) {
            file = try ReadableFile(url: url)
            guard file.size >= headerLength else {
                throw FileFormatError(
                    file: url.path, field: "header",
                    problem: "file is \(file.size) bytes, too short for the \(headerLength)-byte header")
            }
            header = try Header(file.readBytes(count: headerLength, at: 0), fileLength: file.size, path: url.path)
        }

        /// Calls `body(r, count)` for each row count, in order, checked as
        /// ``forEachCount(_:of:path:_:)`` checks them.
        func forEachCount(_ body: (_ row: Int, _ count: Int) -> Void) throws(FileFormatError) {
            let counts = try file.readBytes(count: 4 * header.rowCount, at: header.countsOffset)
            try counts.withUnsafeBytes { bytes in
                Result { () throws(FileFormatError) in
                    try ScoreFile.forEachCount(bytes.baseAddress!, of: header, path: file.path, body)
                }
            }.get()
        }

        /// The C·H·W + 1 row offsets.
        func offsets() throws(FileFormatError) -> [Int] {
            var offsets = [Int](repeating: 0, count: header.rowCount + 1)
            try forEachCount { r, count in offsets[r + 1] = offsets[r] + count }
            return offsets
        }
    }

    /// Calls `body(r, count)` for each of the R row counts at `counts` (little-endian UInt32),
    /// in order, checking each against N and their sum against S.
    ///
    /// - Throws: `FileFormatError` naming `counts[r]` or `counts` in the file `path`.
    static func forEachCount(
        _ counts: UnsafeRawPointer, of header: Header, path: String, _ body: (_ row: Int, _ count: Int) -> Void
    ) throws(FileFormatError) {
        var sum = 0
        for r in 0..<header.rowCount {
            let count = Int(UInt32(littleEndian: counts.loadUnaligned(fromByteOffset: 4 * r, as: UInt32.self)))
            guard count <= header.imageCount else {
                throw FileFormatError(
                    file: path, field: "counts[\(r)]",
                    problem: "a row holds at most N = \(header.imageCount) scores, found \(count)")
            }
            body(r, count)
            sum += count
        }
        guard sum == header.scoreCount else {
            throw FileFormatError(
                file: path, field: "counts", problem: "the row counts sum to \(sum), expected S = \(header.scoreCount)")
        }
    }

    /// Writes a `.kscores` file atomically, row block by row block, so memory stays at two
    /// blocks of at most ~8 M scores and `maximumBlockRows` rows (a block of one row may hold up
    /// to N): `fill` receives a block's rows and writes their scores and images, little-endian,
    /// from position 0 of the buffers (which hold at least the block's score count).
    static func write(
        header: Header, offsets: [Int], to url: URL, maximumBlockRows: Int = .max,
        fill: (Range<Int>, inout [UInt16], inout [UInt32]) throws(FileFormatError) -> Void
    ) throws(FileFormatError) {
        let rows = header.rowCount
        try AtomicFile.write(to: url) { handle in
            try handle.write(contentsOf: Data(header.bytes))
            let counts = (0..<rows).map { UInt32(offsets[$0 + 1] - offsets[$0]).littleEndian }
            try counts.withUnsafeBytes { try handle.write(contentsOf: Data($0)) }
            if header.padding > 0 {
                try handle.seek(toOffset: UInt64(header.imagesOffset - header.padding))
                try handle.write(contentsOf: Data(count: header.padding))
            }
            let blockScores = 1 << 23
            var valueBlock = [UInt16]()
            var imageBlock = [UInt32]()
            var rowStart = 0
            while rowStart < rows {
                var rowEnd = rowStart + 1
                while rowEnd < rows && rowEnd - rowStart < maximumBlockRows
                    && offsets[rowEnd + 1] - offsets[rowStart] <= blockScores
                {
                    rowEnd += 1
                }
                let base = offsets[rowStart]
                let count = offsets[rowEnd] - base
                if valueBlock.count < count {
                    valueBlock = [UInt16](repeating: 0, count: count)
                    imageBlock = [UInt32](repeating: 0, count: count)
                }
                try fill(rowStart..<rowEnd, &valueBlock, &imageBlock)
                try write(valueBlock, count: count, at: header.valuesOffset + 2 * base, to: handle)
                try write(imageBlock, count: count, at: header.imagesOffset + 4 * base, to: handle)
                rowStart = rowEnd
            }
        }
    }

    /// Writes the first `count` elements of `block` at byte `offset` of `handle`, without copying them.
    private static func write<Element>(_ block: [Element], count: Int, at offset: Int, to handle: FileHandle) throws {
        try handle.seek(toOffset: UInt64(offset))
        try block.withUnsafeBytes {
            try handle.write(
                contentsOf: Data(
                    bytesNoCopy: UnsafeMutableRawPointer(mutating: $0.baseAddress!),
                    count: MemoryLayout<Element>.stride * count, deallocator: .none))
        }
    }

    /// Checks one row of scores and images (already in host order): scores in [0, 1] and not
    /// NaN, images below N, strictly ascending (score, image) keys. Returns the failing field.
    static func checkRow(values: UnsafeBufferPointer<UInt16>, images: UnsafeBufferPointer<UInt32>, imageCount: Int) -> (
        field: String, problem: String, at: Int
    )? {
        var previous: UInt64?
        for j in 0..<values.count {
            let bits = values[j]
            let image = images[j]
            guard bits <= largestScoreBits else {
                return ("scores", "expected scores in [0, 1], found \(Float(Float16(bitPattern: bits)))", j)
            }
            guard Int(image) < imageCount else {
                return ("images", "expected images below N = \(imageCount), found \(image)", j)
            }
            let key = UInt64(bits) << 32 | UInt64(image)
            if let previous, key <= previous {
                return ("scores", "each row must ascend by (score, image) with no image twice", j)
            }
            previous = key
        }
        return nil
    }
}

extension ScoreStore {
    /// Writes the store as a `.kscores` file (see the File formats article), atomically.
    /// - Complexity: O(scores + C·H·W), one sequential write.
    public func write(to url: URL) throws(FileFormatError) {
        let header = ScoreFile.Header(of: self)
        try AtomicFile.write(to: url) { handle in
            try handle.write(contentsOf: Data(header.bytes))
            let rows = classCount * pixelCount
            let counts = offsets.withUnsafeBufferPointer { o in
                (0..<rows).map { UInt32(o[$0 + 1] - o[$0]).littleEndian }
            }
            try counts.withUnsafeBytes { try handle.write(contentsOf: Data($0)) }
            try values.withUnsafeBufferPointer { v in
                try Self.writeLittleEndian(
                    v.baseAddress!.withMemoryRebound(to: UInt16.self, capacity: v.count) {
                        UnsafeBufferPointer(start: $0, count: v.count)
                    }, to: handle)
            }
            if header.padding > 0 { try handle.write(contentsOf: Data(count: header.padding)) }
            try imageIndices.withUnsafeBufferPointer { try Self.writeLittleEndian($0, to: handle) }
        }
    }

    /// Reads a `.kscores` file whole, checking every field (see the File formats article).
    /// - Throws: `FileFormatError` (KandinskyCore) naming the field that is malformed.
    /// - Complexity: O(scores + C·H·W).
    public static func read(contentsOf url: URL) throws(FileFormatError) -> ScoreStore {
        let part = try ScoreFile.Part(url: url)
        let header = part.header
        let offsets = try part.offsets()
        let n = header.scoreCount
        var values = HalfTensor(shape: [n], unsafeUninitializedCapacity: { _ in })
        var images = ShapedArray<UInt32>(shape: [n], unsafeUninitializedCapacity: { _ in })
        var failure: FileFormatError?
        values.withUnsafeMutableBufferPointer { v in
            images.withUnsafeMutableBufferPointer { ids in
                guard n > 0 else { return }
                do throws(FileFormatError) {
                    try part.file.read(into: v.baseAddress!, count: 2 * n, at: header.valuesOffset)
                    try part.file.read(into: ids.baseAddress!, count: 4 * n, at: header.imagesOffset)
                } catch {
                    failure = error
                    return
                }
                let bits = UnsafeMutableRawPointer(v.baseAddress!).bindMemory(to: UInt16.self, capacity: n)
                for j in 0..<n {
                    bits[j] = UInt16(littleEndian: bits[j])
                    ids[j] = UInt32(littleEndian: ids[j])
                }
                for r in 0..<header.rowCount {
                    let start = offsets[r]
                    let count = offsets[r + 1] - start
                    if let bad = ScoreFile.checkRow(
                        values: UnsafeBufferPointer(start: bits + start, count: count),
                        images: UnsafeBufferPointer(start: ids.baseAddress! + start, count: count),
                        imageCount: header.imageCount)
                    {
                        failure = FileFormatError(
                            file: url.path, field: bad.field, problem: "row \(r), position \(bad.at): \(bad.problem)")
                        return
                    }
                }
            }
        }
        if let failure { throw failure }
        return ScoreStore(
            imageCount: header.imageCount, classCount: header.classCount, height: header.height, width: header.width,
            precision: header.precision, offsets: ShapedArray(shape: [offsets.count], scalars: offsets),
            values: values, imageIndices: images)
    }

    /// Writes integers little-endian through a bounded buffer.
    static func writeLittleEndian<T: FixedWidthInteger>(_ elements: UnsafeBufferPointer<T>, to handle: FileHandle)
        throws
    {
        let chunk = 1 << 22
        var buffer = [T](repeating: 0, count: min(chunk, elements.count))
        var start = 0
        while start < elements.count {
            let count = min(chunk, elements.count - start)
            for j in 0..<count { buffer[j] = elements[start + j].littleEndian }
            try buffer.withUnsafeBytes {
                try handle.write(
                    contentsOf: Data(
                        bytesNoCopy: UnsafeMutableRawPointer(mutating: $0.baseAddress!),
                        count: count * MemoryLayout<T>.stride, deallocator: .none))
            }
            start += count
        }
    }
}
