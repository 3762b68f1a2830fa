/// Sizes beyond which Kandinsky refuses input instead of allocating for it.
///
/// Every size read from a file (an image header, a manifest's `width` and `height`, an RLE's
/// `size`, a polygon's extent) is checked against these limits before anything of that size is
/// allocated, so a few bytes claiming a huge image fail with an error instead of exhausting
/// memory.
public enum ImageLimits {
    /// The most pixels (`width · height`) an image, a manifest entry or a mask may have: 2²⁸
    /// (268,435,456, e.g. 16384 × 16384). A decoded RGB image of that size takes 768 MiB, a
    /// mask 256 MiB; COCO's images are below 2²⁰ pixels and gigapixel scans need tiling anyway.
    public static let maximumPixelCount = 1 << 28

    /// The longest polygon boundary, in steps of a fifth of a pixel (the grid pycocotools walks
    /// when it rasterises a polygon), summed over the polygon's edges: 2²⁴, i.e. a perimeter of
    /// about 3.3 million pixels. Rasterising keeps two integers per step, so this bounds it to
    /// 256 MiB however far outside the image the vertices lie.
    public static let maximumPolygonBoundarySteps = 1 << 24

    /// The product `width · height` when both are positive and it is at most
    /// ``maximumPixelCount``, else nil.
    package static func checkedPixelCount(width: Int, height: Int) -> Int? {
        guard width > 0, height > 0 else { return nil }
        let (product, overflow) = width.multipliedReportingOverflow(by: height)
        return !overflow && product <= maximumPixelCount ? product : nil
    }

    /// Checks the size an image header claims, before any buffer of that size is allocated: it
    /// must be positive, equal `expected` when given (the manifest's `width` and `height`), and
    /// have at most ``maximumPixelCount`` pixels.
    ///
    /// - Throws: ``DataError`` of kind `imageSizeMismatch` or `exceedsLimit` naming `file`, the
    ///   header's size and what was expected.
    static func checkHeader(format: String, width: Int, height: Int, expected: ImageSize?, file: String)
        throws(DataError)
    {
        if let expected, expected.width != width || expected.height != height {
            throw DataError(
                .imageSizeMismatch, file: file,
                problem:
                    "the \(format) header gives \(width)×\(height) pixels, expected \(expected.width)×\(expected.height)"
            )
        }
        guard width > 0, height > 0 else {
            throw DataError(
                .undecodableImage, file: file,
                problem: "the \(format) header gives \(width)×\(height) pixels, expected a positive size")
        }
        guard checkedPixelCount(width: width, height: height) != nil else {
            throw DataError(
                .exceedsLimit, file: file,
                problem:
                    "the \(format) header gives \(width)×\(height) pixels, more than the \(maximumPixelCount) Kandinsky decodes (ImageLimits.maximumPixelCount)"
            )
        }
    }
}

/// An image's size in pixels, as a manifest gives it.
public struct ImageSize: Sendable, Equatable {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int

    /// A `width × height` size.
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }
}
