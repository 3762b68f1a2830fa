import CKandinskyKernels
import Foundation
import Testing

@Suite("CPU feature detection")
struct CPUFeaturesTests {
    /// The kernels' run-time choice agrees with the flags the Linux kernel reports.
    @Test func avx2AndFMAMatchTheKernelsFlags() throws {
        #if os(Linux) && arch(x86_64)
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flagsLine = try #require(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") })
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        #expect((kandinsky_cpu_has_avx2_fma() != 0) == (flags.contains("avx2") && flags.contains("fma")))
        #elseif !arch(x86_64)
        #expect(kandinsky_cpu_has_avx2_fma() == 0)
        #endif
    }
}
