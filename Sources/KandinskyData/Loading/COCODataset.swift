import Foundation
import KandinskyCore

/// A COCO-format dataset: images under `ROOT/data/<file_name>`, annotations in a manifest
/// (`ROOT/labels.json` or a split's `labels_train.json`, …), samples resized and padded to fixed
/// `dims` (see ``ResizeAndPad``) with targets for the chosen categories.
public struct COCODataset: SegmentationDataset {
    /// The dataset root (images are under `root/data/`).
    public let root: URL
    /// The manifest file, named in errors.
    public let manifestFile: String
    /// The images, in manifest order (or subset order, see `randomSubset(count:using:)`).
    public let images: [COCOManifest.Image]
    /// The chosen categories: target channel `1 + c` is `categories[c]`.
    public let categories: [COCOManifest.Category]
    /// The fixed sample size and how images are fitted into it.
    public let dims: ResizeAndPad
    /// The ids of the manifest's annotations with an empty segmentation (`"segmentation": []`),
    /// which cover no pixel and are skipped (see `emptySegmentationWarning`).
    public let emptySegmentationAnnotationIDs: [Int]
    private let annotations: [Int: [COCOManifest.Annotation]]

    /// Reads `manifest` (default `root/labels.json`) and picks the categories.
    public init(
        root: URL, manifest: URL? = nil, categories selection: CategorySelection = .person,
        dims: ResizeAndPad = ResizeAndPad()
    ) throws(DataError) {
        let manifestURL = manifest ?? root.appendingPathComponent("labels.json")
        let parsed = try COCOManifest.read(contentsOf: manifestURL)
        try self.init(root: root, manifest: parsed, manifestFile: manifestURL.path, categories: selection, dims: dims)
    }

    /// Wraps an already read manifest; `manifestFile` names it in errors.
    public init(
        root: URL, manifest: COCOManifest, manifestFile: String, categories selection: CategorySelection = .person,
        dims: ResizeAndPad = ResizeAndPad()
    ) throws(DataError) {
        self.root = root
        self.manifestFile = manifestFile
        self.images = manifest.images
        self.categories = try manifest.categories(selection, file: manifestFile)
        self.dims = dims
        self.emptySegmentationAnnotationIDs = manifest.emptySegmentationAnnotationIDs
        self.annotations = manifest.annotationsByImage().mapValues { $0.filter { !$0.hasEmptySegmentation } }
    }

    /// One line for the command line when the manifest has annotations with an empty
    /// segmentation, which are skipped: how many, and the first few ids. Nil when there are none.
    package var emptySegmentationWarning: String? {
        let ids = emptySegmentationAnnotationIDs
        guard !ids.isEmpty else { return nil }
        let shown = ids.prefix(5).map(String.init).joined(separator: ", ") + (ids.count > 5 ? ", …" : "")
        return
            "warning: \(manifestFile): skipped \(ids.count) annotation\(ids.count == 1 ? "" : "s") with an empty segmentation (id\(ids.count == 1 ? "" : "s") \(shown))"
    }

    private init(copying other: COCODataset, images: [COCOManifest.Image]) {
        root = other.root
        manifestFile = other.manifestFile
        self.images = images
        categories = other.categories
        dims = other.dims
        emptySegmentationAnnotationIDs = other.emptySegmentationAnnotationIDs
        annotations = other.annotations
    }

    /// The number of images.
    public var count: Int { images.count }
    /// Background plus the chosen categories.
    public var channelCount: Int { 1 + categories.count }

    /// The file of image `index`.
    func imageURL(_ index: Int) -> URL {
        root.appendingPathComponent("data").appendingPathComponent(images[index].fileName)
    }

    /// Image `index` decoded at its own size; its header must give the manifest's size (checked
    /// before decoding, so a header claiming a huge image allocates nothing).
    package func rawImage(_ index: Int) throws(DataError) -> RGBImage {
        let entry = images[index]
        do {
            return try RGBImage(
                contentsOf: imageURL(index), expectedSize: ImageSize(width: entry.width, height: entry.height))
        } catch  where error.kind == .imageSizeMismatch {
            throw DataError(
                .imageSizeMismatch, file: error.file, location: "image \(entry.id)",
                problem: "\(error.problem) as \(manifestFile) gives")
        }
    }

    /// The target of image `index` at its own size, `[1 + C, h, w]`.
    package func rawTarget(_ index: Int) throws(DataError) -> ShapedArray<UInt8> {
        let entry = images[index]
        return try COCOManifest.target(
            height: entry.height, width: entry.width, annotations: annotations[entry.id] ?? [], categories: categories,
            file: manifestFile)
    }

    /// Image `index` decoded, checked against the manifest, resized and padded, with its target
    /// built from the manifest and resized by nearest neighbour (see ``ResizeAndPad``).
    public func sample(_ index: Int) throws(DataError) -> SegmentationSample {
        let image = try rawImage(index)
        let target = try rawTarget(index)
        return SegmentationSample(image: dims.image(image), target: dims.target(target), imageID: images[index].id)
    }

    /// A seeded random subset of `count` images (the original's `calTrim`: how many calibration
    /// images to use), drawn without replacement and kept in manifest order. `count` at or above
    /// the size gives the whole dataset.
    package func randomSubset(count: Int, using generator: inout some RandomNumberGenerator) -> COCODataset {
        precondition(count >= 0, "subset size must be non-negative, got \(count)")
        if count >= images.count { return self }
        let chosen = seededPermutation(count: images.count, using: &generator).prefix(count).sorted()
        return COCODataset(copying: self, images: chosen.map { images[$0] })
    }
}
