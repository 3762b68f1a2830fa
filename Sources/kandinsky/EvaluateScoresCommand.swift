import ArgumentParser
import Foundation
import KandinskyCalibration
import KandinskyCore

/// `kandinsky evaluate-scores`: coverage and calibration maps of calibrated curves on a test set.
struct EvaluateScoresCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate-scores",
        abstract: "Evaluate calibrated curves on test probabilities and targets.",
        discussion: """
            Writes to the output directory: pixelwise_ce.npy [H, W], coverages.npy [K] (marginal), \
            pixelwise_ece.npy [H, W], structure_frequency.npy [H, W], summary.json, reliability.json, \
            coverage.svg, reliability.svg, reliability_pixel.svg and PNG heat maps pixelwise_ce.png \
            (range 0–0.5), pixelwise_ece.png (range 0–0.5) and structure_frequency.png (range 0–1).
            """)

    @Option(help: "Test probabilities [N, C, H, W] or [N, 1, H, W] (.npy, F32, F16 or F64), as for calibrate-scores.") var probs: String
    @Option(help: "Test targets: one-hot [N, C, H, W], a label map [N, H, W] or a mask [N, 1, H, W], as for calibrate-scores.") var targets: String
    @Option(help: "Calibrated-model file (.safetensors).") var curves: String
    @Option(help: "Output directory.") var out: String
    @Option(help: "Number of confidence bins K.") var bins = 20
    @Option(help: "Curve indexing: interpolated or reference.") var indexing: ThresholdIndexing = .interpolated
    @Option(help: "Score precision (default: the one the curves were calibrated with).") var precision: ScorePrecision?
    @Option(help: "Class evaluated.") var classIndex = 1
    @Option(help: "Pixel 'row,col' of the pixelwise reliability diagram (default: the image centre).") var pixel: String?

    func validate() throws {
        guard bins >= 1 else { throw ValidationError("--bins: expected at least 1 bin, found \(bins)") }
        if let pixel {
            let values = try CalibrationInputs.integers(pixel, option: "--pixel")
            guard values.count == 2 else { throw ValidationError("--pixel: expected 'row,col', found '\(pixel)'") }
        }
    }

    func run() throws {
        let calibrated = try CalibrationInputs.curves(curves)
        let (probabilities, targetMask) = try CalibrationInputs.load(probabilities: probs, targets: targets)
        let shape = probabilities.shape
        try InputValidation.checkShapes(probabilities: shape, targets: targetMask.shape, probabilitiesSource: probs, targetsSource: targets)
        try calibrated.checkCompatible(withProbabilitiesShape: shape, curvesSource: curves)
        try InputValidation.checkClassIndex(classIndex, classCount: shape[1], source: "--class-index")
        let chosenPixel: (h: Int, w: Int)
        if let pixel {
            let values = try CalibrationInputs.integers(pixel, option: "--pixel")
            chosenPixel = (values[0], values[1])
        } else {
            chosenPixel = (shape[2] / 2, shape[3] / 2)
        }
        let coverage = CoverageEvaluation(binCount: bins, indexing: indexing, precision: precision ?? calibrated.precision,
                                          classIndex: classIndex)
        let raw = ProbabilityCalibration(classIndex: classIndex)
        let coverageResult: CoverageEvaluation.Result
        let rawResult: ProbabilityCalibration.Result
        switch probabilities {
        case .float32(let p):
            coverageResult = try coverage.evaluate(calibrated, probabilities: p, targets: targetMask, probabilitiesSource: probs,
                                                   targetsSource: targets, curvesSource: curves)
            rawResult = try raw.evaluate(probabilities: p, targets: targetMask, pixel: chosenPixel, probabilitiesSource: probs, targetsSource: targets)
        case .float16(let p):
            coverageResult = try coverage.evaluate(calibrated, probabilities: p, targets: targetMask, probabilitiesSource: probs,
                                                   targetsSource: targets, curvesSource: curves)
            rawResult = try raw.evaluate(probabilities: p, targets: targetMask, pixel: chosenPixel, probabilitiesSource: probs, targetsSource: targets)
        }
        let directory = URL(fileURLWithPath: out)
        func file(_ name: String) -> URL { directory.appendingPathComponent(name) }
        try NumpyFile.write(.float32(coverageResult.pixelwiseCalibrationError), to: file("pixelwise_ce.npy"))
        try NumpyFile.write(.float64(ShapedArray(shape: [bins], scalars: coverageResult.marginalCoverages)), to: file("coverages.npy"))
        try NumpyFile.write(.float32(rawResult.pixelwiseECE), to: file("pixelwise_ece.npy"))
        try NumpyFile.write(.float32(rawResult.structureFrequency), to: file("structure_frequency.npy"))
        let summary = EvaluationSummary(
            method: calibrated.method, classIndex: classIndex, bins: bins, indexing: indexing.rawValue,
            testImages: shape[0], targetPixels: coverageResult.targetCount,
            meanPixelwiseCE: coverageResult.meanPixelwiseCalibrationError.finiteOrNil,
            marginalCE: coverageResult.marginalCalibrationError.finiteOrNil,
            meanPixelwiseECE: rawResult.meanPixelwiseECE.finiteOrNil,
            confidences: coverageResult.confidences, coverages: coverageResult.marginalCoverages)
        try AtomicFile.write(Self.json(summary), to: file("summary.json"))
        try AtomicFile.write(Self.json(ReliabilityData(pooled: .init(rawResult.pooled), pixel: [chosenPixel.h, chosenPixel.w],
                                                       atPixel: rawResult.atPixel.map(ReliabilityData.Bins.init))),
                             to: file("reliability.json"))
        let k = String(bins)
        try AtomicFile.write(Data(SVGPlots.coverageDiagram(coverages: coverageResult.marginalCoverages,
                                                           title: "Marginal coverage, class \(classIndex) (\(calibrated.method), K = \(k))").utf8),
                             to: file("coverage.svg"))
        try AtomicFile.write(Data(SVGPlots.reliabilityDiagram(rawResult.pooled, title: "Reliability, class \(classIndex), all pixels").utf8),
                             to: file("reliability.svg"))
        if let atPixel = rawResult.atPixel {
            try AtomicFile.write(Data(SVGPlots.reliabilityDiagram(atPixel, title: "Reliability at pixel (\(chosenPixel.h), \(chosenPixel.w))").utf8),
                                 to: file("reliability_pixel.svg"))
        }
        try AtomicFile.write(HeatMap(range: 0...0.5, title: "pixelwise CE").png(coverageResult.pixelwiseCalibrationError), to: file("pixelwise_ce.png"))
        try AtomicFile.write(HeatMap(range: 0...0.5, title: "pixelwise ECE").png(rawResult.pixelwiseECE), to: file("pixelwise_ece.png"))
        try AtomicFile.write(HeatMap(range: 0...1, title: "structure frequency").png(rawResult.structureFrequency), to: file("structure_frequency.png"))
        print(String(format: "%@: mean pixelwise CE %.5f, marginal CE %.5f, mean pixelwise ECE %.5f", out,
                     coverageResult.meanPixelwiseCalibrationError, coverageResult.marginalCalibrationError, rawResult.meanPixelwiseECE))
    }

    static func json(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try encoder.encode(value)
    }
}

