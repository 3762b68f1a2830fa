import Foundation
import KandinskyCore
import Synchronization

extension ScoreStore {
    /// Merges `.kscores` files into one, streaming: the store of their images in argument order.
    ///
    /// Image n of part k becomes image n₀ + n, n₀ the images of parts 0..<k; row r of the
    /// result holds the scores of row r of every part, sorted by (score, image). So merging the
    /// stores of consecutive runs of images gives, bit for bit, the store of all of them built
    /// at once (a row's order is that of its unique (score, image) keys either way), whatever
    /// the split. The parts must agree on C, H, W and precision.
    ///
    /// The parts are read row block by row block with positioned reads (no memory maps, whose
    /// pages would stay resident), so memory stays at two blocks of at most ~8 M scores and
    /// 4,096 rows (about 100 MB) plus 16 KB a part, however many parts and scores there are;
    /// the output is written atomically. Every part is checked as ``read(contentsOf:)`` checks it.
    ///
    /// - Returns: the header of the result: N, C, H, W and the score count.
    /// - Throws: `FileFormatError` (KandinskyCore) naming the part and field that is malformed or
    ///   that disagrees with the first part.
    /// - Complexity: O(S log N) for S scores, split across cores; one read of every part and
    ///   one write of the result.
    @discardableResult
    public static func merge(_ inputs: [URL], to output: URL) throws(FileFormatError)
        -> (imageCount: Int, classCount: Int, height: Int, width: Int, scoreCount: Int)
    {
        try merge(inputs, to: output, blockRows: 4096)
    }

    /// ``merge(_:to:)`` with blocks of at most `blockRows` rows.
    @discardableResult
    static func merge(_ inputs: [URL], to output: URL, blockRows: Int) throws(FileFormatError)
        -> (imageCount: Int, classCount: Int, height: Int, width: Int, scoreCount: Int)
    {
        precondition(!inputs.isEmpty, "merge needs at least one part")
        var parts: [ScoreFile.Part] = []
        for url in inputs { parts.append(try ScoreFile.Part(url: url)) }
        let first = parts[0].header
        var imageBases: [Int] = []
        var images = 0
        for (part, url) in zip(parts, inputs) {
            let h = part.header
            for (field, value, expected) in [
                ("C", h.classCount, first.classCount), ("H", h.height, first.height), ("W", h.width, first.width),
            ]
            where value != expected {
                throw FileFormatError(
                    file: url.path, field: field,
                    problem: "expected \(expected) as the first part \(inputs[0].path), found \(value)")
            }
            guard h.precision == first.precision else {
                throw FileFormatError(
                    file: url.path, field: "precision",
                    problem:
                        "expected \(first.precision.rawValue) as the first part \(inputs[0].path), found \(h.precision.rawValue)"
                )
            }
            imageBases.append(images)
            images += h.imageCount
        }
        guard images <= Int(UInt32.max) + 1 else {
            throw FileFormatError(
                file: output.path, field: "N",
                problem: "the parts hold \(images) images, more than the 2³² a score store indexes")
        }
        let rows = first.rowCount
        // Row r of the result holds the scores of row r of every part.
        var offsets = [Int](repeating: 0, count: rows + 1)
        for part in parts { try part.forEachCount { r, count in offsets[r + 1] += count } }
        for r in 0..<rows { offsets[r + 1] += offsets[r] }
        let header = ScoreFile.Header(
            precision: first.precision, imageCount: images, classCount: first.classCount,
            height: first.height, width: first.width, scoreCount: offsets[rows])
        var block = MergeBlock(parts: parts, imageBases: imageBases)
        try ScoreFile.write(header: header, offsets: offsets, to: output, maximumBlockRows: blockRows) {
            (rows, valueBlock, imageBlock) throws(FileFormatError) in
            try block.read(rows)
            if let bad = block.merge(rows, into: &valueBlock, &imageBlock) {
                throw FileFormatError(file: inputs[bad.part].path, field: bad.field, problem: bad.problem)
            }
        }
        return (images, first.classCount, first.height, first.width, offsets[rows])
    }
}

