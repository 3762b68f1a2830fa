/// A binary mask of `height × width` pixels as COCO's run-length encoding: the pixels are read
/// column by column (Fortran order, as pycocotools stores masks) and `counts` holds the lengths
/// of alternating runs of 0s and 1s, starting with 0s (so `counts[0]` may be 0).
public struct RunLengthEncoding: Sendable, Equatable {
    /// Mask height `h`.
    public let height: Int
    /// Mask width `w`.
    public let width: Int
    /// Run lengths; they sum to `height · width`.
    public let counts: [Int]

    /// An RLE as stored in a manifest: `{"size": [h, w], "counts": [...]}` (uncompressed, as
    /// for crowd regions) or `{"size": [h, w], "counts": "..."}` (pycocotools' compressed string).
    public struct Stored: Sendable, Equatable {
        /// The counts as stored: a list of run lengths or pycocotools' compressed string.
        public enum Counts: Sendable, Equatable {
            /// A list of run lengths, as for crowd regions.
            case uncompressed([Int])
            /// pycocotools' compressed string (LEB128-like, 6 bits per character, deltas from the run two back).
            case compressed(String)
        }

        /// `[height, width]`.
        public var size: [Int]
        /// The run lengths, in either form.
        public var counts: Counts

        /// An RLE as stored: `size` is `[h, w]`.
        public init(size: [Int], counts: Counts) {
            self.size = size
            self.counts = counts
        }
    }

    /// Problems with an RLE, reported by the manifest with the file and JSON path.
    public enum Problem: Error, Sendable, Equatable {
        /// `size` is not two positive integers `[h, w]`.
        case badSize([Int])
        /// `size` is two positive integers whose product exceeds ``ImageLimits/maximumPixelCount``.
        case sizeTooLarge([Int])
        /// A run length is negative.
        case negativeCount(index: Int)
        /// The compressed string has a character outside pycocotools' alphabet.
        case badCharacter(offset: Int)
        /// A number in the compressed string needs more than 60 bits, or undoing its delta overflows.
        case countTooLarge(offset: Int)
        /// The compressed string ends inside a number.
        case unterminated
        /// The run lengths do not add up to `h · w`: their sum so far passed `h · w` at run
        /// `index` (`sum` is nil when it would overflow an `Int`), or ended at `sum`.
        case countsSum(Int?, expected: Int, index: Int)
    }

    /// Wraps run lengths, checking that `height` and `width` are positive with a product of at
    /// most ``ImageLimits/maximumPixelCount`` (so that decoding never allocates a size read from
    /// a file), and that the counts are non-negative and sum to exactly `height · width`. The
    /// running sum is checked against `height · width` at every run, so it cannot overflow.
    /// - Complexity: O(counts).
    public init(height: Int, width: Int, counts: [Int]) throws(Problem) {
        let expected = try Self.pixelCount(height: height, width: width)
        var sum = 0
        for (index, count) in counts.enumerated() {
            guard count >= 0 else { throw .negativeCount(index: index) }
            let (next, overflow) = sum.addingReportingOverflow(count)
            guard !overflow, next <= expected else {
                throw .countsSum(overflow ? nil : next, expected: expected, index: index)
            }
            sum = next
        }
        guard sum == expected else { throw .countsSum(sum, expected: expected, index: counts.count - 1) }
        self.height = height
        self.width = width
        self.counts = counts
    }

    /// Reads a stored RLE in either form, with the checks of ``init(height:width:counts:)``.
    public init(_ stored: Stored) throws(Problem) {
        guard stored.size.count == 2 else { throw .badSize(stored.size) }
        let (height, width) = (stored.size[0], stored.size[1])
        _ = try Self.pixelCount(height: height, width: width)
        switch stored.counts {
        case .uncompressed(let counts):
            try self.init(height: height, width: width, counts: counts)
        case .compressed(let string):
            try self.init(height: height, width: width, counts: Self.decodeCounts(string))
        }
    }

    /// `height · width`, checked to be positive and at most ``ImageLimits/maximumPixelCount``.
    private static func pixelCount(height: Int, width: Int) throws(Problem) -> Int {
        guard height > 0, width > 0 else { throw .badSize([height, width]) }
        guard let product = ImageLimits.checkedPixelCount(width: width, height: height) else {
            throw .sizeTooLarge([height, width])
        }
        return product
    }

