import Foundation
import KandinskyCore
import Synchronization

/// The bound on how much of the memory maps of disk-backed ``ScoreStore``s stays resident,
/// shared by a store and every selection of images made from it.
///
/// Pages read through a map count in the process's resident memory until they are dropped, so
/// every pass over the scores reports what it reads through a ``MappedReads``; once `bytes`
/// were counted since the last drop, every page of every live map in the budget is dropped (the
/// kernel's page cache usually keeps them, so a later read costs a page fault, not a disk read).
///
/// A read is counted as the whole aligned ``region``s it touches: a read fault maps more than
/// the bytes read, the cached pages of a 64 KiB window around it ("fault-around") and, on
/// kernels that keep files in large folios, the whole folio, up to 2 MiB. Counting only the
/// bytes read let scattered rows, as a group's pool reads them, leave several times the budget
/// resident (1.5 GB for k-means from a 20,000-image store, against 0.3 GB counting regions). The maps' resident pages therefore stay below `bytes` plus one region per reader
/// and section, however many maps and whatever the files' sizes.
package final class ResidentBudget: Sendable {
    /// Bytes counted between two drops.
    let bytes: Int
    private let countedSinceDrop = Atomic<Int>(0)
    private let maps = Mutex<[WeakMap]>([])

    /// The most a read fault of a file mapping maps: a PMD-sized (2 MiB) folio, which also
    /// holds the fault-around window.
    static let region = 2 << 20

    private struct WeakMap {
        weak var map: MemoryMap?
    }

    init(bytes: Int) {
        precondition(bytes > 0, "the resident budget must be positive, got \(bytes)")
        self.bytes = bytes
    }

    /// Puts `map` under the budget for as long as it lives.
    func add(_ map: MemoryMap) {
        maps.withLock { list in
            list.removeAll { $0.map == nil }
            list.append(WeakMap(map: map))
        }
    }

    /// Counts a read of bytes `range` of one of the maps: the regions it touches, less
    /// `lastRegion` when the same reader's previous read of that section counted it already;
    /// sets `lastRegion` to the last region touched. Drops every live map's pages once the
    /// budget is reached.
    func didRead(_ range: Range<Int>, lastRegion: inout Int) {
        guard !range.isEmpty else { return }
        var first = range.lowerBound / Self.region
        let last = (range.upperBound - 1) / Self.region
        if first == lastRegion { first += 1 }
        lastRegion = last
        guard first <= last,
            countedSinceDrop.add((last - first + 1) * Self.region, ordering: .relaxed).newValue >= bytes
        else { return }
        countedSinceDrop.store(0, ordering: .relaxed)
        let live = maps.withLock { list in list.compactMap(\.map) }
        for map in live { map.dropPages(0..<map.length) }
    }
}

/// The memory map a disk-backed ``ScoreStore`` reads its scores and images through, under a
/// ``ResidentBudget``.
package final class MappedScores: Sendable {
    let map: MemoryMap
    /// Where the scores (Float16) and their images (UInt32) begin in the file.
    let valuesOffset: Int
    let imagesOffset: Int
    /// Where a selection of images (a ``GroupSplit``) writes its own `.kscores` file.
    let spillDirectory: URL
    let budget: ResidentBudget

    init(map: MemoryMap, header: ScoreFile.Header, spillDirectory: URL, budget: ResidentBudget) {
        self.map = map
        valuesOffset = header.valuesOffset
        imagesOffset = header.imagesOffset
        self.spillDirectory = spillDirectory
        self.budget = budget
        budget.add(map)
    }
}

/// One reader's account of what it reads through a ``MappedScores``, one per worker of a
/// pass: consecutive reads inside one region count it once.
struct MappedReads {
    private let mapping: MappedScores?
    private var lastValuesRegion = -1
    private var lastImagesRegion = -1

    /// An account of reads of `mapping`; reads of an in-memory store (nil) cost nothing.
    init(_ mapping: MappedScores?) { self.mapping = mapping }

    /// Counts a read of the scores at positions `positions`.
    @inline(__always)
    mutating func didRead(values positions: Range<Int>) {
        guard let mapping else { return }
        Self.count(positions, ofSize: 2, from: mapping.valuesOffset, in: mapping.budget, lastRegion: &lastValuesRegion)
    }

