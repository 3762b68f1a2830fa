import Foundation
import KandinskyTestSupport
import Testing

@Suite struct InfoCommandTests {
    @Test func describesNumpyFiles() throws {
        let run = try runKandinsky(
            ["info", "npy/f4.npy", "npy/v3_f4.npy", "npy/scalar_f4.npy", "npy/u1.npy"], in: coreFixtures)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.outputLines == ["f4 F32 [2, 4]", "v3_f4 F32 [2, 3, 4]", "scalar_f4 F32 []", "u1 U8 [2, 3]"])
        #expect(run.stderr.isEmpty)
    }

    @Test func describesSafetensorsFilesWithMetadata() throws {
        let run = try runKandinsky(["info", "safetensors/python.safetensors"], in: coreFixtures)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(
            run.outputLines == [
                "counts I32 [3]", "empty F32 [0, 2]", "ids I64 [2, 1]", "labels U8 [2, 3]", "mask BOOL [3]",
                "precise F64 [3]", "scalar F32 []", "scores F16 [2, 5]", "weights F32 [3, 4]",
                "  metadata format = np",
                #"  metadata note = quote " slash / tab \t é"#,
            ])
    }

    @Test func badFileGivesOneLineAndNonZeroExitButOtherFilesAreStillDescribed() throws {
        let run = try runKandinsky(
            ["info", "npy/fortran_f4.npy", "npy/i4.npy", "missing.safetensors"], in: coreFixtures)
        #expect(run.status != 0)
        #expect(run.outputLines == ["i4 I32 [2, 2]"])
        #expect(run.errorLines.count == 2)
        #expect(run.errorLines.first?.hasPrefix("kandinsky: npy/fortran_f4.npy: fortran_order: ") == true)
        #expect(run.errorLines.last?.hasPrefix("kandinsky: missing.safetensors: file: cannot open") == true)
    }

    @Test func truncatedSafetensorsFileIsReported() throws {
        try withScratchDirectory("cli") { directory in
            let original = try Data(contentsOf: coreFixtures.appendingPathComponent("safetensors/python.safetensors"))
            try original.dropLast(3).write(to: directory.appendingPathComponent("cut.safetensors"))
            let run = try runKandinsky(["info", "cut.safetensors"], in: directory)
            #expect(run.status != 0)
            #expect(run.stdout.isEmpty)
            #expect(run.errorLines.count == 1)
            #expect(run.errorLines.first?.hasPrefix("kandinsky: cut.safetensors: ") == true)
            #expect(run.stderr.contains("past the end"))
        }
    }

    @Test func versionAndHelp() throws {
        let version = try runKandinsky(["--version"])
        #expect(version.status == 0)
        #expect(version.outputLines.count == 1)
        #expect(version.stdout.range(of: #"^\d+\.\d+\.\d+\n$"#, options: .regularExpression) != nil)
        let help = try runKandinsky(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("SUBCOMMANDS:"))
        let subcommands = help.stdout.components(separatedBy: "SUBCOMMANDS:").last ?? ""
        #expect(subcommands.split(separator: "\n").contains { $0.hasPrefix("  info ") })
    }

    @Test func unknownSubcommandFails() throws {
        let run = try runKandinsky(["no-such-command"])
        #expect(run.status != 0)
        #expect(!run.stderr.isEmpty)
    }
}
