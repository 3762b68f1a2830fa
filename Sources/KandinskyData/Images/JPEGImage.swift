import CTurboJPEG
import Foundation
import KandinskyCore

/// JPEG reading and writing through libjpeg-turbo's TurboJPEG API.
///
/// Reading matches Pillow's `Image.open(f).convert("RGB")` (same codec, accurate integer IDCT and
/// fancy upsampling, so samples agree to within 1/255 across libjpeg-turbo versions): YCbCr is
/// converted to RGB, greyscale is replicated, and CMYK/YCCK is read as Adobe-inverted CMYK and
/// converted as Pillow converts CMYK to RGB: `R = (255 − K) − round(C · (255 − K) / 255)` with
/// `C = 255 − stored` (likewise G, B). EXIF orientation is ignored, as Pillow's `open` does.
public enum JPEGImage {
    /// Decodes JPEG bytes; `file` names them in errors. A truncated or corrupt stream (including
    /// one that libjpeg only warns about, which Pillow refuses as truncated) is an error. The frame
    /// header's size (`tjDecompressHeader3`) is checked before any pixel buffer is allocated: it
    /// must equal `expectedSize` when given and have at most ``ImageLimits/maximumPixelCount`` pixels.
    /// - Complexity: O(H · W).
    public static func decode(_ data: Data, file: String, expectedSize: ImageSize? = nil) throws(DataError) -> RGBImage
    {
        guard let handle = decompressors.take() else {
            throw DataError(.undecodableImage, file: file, problem: "cannot create a JPEG decoder")
        }
        let failure = { (what: String) in
            DataError(
                .undecodableImage, file: file,
                problem: "corrupt or truncated JPEG (\(what): \(String(cString: tjGetErrorStr2(handle))))")
        }
        let result = data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> Result<RGBImage, DataError> in
            Result { () throws(DataError) -> RGBImage in
                try decode(bytes, handle: handle, expectedSize: expectedSize, file: file, failure: failure)
            }
        }
        // A handle that failed may be left mid-stream, so only clean ones are reused.
        if case .success = result { decompressors.give(handle) } else { tjDestroy(handle) }
        return try result.get()
    }

    private static func decode(
        _ bytes: UnsafeRawBufferPointer, handle: tjhandle, expectedSize: ImageSize?, file: String,
        failure: (String) -> DataError
    ) throws(DataError) -> RGBImage {
        let source = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var width: Int32 = 0
        var height: Int32 = 0
        var subsampling: Int32 = 0
        var colourSpace: Int32 = 0
        guard tjDecompressHeader3(handle, source, UInt(bytes.count), &width, &height, &subsampling, &colourSpace) == 0
        else {
            throw failure("header")
        }
        try ImageLimits.checkHeader(
            format: "JPEG", width: Int(width), height: Int(height), expected: expectedSize, file: file)
        let w = Int(width)
        let h = Int(height)
        let count = w * h
        let flags = TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING
        /// The `channels` samples per pixel of the whole frame in `format`, row-major.
        func decompress(_ format: TJPF, channels: Int) throws(DataError) -> [UInt8] {
            var status: Int32 = 0
            let samples = [UInt8](unsafeUninitializedCapacity: channels * count) { buffer, initialized in
                status = tjDecompress2(
                    handle, source, UInt(bytes.count), buffer.baseAddress, width, 0, height, Int32(format.rawValue),
                    flags)
                // On failure the partly written buffer is dropped unread (bytes need no deinitialisation),
                // so a corrupt stream whose header claims a large image never touches all of it.
                initialized = status == 0 ? channels * count : 0
            }
            guard status == 0 else { throw failure("data") }
            return samples
        }
        switch colourSpace {
        case Int32(TJCS_GRAY.rawValue):
            let grey = try decompress(TJPF_GRAY, channels: 1)
            var rgb = [UInt8](repeating: 0, count: 3 * count)
            for i in 0..<count {
                rgb[3 * i] = grey[i]
                rgb[3 * i + 1] = grey[i]
                rgb[3 * i + 2] = grey[i]
            }
            return RGBImage(width: w, height: h, pixels: rgb)
        case Int32(TJCS_CMYK.rawValue), Int32(TJCS_YCCK.rawValue):
            let cmyk = try decompress(TJPF_CMYK, channels: 4)
            var rgb = [UInt8](repeating: 0, count: 3 * count)
            for i in 0..<count {
                // Stored inverted (Adobe), so stored K is 255 − K, i.e. already "255 − K".
                let inverseBlack = Int(cmyk[4 * i + 3])
                for channel in 0..<3 {
                    let ink = 255 - Int(cmyk[4 * i + channel])
                    rgb[3 * i + channel] = UInt8(clamping: inverseBlack - divideBy255Rounded(ink * inverseBlack))
                }
            }
            return RGBImage(width: w, height: h, pixels: rgb)
        default:
            return RGBImage(width: w, height: h, pixels: try decompress(TJPF_RGB, channels: 3))
        }
    }

    /// Encodes 8-bit RGB samples (`[H, W, 3]`, row-major) as a baseline JPEG with 4:2:0 chroma
    /// subsampling at `quality` (1–100). Deterministic: the same pixels give the same bytes.
    /// - Complexity: O(H · W).
    public static func encode(rgb8 pixels: [UInt8], width: Int, height: Int, quality: Int = 90) -> Data {
        precondition(
            pixels.count == width * height * 3,
            "\(width)×\(height) RGB image needs \(width * height * 3) bytes, got \(pixels.count)")
        precondition((1...100).contains(quality), "JPEG quality must be in 1...100, got \(quality)")
        guard let handle = tjInitCompress() else { preconditionFailure("cannot create a JPEG encoder") }
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let status = pixels.withUnsafeBufferPointer {
            tjCompress2(
                handle, $0.baseAddress, Int32(width), 0, Int32(height), Int32(TJPF_RGB.rawValue), &output, &size,
                Int32(TJSAMP_420.rawValue), Int32(quality), TJFLAG_ACCURATEDCT)
        }
        precondition(
            status == 0 && output != nil,
            "libjpeg-turbo could not encode a \(width)×\(height) JPEG: \(String(cString: tjGetErrorStr2(handle)))")
        defer { tjFree(output) }
        return Data(bytes: output!, count: Int(size))
    }

    /// Writes an image as a JPEG file, atomically.
    public static func write(_ image: RGBImage, quality: Int = 90, to url: URL) throws(DataError) {
        do {
            try AtomicFile.write(
                encode(rgb8: image.pixels, width: image.width, height: image.height, quality: quality), to: url)
        } catch {
            throw DataError(.missingFile, file: url.path, problem: error.problem)
        }
    }
}

/// Decompressor handles kept for reuse: creating one costs about as much as decoding a small
/// image. A handle holds no state between images that affects the result.
private final class HandlePool: @unchecked Sendable {
    private let lock = NSLock()
    private var handles: [tjhandle] = []

    func take() -> tjhandle? {
        lock.lock()
        let handle = handles.popLast()
        lock.unlock()
        return handle ?? tjInitDecompress()
    }

    func give(_ handle: tjhandle) {
        lock.lock()
        handles.append(handle)
        lock.unlock()
    }
}

private let decompressors = HandlePool()

/// `round(x / 255)` for 0 ≤ x ≤ 255², in the integer form Pillow uses (`((x + 128) >> 8 + x + 128) >> 8`).
@inline(__always)
func divideBy255Rounded(_ x: Int) -> Int {
    let t = x + 128
    return ((t >> 8) + t) >> 8
}
