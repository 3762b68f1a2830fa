import ArgumentParser
import Foundation
import KandinskyCalibration
import KandinskyCore

/// `kandinsky predict-sets`: conformal prediction sets from probabilities and calibrated curves.
///
/// The probabilities shards are read one at a time, each turned into sets and written before
/// the next is read (memory: one shard and its sets), into one `.npy` file of all the sets
/// concatenated along N or into a directory holding one file per shard. Every file is written
/// atomically; a shard that fails leaves a directory with the files of the shards before it.
struct PredictSetsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict-sets",
        abstract: "Write prediction sets (uint8 [N, C, H, W], 1 = class in the set) at confidence 1 − alpha.",
        discussion: """
            Single-channel probabilities [N, 1, H, W] (one sigmoid output p) are read as two classes, \
            background 1 − p and foreground p, so their sets are [N, 2, H, W].
            """)

    @OptionGroup var probabilities: ProbabilityOptions
    @Option(help: "Calibrated-model file (.safetensors).") var curves: String
    @Option(help: "Miscoverage alpha in (0, 1); the sets target coverage 1 − alpha.") var alpha: Double
    @Option(
        help:
            "Output: a .npy file, the sets of every shard concatenated along N, or a directory (an existing one, or a path ending in /) that gets one sets file per probabilities shard, named after it (p-0003.npy gives DIR/p-0003.npy, x.safetensors gives DIR/x.npy). Either way one shard is held at a time."
    )
    var out: String
    @Option(
        help:
            "Curve indexing: at-or-above, interpolated or reference (default: the curves' own, at-or-above for conformal curves, which keeps their guarantee at any alpha, interpolated for linear ones)."
    )
    var indexing: ThresholdIndexing?
    @Option(help: "Score precision (default: the one the curves were calibrated with).") var precision: ScorePrecision?

    func validate() throws {
        try probabilities.requireProbabilities()
        guard alpha > 0 && alpha < 1 else {
            throw ValidationError("--alpha: expected a number in (0, 1), found \(alpha)")
        }
    }

    func run() throws {
        LargeAllocations.returnToTheSystemWhenFreed()
        let calibrated = try CalibrationInputs.curves(curves)
        let shards = try probabilities.shards()
        let first = try shards.checkedShape()
        let images = shards.probabilities.reduce(0) { $0 + $1.shape[0] }
        let setsShape = [images] + first.dropFirst()
        var included = 0
        let summary: String
        if writesDirectory {
            let files = try Self.outputFiles(of: shards.probabilities, in: URL(fileURLWithPath: out))
            for (shard, file) in zip(shards.probabilities, files) {
                let sets = try self.sets(of: shard, in: shards, calibrated: calibrated)
                try NumpyFile.write(.uint8(sets), to: file)
                included += Self.includedCount(sets)
            }
            let count = shards.probabilities.count
            summary = "\(out): prediction sets of \(count) shard\(count == 1 ? "" : "s"), \(setsShape) in all,"
        } else {
            try NumpyFile.write(.uint8, shape: setsShape, to: URL(fileURLWithPath: out)) { parts in
                for shard in shards.probabilities {
                    let sets = try self.sets(of: shard, in: shards, calibrated: calibrated)
                    try parts.append(.uint8(sets))
                    included += Self.includedCount(sets)
                }
            }
            summary = "\(out): prediction sets \(setsShape)"
        }
        let meanSetSize = Double(included) / Double(setsShape[0] * setsShape[2] * setsShape[3])
        print("\(summary) at confidence \(1 - alpha), mean set size \(String(format: "%.4f", meanSetSize))")
    }

    /// Whether `--out` names a directory: an existing one, or a path ending in `/`.
    private var writesDirectory: Bool {
        var isDirectory: ObjCBool = false
        return out.hasSuffix("/")
            || (FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory) && isDirectory.boolValue)
    }

    /// The sets of one probabilities shard, which alone is read (errors name the shard and an
    /// index in it).
    private func sets(of shard: ShardedInputs.Shard, in shards: ShardedInputs, calibrated: CalibratedCurves) throws
        -> ShapedArray<UInt8>
    {
        switch try shards.probabilities(of: shard) {
        case .float32(let p):
            try calibrated.predictionSets(
                probabilities: p, alpha: alpha, indexing: indexing, precision: precision,
                probabilitiesSource: shard.path, curvesSource: curves)
        case .float16(let p):
            try calibrated.predictionSets(
                probabilities: p, alpha: alpha, indexing: indexing, precision: precision,
                probabilitiesSource: shard.path, curvesSource: curves)
        }
    }

    /// The number of classes in all the sets (the 1 bytes).
    private static func includedCount(_ sets: ShapedArray<UInt8>) -> Int {
        sets.withUnsafeBufferPointer { $0.reduce(0) { $0 + Int($1) } }
    }

    /// The sets file of each shard in `directory`: the shard's name with the extension `.npy`.
    ///
    /// - Throws: `ValidationError` when two shards would write one file (naming both) or a file
    ///   would replace a probabilities shard, before anything is written.
    static func outputFiles(of shards: [ShardedInputs.Shard], in directory: URL) throws -> [URL] {
        var shardOfName: [String: String] = [:]
        let files = try shards.map { shard throws -> URL in
            let name = URL(fileURLWithPath: shard.path).deletingPathExtension().lastPathComponent + ".npy"
            if let other = shardOfName[name] {
                throw ValidationError(
                    "--out: the shards \(other) and \(shard.path) would both write \(directory.appendingPathComponent(name).path); give the shards distinct names"
                )
            }
            shardOfName[name] = shard.path
            return directory.appendingPathComponent(name)
        }
        let inputs = Set(shards.map { URL(fileURLWithPath: $0.path).resolvingSymlinksInPath().path })
        for (shard, file) in zip(shards, files) where inputs.contains(file.resolvingSymlinksInPath().path) {
            throw ValidationError(
                "--out: the sets of \(shard.path) would replace the probabilities shard \(file.path); write them to another directory"
            )
        }
        return files
    }
}
