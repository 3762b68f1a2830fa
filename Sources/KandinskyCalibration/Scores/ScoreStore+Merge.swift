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
        var offsets = [Int](repeating: 0, count: rows + 1)
        for r in 0..<rows { offsets[r + 1] = offsets[r] + parts.reduce(0) { $0 + $1.offsets[r + 1] - $1.offsets[r] } }
        let header = ScoreFile.Header(
            precision: first.precision, imageCount: images, classCount: first.classCount,
            height: first.height, width: first.width, scoreCount: offsets[rows])
        let maps = try parts.map { (part) throws(FileFormatError) in try MemoryMap(file: part.file) }
        try ScoreFile.write(header: header, offsets: offsets, to: output) {
            (rows, valueBlock, imageBlock) throws(FileFormatError) in
            if let bad = Self.mergeRows(
                rows, offsets: offsets, base: offsets[rows.lowerBound], parts: parts, maps: maps,
                imageBases: imageBases, values: &valueBlock, images: &imageBlock)
            {
                throw FileFormatError(file: inputs[bad.part].path, field: bad.field, problem: bad.problem)
            }
            // The parts' rows before rows.upperBound are done: drop their pages, so the mapped
            // files do not accumulate in resident memory (they are read again only on a retry).
            for (part, map) in zip(parts, maps) {
                let done = part.offsets[rows.upperBound]
                map.dropPages(part.header.valuesOffset..<(part.header.valuesOffset + 2 * done))
                map.dropPages(part.header.imagesOffset..<(part.header.imagesOffset + 4 * done))
            }
        }
        return (images, first.classCount, first.height, first.width, offsets[rows])
    }

    /// Merges rows `rows` of every part into `values` and `images` (little-endian, from
    /// position 0 = output offset `base`), checking each part's rows; returns the first
    /// failure found.
    private static func mergeRows(
        _ rows: Range<Int>, offsets: [Int], base: Int, parts: [ScoreFile.Part], maps: [MemoryMap],
        imageBases: [Int], values: inout [UInt16], images: inout [UInt32]
    )
        -> (part: Int, field: String, problem: String)?
    {
        let failure = Mutex<(row: Int, part: Int, field: String, problem: String)?>(nil)
        let longest = parts.reduce(0) { $0 + $1.header.imageCount }
        values.withUnsafeMutableBufferPointer { v in
            images.withUnsafeMutableBufferPointer { ids in
                let vb = UncheckedPointer(v.baseAddress!)
                let ib = UncheckedPointer(ids.baseAddress!)
                parallelFor(rows, chunkCount: 4 * availableCoreCount) { chunk in
                    let keys = UnsafeMutablePointer<UInt64>.allocate(
                        capacity: max(1, min(longest, offsets[chunk.upperBound] - offsets[chunk.lowerBound])))
                    let partValues = UnsafeMutablePointer<UInt16>.allocate(
                        capacity: max(1, parts.map(\.header.imageCount).max()!))
                    let partImages = UnsafeMutablePointer<UInt32>.allocate(
                        capacity: max(1, parts.map(\.header.imageCount).max()!))
                    defer {
                        keys.deallocate()
                        partValues.deallocate()
                        partImages.deallocate()
                    }
                    for r in chunk {
                        var count = 0
                        for (k, part) in parts.enumerated() {
                            let start = part.offsets[r]
                            let n = part.offsets[r + 1] - start
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
                                keys[count + j] = UInt64(partValues[j]) << 32 | (UInt64(partImages[j]) + imageBase)
                            }
                            count += n
                        }
                        var row = UnsafeMutableBufferPointer(start: keys, count: count)
                        row.sort()
                        let out = offsets[r] - base
                        for j in 0..<count {
                            vb.pointer[out + j] = UInt16(truncatingIfNeeded: keys[j] >> 32).littleEndian
                            ib.pointer[out + j] = UInt32(truncatingIfNeeded: keys[j]).littleEndian
                        }
                    }
                }
            }
        }
        return failure.withLock { $0.map { ($0.part, $0.field, $0.problem) } }
    }
}
