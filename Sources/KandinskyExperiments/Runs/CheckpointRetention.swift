import Foundation

/// Which `epoch_NNNN.safetensors` files a training run keeps: `trainer.keep_last`,
/// `trainer.keep_best` and `trainer.best_metric`.
///
/// After each epoch checkpoint the run keeps the union of the ``keepLast`` newest epoch files and
/// the ``keepBest`` epoch files with the best value of ``metric``, and deletes the others (see
/// ``CheckpointFolder``). Epochs that were not validated (the metric is NaN there) never rank
/// among the best; equal values rank the earlier epoch first, so a later tie does not displace
/// a kept checkpoint. A checkpoint is about 4 bytes per weight times 3 (weights and Adam's two
/// moments): 0.6 GB at the original's COCO size (channels 128, depth 4), which is why the
/// default keeps 3 and 1 rather than every epoch.
package struct CheckpointRetention: Sendable, Equatable {
    /// The newest epoch files kept; nil keeps every one (nothing is deleted).
    package var keepLast: Int?
    /// The epoch files with the best ``metric`` kept besides them; 0 ranks none and records no best.
    package var keepBest: Int
    /// The validation metric that ranks epochs.
    package var metric: CheckpointMetric

    package init(keepLast: Int?, keepBest: Int, metric: CheckpointMetric) {
        precondition((keepLast ?? 0) >= 0 && keepBest >= 0, "counts of kept checkpoints are non-negative")
        self.keepLast = keepLast
        self.keepBest = keepBest
        self.metric = metric
    }

    /// Reads `trainer.keep_last`, `trainer.keep_best` and `trainer.best_metric`; `classNames` are
    /// the foreground classes, whose Dice columns `val_dice_<class>` can be named.
    ///
    /// - Throws: ``ConfigError`` naming the key whose value is out of range or names no metric.
    package init(config: Config, classNames: [String]) throws(ConfigError) {
        let name = try config.value(\.trainer.bestMetric)
        guard let metric = CheckpointMetric(name, classNames: classNames) else {
            let path = ConfigSchema.shared.trainer.bestMetric.path
            throw .inconsistent(
                path, value: name, problem: "expected " + CheckpointMetric.names(classNames: classNames),
                source: config.sources.source(of: path))
        }
        self.init(
            keepLast: try config.value(\.trainer.keepLast), keepBest: try config.value(\.trainer.keepBest),
            metric: metric)
    }

    /// The epochs to keep among `candidates` (the epochs that have a file and the metric's value
    /// at each, NaN where the epoch was not validated), and the best of them: nil when
    /// ``keepBest`` is 0 or no candidate has a value.
    /// - Complexity: O(n log n) for n candidates.
    package func select(_ candidates: [(epoch: Int, value: Double)]) -> (kept: Set<Int>, best: Int?) {
        guard let keepLast else {
            return (Set(candidates.map(\.epoch)), keepBest == 0 ? nil : ranked(candidates).first)
        }
        let newest = candidates.map(\.epoch).sorted().suffix(keepLast)
        let best = ranked(candidates).prefix(keepBest)
        return (Set(newest).union(best), best.first)
    }

    /// The validated epochs, best first; ties in the earlier epoch's favour.
    private func ranked(_ candidates: [(epoch: Int, value: Double)]) -> [Int] {
        candidates.filter { !$0.value.isNaN }.sorted { a, b in
            if a.value != b.value { return metric.lowerIsBetter ? a.value < b.value : a.value > b.value }
            return a.epoch < b.epoch
        }.map(\.epoch)
    }
}

/// A validation metric of ``MetricsLog``, named as its `metrics.csv` column, with the direction
/// that is better: `val_loss` (the top-k cross-entropy, lower is better), `val_dice` (the mean
/// Dice of the foreground classes validated, higher is better) or `val_dice_<class>` (one class's
/// Dice, higher is better). The direction follows from the name, so there is no setting that
/// could contradict it.
package struct CheckpointMetric: Sendable, Equatable, CustomStringConvertible {
    enum Kind: Sendable, Equatable {
        case loss
        case meanDice
        case dice(classIndex: Int)
    }

    /// The column name, e.g. `val_dice_person`.
    package let name: String
    let kind: Kind

    /// The metric called `name`; nil for a name that is none of them. `classNames` are the
    /// foreground classes, as ``MetricsLog/classNames``.
    package init?(_ name: String, classNames: [String]) {
        switch name {
        case "val_loss": kind = .loss
        case "val_dice": kind = .meanDice
        default:
            guard name.hasPrefix("val_dice_"),
                let index = classNames.firstIndex(of: String(name.dropFirst("val_dice_".count)))
            else {
                return nil
            }
            kind = .dice(classIndex: index)
        }
        self.name = name
    }

    /// Whether a smaller value is better: true for `val_loss` alone.
    package var lowerIsBetter: Bool { kind == .loss }

    /// The metric's value in one epoch's row; NaN when the epoch was not validated (or, for Dice,
    /// when no validation target had the class).
    package func value(at epoch: StudySummary.Epoch) -> Double {
        switch kind {
        case .loss: return epoch.validationLoss
        case .meanDice:
            let validated = epoch.validationDice.filter { !$0.isNaN }
            return validated.isEmpty ? .nan : validated.reduce(0, +) / Double(validated.count)
        case .dice(let c): return c < epoch.validationDice.count ? epoch.validationDice[c] : .nan
        }
    }

    /// "val_dice (higher is better)".
    package var description: String { "\(name) (\(lowerIsBetter ? "lower" : "higher") is better)" }

    /// The names accepted with these foreground classes, for errors.
    package static func names(classNames: [String]) -> String {
        (["val_loss", "val_dice"] + classNames.map { "val_dice_\($0)" }).joined(separator: ", ")
    }
}
