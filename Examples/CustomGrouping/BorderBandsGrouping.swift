import KandinskyCalibration
import KandinskyCore

/// A grouping strategy that is not built into Kandinsky: pixels at the same distance from the
/// image border share a curve.
///
/// The distance of pixel (h, w) in an H × W image is d = min(h, w, H − 1 − h, W − 1 − w), so
/// d = 0 on the outermost ring. Band b holds the pixels with ⌊d / bandWidth⌋ = b; every pixel
/// farther than the last band joins it, so there are `bandCount` groups (fewer when the image is
/// too small to reach them all). Every class is grouped the same way.
///
/// Written against the public ``NonconformityGrouping`` protocol only: the calibrator pools the
/// scores of each band into one curve.
struct BorderBandsGrouping: NonconformityGrouping {
    /// Recorded as JSON in the calibrated-model file's `parameters` metadata.
    struct Parameters: Codable, Sendable, Equatable {
        /// Rings per band (default 2).
        var bandWidth: Int
        /// The number of bands, the last one holding the interior (default 4).
        var bandCount: Int
    }

    var parameters: Parameters

    /// Bands of `bandWidth` rings; the interior beyond `bandCount − 1` bands is the last band.
    ///
    /// - Precondition: both are at least 1.
    init(bandWidth: Int = 2, bandCount: Int = 4) {
        precondition(
            bandWidth >= 1 && bandCount >= 1,
            "band width and count must be at least 1, got \(bandWidth) and \(bandCount)")
        parameters = Parameters(bandWidth: bandWidth, bandCount: bandCount)
    }

    /// The method name written to the calibrated-model file.
    var name: String { "border-bands" }

    /// False: the bands depend on the image size only, so every calibration image sets the
    /// thresholds (a strategy that looked at the scores would leave this true, its default, and
    /// get its groups from a separate part of the images).
    var selectsGroupsFromScores: Bool { false }

    /// The same [H, W] band map for every class.
    ///
    /// - Complexity: O(H·W), independent of the number of images: the strategy never looks at
    ///   the scores, only at their shape.
    func groups(for input: GroupingInput) throws(CalibrationError) -> PixelGroups {
        let (height, width) = (input.scores.height, input.scores.width)
        let deepest = (min(height, width) - 1) / 2
        let groupCount = min(parameters.bandCount, deepest / parameters.bandWidth + 1)
        let bands = ShapedArray<Int32>(shape: [height, width]) { out in
            for h in 0..<height {
                for w in 0..<width {
                    let d = min(h, w, height - 1 - h, width - 1 - w)
                    out[h * width + w] = Int32(min(d / parameters.bandWidth, groupCount - 1))
                }
            }
        }
        let classCount = input.scores.classCount
        return PixelGroups(
            labels: Array(repeating: bands, count: classCount),
            groupCounts: Array(repeating: groupCount, count: classCount),
            findings: ["bands": .integer(groupCount)])
    }
}
