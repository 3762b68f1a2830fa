import Synchronization
import Testing

@testable import KandinskyCore

@Suite struct ThreadLimitTests {
    @Test func readsWholeNumbersFromOne() {
        #expect(ThreadLimit.read(nil) == .unset)
        #expect(ThreadLimit.read("") == .unset)
        #expect(ThreadLimit.read("1") == .limit(1))
        #expect(ThreadLimit.read("+8") == .limit(8))
        #expect(ThreadLimit.read("64") == .limit(64))
        for bad in ["0", "-3", "x", "2.0", "2 ", " 2", "1e3", "99999999999999999999999"] {
            #expect(ThreadLimit.read(bad) == .invalid(bad), "\(bad)")
        }
    }

    @Test func workersAreTheLimitCappedByTheProcessors() {
        #expect(ThreadLimit.workers(for: .limit(1), processors: 8) == 1)
        #expect(ThreadLimit.workers(for: .limit(3), processors: 8) == 3)
        #expect(ThreadLimit.workers(for: .limit(64), processors: 8) == 8)
        #expect(ThreadLimit.workers(for: .unset, processors: 8) == 8)
        #expect(ThreadLimit.workers(for: .invalid("0"), processors: 8) == 8)
        #expect(ThreadLimit.workers(for: .unset, processors: 0) == 1)
    }

    @Test func problemNamesTheVariableTheValueAndTheRange() {
        #expect(
            ThreadLimit.problem(with: "0", processors: 2)
                == "KANDINSKY_THREADS=0 is not allowed: expected a whole number from 1 up (values above the 2 processors mean all of them)"
        )
    }

    /// More chunks than workers: every index is visited once, in chunks whose bounds do not
    /// depend on the thread count (the split of 10 into 4 is 3, 3, 2, 2).
    @Test func parallelForCoversEveryIndexOnceWithMoreChunksThanWorkers() {
        let chunks = Mutex<[Range<Int>]>([])
        let visits = Mutex([Int](repeating: 0, count: 10))
        parallelFor(0..<10, chunkCount: 4) { range in
            chunks.withLock { $0.append(range) }
            visits.withLock { for i in range { $0[i] += 1 } }
        }
        #expect(chunks.withLock { $0.sorted { $0.lowerBound < $1.lowerBound } } == [0..<3, 3..<6, 6..<8, 8..<10])
        #expect(visits.withLock { $0 } == [Int](repeating: 1, count: 10))
        let many = Mutex(0)
        parallelFor(0..<1000, chunkCount: 97) { range in many.withLock { $0 += range.count } }
        #expect(many.withLock { $0 } == 1000)
    }
}
