import Foundation
import KandinskyCalibration
import KandinskyCore
import KandinskyData
import KandinskyModels
import KandinskyPlots

/// `kandinsky predict`: the prediction sets of one image, as the original's conformal-inference
/// notebook showed them. Writes into `output_dir`:
/// - `<image>_set.png`: white where class `class_idx` is in the pixel's prediction set at
///   confidence 1 − α;
/// - `<image>_overlay.png`: the resized image with the set tinted;
/// - `<image>_panel.png`: image, set and (when `manifest` holds the image) the ground truth side
///   by side;
/// - `<image>_sets.npy`: the sets of every class, uint8 [C, H, W].
///
/// The four appear together (see `AtomicDirectory`); other files in `output_dir` are left alone.
public struct PredictionRun {
    /// The composed `predict` configuration (`ckpt_path`, `image`, `alpha`, `output_dir`, …).
    public let config: Config

    /// A run of `config`.
    public init(config: Config) {
        self.config = config
    }

    /// The files written and the fraction of pixels whose set holds the class.
    public struct Result: Sendable {
        /// Every file written.
        public var files: [URL]
        /// The fraction of pixels whose prediction set holds class `class_idx`.
        public var setFraction: Double
    }

    /// Loads the calibrated model and the image and writes the files above.
    ///
    /// - Throws: ``ConfigError`` or ``ExperimentError`` naming the bad key, file or value.
    public func run() throws -> Result {
        try config.requireComplete()
        let modelPath = try config.requiredCheckpoint()
        let imagePath = try config.value(\.image)
        let alpha = try config.value(\.alpha)
        let classIndex = try config.value(\.classIndex)
        let indexing = try config.value(\.indexing).indexing
        let outputDirectory = try config.value(\.outputDirectory)
        let manifestPath = try config.value(\.manifest)
        let categories = try config.value(\.data.categories)
        guard let curves = try EvaluationRun.curves(in: modelPath) else {
            throw ExperimentError(
                "\(modelPath) holds no calibrated curves: calibrate it first with `kandinsky calibrate`",
                kind: .invalidCalibration)
        }
        var model = try CalibrationRun.loadModel(modelPath, expected: nil)
        guard classIndex >= 0, classIndex < curves.classCount else {
            throw ExperimentError.inconsistent(
                "class_idx \(classIndex) is out of range for a model with \(curves.classCount) classes")
        }
        let resize = ResizeAndPad(width: curves.width, height: curves.height)
        let picture = try ExperimentError.wrapping { try RGBImage(contentsOf: URL(fileURLWithPath: imagePath)) }
        let image = resize.image(picture)
        let probabilities = try ExperimentError.wrapping {
            try model.probabilities(image.reshaped(to: [1] + image.shape))
        }
        let sets = try ExperimentError.wrapping {
            try curves.predictionSets(probabilities: probabilities, alpha: alpha, indexing: indexing)
        }
        let (h, w) = (curves.height, curves.width)
        let classSet = sets[leading: 0][leading: classIndex]

        let directory = URL(fileURLWithPath: outputDirectory)
        let stem = URL(fileURLWithPath: imagePath).deletingPathExtension().lastPathComponent
        let names = ["set.png", "overlay.png", "panel.png", "sets.npy"].map { "\(stem)_\($0)" }
        // The four files appear together or not at all (a full disk or a kill leaves none).
        try AtomicDirectory.write(to: directory) { staging in
            func write(_ data: Data, _ name: String) throws {
                let url = staging.appendingPathComponent(name)
                do { try AtomicFile.write(data, to: url) } catch {
                    throw ExperimentError.cannotWrite(directory.appendingPathComponent(name).path, error)
                }
            }
            let setImage = RGBImage(
                width: w, height: h,
                pixels: classSet.scalars.flatMap { $0 == 1 ? [255, 255, 255] : [0, 0, 0] as [UInt8] })
            try write(PNGImage.encode(rgb8: setImage.pixels, width: w, height: h), names[0])
            let overlay = Overlay.blend(
                image: image,
                target: ShapedArray<UInt8>(
                    shape: [2, h, w], scalars: classSet.scalars.map { 1 - $0 } + classSet.scalars))
            try write(PNGImage.encode(rgb8: overlay.pixels, width: w, height: h), names[1])
            var tiles = [overlay, setImage]
            if let manifestPath {
                tiles.append(
                    try Self.groundTruth(
                        manifestPath: manifestPath, imagePath: imagePath, categories: categories,
                        resize: resize, image: image, classIndex: classIndex))
            }
            let panel = Overlay.contactSheet(tiles, columns: tiles.count)
            try write(PNGImage.encode(rgb8: panel.pixels, width: panel.width, height: panel.height), names[2])
            let npy = staging.appendingPathComponent(names[3])
            do throws(FileFormatError) { try NumpyFile.write(.uint8(sets[leading: 0]), to: npy) } catch {
                throw ExperimentError.cannotWrite(directory.appendingPathComponent(names[3]).path, error)
            }
        }
        let files = names.map { directory.appendingPathComponent($0) }
        let fraction = Double(classSet.scalars.reduce(0) { $0 + Int($1) }) / Double(h * w)
        return Result(files: files, setFraction: fraction)
    }

    /// The ground truth of the image named like `imagePath` in a COCO manifest, blended over it.
    static func groundTruth(
        manifestPath: String, imagePath: String, categories: [String], resize: ResizeAndPad,
        image: Tensor, classIndex: Int
    ) throws -> RGBImage {
        try ExperimentError.wrapping {
            let manifest = try COCOManifest.read(contentsOf: URL(fileURLWithPath: manifestPath))
            let name = URL(fileURLWithPath: imagePath).lastPathComponent
            guard
                let entry = manifest.images.first(where: { URL(fileURLWithPath: $0.fileName).lastPathComponent == name }
                )
            else {
                throw ExperimentError("\(manifestPath): no image named \(name)", kind: .invalidData)
            }
            let chosen = try manifest.categories(.names(categories), file: manifestPath)
            let target = try COCOManifest.target(
                height: entry.height, width: entry.width,
                annotations: manifest.annotationsByImage()[entry.id] ?? [],
                categories: chosen, file: manifestPath)
            return Overlay.blend(image: image, target: resize.target(target))
        }
    }
}
