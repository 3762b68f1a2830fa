import Foundation
import KandinskyCore
import KandinskyData

/// The dataset splits an experiment uses, read from the `data:` section of a configuration:
/// `trainval_root/splits/t<trainval_split>/labels_{train,val,cal}.json` and
/// `test_root/labels.json`, images under each root's `data/`, resized and padded to `dims`.
public struct DataSplits: Sendable {
    /// The training split (`labels_train.json`).
    public var train: COCODataset
    /// The validation split (`labels_val.json`).
    public var validation: COCODataset
    /// The calibration split (`labels_cal.json`).
    public var calibration: COCODataset
    /// The test set (`test_root/labels.json`).
    public var test: COCODataset
    /// The training augmentation (`data.augmentations`), nil when none is configured.
    public var augmentation: Augmentation?

    /// Class names, background first.
    public var classNames: [String] { ["background"] + train.categories.map(\.name) }
}

/// Reading (and for the synthetic dataset, generating) the data of a configuration.
public enum ExperimentData {
    /// The splits of `config`. A manifest with annotations whose segmentation is empty (they are
    /// skipped) gets one warning line on standard error.
    ///
    /// - Throws: ``ExperimentError`` naming the missing folder or file, or the data error.
    public static func splits(config: Config) throws -> DataSplits {
        let trainvalRoot = URL(fileURLWithPath: try config.value(\.data.trainvalRoot))
        let testRoot = URL(fileURLWithPath: try config.value(\.data.testRoot))
        let split = try config.value(\.data.trainvalSplit)
        let dims = try config.value(\.data.dims)
        let categories = try config.value(\.data.categories)
        let augmentation = try augmentation(config: config)
        let selection = CategorySelection.names(categories)
        let resize = ResizeAndPad(width: dims[0], height: dims[1])
        let generated = try config.value(\.data.generator)
        for (root, key) in [(trainvalRoot, "data.trainval_root"), (testRoot, "data.test_root")]
        where !FileManager.default.fileExists(atPath: root.path) {
            let anatomy = try generated && config.value(\.data.generatorScene, ifAbsent: .person) == .anatomy
            let synth = anatomy ? "kandinsky synth --scene anatomy" : "kandinsky synth"
            throw ExperimentError.missingFile(
                "\(key) points at \(root.path), which does not exist"
                    + (generated ? " (run `\(synth)` or `kandinsky pipeline` to generate it)" : ""))
        }
        let splitDirectory = trainvalRoot.appendingPathComponent("splits/t\(split)")
        func dataset(_ root: URL, _ manifest: URL) throws -> COCODataset {
            guard FileManager.default.fileExists(atPath: manifest.path) else {
                throw ExperimentError.missingFile(
                    "\(manifest.path) does not exist"
                        + (manifest.path.contains("/splits/")
                            ? " (make the split with `kandinsky split --root \(root.path) --train \(split) …`)" : ""))
            }
            let dataset = try ExperimentError.wrapping {
                try COCODataset(root: root, manifest: manifest, categories: selection, dims: resize)
            }
            if let warning = dataset.emptySegmentationWarning {
                FileHandle.standardError.write(Data((warning + "\n").utf8))
            }
            return dataset
        }
        return DataSplits(
            train: try dataset(trainvalRoot, splitDirectory.appendingPathComponent("labels_train.json")),
            validation: try dataset(trainvalRoot, splitDirectory.appendingPathComponent("labels_val.json")),
            calibration: try dataset(trainvalRoot, splitDirectory.appendingPathComponent("labels_cal.json")),
            test: try dataset(testRoot, testRoot.appendingPathComponent("labels.json")),
            augmentation: augmentation)
    }

    /// `data.augmentations`: a horizontal flip and a random affine transform.
    static func augmentation(config: Config) throws(ConfigError) -> Augmentation? {
        guard try config.value(\.data.augmentations) else { return nil }
        let flip = try config.value(\.data.flip) ? try config.value(\.data.flipProbability) : 0
        guard try config.value(\.data.affine) else {
            return Augmentation(flipProbability: flip, maxRotationDegrees: 0, maxTranslation: 0, scaleRange: 1...1)
        }
        let translate = try config.value(\.data.translate)
        let scale = try config.value(\.data.scale)
        return Augmentation(
            flipProbability: flip, maxRotationDegrees: try config.value(\.data.degrees),
            maxTranslation: translate[0], scaleRange: scale[0]...scale[1])
    }

    /// Generates the synthetic dataset of `data.generator` (its scene, counts, frame size and
    /// seed) under `data.root` when its test manifest is missing; does nothing for other data.
    /// Returns whether it generated.
    public static func prepare(config: Config, progressStyle: ProgressReporter.Style = .automatic) throws -> Bool {
        guard try config.value(\.data.generator) else { return false }
        let root = URL(fileURLWithPath: try config.value(\.data.root))
        guard !FileManager.default.fileExists(atPath: SyntheticDataset.labelsURL(root: root, part: "test").path) else {
            return false
        }
        let generator = SyntheticDataset(
            scene: try config.value(\.data.generatorScene, ifAbsent: .person),
            trainCount: try config.value(\.data.generatorTrain),
            validationCount: try config.value(\.data.generatorValidation),
            calibrationCount: try config.value(\.data.generatorCalibration),
            testCount: try config.value(\.data.generatorTest),
            width: try config.value(\.data.generatorWidth),
            height: try config.value(\.data.generatorHeight),
            seed: try config.value(\.data.generatorSeed))
        let split = try config.value(\.data.trainvalSplit)
        guard "\(generator.trainCount)" == split else {
            throw ExperimentError.inconsistent(
                "data.trainval_split (\(split)) must equal data.generator.train (\(generator.trainCount)) for the synthetic dataset"
            )
        }
        let total = generator.trainCount + generator.validationCount + generator.calibrationCount + generator.testCount
        let progress = ProgressReporter(title: "synthetic dataset", total: total, style: progressStyle)
        // All or nothing, so that a killed generation is redone rather than half used.
        _ = try ExperimentError.wrapping {
            try AtomicDirectory.write(to: root) { staging in try generator.write(to: staging, progress: progress) }
        }
        progress.finish()
        return true
    }
}
