import ArgumentParser
import Foundation
import KandinskyCore

/// `kandinsky info FILE...`: one line per tensor (`NAME DTYPE [d0, d1, …]`), then the safetensors
/// metadata as `  metadata KEY = VALUE` lines. A file that cannot be read gives one line
/// `kandinsky: FILE: FIELD: PROBLEM` on standard error; the other files are still described and
/// the exit status is non-zero. With no file, `kandinsky info` describes the process instead: the
/// version and the threads it works on (``availableCoreCount``, OpenBLAS's threads), which shows
/// the effect of `KANDINSKY_THREADS`.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print the tensors of .npy and .safetensors files, or the threads in use.",
        discussion: """
            For each file, prints one line per tensor: NAME DTYPE [d0, d1, ...]. A .npy file holds \
            one tensor, named after the file without its extension. Safetensors metadata follows \
            as "  metadata KEY = VALUE" lines. The format is chosen by the extension, or by the \
            file's first bytes for other names. With no file, prints the version and the threads \
            Kandinsky works on (worker and OpenBLAS threads, capped by KANDINSKY_THREADS).
            """
    )

    @Argument(help: "The .npy and .safetensors files to describe.") var files: [String] = []

    func run() throws {
        if files.isEmpty {
            for line in Self.processLines() { print(line) }
            return
        }
        var failed = false
        for path in files {
            do throws(FileFormatError) {
                for line in try Self.describe(path: path) { print(line) }
            } catch {
                failed = true
                FileHandle.standardError.write(Data("kandinsky: \(path): \(error.field): \(error.problem)\n".utf8))
            }
        }
        if failed { throw ExitCode.failure }
    }

    /// `version V`, `worker threads N` and `OpenBLAS threads N`, then the processor count and the
    /// `KANDINSKY_THREADS` value they came from.
    static func processLines() -> [String] {
        let variable = ThreadLimit.environmentVariable
        let value = ProcessInfo.processInfo.environment[variable].map { "\(variable)=\($0)" } ?? "\(variable) unset"
        return [
            "version \(KandinskyVersion.string)",
            "worker threads \(availableCoreCount)",
            "OpenBLAS threads \(linearAlgebraThreadCount)",
            "processors \(ProcessInfo.processInfo.activeProcessorCount) (\(value))",
        ]
    }

    /// The lines describing one file.
    static func describe(path: String) throws(FileFormatError) -> [String] {
        let url = URL(fileURLWithPath: path)
        if try isNumpyFile(url) {
            let header = try NumpyFile.readHeader(contentsOf: url)
            return [
                line(name: url.deletingPathExtension().lastPathComponent, type: header.elementType, shape: header.shape)
            ]
        }
        let file = try SafetensorsFile.read(contentsOf: url)
        return file.tensors.map { line(name: $0.name, type: $0.array.elementType, shape: $0.array.shape) }
            + file.metadata.keys.sorted().map { "  metadata \(oneLine($0)) = \(oneLine(file.metadata[$0]!))" }
    }

    static func line(name: String, type: ElementType, shape: [Int]) -> String {
        "\(oneLine(name)) \(type.rawValue) [\(shape.map(String.init).joined(separator: ", "))]"
    }

    /// Escapes line breaks and tabs so that every entry stays on one line.
    static func oneLine(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
            .replacingOccurrences(of: "\r", with: "\\r")
            .replacingOccurrences(of: "\t", with: "\\t")
    }

    /// `.npy` by extension, safetensors by extension, otherwise by the numpy magic bytes.
    static func isNumpyFile(_ url: URL) throws(FileFormatError) -> Bool {
        switch url.pathExtension.lowercased() {
        case "npy": return true
        case "safetensors": return false
        default:
            guard let handle = FileHandle(forReadingAtPath: url.path) else {
                throw FileFormatError(file: url.path, field: "file", problem: "cannot open (missing or unreadable)")
            }
            defer { try? handle.close() }
            let start = (try? handle.read(upToCount: 6)) ?? Data()
            return start == Data([0x93] + Array("NUMPY".utf8))
        }
    }
}
