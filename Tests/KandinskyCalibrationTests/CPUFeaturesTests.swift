import CKandinskyKernels
import Foundation
import Testing

@Suite("CPU feature detection")
struct CPUFeaturesTests {
    /// The kernels' run-time choice agrees with what the operating system reports: the flags of
    /// `/proc/cpuinfo` on Linux, the `machdep.cpu` feature lists of `sysctl` on macOS; off x86-64
    /// the AVX2 + FMA variant never runs. On any other platform the test fails rather than
    /// pass without a check.
    @Test func avx2AndFMAMatchTheOperatingSystemsFlags() throws {
        #if arch(x86_64)
            let flags = try Self.operatingSystemFlags()
            #expect(!flags.isEmpty, "no CPU flags read")
            #expect(
                (kandinsky_cpu_has_avx2_fma() != 0) == (flags.contains("avx2") && flags.contains("fma")),
                "\(flags.sorted())")
        #else
            #expect(kandinsky_cpu_has_avx2_fma() == 0)
        #endif
    }

    /// The CPU's feature flags as the operating system lists them, lowercased.
    static func operatingSystemFlags(sourceLocation: SourceLocation = #_sourceLocation) throws -> Set<String> {
        #if os(Linux)
            let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
            let flagsLine = try #require(
                cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") },
                sourceLocation: sourceLocation)
            return Set(flagsLine.split(separator: " ").map { $0.lowercased() })
        #elseif os(macOS)
            // AVX2 is in the leaf-7 list, FMA in the leaf-1 list.
            return try ["machdep.cpu.features", "machdep.cpu.leaf7_features"].reduce(into: []) { flags, name in
                var size = 0
                try #require(
                    sysctlbyname(name, nil, &size, nil, 0) == 0, "sysctl \(name)", sourceLocation: sourceLocation)
                var text = [CChar](repeating: 0, count: size)
                try #require(
                    sysctlbyname(name, &text, &size, nil, 0) == 0, "sysctl \(name)",
                    sourceLocation: sourceLocation)
                let list = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                flags.formUnion(list.split(separator: " ").map { $0.lowercased() })
            }
        #else
            Issue.record("no source of CPU flags to compare with on this platform", sourceLocation: sourceLocation)
            return []
        #endif
    }
}
