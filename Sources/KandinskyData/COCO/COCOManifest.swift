import Foundation
import KandinskyCore

/// A COCO-format manifest (`labels.json`): images, instance annotations and categories.
///
/// Fields Kandinsky does not use are kept (see `JSONValue` in KandinskyCore), so that a manifest read and
/// written again (for example by `split(trainCount:validationCount:using:)`)
/// loses nothing.
public struct COCOManifest: Sendable, Equatable {
    /// One image: its file under `ROOT/data/` and its size in pixels.
    public struct Image: Sendable, Equatable {
        /// The image id annotations refer to.
        public var id: Int
        /// The file name under `ROOT/data/`.
        public var fileName: String
        /// Width in pixels, as decoded.
        public var width: Int
        /// Height in pixels, as decoded.
        public var height: Int
        /// Other fields (`license`, `coco_url`, …), kept as read.
        public var extra: [String: JSONValue]

        /// An image entry; `extra` keeps fields Kandinsky does not interpret (`license`, `coco_url`, …).
        public init(id: Int, fileName: String, width: Int, height: Int, extra: [String: JSONValue] = [:]) {
            self.id = id
            self.fileName = fileName
            self.width = width
            self.height = height
            self.extra = extra
        }
    }

    /// One instance: which image, which category, and its outline or mask.
    public struct Annotation: Sendable, Equatable {
        /// The annotation id.
        public var id: Int
        /// The annotated image's id (`image_id`).
        public var imageID: Int
        /// The category's id (`category_id`).
        public var categoryID: Int
        /// The instance's shape.
        public var segmentation: Segmentation
        /// 1 for a crowd region (then usually given as RLE), else 0.
        public var isCrowd: Int
        /// The area in pixels, as given (not used for masks).
        public var area: Double?
        /// `[x, y, width, height]`.
        public var bbox: [Double]?

        /// An annotation: `segmentation` as polygons or RLE, `isCrowd` 0 or 1, `bbox` as `[x, y, width, height]`.
        public init(
            id: Int, imageID: Int, categoryID: Int, segmentation: Segmentation, isCrowd: Int = 0, area: Double? = nil,
            bbox: [Double]? = nil
        ) {
            self.id = id
            self.imageID = imageID
            self.categoryID = categoryID
            self.segmentation = segmentation
            self.isCrowd = isCrowd
            self.area = area
            self.bbox = bbox
        }
    }

    /// An annotation's shape: polygons in pixel coordinates (`[x0, y0, x1, y1, …]`, several for
    /// an instance in parts), or a run-length-encoded mask in either of COCO's two forms.
    public enum Segmentation: Sendable, Equatable {
        /// One or more polygons, each a flat `[x0, y0, x1, y1, …]` list in pixel coordinates.
        case polygons([[Double]])
        /// A run-length-encoded mask (crowd regions, or compressed masks).
        case rle(RunLengthEncoding.Stored)
    }

    /// A category (`person`, …).
    public struct Category: Sendable, Equatable {
        /// The category id (`category_id` of annotations).
        public var id: Int
        /// The category name, e.g. `person`.
        public var name: String
        /// Other fields (`supercategory`, `keypoints`, …), kept as read.
        public var extra: [String: JSONValue]

        /// A category; `extra` keeps fields such as `supercategory`.
        public init(id: Int, name: String, extra: [String: JSONValue] = [:]) {
            self.id = id
            self.name = name
            self.extra = extra
        }
    }

    /// The images, in file order.
    public var images: [Image]
    /// The instance annotations, in file order.
    public var annotations: [Annotation]
    /// The categories, in file order.
    public var categories: [Category]
    /// Other top-level fields (`info`, `licenses`, …), kept as read.
    public var extra: [String: JSONValue]

    /// A manifest from its parts; `extra` holds the other top-level fields (`info`, `licenses`, …).
    public init(images: [Image], annotations: [Annotation], categories: [Category], extra: [String: JSONValue] = [:]) {
        self.images = images
        self.annotations = annotations
        self.categories = categories
        self.extra = extra
    }
}
