import Foundation
import KandinskyCore
import KandinskyTestSupport
import Testing

@testable import KandinskyCalibration

/// The pages a ``ResidentBudget`` leaves resident, read from the kernel's own account of the
/// process's mappings (`/proc/self/smaps`), not from the budget's counters.
@Suite("Resident budget of memory-mapped score stores")
struct ResidentBudgetTests {
    /// A mapped file of `bytes` bytes in `directory`.
    static func map(bytes: Int, named name: String, in directory: URL) throws -> MemoryMap {
        let url = directory.appendingPathComponent(name)
        try Data(repeating: 1, count: bytes).write(to: url)
        return try MemoryMap(file: ReadableFile(url: url))
    }

    /// Reads one byte of every page of `map`, so all its pages are resident.
    static func touch(_ map: MemoryMap) -> Int {
        stride(from: 0, to: map.length, by: Int(getpagesize())).reduce(0) {
            $0 + Int(map.base.load(fromByteOffset: $1, as: UInt8.self))
        }
    }

    /// The resident kilobytes of the mapping that begins at `map.base`, as the kernel reports them.
    static func residentKilobytes(of map: MemoryMap) throws -> Int {
        // Read to the end: /proc files report a size of 0.
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/smaps"))
        defer { try? handle.close() }
        let smaps = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        let start = String(UInt(bitPattern: map.base), radix: 16)
        var inMapping = false
        for line in smaps.split(separator: "\n") {
            if let dash = line.firstIndex(of: "-"), line[..<dash].allSatisfy(\.isHexDigit) {
                inMapping = line[..<dash].drop { $0 == "0" } == start.drop { $0 == "0" }
            } else if inMapping, line.hasPrefix("Rss:") {
                return Int(line.split(separator: " ")[1])!
            }
        }
        Issue.record("no mapping at 0x\(start) in /proc/self/smaps")
        return -1
    }

    @Test func reachingTheBudgetDropsThePagesOfEveryLiveMap() throws {
        try withScratchDirectory("budget") { directory in
            let region = ResidentBudget.region
            let budget = ResidentBudget(bytes: 2 * region)
            let a = try Self.map(bytes: region, named: "a", in: directory)
            let b = try Self.map(bytes: region, named: "b", in: directory)
            budget.add(a)
            budget.add(b)
            do {
                // A map that went away before the drop is skipped, not dereferenced.
                let gone = try Self.map(bytes: region, named: "c", in: directory)
                budget.add(gone)
            }
            #expect(Self.touch(a) + Self.touch(b) == 2 * region / Int(getpagesize()))
            var firstReader = -1
            var secondReader = -1
            budget.didRead(0..<(region / 2), lastRegion: &firstReader)
            #expect(try Self.residentKilobytes(of: a) == 2048, "half the budget counted: nothing dropped")
            #expect(try Self.residentKilobytes(of: b) == 2048)
            budget.didRead(0..<1, lastRegion: &secondReader)
            #expect(try Self.residentKilobytes(of: a) == 0, "the budget reached: every map dropped")
            #expect(try Self.residentKilobytes(of: b) == 0)
        }
    }

    @Test func aReaderCountsEachRegionItTouchesOncePerRun() throws {
        try withScratchDirectory("budget") { directory in
            let region = ResidentBudget.region
            #expect(region == 2 << 20)
            let budget = ResidentBudget(bytes: 2 * region)
            let map = try Self.map(bytes: 3 * region, named: "a", in: directory)
            budget.add(map)
            _ = Self.touch(map)
            var reader = -1
            budget.didRead(5..<6, lastRegion: &reader)  // one byte: its whole region
            budget.didRead(100..<200, lastRegion: &reader)  // the same region again: nothing more
            #expect(reader == 0)
            #expect(try Self.residentKilobytes(of: map) == 6144)
            budget.didRead((region - 1)..<(region + 1), lastRegion: &reader)  // into region 1: the budget
            #expect(reader == 1)
            #expect(try Self.residentKilobytes(of: map) == 0)
        }
    }
}