    /// Encodes a row-major `[H, W]` mask (non-zero = inside).
    /// - Complexity: O(H · W).
    public init(mask: [UInt8], height: Int, width: Int) {
        precondition(
            mask.count == height * width, "a \(height)×\(width) mask needs \(height * width) values, got \(mask.count)")
        var counts: [Int] = []
        var current: UInt8 = 0
        var run = 0
        for x in 0..<width {
            for y in 0..<height {
                let value: UInt8 = mask[y * width + x] != 0 ? 1 : 0
                if value != current {
                    counts.append(run)
                    current = value
                    run = 0
                }
                run += 1
            }
        }
        counts.append(run)
        self.height = height
        self.width = width
        self.counts = counts
    }

    /// The stored compressed form, as pycocotools' `mask.encode` writes it.
    public var stored: Stored {
        Stored(size: [height, width], counts: .compressed(compressedCounts))
    }

    /// pycocotools' compressed counts string: each count, from the fourth on minus the count two
    /// places before it, is written as a little-endian sequence of 5-bit groups in characters
    /// `48 + group` (+32 when more groups follow); the last group's bit 4 is the sign.
    package var compressedCounts: String {
        var characters: [UInt8] = []
        characters.reserveCapacity(counts.count * 2)
        for index in counts.indices {
            var value = counts[index]
            if index > 2 { value -= counts[index - 2] }
            var more = true
            while more {
                var group = UInt8(truncatingIfNeeded: value & 0x1F)
                value >>= 5
                more = (group & 0x10) != 0 ? value != -1 : value != 0
                if more { group |= 0x20 }
                characters.append(group + 48)
            }
        }
        return String(decoding: characters, as: UTF8.self)
    }

    /// Inverts ``compressedCounts``. Numbers are limited to 60 bits and undoing a delta must not
    /// overflow; the counts' sum is checked by the caller.
    static func decodeCounts(_ string: String) throws(Problem) -> [Int] {
        var counts: [Int] = []
        var value = 0
        var shift = 0
        var pending = false
        for (offset, character) in string.utf8.enumerated() {
            guard (48...111).contains(character) else { throw .badCharacter(offset: offset) }
            let group = Int(character - 48)
            guard shift < 60 else { throw .countTooLarge(offset: offset) }
            value |= (group & 0x1F) << shift
            shift += 5
            pending = true
            if group & 0x20 == 0 {
                if group & 0x10 != 0 { value |= -1 << shift }
                if counts.count > 2 {
                    let (sum, overflow) = value.addingReportingOverflow(counts[counts.count - 2])
                    guard !overflow else { throw .countTooLarge(offset: offset) }
                    value = sum
                }
                counts.append(value)
                value = 0
                shift = 0
                pending = false
            }
        }
        guard !pending else { throw .unterminated }
        return counts
    }

    /// Sets to 1 every pixel of the row-major `[H, W]` buffer `mask` that this RLE covers
    /// (union with what is already there).
    /// - Complexity: O(H · W) at most, O(number of covered pixels + runs) in practice.
    func paint(into mask: UnsafeMutableBufferPointer<UInt8>) {
        precondition(
            mask.count == height * width, "a \(height)×\(width) RLE cannot paint a buffer of \(mask.count) pixels")
        forEachCoveredPixel { mask[$0] = 1 }
    }

    /// Calls `body` with the row-major index `y · W + x` of every covered pixel, column by column.
    /// - Complexity: O(covered pixels + runs).
    func forEachCoveredPixel(_ body: (Int) -> Void) {
        var position = 0
        for (index, count) in counts.enumerated() {
            if index % 2 == 1 {
                for p in position..<(position + count) {
                    body((p % height) * width + p / height)
                }
            }
            position += count
        }
    }

    /// The row-major `[H, W]` mask, 0 or 1.
    public func decoded() -> [UInt8] {
        var mask = [UInt8](repeating: 0, count: height * width)
        mask.withUnsafeMutableBufferPointer { paint(into: $0) }
        return mask
    }
}
