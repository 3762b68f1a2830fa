import Foundation
import KandinskyCore

/// A COCO-format manifest (`labels.json`): images, instance annotations and categories.
///
/// Fields Kandinsky does not use are kept (see `JSONValue` in KandinskyCore), so that a manifest read and
/// written again (for example by `split(trainCount:validationCount:using:)`)
/// loses nothing.
public struct COCOManifest: Codable, Sendable, Equatable {
    /// One image: its file under `ROOT/data/` and its size in pixels.
    public struct Image: Codable, Sendable, Equatable {
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

        /// Decodes `id`, `file_name`, `width` and `height`, keeping every other field in `extra`.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: AnyCodingKey.self)
            id = try container.decode(Int.self, forKey: AnyCodingKey("id"))
            fileName = try container.decode(String.self, forKey: AnyCodingKey("file_name"))
            width = try container.decode(Int.self, forKey: AnyCodingKey("width"))
            height = try container.decode(Int.self, forKey: AnyCodingKey("height"))
            extra = try container.extraFields(excluding: ["id", "file_name", "width", "height"])
        }

        /// Encodes the known fields and then `extra`, so a read-write round trip keeps the entry.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: AnyCodingKey.self)
            try container.encode(id, forKey: AnyCodingKey("id"))
            try container.encode(fileName, forKey: AnyCodingKey("file_name"))
            try container.encode(width, forKey: AnyCodingKey("width"))
            try container.encode(height, forKey: AnyCodingKey("height"))
            try container.encodeExtraFields(extra)
        }
    }

    /// One instance: which image, which category, and its outline or mask.
    public struct Annotation: Codable, Sendable, Equatable {
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

        enum CodingKeys: String, CodingKey {
            case id, segmentation, area, bbox
            case imageID = "image_id"
            case categoryID = "category_id"
            case isCrowd = "iscrowd"
        }

        /// Decodes COCO's snake-case keys (`image_id`, `category_id`, `iscrowd`), keeping other fields in `extra`.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decode(Int.self, forKey: .id)
            imageID = try container.decode(Int.self, forKey: .imageID)
            categoryID = try container.decode(Int.self, forKey: .categoryID)
            segmentation = try container.decode(Segmentation.self, forKey: .segmentation)
            isCrowd = try container.decodeIfPresent(Int.self, forKey: .isCrowd) ?? 0
            area = try container.decodeIfPresent(Double.self, forKey: .area)
            bbox = try container.decodeIfPresent([Double].self, forKey: .bbox)
        }
    }

    /// An annotation's shape: polygons in pixel coordinates (`[x0, y0, x1, y1, …]`, several for
    /// an instance in parts), or a run-length-encoded mask in either of COCO's two forms.
    public enum Segmentation: Codable, Sendable, Equatable {
        /// One or more polygons, each a flat `[x0, y0, x1, y1, …]` list in pixel coordinates.
        case polygons([[Double]])
        /// A run-length-encoded mask (crowd regions, or compressed masks).
        case rle(RunLengthEncoding.Stored)

        /// Decodes a JSON array as polygons and an object as RLE; an array that is not polygons
        /// reports the polygon error (naming the element), anything else the RLE error.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            do {
                self = .polygons(try container.decode([[Double]].self))
            } catch let polygonError {
                guard (try? container.decode([JSONValue].self)) == nil else { throw polygonError }
                self = .rle(try container.decode(RunLengthEncoding.Stored.self))
            }
        }

        /// Encodes polygons as an array of flat `[x0, y0, x1, y1, …]` lists and RLE as an object.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .polygons(let polygons): try container.encode(polygons)
            case .rle(let rle): try container.encode(rle)
            }
        }
    }

    /// A category (`person`, …).
    public struct Category: Codable, Sendable, Equatable {
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

        /// Decodes `id` and `name`, keeping every other field in `extra`.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: AnyCodingKey.self)
            id = try container.decode(Int.self, forKey: AnyCodingKey("id"))
            name = try container.decode(String.self, forKey: AnyCodingKey("name"))
            extra = try container.extraFields(excluding: ["id", "name"])
        }

        /// Encodes `id`, `name` and `extra`.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: AnyCodingKey.self)
            try container.encode(id, forKey: AnyCodingKey("id"))
            try container.encode(name, forKey: AnyCodingKey("name"))
            try container.encodeExtraFields(extra)
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

    /// Decodes `images`, `annotations` and `categories`, keeping other top-level fields in `extra`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        images = try container.decode([Image].self, forKey: AnyCodingKey("images"))
        annotations = try container.decodeIfPresent([Annotation].self, forKey: AnyCodingKey("annotations")) ?? []
        categories = try container.decode([Category].self, forKey: AnyCodingKey("categories"))
        extra = try container.extraFields(excluding: ["images", "annotations", "categories"])
    }

    /// Encodes the manifest as COCO JSON, `extra` fields included.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        try container.encodeExtraFields(extra)
        try container.encode(images, forKey: AnyCodingKey("images"))
        try container.encode(annotations, forKey: AnyCodingKey("annotations"))
        try container.encode(categories, forKey: AnyCodingKey("categories"))
    }
}
