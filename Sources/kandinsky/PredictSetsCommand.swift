import ArgumentParser
import Foundation
import KandinskyCalibration
import KandinskyCore

/// `kandinsky predict-sets`: conformal prediction sets from probabilities and calibrated curves.
struct PredictSetsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict-sets",
        abstract: "Write prediction sets (uint8 [N, C, H, W], 1 = class in the set) at confidence 1 − alpha.",
        discussion: """
            Single-channel probabilities [N, 1, H, W] (one sigmoid output p) are read as two classes, \
            background 1 − p and foreground p, so their sets are [N, 2, H, W].
            """)

    @Option(
        parsing: .singleValue,
        help:
            "Probabilities [N, C, H, W] or [N, 1, H, W] (F32, F16 or F64): .npy or .safetensors files, directories or glob patterns of shards, as for calibrate-scores; the sets concatenate along N in the same order."
    )
    var probs: [String] = []
    @Option(help: "The tensor holding the probabilities in .safetensors shards (default: the file's only tensor).")
    var probsKey: String?
    @Option(help: "Calibrated-model file (.safetensors).") var curves: String
    @Option(help: "Miscoverage alpha in (0, 1); the sets target coverage 1 − alpha.") var alpha: Double
    @Option(help: "Output .npy file.") var out: String
    @Option(
        help:
            "Curve indexing: at-or-above, interpolated or reference (default: the curves' own, at-or-above for conformal curves, which keeps their guarantee at any alpha, interpolated for linear ones)."
    )
    var indexing: ThresholdIndexing?
    @Option(help: "Score precision (default: the one the curves were calibrated with).") var precision: ScorePrecision?

    func validate() throws {
        guard !probs.isEmpty else {
            throw ValidationError("--probs: expected probabilities (a file, directory or pattern)")
        }
        guard alpha > 0 && alpha < 1 else {
            throw ValidationError("--alpha: expected a number in (0, 1), found \(alpha)")
        }
    }

    func run() throws {
        let calibrated = try CalibrationInputs.curves(curves)
        let sets: ShapedArray<UInt8>
        let shards = try ShardedInputs(probabilities: probs, probabilitiesKey: probsKey)
        let probs = ShardedInputs.describe(shards.probabilities)
        switch try shards.concatenated().0 {
        case .float32(let p):
            sets = try calibrated.predictionSets(
                probabilities: p, alpha: alpha, indexing: indexing, precision: precision,
                probabilitiesSource: probs, curvesSource: curves)
        case .float16(let p):
            sets = try calibrated.predictionSets(
                probabilities: p, alpha: alpha, indexing: indexing, precision: precision,
                probabilitiesSource: probs, curvesSource: curves)
        }
        try NumpyFile.write(.uint8(sets), to: URL(fileURLWithPath: out))
        let included = sets.withUnsafeBufferPointer { $0.reduce(0) { $0 + Int($1) } }
        print(
            "\(out): prediction sets \(sets.shape) at confidence \(1 - alpha), mean set size \(String(format: "%.4f", Double(included) / Double(sets.count / sets.shape[1])))"
        )
    }
}