/// The scores of one block of rows of every part of a merge, read with positioned reads.
private struct MergeBlock {
    let parts: [ScoreFile.Part]
    /// Part k's image n is image `imageBases[k]` + n of the result.
    let imageBases: [Int]
    /// Each part's first score of the block's rows.
    private var partStarts: [Int]
    /// `counts[k · rows + i]`: part k's count of the block's row i (4,096 rows: 16 KB a part).
    private var counts: [UInt32] = []
    /// Every part's scores and images of the block, part after part (host order); part k's
    /// begin at `partBases[k]`.
    private var values: [UInt16] = []
    private var images: [UInt32] = []
    private var partBases: [Int]

    init(parts: [ScoreFile.Part], imageBases: [Int]) {
        self.parts = parts
        self.imageBases = imageBases
        partStarts = Array(repeating: 0, count: parts.count)
        partBases = Array(repeating: 0, count: parts.count + 1)
    }

    /// Reads every part's counts, scores and images of `rows`, the block after the last one
    /// read, parts in parallel, and asks the kernel to read ahead as much of each part again.
    mutating func read(_ rows: Range<Int>) throws(FileFormatError) {
        let (n, parts) = (rows.count, self.parts)
        if counts.count < parts.count * n { counts = Array(repeating: 0, count: parts.count * n) }
        try counts.withUnsafeMutableBufferPointer { c in
            let destination = UncheckedPointer(c.baseAddress!)
            return Result { () throws(FileFormatError) in
                try Self.forEachPart(of: parts) { (k, part) throws(FileFormatError) in
                    try part.file.read(
                        into: destination.pointer + k * n, count: 4 * n,
                        at: part.header.countsOffset + 4 * rows.lowerBound)
                }
            }
        }.get()
        for k in parts.indices {
            partBases[k + 1] = partBases[k]
            for i in (k * n)..<((k + 1) * n) {
                counts[i] = UInt32(littleEndian: counts[i])
                partBases[k + 1] += Int(counts[i])
            }
        }
        let total = partBases[parts.count]
        if values.count < total {
            values = Array(repeating: 0, count: total)
            images = Array(repeating: 0, count: total)
        }
        let (starts, bases) = (partStarts, partBases)
        try values.withUnsafeMutableBufferPointer { v in
            images.withUnsafeMutableBufferPointer { ids in
                let (vals, imgs) = (UncheckedPointer(v.baseAddress!), UncheckedPointer(ids.baseAddress!))
                return Result { () throws(FileFormatError) in
                    try Self.forEachPart(of: parts) { (k, part) throws(FileFormatError) in
                        let (h, base, count) = (part.header, bases[k], bases[k + 1] - bases[k])
                        guard count > 0 else { return }
                        try part.file.read(
                            into: vals.pointer + base, count: 2 * count, at: h.valuesOffset + 2 * starts[k])
                        try part.file.read(
                            into: imgs.pointer + base, count: 4 * count, at: h.imagesOffset + 4 * starts[k])
                        // The next block is likely as long: have the kernel read it while this one merges.
                        let next = starts[k] + count
                        part.file.willNeed(
                            (h.countsOffset + 4 * rows.upperBound)..<(h.countsOffset + 4 * (rows.upperBound + n)))
                        part.file.willNeed((h.valuesOffset + 2 * next)..<(h.valuesOffset + 2 * (next + count)))
                        part.file.willNeed((h.imagesOffset + 4 * next)..<(h.imagesOffset + 4 * (next + count)))
                    }
                }
            }
        }.get()
        for k in parts.indices { partStarts[k] += partBases[k + 1] - partBases[k] }
        #if _endian(big)
            for j in 0..<total {
                values[j] = UInt16(littleEndian: values[j])
                images[j] = UInt32(littleEndian: images[j])
            }
        #endif
    }

    /// Calls `body(k, parts[k])` for every part, parts split across cores; throws the error of
    /// the lowest part that failed.
    private static func forEachPart(
        of parts: [ScoreFile.Part], _ body: (Int, ScoreFile.Part) throws(FileFormatError) -> Void
    ) throws(FileFormatError) {
        let failure = Mutex<(part: Int, error: FileFormatError)?>(nil)
        parallelFor(0..<parts.count) { range in
            for k in range {
                do throws(FileFormatError) { try body(k, parts[k]) } catch {
                    failure.withLock { current in if current == nil || k < current!.part { current = (k, error) } }
                    return
                }
            }
        }
        if let failure = failure.withLock({ $0 }) { throw failure.error }
    }

