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
    /// The parts are memory-mapped and read row block by row block, so memory stays at a few
    /// blocks (about 64 MB) plus the mapped pages the kernel keeps cached; the output is written
    /// atomically. Every part is checked as ``read(contentsOf:)`` checks it.
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
        let maps = try parts.map { (part) throws(FileFormatError) in try MemoryMap(file: part.file) }
        // Row r of the result holds the scores of row r of every part; each part's counts are
        // checked as a reader checks them, read through its map and dropped.
        var offsets = [Int](repeating: 0, count: rows + 1)
        for (k, part) in parts.enumerated() {
            try ScoreFile.forEachCount(maps[k].base + part.header.countsOffset, of: part.header, path: inputs[k].path) {
                r, count in offsets[r + 1] += count
            }
            maps[k].dropPages(0..<part.header.valuesOffset)
        }
        for r in 0..<rows { offsets[r + 1] += offsets[r] }
        let header = ScoreFile.Header(
            precision: first.precision, imageCount: images, classCount: first.classCount,
            height: first.height, width: first.width, scoreCount: offsets[rows])
        // Each part's first score of the next block's rows.
        var partStarts = [Int](repeating: 0, count: parts.count)
        try ScoreFile.write(header: header, offsets: offsets, to: output) {
            (rows, valueBlock, imageBlock) throws(FileFormatError) in
            if let bad = Self.mergeRows(
                rows, offsets: offsets, base: offsets[rows.lowerBound], parts: parts, maps: maps,
                partStarts: &partStarts, imageBases: imageBases, values: &valueBlock, images: &imageBlock)
            {
                throw FileFormatError(file: inputs[bad.part].path, field: bad.field, problem: bad.problem)
            }
            // The parts' rows before rows.upperBound are done: drop their pages, so the mapped
            // files do not accumulate in resident memory.
            for (k, part) in parts.enumerated() {
                let h = part.header
                maps[k].dropPages(0..<(h.countsOffset + 4 * rows.upperBound))
                maps[k].dropPages(h.valuesOffset..<(h.valuesOffset + 2 * partStarts[k]))
                maps[k].dropPages(h.imagesOffset..<(h.imagesOffset + 4 * partStarts[k]))
            }
        }
        return (images, first.classCount, first.height, first.width, offsets[rows])
    }

    /// Merges rows `rows` of every part into `values` and `images` (little-endian, from
    /// position 0 = output offset `base`), checking each part's rows; `partStarts` holds each
    /// part's first score of `rows` and is advanced past them. Returns the first failure found.
    ///
    /// The rows are cut into a few chunks, and each part's row counts are read once, in order,
    /// to find where its scores of each chunk begin: memory stays O(parts · chunks) besides the
    /// block, however many rows and parts there are.
    private static func mergeRows(
        _ rows: Range<Int>, offsets: [Int], base: Int, parts: [ScoreFile.Part], maps: [MemoryMap],
        partStarts: inout [Int], imageBases: [Int], values: inout [UInt16], images: inout [UInt32]
    )
        -> (part: Int, field: String, problem: String)?
    {
        let chunkCount = min(rows.count, 4 * availableCoreCount)
        let chunkBounds = (0...chunkCount).map { rows.lowerBound + rows.count * $0 / chunkCount }
        let counts = zip(parts, maps).map { part, map in UnsafeRawPointer(map.base + part.header.countsOffset) }
        func count(_ k: Int, _ r: Int) -> Int {
            Int(UInt32(littleEndian: counts[k].loadUnaligned(fromByteOffset: 4 * r, as: UInt32.self)))
        }
        // chunkStarts[i · parts + k]: part k's first score of chunk i.
        var chunkStarts = [Int](repeating: 0, count: chunkCount * parts.count)
        for k in parts.indices {
            for i in 0..<chunkCount {
                chunkStarts[i * parts.count + k] = partStarts[k]
                for r in chunkBounds[i]..<chunkBounds[i + 1] { partStarts[k] += count(k, r) }
            }
        }
        let failure = Mutex<(row: Int, part: Int, field: String, problem: String)?>(nil)
        // A part's row holds at most its N scores, a merged row at most the sum of them.
        let longestPartRow = parts.map(\.header.imageCount).max()!
        let longestRow = parts.reduce(0) { $0 + $1.header.imageCount }
        values.withUnsafeMutableBufferPointer { v in
            images.withUnsafeMutableBufferPointer { ids in
                let vb = UncheckedPointer(v.baseAddress!)
                let ib = UncheckedPointer(ids.baseAddress!)
                parallelFor(0..<chunkCount, chunkCount: chunkCount) { chunks in
                    let keys = UnsafeMutablePointer<UInt64>.allocate(
                        capacity: max(
                            1,
                            min(
                                longestRow,
                                offsets[chunkBounds[chunks.upperBound]] - offsets[chunkBounds[chunks.lowerBound]])))
                    let partValues = UnsafeMutablePointer<UInt16>.allocate(capacity: max(1, longestPartRow))
                    let partImages = UnsafeMutablePointer<UInt32>.allocate(capacity: max(1, longestPartRow))
                    defer {
                        keys.deallocate()
                        partValues.deallocate()
                        partImages.deallocate()
                    }
                    for i in chunks {
                        var next = Array(chunkStarts[(i * parts.count)..<((i + 1) * parts.count)])
                        for r in chunkBounds[i]..<chunkBounds[i + 1] {
                            var rowCount = 0
                            for (k, part) in parts.enumerated() {
                                let start = next[k]
                                let n = count(k, r)
                                next[k] += n
                                guard n > 0 else { continue }
                                let valueBytes = maps[k].base + part.header.valuesOffset + 2 * start
                                let imageBytes = maps[k].base + part.header.imagesOffset + 4 * start
                                for j in 0..<n {
                                    partValues[j] = UInt16(
                                        littleEndian: valueBytes.loadUnaligned(fromByteOffset: 2 * j, as: UInt16.self))
                                    partImages[j] = UInt32(
                                        littleEndian: imageBytes.loadUnaligned(fromByteOffset: 4 * j, as: UInt32.self))
                                }
                                if let bad = ScoreFile.checkRow(
                                    values: UnsafeBufferPointer(start: partValues, count: n),
                                    images: UnsafeBufferPointer(start: partImages, count: n),
                                    imageCount: part.header.imageCount)
                                {
                                    failure.withLock { current in
                                        if current == nil || r < current!.row {
                                            current = (r, k, bad.field, "row \(r), position \(bad.at): \(bad.problem)")
                                        }
                                    }
                                    return
                                }
                                let imageBase = UInt64(imageBases[k])
                                for j in 0..<n {
                                    keys[rowCount + j] =
                                        UInt64(partValues[j]) << 32 | (UInt64(partImages[j]) + imageBase)
                                }
                                rowCount += n
                            }
                            var row = UnsafeMutableBufferPointer(start: keys, count: rowCount)
                            row.sort()
                            let out = offsets[r] - base
                            for j in 0..<rowCount {
                                vb.pointer[out + j] = UInt16(truncatingIfNeeded: keys[j] >> 32).littleEndian
                                ib.pointer[out + j] = UInt32(truncatingIfNeeded: keys[j]).littleEndian
                            }
                        }
                    }
                }
            }
        }
        return failure.withLock { $0.map { ($0.part, $0.field, $0.problem) } }
    }
}