/// `summary.json`. NaN values (nothing to average) are written as null.
struct EvaluationSummary: Encodable {
    var method: String
    var classIndex: Int
    var bins: Int
    var indexing: String
    var testImages: Int
    var targetPixels: Int
    var meanPixelwiseCE: Double?
    var marginalCE: Double?
    var meanPixelwiseECE: Double?
    var confidences: [Double]
    var coverages: [Double]

    enum CodingKeys: String, CodingKey {
        case method, bins, indexing, confidences, coverages
        case classIndex = "class_index", testImages = "test_images", targetPixels = "target_pixels"
        case meanPixelwiseCE = "mean_pixelwise_ce", marginalCE = "marginal_ce", meanPixelwiseECE = "mean_pixelwise_ece"
    }
}

/// `reliability.json`: reliability-diagram bins pooled and at one pixel.
struct ReliabilityData: Encodable {
    struct Bins: Encodable {
        var counts: [Int]
        var meanPredictions: [Double?]
        var meanTargets: [Double?]
        var ece: Double?
        init(_ r: ProbabilityCalibration.Reliability) {
            counts = r.counts
            meanPredictions = r.meanPredictions.map(\.finiteOrNil)
            meanTargets = r.meanTargets.map(\.finiteOrNil)
            ece = r.expectedCalibrationError.finiteOrNil
        }
        enum CodingKeys: String, CodingKey {
            case counts, ece
            case meanPredictions = "mean_predictions", meanTargets = "mean_targets"
        }
    }
    var pooled: Bins
    var pixel: [Int]
    var atPixel: Bins?
    enum CodingKeys: String, CodingKey { case pooled, pixel, atPixel = "at_pixel" }
}

extension Double {
    var finiteOrNil: Double? { isFinite ? self : nil }
}
