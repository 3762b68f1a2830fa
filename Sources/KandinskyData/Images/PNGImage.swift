import CPNG
import Foundation
import KandinskyCore

/// PNG reading and writing through libpng.
///
/// Reading matches Pillow's `Image.open(f).convert("RGB")`: greyscale is replicated into the three
/// channels (1, 2 and 4-bit grey scaled to 8 bits as Pillow does: ×255, ×85, ×17), palettes are
/// looked up, alpha and `tRNS` transparency are dropped without compositing, gamma chunks are
/// ignored. 16-bit samples keep their high byte, which is what Pillow does for 16-bit RGB(A) and
/// grey+alpha; for 16-bit greyscale Pillow instead clips the value at 255, a deliberate difference.
public enum PNGImage {
    /// Decodes PNG bytes; `file` names them in errors. IHDR's size is checked before any pixel
    /// buffer is allocated: it must equal `expectedSize` when given and have at most
    /// ``ImageLimits/maximumPixelCount`` pixels.
    /// - Complexity: O(H · W).
    public static func decode(_ data: Data, file: String, expectedSize: ImageSize? = nil) throws(DataError) -> RGBImage
    {
        var source = kandinsky_png_source()
        source.max_pixels = UInt64(ImageLimits.maximumPixelCount)
        if let expectedSize {
            // A size that does not fit IHDR's 31 bits can never match; ask for an impossible one.
            source.expected_width = UInt32(clamping: max(expectedSize.width, 0))
            source.expected_height = UInt32(clamping: max(expectedSize.height, 0))
            if source.expected_width == 0 || source.expected_height == 0 {
                source.expected_width = .max
                source.expected_height = .max
            }
        }
        var pixels: UnsafeMutablePointer<UInt8>?
        var width: UInt32 = 0
        var height: UInt32 = 0
        var channels: UInt32 = 0
        let status = data.withUnsafeBytes { bytes in
            source.bytes = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
            source.size = bytes.count
            source.offset = 0
            return kandinsky_png_decode(&source, &pixels, &width, &height, &channels)
        }
        if source.size_rejected != 0 {
            try ImageLimits.checkHeader(
                format: "PNG", width: Int(source.header_width), height: Int(source.header_height),
                expected: expectedSize, file: file)
        }
        guard status == 0, let pixels else {
            let message = withUnsafeBytes(of: source.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw DataError(.undecodableImage, file: file, problem: "corrupt or truncated PNG (\(message))")
        }
        defer { free(pixels) }
        let count = Int(width) * Int(height)
        let c = Int(channels)
        let rgb = [UInt8](unsafeUninitializedCapacity: count * 3) { out, initialized in
            if c >= 3 {
                for i in 0..<count {
                    out[3 * i] = pixels[c * i]
                    out[3 * i + 1] = pixels[c * i + 1]
                    out[3 * i + 2] = pixels[c * i + 2]
                }
            } else {
                for i in 0..<count {
                    let grey = pixels[c * i]
                    out[3 * i] = grey
                    out[3 * i + 1] = grey
                    out[3 * i + 2] = grey
                }
            }
            initialized = count * 3
        }
        return RGBImage(width: Int(width), height: Int(height), pixels: rgb)
    }

    /// Encodes 8-bit RGB samples (`[H, W, 3]`, row-major) as a PNG, with one `tEXt` chunk per
    /// entry of `text` (keyword, NUL, text; sorted by keyword) right after the header.
    /// - Complexity: O(H · W).
    public static func encode(rgb8 pixels: [UInt8], width: Int, height: Int, text: [String: String] = [:]) -> Data {
        precondition(
            pixels.count == width * height * 3,
            "\(width)×\(height) RGB image needs \(width * height * 3) bytes, got \(pixels.count)")
        let png = encode(pixels, width: width, height: height, format: UInt32(PNG_FORMAT_RGB))
        guard !text.isEmpty else { return png }
        // The signature (8 bytes) and IHDR (4 + 4 + 13 + 4) come first in every PNG.
        let headerEnd = png.startIndex + 33
        var chunks = Data()
        for (keyword, value) in text.sorted(by: { $0.key < $1.key }) {
            let typed = Data("tEXt".utf8) + Data(keyword.utf8) + Data([0]) + Data(value.utf8)
            chunks.appendBigEndian(UInt32(typed.count - 4))
            chunks.append(typed)
            chunks.appendBigEndian(crc32(typed))
        }
        return png.prefix(upTo: headerEnd) + chunks + png.suffix(from: headerEnd)
    }

    /// Encodes 8-bit greyscale samples (`[H, W]`, row-major) as a PNG.
    /// - Complexity: O(H · W).
    package static func encode(grey8 pixels: [UInt8], width: Int, height: Int) -> Data {
        precondition(
            pixels.count == width * height,
            "\(width)×\(height) greyscale image needs \(width * height) bytes, got \(pixels.count)")
        return encode(pixels, width: width, height: height, format: UInt32(PNG_FORMAT_GRAY))
    }

    /// Writes 8-bit RGB samples (`[H, W, 3]`, row-major) to a PNG file, atomically.
    static func write(rgb8 pixels: [UInt8], width: Int, height: Int, to url: URL) throws(DataError) {
        try write(encode(rgb8: pixels, width: width, height: height), to: url)
    }

    /// Writes an image to a PNG file, atomically.
    public static func write(_ image: RGBImage, to url: URL) throws(DataError) {
        try write(rgb8: image.pixels, width: image.width, height: image.height, to: url)
    }

    private static func write(_ data: Data, to url: URL) throws(DataError) {
        do {
            try AtomicFile.write(data, to: url)
        } catch {
            throw DataError(.missingFile, file: url.path, problem: error.problem)
        }
    }

    private static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// CRC-32 of a chunk's type and data (ISO 3309, reflected polynomial 0xEDB88320), as PNG
    /// chunks end with.
    package static func crc32<S: Sequence<UInt8>>(_ bytes: S) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in bytes { c = crcTable[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    private static func encode(_ pixels: [UInt8], width: Int, height: Int, format: UInt32) -> Data {
        precondition(width > 0 && height > 0, "PNG size must be positive, got \(width)×\(height)")
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = format
        let stride = Int32(width * (format == UInt32(PNG_FORMAT_RGB) ? 3 : 1))
        var size = 0
        let sized = pixels.withUnsafeBytes {
            png_image_write_to_memory(&image, nil, &size, 0, $0.baseAddress, stride, nil)
        }
        precondition(sized != 0, "libpng could not size a \(width)×\(height) PNG")
        var data = Data(count: size)
        let written = data.withUnsafeMutableBytes { out in
            pixels.withUnsafeBytes {
                png_image_write_to_memory(&image, out.baseAddress, &size, 0, $0.baseAddress, stride, nil)
            }
        }
        precondition(written != 0, "libpng could not encode a \(width)×\(height) PNG")
        png_image_free(&image)
        return data.prefix(size)
    }
}

extension Data {
    /// Appends `value` as four big-endian bytes (PNG's byte order).
    fileprivate mutating func appendBigEndian(_ value: UInt32) {
        append(contentsOf: [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) })
    }
}
