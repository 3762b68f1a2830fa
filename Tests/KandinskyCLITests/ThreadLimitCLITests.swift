import Foundation
import Testing

/// `KANDINSKY_THREADS` seen from outside: `kandinsky info` with no file prints the threads the
/// process works on.
@Suite struct ThreadLimitCLITests {
    static let processors = max(ProcessInfo.processInfo.activeProcessorCount, 1)

    /// The process lines of `kandinsky info` with `KANDINSKY_THREADS` set to `value` (nil: unset).
    static func info(_ value: String?) throws -> KandinskyRun {
        try runKandinsky(
            ["info"], environment: ["KANDINSKY_THREADS": value, "OPENBLAS_NUM_THREADS": nil, "OMP_NUM_THREADS": nil])
    }

    static func count(_ name: String, in run: KandinskyRun) -> Int? {
        run.outputLines.first { $0.hasPrefix(name + " ") }.flatMap { Int($0.dropFirst(name.count + 1)) }
    }

    @Test func oneThreadCapsWorkersAndOpenBLAS() throws {
        let run = try Self.info("1")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.isEmpty)
        #expect(Self.count("worker threads", in: run) == 1)
        #expect(Self.count("OpenBLAS threads", in: run) == 1)
        #expect(run.outputLines.last == "processors \(Self.processors) (KANDINSKY_THREADS=1)")
    }

    @Test func twoThreadsAreTwoWhereTheMachineHasThem() throws {
        let run = try Self.info("2")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(Self.count("worker threads", in: run) == min(2, Self.processors))
        #expect(Self.count("OpenBLAS threads", in: run) == min(2, Self.processors))
    }

    @Test func unsetEmptyAndLargeValuesMeanEveryProcessor() throws {
        for value in [nil, "", "100000", "+100000"] as [String?] {
            let run = try Self.info(value)
            #expect(run.status == 0, "\(value ?? "unset"): \(run.stderr)")
            #expect(run.stderr.isEmpty, "\(value ?? "unset")")
            #expect(Self.count("worker threads", in: run) == Self.processors, "\(value ?? "unset")")
            let blas = Self.count("OpenBLAS threads", in: run)
            #expect(blas != nil && blas! >= 1 && blas! <= Self.processors, "\(value ?? "unset")")
        }
    }

    @Test func invalidValuesAreOneErrorLineAndUsageStatus() throws {
        for value in ["0", "-1", "two", "1.5", " 2", "99999999999999999999999"] {
            let run = try Self.info(value)
            #expect(run.status == 2, "\(value)")
            #expect(run.stdout.isEmpty, "\(value)")
            #expect(
                run.errorLines == [
                    "Error: KANDINSKY_THREADS=\(value) is not allowed: expected a whole number from 1 up (values above the \(Self.processors) processors mean all of them)"
                ],
                "\(value)")
        }
    }

    @Test func filesAreStillDescribedWithALimit() throws {
        let run = try runKandinsky(["info", "npy/f4.npy"], in: coreFixtures, environment: ["KANDINSKY_THREADS": "1"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.outputLines == ["f4 F32 [2, 4]"])
    }
}
