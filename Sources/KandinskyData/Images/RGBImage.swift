import Foundation
import KandinskyCore

/// An 8-bit RGB image: `pixels` holds `height · width · 3` bytes, row-major, interleaved
/// (`[H, W, 3]`), as decoders produce and as Pillow's `convert("RGB")` holds it.
public struct RGBImage: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// `[H, W, 3]` row-major samples.
    public var pixels: [UInt8]

    /// Wraps `pixels` (`[H, W, 3]`, row-major).
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0, "image size must be positive, got \(width)×\(height)")
        precondition(
            pixels.count == width * height * 3,
            "\(width)×\(height) RGB image needs \(width * height * 3) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Decodes a PNG or JPEG file, told apart by its first bytes (not its extension), to the
    /// pixels Pillow's `Image.open(url).convert("RGB")` gives (see ``PNGImage`` and ``JPEGImage``
    /// for the conversions). The header's size is checked before decoding: it must equal
    /// `expectedSize` when given and stay within ``ImageLimits/maximumPixelCount``.
    public init(contentsOf url: URL, expectedSize: ImageSize? = nil) throws(DataError) {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw DataError(
                .missingFile, file: url.path,
                problem:
                    "cannot read the image file (\(FileManager.default.fileExists(atPath: url.path) ? "unreadable" : "no such file"))"
            )
        }
        self = try RGBImage(decoding: data, file: url.path, expectedSize: expectedSize)
    }

    /// Decodes PNG or JPEG bytes; `file` names them in errors. The header's size must equal
    /// `expectedSize` when given and stay within ``ImageLimits/maximumPixelCount``.
    public init(decoding data: Data, file: String, expectedSize: ImageSize? = nil) throws(DataError) {
        if data.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
            self = try PNGImage.decode(data, file: file, expectedSize: expectedSize)
        } else if data.starts(with: [0xFF, 0xD8]) {
            self = try JPEGImage.decode(data, file: file, expectedSize: expectedSize)
        } else {
            throw DataError(
                .undecodableImage, file: file,
                problem: data.isEmpty
                    ? "the file is empty, expected a PNG or JPEG image"
                    : "not a PNG or JPEG image (unrecognised first bytes)")
        }
    }

    /// The image as a planar Float tensor `[3, H, W]` with values `pixel / 255` in [0, 1].
    /// - Complexity: O(H · W).
    package func planarTensor() -> Tensor {
        let plane = width * height
        return Tensor(
            shape: [3, height, width],
            unsafeUninitializedCapacity: { out in
                pixels.withUnsafeBufferPointer { source in
                    for i in 0..<plane {
                        out[i] = Float(source[3 * i]) / 255
                        out[plane + i] = Float(source[3 * i + 1]) / 255
                        out[2 * plane + i] = Float(source[3 * i + 2]) / 255
                    }
                }
            })
    }
}