    /// Merges the block's rows `rows` into `output` and `outputImages` (little-endian, from
    /// position 0), checking each part's rows; returns the failure of the lowest row.
    ///
    /// The rows are cut into a few chunks merged in parallel; a row's scores of every part are
    /// sorted by (score, image) key.
    func merge(_ rows: Range<Int>, into output: inout [UInt16], _ outputImages: inout [UInt32])
        -> (part: Int, field: String, problem: String)?
    {
        let (n, partCount) = (rows.count, parts.count)
        guard partBases[partCount] > 0 else { return nil }  // no scores: nothing to check or write
        let chunkCount = min(n, 4 * availableCoreCount)
        let chunkBounds = (0...chunkCount).map { n * $0 / chunkCount }
        // chunkStarts[i · parts + k]: where part k's scores of chunk i begin in the block.
        var chunkStarts = [Int](repeating: 0, count: chunkCount * partCount)
        var rowStarts = [Int](repeating: 0, count: chunkCount + 1)
        for k in 0..<partCount {
            var cursor = partBases[k]
            for i in 0..<chunkCount {
                chunkStarts[i * partCount + k] = cursor
                for row in chunkBounds[i]..<chunkBounds[i + 1] { cursor += Int(counts[k * n + row]) }
            }
        }
        for i in 0..<chunkCount {
            rowStarts[i + 1] = rowStarts[i]
            for k in 0..<partCount {
                let end = i + 1 < chunkCount ? chunkStarts[(i + 1) * partCount + k] : partBases[k + 1]
                rowStarts[i + 1] += end - chunkStarts[i * partCount + k]
            }
        }
        let longestRow = parts.reduce(0) { $0 + $1.header.imageCount }
        let failure = Mutex<(row: Int, part: Int, field: String, problem: String)?>(nil)
        values.withUnsafeBufferPointer { v in
            images.withUnsafeBufferPointer { ids in
                output.withUnsafeMutableBufferPointer { out in
                    outputImages.withUnsafeMutableBufferPointer { outImages in
                        let (vals, imgs) = (UncheckedPointer(v.baseAddress!), UncheckedPointer(ids.baseAddress!))
                        let (vb, ib) = (UncheckedPointer(out.baseAddress!), UncheckedPointer(outImages.baseAddress!))
                        parallelFor(0..<chunkCount, chunkCount: chunkCount) { chunks in
                            let capacity = max(
                                1, min(longestRow, rowStarts[chunks.upperBound] - rowStarts[chunks.lowerBound]))
                            let keys = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
                            defer { keys.deallocate() }
                            let sorter = KeySorter(capacity: capacity)
                            for i in chunks {
                                var next = Array(chunkStarts[(i * partCount)..<((i + 1) * partCount)])
                                var out = rowStarts[i]
                                for row in chunkBounds[i]..<chunkBounds[i + 1] {
                                    var rowCount = 0
                                    for k in 0..<partCount {
                                        let start = next[k]
                                        let count = Int(counts[k * n + row])
                                        next[k] += count
                                        guard count > 0 else { continue }
                                        if let bad = ScoreFile.checkRow(
                                            values: UnsafeBufferPointer(start: vals.pointer + start, count: count),
                                            images: UnsafeBufferPointer(start: imgs.pointer + start, count: count),
                                            imageCount: parts[k].header.imageCount)
                                        {
                                            let r = rows.lowerBound + row
                                            failure.withLock { current in
                                                if current == nil || r < current!.row {
                                                    current = (
                                                        r, k, bad.field, "row \(r), position \(bad.at): \(bad.problem)"
                                                    )
                                                }
                                            }
                                            return
                                        }
                                        let imageBase = UInt64(imageBases[k])
                                        for j in 0..<count {
                                            keys[rowCount + j] =
                                                UInt64(vals.pointer[start + j]) << 32
                                                | (UInt64(imgs.pointer[start + j]) + imageBase)
                                        }
                                        rowCount += count
                                    }
                                    sorter.sort(keys, count: rowCount)
                                    for j in 0..<rowCount {
                                        vb.pointer[out + j] = UInt16(truncatingIfNeeded: keys[j] >> 32).littleEndian
                                        ib.pointer[out + j] = UInt32(truncatingIfNeeded: keys[j]).littleEndian
                                    }
                                    out += rowCount
                                }
                            }
                        }
                    }
                }
            }
        }
        return failure.withLock { $0.map { ($0.part, $0.field, $0.problem) } }
    }
}
