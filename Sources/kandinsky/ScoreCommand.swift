import ArgumentParser
import Foundation
import KandinskyCalibration
import KandinskyCore

/// `kandinsky score`: the score store of one shard set, for merge-scores.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Write the non-conformity scores of probabilities and targets as a score store (.kscores).",
        discussion: """
            The shards are read one pair at a time, as by calibrate-scores. Score each part of a \
            calibration set on its own (a batch array job per shard set), combine the parts with \
            merge-scores in the parts' order and calibrate with calibrate-scores --scores: the \
            curves are the same, bit for bit, as from all shards at once. A store costs 6 bytes \
            per target pixel and class (a Float16 score and a UInt32 image index).
            """)

    @OptionGroup var inputs: ShardOptions
    @Option(help: "Score-store file to write (.kscores), atomically.") var out: String
    @Option(help: "Score precision: float or half-probabilities.") var precision: ScorePrecision = .float

    func validate() throws { try inputs.validate(requireTargets: true) }

    func run() throws {
        LargeAllocations.returnToTheSystemWhenFreed()
        let shards = try inputs.shards()
        let store = try shards.scoreStore(precision: precision)
        try store.write(to: URL(fileURLWithPath: out))
        print(
            "\(out): \(store.scoreCount) scores (\(store.scoreBytes) bytes) of \(store.imageCount) images, "
                + "\(store.classCount) classes, \(store.height)×\(store.width) pixels, precision \(store.precision.rawValue)"
        )
    }
}

/// `kandinsky merge-scores`: score stores of consecutive image runs as one.
struct MergeScoresCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge-scores",
        abstract: "Merge score stores (.kscores) written by score into one, images in argument order.",
        discussion: """
            The images of each part follow those of the parts before it, so give the parts in the \
            order of their shards. The parts must agree on classes, height, width and precision; \
            they are read row block by row block, never whole.
            """)

    @Argument(help: "Score stores (.kscores) to merge, in order.") var parts: [String]
    @Option(help: "Merged score-store file to write (.kscores), atomically.") var out: String

    func validate() throws {
        guard !parts.isEmpty else { throw ValidationError("expected at least one score store to merge") }
    }

    func run() throws {
        LargeAllocations.returnToTheSystemWhenFreed()
        let merged = try ScoreStore.merge(parts.map { URL(fileURLWithPath: $0) }, to: URL(fileURLWithPath: out))
        print(
            "\(out): \(merged.scoreCount) scores of \(merged.imageCount) images from \(parts.count) parts, "
                + "\(merged.classCount) classes, \(merged.height)×\(merged.width) pixels")
    }
}
