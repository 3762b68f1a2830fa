/// Bad input data: a manifest, an annotation or an image that Kandinsky cannot use, naming the file,
/// where in it the problem is (a JSON path such as `annotations[12].segmentation[0]`, or an image
/// id) and what was expected.
public struct DataError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, so callers and tests can tell the cases apart without parsing messages.
    public enum Kind: String, Sendable, Equatable {
        /// The file is not valid JSON, or not a COCO manifest.
        case malformedJSON
        /// An annotation refers to an image id that the manifest does not list.
        case unknownImage
        /// A category name or id that the manifest does not list.
        case unknownCategory
        /// A polygon with fewer than 3 points (or an odd number of coordinates).
        case degeneratePolygon
        /// Run-length counts that do not sum to height · width, or a malformed RLE.
        case invalidRLE
        /// A file that does not exist or cannot be read.
        case missingFile
        /// A file that is not a PNG or JPEG image, or a truncated or corrupt one.
        case undecodableImage
        /// An image whose decoded size differs from the size the manifest gives.
        case imageSizeMismatch
        /// A size beyond a documented limit (see ``ImageLimits``): an image, manifest entry, RLE or
        /// polygon larger than Kandinsky allocates for.
        case exceedsLimit
        /// A request that the data cannot satisfy (more images asked for than exist, …).
        case invalidRequest
    }

    /// What went wrong.
    public let kind: Kind
    /// The file's path as given.
    public let file: String
    /// Where in the file: a JSON path, or `image <id>`; empty when the whole file is meant.
    public let location: String
    /// What was expected, and what was found.
    public let problem: String

    /// An error of `kind` in `file` at `location` (a JSON path or `image <id>`, empty for the whole file).
    public init(_ kind: Kind, file: String, location: String = "", problem: String) {
        self.kind = kind
        self.file = file
        self.location = location
        self.problem = problem
    }

    /// One line: `FILE: LOCATION: PROBLEM` (the location is left out when empty).
    public var description: String {
        location.isEmpty ? "\(file): \(problem)" : "\(file): \(location): \(problem)"
    }
}
