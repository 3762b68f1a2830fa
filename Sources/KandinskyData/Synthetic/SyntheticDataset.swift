import Foundation
import KandinskyCore

/// Kandinsky's built-in COCO-format dataset, so that the whole pipeline runs on a machine with
/// no data and no network. It imitates one of the paper's two datasets for this method, as
/// ``scene`` chooses:
/// - ``Scene/person``, COCO-person (see `SyntheticScene+Person.swift` for what a frame holds):
///   person silhouettes with a centre-biased spatial prior, frames of varied aspect ratio (so
///   resize-and-pad leaves padding bands), cluttered backgrounds with distractors of a second
///   category in similar colours, and annotations both as polygons and as compressed RLE.
/// - ``Scene/anatomy``, the Medical Segmentation Decathlon's pancreas slices (see
///   `SyntheticScene+Anatomy.swift`): grey frames of one size, a body outline with soft-tissue
///   texture, organs of similar grey level, and one target organ at a nearly fixed position.
///
/// Layout, as the original's prepared COCO:
/// ```
/// DIR/trainval/data/<id>.jpg|png     DIR/trainval/labels.json
/// DIR/trainval/splits/t<train>/labels_{train,val,cal}.json
/// DIR/test/data/<id>.jpg|png         DIR/test/labels.json
/// ```
/// The output is byte-identical for a seed: every frame is drawn from its own generator stream
/// (`SeededGenerator.stream(_:of:)`), so frames can be rendered in parallel.
public struct SyntheticDataset: Sendable, Equatable {
    /// What the frames imitate.
    public enum Scene: String, Sendable, CaseIterable {
        /// COCO-person-like photographs: 1–4 people (`person`, id 1) among distractors
        /// (`clutter`, id 2), frames of seven aspect ratios at about `width · height` pixels,
        /// about 6 % PNG and the rest JPEG.
        case person
        /// CT-slice-like grey frames, all exactly `width × height`: a body with organs of similar
        /// grey level and one target (`organ`, id 1) whose centroid moves by a few pixels
        /// (`AnatomyLayout`), stored as 8-bit greyscale PNG (lossless, as slices exported
        /// from a scan; the loader replicates grey into the three channels).
        case anatomy

        /// The manifest's categories.
        public var categories: [COCOManifest.Category] {
            switch self {
            case .person:
                [
                    COCOManifest.Category(id: 1, name: "person", extra: ["supercategory": .string("person")]),
                    COCOManifest.Category(id: 2, name: "clutter", extra: ["supercategory": .string("clutter")]),
                ]
            case .anatomy:
                [COCOManifest.Category(id: 1, name: "organ", extra: ["supercategory": .string("organ")])]
            }
        }

        /// The frame size when none is given: about 160 × 120 for people (aspect ratios vary
        /// around it); 128 × 96 for anatomy, the default `data.dims`, so that frames reach the
        /// network with no resizing or padding.
        public var defaultSize: (width: Int, height: Int) {
            switch self {
            case .person: (160, 120)
            case .anatomy: (128, 96)
            }
        }

        /// The manifest's `info.description`.
        var description: String {
            switch self {
            case .person: "Kandinsky synthetic COCO-person-like dataset"
            case .anatomy: "Kandinsky synthetic anatomy-like dataset (CT-slice-like frames, one organ)"
            }
        }
    }

    /// What the frames imitate (default ``Scene/person``).
    public var scene: Scene
    /// Training images (default 300: enough for a small network to learn, and to overfit).
    public var trainCount: Int
    /// Validation images (default 50).
    public var validationCount: Int
    /// Calibration images (default 1000, as calibration wants many).
    public var calibrationCount: Int
    /// Test images (default 200).
    public var testCount: Int
    /// For ``Scene/person`` the frame area is `width · height` (default 160 × 120) and each frame
    /// has one of the aspect ratios 4:3, 3:2, 16:9, 5:4, 1:1, 3:4 and 2:3 at about that area; for
    /// ``Scene/anatomy`` every frame is `width × height` (default 128 × 96).
    public var width: Int
    /// See `width`.
    public var height: Int
    /// The seed of everything random.
    public var seed: UInt64

