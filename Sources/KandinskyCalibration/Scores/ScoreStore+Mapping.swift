import Foundation
import KandinskyCore
import Synchronization

/// The memory map a disk-backed ``ScoreStore`` reads its scores and images through, and the
/// bound on how much of it stays resident.
///
/// Pages read through a map count in the process's resident memory until they are dropped, so
/// every pass over the scores reports what it read (``didRead(_:)``); once `residentBudget`
/// bytes were read since the last drop, every page of the map is dropped (the kernel's page
/// cache usually keeps them, so a later read costs a page fault, not a disk read). Resident
/// memory for the scores therefore stays near the budget whatever the file's size.
package final class MappedScores: Sendable {
    let map: MemoryMap
    /// Where a selection of images (a ``GroupSplit``) writes its own `.kscores` file.
    let spillDirectory: URL
    /// Bytes read through the map between two drops of its pages.
    let residentBudget: Int
    private let readSinceDrop = Atomic<Int>(0)

    init(map: MemoryMap, spillDirectory: URL, residentBudget: Int) {
        self.map = map
        self.spillDirectory = spillDirectory
        self.residentBudget = residentBudget
    }

    /// Counts `bytes` read through the map, dropping every page once the budget is reached.
    func didRead(_ bytes: Int) {
        guard readSinceDrop.add(bytes, ordering: .relaxed).newValue >= residentBudget else { return }
        readSinceDrop.store(0, ordering: .relaxed)
        map.dropPages(0..<map.length)
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
    ///   - residentBudget: Bytes of the map read between two drops of its pages.
    /// - Throws: `FileFormatError` (KandinskyCore) naming the field that is malformed, or the
    ///   file when it cannot be mapped.
    /// - Complexity: one sequential read of the file, split across cores.
    public init(mapping url: URL, spillDirectory: URL? = nil, residentBudget: Int = 256 << 20)
        throws(FileFormatError)
    {
        precondition(residentBudget > 0, "the resident budget must be positive, got \(residentBudget)")
        #if _endian(big)
            self = try Self.read(contentsOf: url)
        #else
            let part = try ScoreFile.Part(url: url)
            let mapping = MappedScores(
                map: try MemoryMap(file: part.file),
                spillDirectory: spillDirectory ?? url.deletingLastPathComponent(), residentBudget: residentBudget)
            self = Self(mapped: mapping, header: part.header, offsets: part.offsets)
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
                        for r in range {
                            let start = offs.pointer[r]
                            let count = offs.pointer[r + 1] - start
                            let bad = ScoreFile.checkRow(
                                values: UnsafeBufferPointer(start: bits.pointer + start, count: count),
                                images: UnsafeBufferPointer(start: imgs.pointer + start, count: count),
                                imageCount: imageCount)
                            mapping?.didRead(6 * count)
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
    public var isMemoryMapped: Bool { mapping != nil }

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
                map: map, spillDirectory: mapping.spillDirectory, residentBudget: mapping.residentBudget)
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
                    mapping?.didRead(6 * (o[rows.upperBound] - o[rows.lowerBound]))
                }
            }
        }
    }
}
