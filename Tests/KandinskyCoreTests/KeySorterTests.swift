import KandinskyCore
import KandinskyTestSupport
import Testing

@Suite("Key sorter")
struct KeySorterTests {
    /// Rows of every length up to past the insertion-sort cut, with keys that differ in low,
    /// middle or all bytes, against the standard library's sort.
    @Test(arguments: [0xFF, 0xFFFF_FFFF, 0x3C00_0000_FFFF, UInt64.max])
    func sortsAsTheStandardLibraryDoes(mask: UInt64) {
        var generator = SeededGenerator(seed: 11)
        let sorter = KeySorter(capacity: 600)
        for count in [0, 1, 2, 31, 32, 33, 100, 600] {
            let keys = (0..<count).map { _ in generator.next() & mask }
            var sorted = keys
            sorted.withUnsafeMutableBufferPointer {
                sorter.sort($0.baseAddress ?? UnsafeMutablePointer(bitPattern: 8)!, count: count)
            }
            #expect(sorted == keys.sorted(), "\(count) keys under mask \(String(mask, radix: 16))")
        }
    }
}