    /// The default: 300 / 50 / 1000 / 200 frames of the scene's ``Scene/defaultSize``, small
    /// enough that the whole pipeline trains and calibrates in minutes on 2 cores.
    public init(
        scene: Scene = .person, trainCount: Int = 300, validationCount: Int = 50, calibrationCount: Int = 1000,
        testCount: Int = 200,
        width: Int? = nil, height: Int? = nil, seed: UInt64 = 0
    ) {
        let width = width ?? scene.defaultSize.width
        let height = height ?? scene.defaultSize.height
        precondition(
            trainCount >= 0 && validationCount >= 0 && calibrationCount >= 0 && testCount >= 0,
            "image counts must be non-negative")
        precondition(width >= 16 && height >= 16, "frames must be at least 16 × 16, got \(width)×\(height)")
        self.scene = scene
        self.trainCount = trainCount
        self.validationCount = validationCount
        self.calibrationCount = calibrationCount
        self.testCount = testCount
        self.width = width
        self.height = height
        self.seed = seed
    }

    static let aspectRatios: [Double] = [4.0 / 3, 3.0 / 2, 16.0 / 9, 5.0 / 4, 1, 3.0 / 4, 2.0 / 3]

    /// The categories of ``scene``: `person` (id 1) and `clutter` (id 2, the distractors), or
    /// `organ` (id 1).
    public var categories: [COCOManifest.Category] { scene.categories }

    /// Where the files of one part (`trainval` or `test`) go.
    package static func labelsURL(root: URL, part: String) -> URL {
        root.appendingPathComponent(part).appendingPathComponent("labels.json")
    }

    /// Renders frame `index` of a part (`stream` 0 for trainval, 1 for test) and its annotations.
    func frame(_ index: Int, stream: Int) -> (
        fileName: String, file: Data, image: COCOManifest.Image, annotations: [COCOManifest.Annotation]
    ) {
        var generator = SeededGenerator.stream(stream * 1_000_000_007 + index, of: seed)
        let id = index + 1
        let w: Int
        let h: Int
        let fileName: String
        let file: Data
        let scene: SyntheticScene
        switch self.scene {
        case .person:
            let aspect = Self.aspectRatios[uniformIndex(below: Self.aspectRatios.count, using: &generator)]
            let area = Double(width * height)
            (w, h) = (Int((area * aspect).squareRoot().rounded()), Int((area / aspect).squareRoot().rounded()))
            scene = SyntheticScene.person(width: w, height: h, using: &generator)
            let asPNG = generator.nextUnitDouble() < 0.06
            fileName = String(format: "%06d.%@", id, asPNG ? "png" : "jpg")
            file =
                asPNG
                ? PNGImage.encode(rgb8: scene.image.pixels, width: w, height: h)
                : JPEGImage.encode(
                    rgb8: scene.image.pixels, width: w, height: h,
                    quality: 80 + uniformIndex(below: 16, using: &generator))
        case .anatomy:
            (w, h) = (width, height)
            scene = SyntheticScene.anatomy(width: w, height: h, using: &generator)
            fileName = String(format: "%06d.png", id)
            // The channels are equal: keep one.
            file = PNGImage.encode(
                grey8: stride(from: 0, to: scene.image.pixels.count, by: 3).map { scene.image.pixels[$0] }, width: w,
                height: h)
        }
        let annotations = scene.objects.enumerated().map { number, object in
            COCOManifest.Annotation(
                id: id * 100 + number, imageID: id, categoryID: object.categoryID, segmentation: object.segmentation,
                isCrowd: object.isCrowd, area: Double(object.mask.reduce(0) { $0 + Int($1) }),
                bbox: boundingBox(object.mask, width: w, height: h))
        }
        return (fileName, file, COCOManifest.Image(id: id, fileName: fileName, width: w, height: h), annotations)
    }

