import Foundation
import KandinskyPlots

/// The per-epoch training metrics, written as `metrics.csv` and drawn as SVG curves.
///
/// Columns: `epoch, train_loss, val_loss, generalization_gap, val_dice_<class>…, lr, seconds`,
/// where the generalization gap is val − train loss (the original's hint for picking a
/// miscalibrated checkpoint).
public struct MetricsLog: Sendable, Equatable {
    /// The foreground classes (channel 0, the background, is not logged).
    public var classNames: [String]
    /// One row per finished epoch.
    public var epochs: [StudySummary.Epoch]

    /// A log for the foreground classes `classNames`.
    package init(classNames: [String], epochs: [StudySummary.Epoch] = []) {
        self.classNames = classNames
        self.epochs = epochs
    }

    /// The CSV text, one header line and one line per epoch.
    package var csv: String {
        var lines = [
            (["epoch", "train_loss", "val_loss", "generalization_gap"] + classNames.map { "val_dice_\($0)" } + [
                "lr", "seconds",
            ]).joined(separator: ",")
        ]
        for e in epochs {
            var fields = [
                "\(e.epoch)", Self.number(e.trainLoss), Self.number(e.validationLoss),
                Self.number(e.validationLoss - e.trainLoss),
            ]
            fields += e.validationDice.map(Self.number)
            fields += [Self.number(e.learningRate), String(format: "%.2f", e.seconds)]
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Reads back a `metrics.csv` written by ``csv`` (to continue it when a run resumes).
    package init(csv text: String) throws {
        let lines = text.split(separator: "\n").map(String.init)
        guard let header = lines.first?.split(separator: ",").map(String.init), header.count >= 6 else {
            throw ExperimentError("metrics.csv: header: expected epoch,train_loss,val_loss,…", kind: .unreadableFile)
        }
        classNames = header.dropFirst(4).dropLast(2).map { $0.replacingOccurrences(of: "val_dice_", with: "") }
        epochs = try lines.dropFirst().map { line in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { Double($0) ?? .nan }
            guard fields.count == header.count, let epoch = Int(exactly: fields[0]) else {
                throw ExperimentError(
                    "metrics.csv: line '\(line)': expected \(header.count) numbers", kind: .unreadableFile)
            }
            return StudySummary.Epoch(
                epoch: epoch, trainLoss: fields[1], validationLoss: fields[2],
                validationDice: Array(fields[4..<(fields.count - 2)]),
                learningRate: fields[fields.count - 2], seconds: fields[fields.count - 1])
        }
    }

    /// Validation (and training) loss against epoch.
    var lossChart: LineChart {
        LineChart(
            title: "Loss", xLabel: "epoch", yLabel: "top-k cross-entropy",
            series: [
                .init(name: "train", points: epochs.map { (Double($0.epoch), $0.trainLoss) }),
                .init(name: "val", points: epochs.map { (Double($0.epoch), $0.validationLoss) }),
            ])
    }

    /// Validation Dice of each foreground class against epoch.
    var diceChart: LineChart {
        LineChart(
            title: "Validation Dice", xLabel: "epoch", yLabel: "Dice",
            series: classNames.indices.map { c in
                .init(
                    name: classNames[c],
                    points: epochs.map { (Double($0.epoch), c < $0.validationDice.count ? $0.validationDice[c] : .nan) }
                )
            })
    }

    static func number(_ value: Double) -> String {
        value.isNaN ? "nan" : String(format: "%.6g", value)
    }
}
