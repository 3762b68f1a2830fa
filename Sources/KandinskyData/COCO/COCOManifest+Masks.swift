import KandinskyCore

extension COCOManifest {
    /// The annotations of each image id, in manifest order.
    /// - Complexity: O(annotations).
    package func annotationsByImage() -> [Int: [Annotation]] {
        Dictionary(grouping: annotations, by: \.imageID)
    }

    /// An annotation's mask in its `height × width` image, row-major `[H, W]`, 0 or 1: exactly
    /// pycocotools' `COCO.annToMask` (polygon parts and RLE alike).
    package static func instanceMask(
        of annotation: Annotation, height: Int, width: Int, file: String, path: String = "annotations"
    ) throws(DataError) -> [UInt8] {
        var mask = [UInt8](repeating: 0, count: height * width)
        let parts = try annotation.runLengthEncodings(height: height, width: width, file: file, path: path)
        mask.withUnsafeMutableBufferPointer { buffer in
            for part in parts { part.paint(into: buffer) }
        }
        return mask
    }

    /// The segmentation target of one image, `[1 + C, H, W]` row-major, 0 or 1, for the
    /// `categories` in the order given: channel `1 + c` is the union of the masks of the
    /// image's annotations of category `c` (crowd regions included, as `annToMask` makes no
    /// distinction), and channel 0 (background) is 1 exactly where no chosen category is.
    /// - Complexity: O(C · H · W + annotation sizes).
    public static func target(height: Int, width: Int, annotations: [Annotation], categories: [Category], file: String)
        throws(DataError) -> ShapedArray<UInt8>
    {
        let plane = height * width
        var target = ShapedArray<UInt8>(shape: [1 + categories.count, height, width], repeating: 0)
        var failure: DataError?
        target.withUnsafeMutableBufferPointer { buffer in
            for annotation in annotations {
                guard let channel = categories.firstIndex(where: { $0.id == annotation.categoryID }) else { continue }
                do throws(DataError) {
                    let parts = try annotation.runLengthEncodings(
                        height: height, width: width, file: file, path: "annotation \(annotation.id).segmentation")
                    let slice = UnsafeMutableBufferPointer(
                        rebasing: buffer[(1 + channel) * plane..<(2 + channel) * plane])
                    for part in parts { part.paint(into: slice) }
                } catch {
                    failure = error
                    return
                }
            }
            for i in 0..<plane {
                var covered: UInt8 = 0
                for channel in 1..<1 + categories.count {
                    covered |= buffer[channel * plane + i]
                }
                buffer[i] = covered == 0 ? 1 : 0
            }
        }
        if let failure { throw failure }
        return target
    }
}