    /// Writes the dataset under `root` (see the type's documentation for the layout) and returns
    /// the trainval and test manifests. Existing files with the same names are replaced.
    /// - Complexity: O(frames · pixels), spread over the cores.
    @discardableResult
    public func write(to root: URL, progress: ProgressReporter? = nil) throws(DataError) -> (
        trainval: COCOManifest, test: COCOManifest
    ) {
        let trainval = try writePart(
            "trainval", count: trainCount + validationCount + calibrationCount, stream: 0, root: root,
            progress: progress)
        var generator = SeededGenerator.stream(2, of: seed)
        let split = try trainval.split(trainCount: trainCount, validationCount: validationCount, using: &generator)
        let splitDirectory = root.appendingPathComponent("trainval/splits/t\(trainCount)")
        try split.train.write(to: splitDirectory.appendingPathComponent("labels_train.json"))
        try split.validation.write(to: splitDirectory.appendingPathComponent("labels_val.json"))
        try split.calibration.write(to: splitDirectory.appendingPathComponent("labels_cal.json"))
        let test = try writePart("test", count: testCount, stream: 1, root: root, progress: progress)
        return (trainval, test)
    }

    private func writePart(_ part: String, count: Int, stream: Int, root: URL, progress: ProgressReporter?)
        throws(DataError) -> COCOManifest
    {
        let dataDirectory = root.appendingPathComponent(part).appendingPathComponent("data")
        do {
            try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        } catch {
            throw DataError(
                .missingFile, file: dataDirectory.path,
                problem: "cannot create the directory: \(error.localizedDescription)")
        }
        var images = [COCOManifest.Image?](repeating: nil, count: count)
        var annotations = [[COCOManifest.Annotation]](repeating: [], count: count)
        var failures = [DataError?](repeating: nil, count: count)
        images.withUnsafeMutableBufferPointer { images in
            annotations.withUnsafeMutableBufferPointer { annotations in
                failures.withUnsafeMutableBufferPointer { failures in
                    parallelFor(0..<count, chunkCount: min(count, 8 * availableCoreCount)) { range in
                        for index in range {
                            let frame = frame(index, stream: stream)
                            let url = dataDirectory.appendingPathComponent(frame.fileName)
                            do throws(FileFormatError) {
                                try AtomicFile.write(frame.file, to: url)
                            } catch {
                                failures[index] = DataError(.missingFile, file: url.path, problem: error.problem)
                            }
                            images[index] = frame.image
                            annotations[index] = frame.annotations
                            progress?.advance(message: part)
                        }
                    }
                }
            }
        }
        if let failure = failures.lazy.compactMap({ $0 }).first { throw failure }
        let manifest = COCOManifest(
            images: images.map { $0! }, annotations: annotations.flatMap { $0 }, categories: categories,
            extra: ["info": .object(["description": .string(scene.description), "seed": .string(String(seed))])])
        try manifest.write(to: root.appendingPathComponent(part).appendingPathComponent("labels.json"))
        return manifest
    }
}

/// COCO's `[x, y, width, height]` of a row-major mask's pixels.
private func boundingBox(_ mask: [UInt8], width: Int, height: Int) -> [Double] {
    var minX = width
    var minY = height
    var maxX = -1
    var maxY = -1
    for y in 0..<height {
        for x in 0..<width where mask[y * width + x] != 0 {
            minX = min(minX, x)
            maxX = max(maxX, x)
            minY = min(minY, y)
            maxY = max(maxY, y)
        }
    }
    return maxX < 0 ? [0, 0, 0, 0] : [Double(minX), Double(minY), Double(maxX - minX + 1), Double(maxY - minY + 1)]
}