    /// Counts a read of the images of the scores at positions `positions`.
    @inline(__always)
    mutating func didRead(images positions: Range<Int>) {
        guard let mapping else { return }
        Self.count(positions, ofSize: 4, from: mapping.imagesOffset, in: mapping.budget, lastRegion: &lastImagesRegion)
    }

    /// Counts a read of elements `positions`, of `size` bytes each, of a section at byte `start`.
    @inline(__always)
    private static func count(
        _ positions: Range<Int>, ofSize size: Int, from start: Int, in budget: ResidentBudget, lastRegion: inout Int
    ) {
        budget.didRead(
            (start + size * positions.lowerBound)..<(start + size * positions.upperBound), lastRegion: &lastRegion)
    }

    /// Counts a read of the scores at positions `positions` and of their images.
    @inline(__always)
    mutating func didRead(scoresAndImages positions: Range<Int>) {
        didRead(values: positions)
        didRead(images: positions)
    }
}

extension ScoreStore {
    /// Opens a `.kscores` file as a disk-backed store: the scores and their images stay in the
    /// file, memory-mapped, and only the C·H·W + 1 row offsets are read into memory.
    ///
    /// The store answers every question an in-memory one does, with the same results bit for
    /// bit (the same bytes are read in the same order). Its resident memory stays near
    /// `residentBudget` plus O(C·H·W) whatever the file's size: each pass over the scores drops
    /// the pages it has read (see the File formats article for the layout, row after row, which
    /// per-pixel quantiles read sequentially). A ``Calibrator`` whose ``GroupSplit`` selects
    /// images writes each selection as a `.kscores` file in `spillDirectory`, maps it and
    /// removes its name at once (the file's space is freed when the store goes away).
    ///
    /// Every field is checked as ``read(contentsOf:)`` checks it, in one pass over the file.
    ///
    /// - Parameters:
    ///   - url: The `.kscores` file.
    ///   - spillDirectory: Where selections of images are written; nil for the file's directory.
    ///   - residentBudget: Bytes of the maps of the store and of its selections read between
    ///     two drops of their pages (see `ResidentBudget`).
    /// - Throws: `FileFormatError` (KandinskyCore) naming the field that is malformed, or the
    ///   file when it cannot be mapped.
    /// - Complexity: one sequential read of the file, split across cores.
    public init(mapping url: URL, spillDirectory: URL? = nil, residentBudget: Int = 64 << 20)
        throws(FileFormatError)
    {
        #if _endian(big)
            self = try Self.read(contentsOf: url)
        #else
            let part = try ScoreFile.Part(url: url)
            let offsets = try part.offsets()
            let mapping = MappedScores(
                map: try MemoryMap(file: part.file), header: part.header,
                spillDirectory: spillDirectory ?? url.deletingLastPathComponent(),
                budget: ResidentBudget(bytes: residentBudget))
            self = Self(mapped: mapping, header: part.header, offsets: offsets)
            if let bad = checkRows() {
                throw FileFormatError(
                    file: url.path, field: bad.field, problem: "row \(bad.row), position \(bad.at): \(bad.problem)")
            }
        #endif
    }

    /// The store whose scores and images are the sections of a mapped `.kscores` file.
    private init(mapped mapping: MappedScores, header: ScoreFile.Header, offsets: [Int]) {
        let n = header.scoreCount
        let base = mapping.map.base
        self.init(
            imageCount: header.imageCount, classCount: header.classCount, height: header.height,
            width: header.width, precision: header.precision,
            offsets: ShapedArray(shape: [offsets.count], scalars: offsets),
            values: HalfTensor(
                shape: [n], borrowing: (base + header.valuesOffset).bindMemory(to: Float16.self, capacity: n),
                owner: mapping.map),
            imageIndices: ShapedArray(
                shape: [n], borrowing: (base + header.imagesOffset).bindMemory(to: UInt32.self, capacity: n),
                owner: mapping.map),
            mapping: mapping)
    }

