import Foundation
import KandinskyCore

/// The `checkpoints/` folder of a training run, pruned by a ``CheckpointRetention``:
///
/// - `epoch_NNNN.safetensors`, the checkpoints of the epochs the retention keeps;
/// - `last.safetensors`, the newest checkpoint, always present once an epoch has finished (what
///   `ckpt_path=…` resumes from and what the pipeline calibrates);
/// - `best.safetensors`, the epoch file ranked best by the retention's metric, once one is ranked;
/// - `interrupted.safetensors`, written by ``TrainingRun`` on Ctrl-C, never deleted.
///
/// `last` and `best` are hard links to their epoch file (``AtomicFile/link(_:to:)``): the same
/// bytes on disk once, and still whole when the epoch file is deleted. Every name is replaced
/// atomically, and files are deleted only after the new checkpoint and both links are in
/// place, so a run killed at any moment leaves complete files, `last.safetensors` among them.
/// Only files this run wrote are deleted: a resumed run writes a new folder and ranks its own
/// checkpoints, leaving the earlier run's folder as it was.
struct CheckpointFolder {
    /// The folder, `<run>/checkpoints`.
    let directory: URL
    let retention: CheckpointRetention
    /// The epochs whose file this run wrote and keeps, oldest first, with the metric's value.
    private(set) var epochs: [(epoch: Int, value: Double)] = []
    /// The epoch `best.safetensors` names.
    private(set) var bestEpoch: Int?

    init(directory: URL, retention: CheckpointRetention) {
        self.directory = directory
        self.retention = retention
    }

    var last: URL { directory.appendingPathComponent("last.safetensors") }
    var best: URL { directory.appendingPathComponent("best.safetensors") }

    func file(ofEpoch epoch: Int) -> URL {
        directory.appendingPathComponent(String(format: "epoch_%04d.safetensors", epoch))
    }

    /// The metric's value at ``bestEpoch``.
    var bestValue: Double? { bestEpoch.flatMap { best in epochs.first { $0.epoch == best }?.value } }

    /// Saves an epoch's checkpoint through `write` and returns `last.safetensors`.
    ///
    /// With `keepsEpochFile`, `write` writes `epoch_NNNN.safetensors`, `last.safetensors` becomes a
    /// link to it, `best.safetensors` is moved when the ranking changed, and then the epoch files
    /// the retention no longer keeps are deleted. Otherwise `write` writes `last.safetensors`
    /// itself. `value` is the retention metric's value at `epoch` (NaN if not validated).
    /// `write` must replace its file by renaming a new one over it (``AtomicFile``, as
    /// `SafetensorsFile.write(to:)` does): writing into the existing `last.safetensors` would
    /// write through the link into an epoch file.
    ///
    /// - Throws: what `write` throws, or ``ExperimentError`` when a link or a deletion fails.
    mutating func save(epoch: Int, value: Double, keepsEpochFile: Bool, write: (URL) throws -> Void) throws -> URL {
        guard keepsEpochFile else {
            try write(last)
            return last
        }
        let url = file(ofEpoch: epoch)
        try write(url)
        try Self.link(url, to: last)
        epochs.append((epoch, value))
        let (kept, newBest) = retention.select(epochs)
        if let newBest, newBest != bestEpoch {
            try Self.link(file(ofEpoch: newBest), to: best)
            bestEpoch = newBest
        }
        for old in epochs where !kept.contains(old.epoch) {
            let doomed = file(ofEpoch: old.epoch)
            if unlink(doomed.path) != 0, errno != ENOENT {
                let reason = String(cString: strerror(errno))
                throw ExperimentError("cannot delete the old checkpoint \(doomed.path): \(reason)", kind: .cannotWrite)
            }
        }
        epochs.removeAll { !kept.contains($0.epoch) }
        return last
    }

    private static func link(_ source: URL, to name: URL) throws {
        do { try AtomicFile.link(source, to: name) } catch {
            throw ExperimentError.cannotWrite("checkpoint \(name.path)", error)
        }
    }
}
