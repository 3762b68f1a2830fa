import KandinskyCore

/// One sample as a model sees it: the image `[3, H, W]` in [0, 1] and the target `[1 + C, H, W]`
/// (0/1, channel 0 background), both at the dataset's fixed size.
public struct SegmentationSample: Sendable {
    /// `[3, H, W]`, values in [0, 1].
    public var image: Tensor
    /// `[1 + C, H, W]`, 0/1, channel 0 background.
    public var target: ShapedArray<UInt8>
    /// The manifest id of the image.
    public var imageID: Int

    /// A sample; image `[3, H, W]` and target `[C, H, W]` must agree in H and W.
    public init(image: Tensor, target: ShapedArray<UInt8>, imageID: Int) {
        precondition(
            image.rank == 3 && image.shape[0] == 3 && target.rank == 3
                && Array(image.shape[1...]) == Array(target.shape[1...]),
            "image [3, H, W] and target [C, H, W] must agree in H and W, got \(image.shape) and \(target.shape)")
        self.image = image
        self.target = target
        self.imageID = imageID
    }
}

/// A random-access collection of segmentation samples of one fixed size.
public protocol SegmentationDataset: Sendable {
    /// The number of samples.
    var count: Int { get }
    /// `1 + C`: background and the chosen categories.
    var channelCount: Int { get }
    /// The sample size, `(width, height)`.
    var dims: ResizeAndPad { get }
    /// Loads sample `index` (decoding, resizing and padding as needed).
    func sample(_ index: Int) throws(DataError) -> SegmentationSample
}
