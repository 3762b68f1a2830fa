import Foundation
import KandinskyCore
import KandinskyTestSupport
import Testing

@testable import KandinskyExperiments

/// Runs `values.count` epochs through a ``CheckpointFolder`` in a scratch directory whose
/// checkpoints are the text `epoch N`, with `values[N - 1]` as the metric of epoch N;
/// `keepsEpochFile` chooses the epochs that write an epoch file. Then runs `body` with the folder
/// and the sorted names of what remains in it, and removes the directory.
private func simulate(
    _ retention: CheckpointRetention, values: [Double], keepsEpochFile: (Int) -> Bool = { _ in true },
    _ body: (_ folder: CheckpointFolder, _ files: [String]) throws -> Void
) throws {
    try withScratchDirectory("checkpoints") { directory in
        var folder = CheckpointFolder(directory: directory, retention: retention)
        for (index, value) in values.enumerated() {
            let epoch = index + 1
            let last = try folder.save(epoch: epoch, value: value, keepsEpochFile: keepsEpochFile(epoch)) { url in
                try AtomicFile.write(Data("epoch \(epoch)".utf8), to: url)
            }
            #expect(try contents(last) == "epoch \(epoch)")
        }
        try body(folder, try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted())
    }
}

private func contents(_ url: URL) throws -> String { String(decoding: try Data(contentsOf: url), as: UTF8.self) }

private let dice = CheckpointMetric("val_dice", classNames: ["person"])!
private let loss = CheckpointMetric("val_loss", classNames: ["person"])!

@Suite struct CheckpointRetentionTests {
    /// keep_last 2, keep_best 2 by Dice over 10 epochs, worked by hand (kept after each epoch):
    /// 1 {1} · 2 {1,2} · 3 {1,2,3} · 4: newest {3,4}, best {4 (0.7), 2 (0.5)} → {2,3,4} ·
    /// 5: {4,5} ∪ {4,2} → {2,4,5} · 6: {5,6} ∪ {4,6} (a tie at 0.7: 4 first) → {4,5,6} ·
    /// 7 {4,6,7} · 8 {4,6,7,8} · 9 (not validated) {4,6,8,9} · 10 {4,6,9,10}.
    @Test func keepsTheNewestAndTheBestAndLinksLastAndBest() throws {
        let values = [0.2, 0.5, .nan, 0.7, 0.4, 0.7, 0.65, 0.3, .nan, 0.1]
        try simulate(CheckpointRetention(keepLast: 2, keepBest: 2, metric: dice), values: values) {
            folder, files throws in
            #expect(
                files == [
                    "best.safetensors", "epoch_0004.safetensors", "epoch_0006.safetensors", "epoch_0009.safetensors",
                    "epoch_0010.safetensors", "last.safetensors",
                ])
            #expect(try contents(folder.last) == "epoch 10")
            #expect(try contents(folder.best) == "epoch 4")
            #expect(folder.bestEpoch == 4 && folder.bestValue == 0.7)
            #expect(folder.epochs.map(\.epoch) == [4, 6, 9, 10])
        }
    }

    /// The loss ranks lowest first. Checkpoints every 2 epochs (and the last): epoch 5's loss
    /// is the lowest but it has no file, so it is not ranked; among 2 (0.7), 4 (0.75) and 6 (0.8)
    /// the best is 2 and the newest is 6.
    @Test func lowerIsBetterForTheLossAndOnlyEpochsWithAFileAreRanked() throws {
        let values = [0.9, 0.7, 0.72, 0.75, 0.5, 0.8]
        try simulate(
            CheckpointRetention(keepLast: 1, keepBest: 1, metric: loss), values: values,
            keepsEpochFile: { $0 % 2 == 0 }
        ) { folder, files throws in
            #expect(
                files == ["best.safetensors", "epoch_0002.safetensors", "epoch_0006.safetensors", "last.safetensors"])
            #expect(try contents(folder.best) == "epoch 2")
            #expect(try contents(folder.last) == "epoch 6")
        }
    }

    @Test func nullKeepsEveryFileAndZeroKeepsOnlyTheLast() throws {
        let values = [0.3, 0.1, 0.2, 0.4]
        try simulate(CheckpointRetention(keepLast: nil, keepBest: 0, metric: loss), values: values) { folder, files in
            #expect(
                files == [
                    "epoch_0001.safetensors", "epoch_0002.safetensors", "epoch_0003.safetensors",
                    "epoch_0004.safetensors", "last.safetensors",
                ])
            #expect(folder.bestEpoch == nil)
        }
        try simulate(CheckpointRetention(keepLast: nil, keepBest: 1, metric: loss), values: values) {
            folder, files throws in
            #expect(files.count == 6)
            #expect(try contents(folder.best) == "epoch 2")
        }
        try simulate(CheckpointRetention(keepLast: 0, keepBest: 0, metric: loss), values: values) {
            folder, files throws in
            #expect(files == ["last.safetensors"])
            #expect(try contents(folder.last) == "epoch 4")
        }
        try simulate(CheckpointRetention(keepLast: 0, keepBest: 1, metric: loss), values: values) { _, files in
            #expect(files == ["best.safetensors", "epoch_0002.safetensors", "last.safetensors"])
        }
    }

    /// Until an epoch with a file is validated there is no best.safetensors; keep_last alone decides.
    @Test func noBestUntilAnEpochWithAFileIsValidated() throws {
        try simulate(CheckpointRetention(keepLast: 1, keepBest: 1, metric: dice), values: [.nan, .nan, .nan]) {
            folder, files in
            #expect(folder.bestEpoch == nil)
            #expect(files == ["epoch_0003.safetensors", "last.safetensors"])
        }
    }

    @Test func metricsAreTheColumnsOfTheMetricsLogWithTheirDirection() throws {
        let classes = ["person", "dog"]
        let row = StudySummary.Epoch(
            epoch: 3, trainLoss: 0.5, validationLoss: 0.4, validationDice: [0.6, .nan], learningRate: 1e-3, seconds: 1)
        let metrics = try ["val_loss", "val_dice", "val_dice_person", "val_dice_dog"].map {
            try #require(CheckpointMetric($0, classNames: classes))
        }
        #expect(metrics.map(\.lowerIsBetter) == [true, false, false, false])
        #expect(metrics[0].value(at: row) == 0.4)
        // The mean Dice leaves out the class that no validation target had.
        #expect(metrics[1].value(at: row) == 0.6)
        #expect(metrics[2].value(at: row) == 0.6)
        #expect(metrics[3].value(at: row).isNaN)
        for name in ["val_dice_cat", "val_acc", "train_loss", "generalization_gap", ""] {
            #expect(CheckpointMetric(name, classNames: classes) == nil, "\(name)")
        }
        #expect(metrics[0].description == "val_loss (lower is better)")
    }

    @Test func theBuiltInDefaultsKeepThreeAndTheBestByValidationLoss() throws {
        let config = try ConfigComposer.builtIn.compose(primary: "train", overrides: [], environment: [:])
        let retention = try CheckpointRetention(config: config, classNames: ["person"])
        #expect(retention == CheckpointRetention(keepLast: 3, keepBest: 1, metric: loss))
        let everything = try ConfigComposer.builtIn.compose(
            primary: "train", overrides: ["trainer.keep_last=null", "trainer.best_metric=val_dice_person"],
            environment: [:])
        #expect(try CheckpointRetention(config: everything, classNames: ["person"]).keepLast == nil)
        #expect(
            ConfigSchema.helpText(prefix: "trainer").contains("trainer.keep_last: an integer in 0...1000000, or null\n")
        )
    }
}