    /// Checks every row as a `.kscores` reader must (``ScoreFile/checkRow(values:images:imageCount:)``);
    /// returns the failure of the lowest row.
    private func checkRows() -> (row: Int, field: String, problem: String, at: Int)? {
        let failure = Mutex<(row: Int, field: String, problem: String, at: Int)?>(nil)
        let rows = classCount * pixelCount
        let imageCount = self.imageCount
        offsets.withUnsafeBufferPointer { o in
            values.withUnsafeBufferPointer { v in
                imageIndices.withUnsafeBufferPointer { ids in
                    let offs = UncheckedPointer(o.baseAddress!)
                    let bits = UncheckedPointer(
                        UnsafeRawPointer(v.baseAddress ?? UnsafePointer(bitPattern: 2)!).assumingMemoryBound(
                            to: UInt16.self))
                    let imgs = UncheckedPointer(ids.baseAddress ?? UnsafePointer(bitPattern: 4)!)
                    parallelFor(0..<rows, chunkCount: 4 * availableCoreCount) { range in
                        var reads = MappedReads(mapping)
                        for r in range {
                            let start = offs.pointer[r]
                            let count = offs.pointer[r + 1] - start
                            let bad = ScoreFile.checkRow(
                                values: UnsafeBufferPointer(start: bits.pointer + start, count: count),
                                images: UnsafeBufferPointer(start: imgs.pointer + start, count: count),
                                imageCount: imageCount)
                            reads.didRead(scoresAndImages: start..<(start + count))
                            if let bad {
                                failure.withLock { current in
                                    if current == nil || r < current!.row {
                                        current = (r, bad.field, bad.problem, bad.at)
                                    }
                                }
                                return
                            }
                        }
                    }
                }
            }
        }
        return failure.withLock { $0 }
    }

    /// Whether the scores live in a memory-mapped file (``init(mapping:spillDirectory:residentBudget:)``).
    package var isMemoryMapped: Bool { mapping != nil }

    /// The images `selected`, renumbered in the order given, as ``images(_:)`` selects them; a
    /// memory-mapped store writes the selection to a `.kscores` file in its spill directory,
    /// row block by row block, and maps that file, so neither store is ever held in memory.
    ///
    /// - Throws: ``CalibrationError`` when the selection cannot be written or mapped.
    /// - Complexity: O(number of scores + C·H·W).
    func selectingImages(_ selected: [Int]) throws(CalibrationError) -> ScoreStore {
        guard let mapping else { return images(selected) }
        let newIndex = renumbering(selected)
        let newOffsets = selectedOffsets(newIndex)
        let rows = classCount * pixelCount
        let header = ScoreFile.Header(
            precision: precision, imageCount: selected.count, classCount: classCount, height: height,
            width: width, scoreCount: newOffsets[rows])
        // A temporary of `selection.kscores`: one that a killed process left is removed here.
        let name = mapping.spillDirectory.appendingPathComponent("selection.kscores")
        AtomicFile.removeStaleTemporaries(of: name)
        let url = AtomicFile.temporaryURL(for: name)
        do throws(FileFormatError) {
            try ScoreFile.write(header: header, offsets: newOffsets, to: url) { rowRange, values, images in
                writeSelection(rows: rowRange, newIndex: newIndex, values: &values, images: &images)
            }
            defer { try? FileManager.default.removeItem(at: url) }
            // Just written from `header` and `newOffsets`: mapped without reading them back.
            let map = try MemoryMap(file: ReadableFile(url: url))
            let selection = MappedScores(
                map: map, header: header, spillDirectory: mapping.spillDirectory, budget: mapping.budget)
            return ScoreStore(mapped: selection, header: header, offsets: newOffsets)
        } catch {
            throw .file(error)
        }
    }

    /// The kept scores of rows `rows` (their new images, little-endian) into `values` and
    /// `images`, from position 0.
    private func writeSelection(
        rows: Range<Int>, newIndex: [Int32], values output: inout [UInt16], images outputImages: inout [UInt32]
    ) {
        offsets.withUnsafeBufferPointer { o in
            values.withUnsafeBufferPointer { v in
                imageIndices.withUnsafeBufferPointer { ids in
                    var cursor = 0
                    for i in o[rows.lowerBound]..<o[rows.upperBound] {
                        let mapped = newIndex[Int(ids[i])]
                        guard mapped >= 0 else { continue }
                        output[cursor] = v[i].bitPattern.littleEndian
                        outputImages[cursor] = UInt32(mapped).littleEndian
                        cursor += 1
                    }
                    var reads = MappedReads(mapping)
                    reads.didRead(scoresAndImages: o[rows.lowerBound]..<o[rows.upperBound])
                }
            }
        }
    }
}
